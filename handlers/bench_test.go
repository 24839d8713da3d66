package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"keydesk/store"
)

// BenchmarkVerifyKey is the cost of checking a presented key: shape and
// checksum, hash, and the one indexed query.
func BenchmarkVerifyKey(b *testing.B) {
	ts := newTestServer(b)
	u, _ := ts.db.CreateUser(context.Background(), store.NewUser{Name: "B", Email: "b@example.com", PasswordHash: "x"}, store.AuditEvent{})
	_, secret, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "bench", Description: "bench"}, store.AuditEvent{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := store.ParseKey(secret); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ts.db.AuthenticateKey(ctx, store.HashKey(secret)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseKey is the check that refuses a malformed key without the
// store.
func BenchmarkParseKey(b *testing.B) {
	key := store.GenerateKey()
	b.ReportAllocs()
	for b.Loop() {
		if err := store.ParseKey(key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAPIMe is a whole GET /api/v1/me through the router and every
// middleware, in process.
func BenchmarkAPIMe(b *testing.B) {
	ts := newTestServer(b)
	u, _ := ts.db.CreateUser(context.Background(), store.NewUser{Name: "B", Email: "b@example.com", PasswordHash: "x"}, store.AuditEvent{})
	_, secret, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "bench", Description: "bench"}, store.AuditEvent{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			rec := httptest.NewRecorder()
			ts.echo.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

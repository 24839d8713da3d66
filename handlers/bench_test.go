package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
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

// BenchmarkPages is the cost of the heaviest pages, each a whole GET through
// the router and every middleware, in process, gzipped as a browser asks:
// the API Auth Key page holding 50 keys, the admin inventory's first page
// and the audit log's.
func BenchmarkPages(b *testing.B) {
	ts := newTestServer(b)
	ctx := context.Background()
	hash := store.HashPassword("bench-password")
	admin, err := ts.db.CreateUser(ctx, store.NewUser{Name: "Ada Admin", Email: "admin@example.com", PasswordHash: hash, Role: store.RoleAdmin}, store.AuditEvent{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range store.MaxKeysPerUser {
		if _, _, err := ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: fmt.Sprintf("deploy %d", i), Description: "Deploys the web app from CI"},
			store.AuditEvent{Actor: admin.PublicID, Action: store.ActionKeyCreated}); err != nil {
			b.Fatal(err)
		}
	}
	cookie := benchLogin(b, ts, "admin@example.com", "bench-password")
	// A repeat view is the page cache's copy; a first view (as a hard
	// reload asks, Cache-Control: no-cache) is read, rendered and
	// compressed anew.
	for _, view := range []struct{ name, cacheControl string }{{"repeat", ""}, {"first", "no-cache"}} {
		for _, path := range []string{"/settings/api-keys", "/admin/api-keys", "/admin/audit"} {
			b.Run(view.name+"/"+strings.TrimPrefix(path, "/"), func(b *testing.B) {
				b.ReportAllocs()
				cpu := processCPU()
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, path, nil)
					req.Header.Set("Cookie", cookie)
					req.Header.Set("Accept-Encoding", "gzip")
					if view.cacheControl != "" {
						req.Header.Set("Cache-Control", view.cacheControl)
					}
					rec := httptest.NewRecorder()
					ts.echo.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d", rec.Code)
					}
				}
				b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkSignedInRequest is what every signed-in request pays before its
// handler: the session middleware's read of the session and its user, and
// nothing else (GET / only redirects to the profile page). A page served
// from a cache costs about this.
func BenchmarkSignedInRequest(b *testing.B) {
	ts := newTestServer(b)
	hash := store.HashPassword("bench-password")
	if _, err := ts.db.CreateUser(context.Background(), store.NewUser{Name: "B", Email: "b@example.com", PasswordHash: hash}, store.AuditEvent{}); err != nil {
		b.Fatal(err)
	}
	cookie := benchLogin(b, ts, "b@example.com", "bench-password")
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Cookie", cookie)
		rec := httptest.NewRecorder()
		ts.echo.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/settings/profile" {
			b.Fatalf("status %d, Location %q", rec.Code, rec.Header().Get("Location"))
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time the process has used, in nanoseconds, user
// and system. On a shared machine a request's CPU time moves less than its
// wall time, which includes the waits for a core.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// benchLogin signs in through POST /login and returns the session cookie.
func benchLogin(b *testing.B, ts *testServer, email, password string) string {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	ts.echo.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("login: status %d", rec.Code)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "keydesk_session" {
			return c.Name + "=" + c.Value
		}
	}
	b.Fatal("login set no session cookie")
	return ""
}

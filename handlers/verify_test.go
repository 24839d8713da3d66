package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// verifyCall posts body to /api/v1/keys/verify with the verifier's key.
func (c *client) verify(verifier, body string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.ts.URL+"/api/v1/keys/verify", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+verifier)
	res, err := c.exchange(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// Every answer code of the verify API, from a key with keys:verify held by
// an admin, and the refusals of callers who may not ask.
func TestVerify(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	admin := ts.createUser(t, "Ada Admin", "ada@example.com", "ada-password", store.RoleAdmin)
	uma := ts.createUser(t, "Uma User", "uma@example.com", "uma-password", store.RoleUser)
	olga := ts.createUser(t, "Olga Owner", "olga@example.com", "olga-password", store.RoleUser)
	mk := func(u *store.User, name string, scopes []string, expires time.Time) (*store.APIKey, string) {
		t.Helper()
		k, secret, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: name, Scopes: scopes, ExpiresAt: expires}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		return k, secret
	}
	_, verifier := mk(admin, "gateway", []string{store.ScopeKeysVerify}, time.Time{})
	_, adminNoVerify := mk(admin, "plain", []string{store.ScopeProfileRead}, time.Time{})
	_, umaVerify := mk(uma, "sneaky", nil, time.Time{}) // every scope, but uma is no admin
	payments, good := mk(uma, "payments", []string{store.ScopeProfileRead, "payments:read"}, ts.clock.Now().Add(time.Hour))
	off, offSecret := mk(uma, "off", nil, time.Time{})
	ts.db.SetKeyEnabled(ctx, uma.ID, off.PublicID, false, store.AuditEvent{})
	_, soon := mk(uma, "soon", nil, ts.clock.Now().Add(time.Minute))
	_, olgas := mk(olga, "olga's", nil, time.Time{})
	ts.db.SetUserDisabled(ctx, olga.ID, true, store.AuditEvent{})
	gone, goneSecret := mk(uma, "gone", nil, time.Time{})
	ts.db.DeleteKey(ctx, uma.ID, gone.PublicID, store.AuditEvent{})
	ts.clock.Advance(time.Minute) // "soon" expires at this instant

	c := ts.client(t)
	for _, tc := range []struct {
		name     string
		verifier string
		body     string
		status   int
		code     string // the answer's code, or its error
		contains []string
	}{
		{name: "valid", verifier: verifier, body: `{"key":"` + good + `"}`, status: 200, code: store.VerdictValid,
			contains: []string{`"valid":true`, `"id":"` + payments.PublicID + `"`, `"name":"payments"`,
				`"scopes":["profile:read","payments:read"]`, `"expires_at":"`, `"user_id":"` + uma.PublicID + `"`,
				`"email":"uma@example.com"`, `"kalp_id":"` + uma.KALPID + `"`, `"kyc_status":"verified"`}},
		{name: "valid with the scopes it holds", verifier: verifier, body: `{"key":"` + good + `","scopes":["payments:read"]}`, status: 200, code: store.VerdictValid},
		{name: "a scope it lacks", verifier: verifier, body: `{"key":"` + good + `","scopes":["payments:read","payments:write"]}`, status: 200, code: store.VerdictInsufficientScope},
		{name: "malformed", verifier: verifier, body: `{"key":"kdk_nope"}`, status: 200, code: store.VerdictMalformed},
		{name: "bad checksum", verifier: verifier, body: `{"key":"` + good[:len(good)-1] + flip(good[len(good)-1]) + `"}`, status: 200, code: store.VerdictMalformed},
		{name: "unknown", verifier: verifier, body: `{"key":"` + store.GenerateKey() + `"}`, status: 200, code: store.VerdictNotFound},
		{name: "deleted", verifier: verifier, body: `{"key":"` + goneSecret + `"}`, status: 200, code: store.VerdictNotFound},
		{name: "disabled", verifier: verifier, body: `{"key":"` + offSecret + `"}`, status: 200, code: store.VerdictDisabled},
		{name: "expired, at the instant", verifier: verifier, body: `{"key":"` + soon + `"}`, status: 200, code: store.VerdictExpired},
		{name: "owner disabled", verifier: verifier, body: `{"key":"` + olgas + `"}`, status: 200, code: store.VerdictOwnerDisabled},
		{name: "no key in the body", verifier: verifier, body: `{"scopes":["a"]}`, status: 400, code: "invalid_request"},
		{name: "not JSON", verifier: verifier, body: `key=` + good, status: 400, code: "invalid_request"},
		{name: "two objects", verifier: verifier, body: `{"key":"` + good + `"}{}`, status: 400, code: "invalid_request"},
		{name: "an admin's key without keys:verify", verifier: adminNoVerify, body: `{"key":"` + good + `"}`, status: 403, code: "insufficient_scope"},
		{name: "a user's key that holds every scope", verifier: umaVerify, body: `{"key":"` + good + `"}`, status: 403, code: "insufficient_scope"},
		{name: "no verifier", verifier: "", body: `{"key":"` + good + `"}`, status: 401, code: "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.verify(tc.verifier, tc.body)
			assertStatus(t, res, tc.status)
			var body struct{ Code, Error string }
			if err := json.Unmarshal([]byte(res.body), &body); err != nil {
				t.Fatalf("body %s: %v", res.body, err)
			}
			if got := body.Code + body.Error; got != tc.code {
				t.Errorf("answer %s, want %s", res.body, tc.code)
			}
			if tc.code != store.VerdictValid && strings.Contains(res.body, `"owner"`) {
				t.Errorf("a refusal tells the owner: %s", res.body)
			}
			assertContains(t, res, tc.contains...)
			assertLacks(t, res, good, verifier)
		})
	}
}

// The verified key's use is recorded as the service saw it: its client
// address, user agent and route, refusals of a known key included, and
// its Last Used from that address.
func TestVerifyRecordsTheUse(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	admin := ts.createUser(t, "Ada Admin", "ada@example.com", "ada-password", store.RoleAdmin)
	_, verifier, _ := ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: "gateway", Scopes: []string{store.ScopeKeysVerify}}, store.AuditEvent{})
	k, secret, _ := ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: "client", Scopes: []string{store.ScopeProfileRead}}, store.AuditEvent{})
	c := ts.client(t)
	c.verify(verifier, `{"key":"`+secret+`","client_ip":"198.51.100.7","user_agent":"shop-app/2.1","route":"GET /v1/orders"}`)
	c.verify(verifier, `{"key":"`+secret+`","scopes":["orders:write"],"client_ip":"198.51.100.7","route":"POST /v1/orders"}`)
	if err := ts.uses.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	uses, err := ts.db.RecentKeyUses(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 2 || uses[0].Route != "POST /v1/orders" || uses[0].Result != store.UseInsufficientScope ||
		uses[1].Route != "GET /v1/orders" || uses[1].UserAgent != "shop-app/2.1" || uses[1].ClientIP != "198.51.100.7" ||
		uses[1].Result != store.UseOK {
		t.Errorf("recorded %+v", uses)
	}
	got, _ := ts.db.KeyForUser(ctx, admin.ID, k.PublicID)
	if got.LastUsedAt.IsZero() || got.LastUsedIP != "198.51.100.7" {
		t.Errorf("Last Used %v from %q", got.LastUsedAt, got.LastUsedIP)
	}
}

func flip(b byte) string {
	if b == 'a' {
		return "b"
	}
	return "a"
}

// FuzzVerifyKey posts fuzzer-made bodies to the verify API with a good
// verifier key: no body gets a 5xx or anything but a JSON answer, and no
// answer carries a secret. {key} in a body stands for a real key.
func FuzzVerifyKey(f *testing.F) {
	ts := newTestServer(f)
	ctx := context.Background()
	admin, err := ts.db.CreateUser(ctx, store.NewUser{Name: "Ada", Email: "ada@example.com", PasswordHash: fuzzPasswordHash,
		Role: store.RoleAdmin}, store.AuditEvent{})
	if err != nil {
		f.Fatal(err)
	}
	_, verifier, _ := ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: "gateway", Scopes: []string{store.ScopeKeysVerify}}, store.AuditEvent{})
	_, secret, _ := ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: "client", Scopes: []string{"a"}}, store.AuditEvent{})
	for _, seed := range []string{
		`{"key":"{key}"}`,
		`{"key":"{key}","scopes":["a","b"],"client_ip":"198.51.100.1","user_agent":"x","route":"GET /"}`,
		`{"key":"kdk_0000"}`, `{"key":null}`, `{"key":1}`, `{"scopes":"a"}`, `[]`, `null`, `{}`, ``,
		`{"key":"{key}","scopes":[null,"",1]}`, `{"key":"{key}"} {}`, `{"key":"{key}","route":"` + strings.Repeat("r", 2000) + `"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		body = strings.ReplaceAll(body, "{key}", secret)
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/api/v1/keys/verify", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+verifier)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var answer map[string]any
		if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
			t.Fatalf("%d with a body that is not JSON: %v", res.StatusCode, err)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%d for %q: %v", res.StatusCode, body, answer)
		}
		if s, _ := json.Marshal(answer); strings.Contains(string(s), secret) || strings.Contains(string(s), verifier) {
			t.Fatalf("an answer carries a key: %s", s)
		}
	})
}

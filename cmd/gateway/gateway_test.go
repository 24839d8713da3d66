package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"keydesk/handlers"
	"keydesk/store"
	"keydesk/store/pgtest"
	"keydesk/store/postgres"
	"keydesk/store/sqlite"
	"keydesk/store/sqlstore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stores are the engines the end-to-end test runs Keydesk on.
var stores = []struct {
	name string
	open func(t *testing.T) *sqlstore.DB
}{
	{"sqlite", func(t *testing.T) *sqlstore.DB {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keydesk.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	}},
	{"postgres", func(t *testing.T) *sqlstore.DB {
		db, err := postgres.Open(context.Background(), pgtest.Database(t), postgres.PoolConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}},
}

// keydesk serves the whole application on db, with the platform's scopes.
func keydesk(t *testing.T, db *sqlstore.DB) *httptest.Server {
	t.Helper()
	scopes, err := store.ParseScopes("orders:read:Read orders,orders:write:Create orders")
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	uses := handlers.NewUseRecorder(db, nil)
	h, err := handlers.New(handlers.Config{Store: db, SessionKeys: [][]byte{key}, Version: "test",
		Policy: store.KeyPolicy{Scopes: scopes}, Uses: uses})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	ctx, stop := context.WithCancel(context.Background())
	go uses.Run(ctx, 20*time.Millisecond)
	t.Cleanup(func() { srv.Close(); stop(); db.Close() })
	return srv
}

// upstream is the platform's API: it answers with what it was sent.
type upstream struct {
	*httptest.Server
	mu    sync.Mutex
	calls []*http.Request
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.calls = append(u.calls, r.Clone(context.Background()))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "user": r.Header.Get(HeaderUserID)})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.calls) == 0 {
		return nil
	}
	return u.calls[len(u.calls)-1]
}

// Keydesk, the gateway and a stub of the platform's API, on each store:
// a key with the route's scopes reaches the API with its owner's ids and
// without its secret; every other key gets the RFC 6750 answer, and a key
// disabled in Keydesk is refused on the very next call.
func TestGatewayEndToEnd(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			db := s.open(t)
			kd := keydesk(t, db)
			admin, err := db.CreateUser(ctx, store.NewUser{Name: "Ada", Email: "ada@example.com", PasswordHash: "x", Role: store.RoleAdmin}, store.AuditEvent{})
			if err != nil {
				t.Fatal(err)
			}
			uma, _ := db.CreateUser(ctx, store.NewUser{Name: "Uma", Email: "uma@example.com", PasswordHash: "x", KYCStatus: store.KYCVerified}, store.AuditEvent{})
			_, verifier, _ := db.CreateKey(ctx, admin.ID, store.NewKey{Name: "gateway", Scopes: []string{store.ScopeKeysVerify}}, store.AuditEvent{})
			reader, readerSecret, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "reader", Scopes: []string{"orders:read"}}, store.AuditEvent{})

			api := newUpstream(t)
			routes, err := ParseRoutes("GET /v1/orders=orders:read, POST /v1/orders=orders:write, /v1/=profile:read")
			if err != nil {
				t.Fatal(err)
			}
			kdURL, _ := url.Parse(kd.URL)
			apiURL, _ := url.Parse(api.URL)
			h, err := New(Config{Keydesk: kdURL, Upstream: apiURL, VerifierKey: verifier, Routes: routes})
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(h)
			defer gw.Close()

			call := func(method, path, key string, extra map[string]string) (*http.Response, string) {
				t.Helper()
				req, _ := http.NewRequest(method, gw.URL+path, nil)
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				for k, v := range extra {
					req.Header.Set(k, v)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res, string(b)
			}

			// A key with the route's scope passes, with its owner's ids, and
			// neither its secret nor a forged identity reaches the API.
			res, body := call("GET", "/v1/orders/42", readerSecret, map[string]string{HeaderUserID: "usr_forged"})
			if res.StatusCode != 200 || !strings.Contains(body, `"path":"/v1/orders/42"`) {
				t.Fatalf("a good key: %d %s", res.StatusCode, body)
			}
			got := api.last()
			if got.Header.Get(HeaderUserID) != uma.PublicID || got.Header.Get(HeaderEmail) != "uma@example.com" ||
				got.Header.Get(HeaderKALPID) != uma.KALPID || got.Header.Get(HeaderKYCStatus) != "verified" ||
				got.Header.Get(HeaderKeyID) != reader.PublicID || got.Header.Get(HeaderScopes) != "orders:read" {
				t.Errorf("the API got %v", got.Header)
			}
			if got.Header.Get("Authorization") != "" || strings.Contains(strings.Join(slices.Collect(func(yield func(string) bool) {
				for _, vs := range got.Header {
					for _, v := range vs {
						if !yield(v) {
							return
						}
					}
				}
			}), " "), readerSecret) {
				t.Error("the caller's key reached the API")
			}

			for _, tc := range []struct {
				name, method, path, key string
				status                  int
				wwwAuth, error          string
			}{
				{"a scope the key lacks", "POST", "/v1/orders", readerSecret, 403, `Bearer error="insufficient_scope", scope="orders:write"`, "insufficient_scope"},
				{"the catch-all rule's scope", "GET", "/v1/profile", readerSecret, 403, `Bearer error="insufficient_scope", scope="profile:read"`, "insufficient_scope"},
				{"no key", "GET", "/v1/orders", "", 401, "Bearer", "unauthorized"},
				{"a malformed key", "GET", "/v1/orders", "kdk_nope", 401, `Bearer error="invalid_token"`, "invalid_token"},
				{"an unknown key", "GET", "/v1/orders", store.GenerateKey(), 401, `Bearer error="invalid_token"`, "invalid_token"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					before := len(api.calls)
					res, body := call(tc.method, tc.path, tc.key, nil)
					if res.StatusCode != tc.status || res.Header.Get("WWW-Authenticate") != tc.wwwAuth || !strings.Contains(body, `"error":"`+tc.error+`"`) {
						t.Errorf("%d %q %s", res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
					}
					if len(api.calls) != before {
						t.Error("a refused call reached the API")
					}
				})
			}

			// Disabled in Keydesk: refused on the very next call.
			if _, err := db.SetKeyEnabled(ctx, uma.ID, reader.PublicID, false, store.AuditEvent{}); err != nil {
				t.Fatal(err)
			}
			if res, body := call("GET", "/v1/orders/42", readerSecret, nil); res.StatusCode != 401 {
				t.Errorf("a disabled key: %d %s", res.StatusCode, body)
			}

			// The calls are in the key's recent use, as the gateway saw them.
			deadline := time.Now().Add(5 * time.Second)
			for {
				uses, err := db.RecentKeyUses(ctx, reader.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(uses) >= 3 {
					if uses[len(uses)-1].Route != "GET /v1/orders/42" || uses[len(uses)-1].ClientIP != "127.0.0.1" {
						t.Errorf("first use recorded as %+v", uses[len(uses)-1])
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("uses recorded: %+v", uses)
				}
				time.Sleep(20 * time.Millisecond)
			}

			// Keydesk down: 503, never a 401 that would tell the caller its
			// key is bad.
			kd.Close()
			if res, body := call("GET", "/v1/orders/42", readerSecret, nil); res.StatusCode != 503 {
				t.Errorf("Keydesk unreachable: %d %s", res.StatusCode, body)
			}
		})
	}
}

package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"keydesk/store"
)

// The fuzz targets below post fuzzer-made bodies to every POST route, through
// the real router and every middleware, in process. The one property: no
// input gets a 5xx or a panic (the recover middleware turns a panic into a
// 500, so both show as a 5xx). Each target builds its server once, with
// signed-in users and real keys; the seed corpora are in
// testdata/fuzz/<FuzzName>/. `make fuzz` runs each for a while, `make test`
// for a few seconds.
//
// Seeds cannot know the ids a server generates, so a body may name them by
// placeholder: {key} (a key of the signed-in user), {otherkey} (another
// user's key), {user} (another user's public id) and {admin} (the admin's).

// fuzzPassword is every fuzz account's password, and fuzzPasswordHash its
// argon2id hash, made once with store.HashPassword: the setup runs in every
// fuzz worker, and a hash costs tens of milliseconds.
const (
	fuzzPassword     = "fuzz-password"
	fuzzPasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$JtEo8U7E2wrxQf6a/M/yYg$nmJKwLiM2CE03rEXdzi2kEX4ImfS4gM3c4fA4v8YzsU"
)

// TestFuzzPasswordHash keeps the seeds that log in with fuzzPassword
// meaningful.
func TestFuzzPasswordHash(t *testing.T) {
	if err := store.CheckPassword(fuzzPasswordHash, fuzzPassword); err != nil {
		t.Fatal(err)
	}
}

// fuzzApp is one application for one fuzz target.
type fuzzApp struct {
	ts       *testServer
	sessions *sessionStore // the server's own kind, with its key, to sign users in without a login

	user, admin, other *store.User
	userCookie         *http.Cookie
	userSession        string // the id behind userCookie
	adminCookie        *http.Cookie
	keys, otherKeys    []*store.APIKey

	clients atomic.Uint32 // numbers the client addresses, see post
}

func newFuzzApp(f *testing.F, configure ...func(*Config)) *fuzzApp {
	f.Helper()
	sessionKey := make([]byte, 32)
	rand.Read(sessionKey)
	configure = append([]func(*Config){func(c *Config) { c.SessionKeys = [][]byte{sessionKey} }}, configure...)
	ts := newTestServer(f, configure...)
	a := &fuzzApp{ts: ts, sessions: newSessionStore(ts.db, [][]byte{sessionKey}, false, sessionIdle, sessionAbsolute)}
	a.user = a.createUser(f, "Uma User", "user@example.com", store.RoleUser)
	a.admin = a.createUser(f, "Ada Admin", "admin@example.com", store.RoleAdmin)
	a.other = a.createUser(f, "Oscar Other", "other@example.com", store.RoleUser)
	for _, k := range [][2]string{{"CI deploys", "GitHub Actions"}, {"Analytics", "Nightly export"}, {"Staging", "Smoke tests"}} {
		a.keys = append(a.keys, a.createKey(f, a.user, k[0], k[1]))
	}
	a.otherKeys = append(a.otherKeys, a.createKey(f, a.other, "Oscar's bot", "Chat bot"))
	a.userCookie, a.userSession = a.signIn(f, a.user)
	a.adminCookie, _ = a.signIn(f, a.admin)
	return a
}

func (a *fuzzApp) createUser(tb testing.TB, name, email string, role store.Role) *store.User {
	tb.Helper()
	u, err := a.ts.db.CreateUser(context.Background(), store.NewUser{
		Name: name, Email: email, PasswordHash: fuzzPasswordHash, Role: role, KYCStatus: store.KYCVerified,
	}, store.AuditEvent{})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func (a *fuzzApp) createKey(tb testing.TB, u *store.User, name, desc string) *store.APIKey {
	tb.Helper()
	k, _, err := a.ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: name, Description: desc}, store.AuditEvent{})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// signIn starts a session for u the way login does, without the argon2id
// check, and returns its cookie and id: a fuzz target that ends sessions
// needs a new one per input.
func (a *fuzzApp) signIn(tb testing.TB, u *store.User) (*http.Cookie, string) {
	tb.Helper()
	session := sessions.NewSession(a.sessions, a.sessions.cookieName())
	opts := a.sessions.options
	session.Options = &opts
	session.Values[valUserID] = u.ID
	rec := httptest.NewRecorder()
	if err := session.Save(httptest.NewRequest(http.MethodGet, "/", nil), rec); err != nil {
		tb.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == a.sessions.cookieName() {
			return c, session.ID
		}
	}
	tb.Fatal("sign in: no session cookie")
	return nil, ""
}

// fill replaces the placeholders in a seed's body with this server's ids.
func (a *fuzzApp) fill(body []byte) []byte {
	if !bytes.Contains(body, []byte("{")) {
		return body
	}
	return []byte(strings.NewReplacer(
		"{key}", a.keys[0].PublicID,
		"{otherkey}", a.otherKeys[0].PublicID,
		"{user}", a.other.PublicID,
		"{admin}", a.admin.PublicID,
	).Replace(string(body)))
}

// post sends one fuzz input to path as a same-origin browser would, and
// fails on a 5xx. Each request comes from its own client address, so that
// the per-address sign-in limit does not answer everything with 429.
func (a *fuzzApp) post(t *testing.T, path string, cookie *http.Cookie, contentType string, body []byte, htmx bool) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(a.fill(body)))
	if contentType != "" {
		req.Header.Set(echo.HeaderContentType, contentType)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	n := a.clients.Add(1)
	req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", byte(n>>16), byte(n>>8), byte(n))
	rec := httptest.NewRecorder()
	a.ts.echo.ServeHTTP(rec, req)
	logs := a.takeLogs()
	if rec.Code >= 500 || rec.Code < 200 {
		t.Fatalf("POST %s, Content-Type %q, htmx %v, body %q: status %d\nserver log:\n%s\nresponse:\n%.2000s",
			path, contentType, htmx, body, rec.Code, logs, rec.Body.String())
	}
	return rec.Code
}

// takeLogs empties the server's log and returns what it held: a fuzz run
// makes millions of lines, and only the failing request's matter.
func (a *fuzzApp) takeLogs() string {
	b := a.ts.logs
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// forgetFailures clears the sign-in failures counted against the fuzz
// accounts, so their limit does not turn every later input into a 429.
func (a *fuzzApp) forgetFailures(t *testing.T) {
	t.Helper()
	for _, email := range []string{a.user.Email, a.admin.Email, a.other.Email} {
		if err := a.ts.db.ClearLoginFailures(context.Background(), email); err != nil {
			t.Fatal(err)
		}
	}
}

// keepAdmin undoes what an input did to the admin's own account (the role
// or account routes may demote or disable it once another admin exists), so
// later inputs still reach the admin handlers.
func (a *fuzzApp) keepAdmin(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	u, err := a.ts.db.UserByID(ctx, a.admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != store.RoleAdmin {
		if err := a.ts.db.SetUserRole(ctx, u.ID, store.RoleAdmin, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	if u.Disabled {
		if err := a.ts.db.SetUserDisabled(ctx, u.ID, false, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
		a.adminCookie, _ = a.signIn(t, a.admin)
	}
}

// keyID picks the key a path names: the user's own, another user's, or
// ids that name nothing.
func (a *fuzzApp) keyID(target byte) string {
	ids := []string{a.keys[0].PublicID, a.keys[1].PublicID, a.otherKeys[0].PublicID,
		"key_0000000000000000", "", "'; DROP TABLE api_keys; --", "<script>alert(1)</script>", strings.Repeat("k", 300)}
	return url.PathEscape(ids[int(target)%len(ids)])
}

// userID picks the account a path names: another user, the admin itself,
// or ids that name nothing.
func (a *fuzzApp) userID(target byte) string {
	ids := []string{a.other.PublicID, a.user.PublicID, a.admin.PublicID,
		"usr_0000000000000000", "'; DROP TABLE users; --", "<script>alert(1)</script>"}
	return url.PathEscape(ids[int(target)%len(ids)])
}

func FuzzLogin(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		a.post(t, "/login", nil, contentType, body, htmx)
		a.forgetFailures(t)
	})
}

func FuzzSignup(f *testing.F) {
	a := newFuzzApp(f, func(c *Config) { c.Signup = true })
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		a.post(t, "/signup", nil, contentType, body, htmx)
	})
}

func FuzzLogout(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, signedIn bool) {
		var cookie *http.Cookie
		if signedIn {
			cookie, _ = a.signIn(t, a.user)
		}
		a.post(t, "/logout", cookie, contentType, body, htmx)
	})
}

func FuzzUpdateName(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		a.post(t, "/settings/profile", a.userCookie, contentType, body, htmx)
	})
}

func FuzzChangePassword(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		if code := a.post(t, "/settings/password", a.userCookie, contentType, body, htmx); code == http.StatusOK || code == http.StatusSeeOther {
			// The password changed: put it back, so the seeds that
			// give the right current password keep reaching the change.
			err := a.ts.db.SetPassword(context.Background(), a.user.ID, fuzzPasswordHash, hashSessionID(a.userSession), store.AuditEvent{})
			if err != nil {
				t.Fatal(err)
			}
		}
		a.forgetFailures(t)
	})
}

func FuzzRevokeOtherSessions(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		a.signIn(t, a.user) // another session to end
		a.post(t, "/settings/sessions/revoke-others", a.userCookie, contentType, body, htmx)
	})
}

func FuzzCreateKey(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		a.post(t, "/settings/api-keys", a.userCookie, contentType, body, htmx)
		a.dropNewKeys(t)
	})
}

// dropNewKeys deletes the keys inputs created, once there are many, so the
// 50-key limit does not end every later create at the same error.
func (a *fuzzApp) dropNewKeys(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	keys, err := a.ts.db.KeysForUser(ctx, a.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < store.MaxKeysPerUser-5 {
		return
	}
	keep := map[string]bool{}
	for _, k := range a.keys {
		keep[k.PublicID] = true
	}
	for _, k := range keys {
		if !keep[k.PublicID] {
			if err := a.ts.db.DeleteKey(ctx, a.user.ID, k.PublicID, store.AuditEvent{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func FuzzSetKeyStatus(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/settings/api-keys/"+a.keyID(target)+"/status", a.userCookie, contentType, body, htmx)
	})
}

func FuzzEditKey(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/settings/api-keys/"+a.keyID(target)+"/edit", a.userCookie, contentType, body, htmx)
	})
}

func FuzzDeleteKey(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		// A key of the user's own to delete, made for this input, when
		// the target picks the user's first key.
		id := a.keyID(target)
		if id == url.PathEscape(a.keys[0].PublicID) {
			k := a.createKey(t, a.user, "Disposable "+rand.Text(), "To delete")
			id = k.PublicID
			defer a.ts.db.DeleteKey(context.Background(), a.user.ID, k.PublicID, store.AuditEvent{})
		}
		a.post(t, "/settings/api-keys/"+id+"/delete", a.userCookie, contentType, body, htmx)
	})
}

func FuzzAdminSetKeyStatus(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/admin/api-keys/"+a.keyID(target)+"/status", a.adminCookie, contentType, body, htmx)
	})
}

func FuzzAdminBulkDisable(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool) {
		a.post(t, "/admin/api-keys/disable", a.adminCookie, contentType, body, htmx)
	})
}

func FuzzAdminSetKYC(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/admin/users/"+a.userID(target)+"/kyc", a.adminCookie, contentType, body, htmx)
	})
}

func FuzzAdminSetDisabled(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/admin/users/"+a.userID(target)+"/disabled", a.adminCookie, contentType, body, htmx)
		a.keepAdmin(t)
	})
}

func FuzzAdminSetRole(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/admin/users/"+a.userID(target)+"/role", a.adminCookie, contentType, body, htmx)
		a.keepAdmin(t)
	})
}

package handlers

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	ts := newTestServer(t)
	ts.echo.GET("/test/panic", func(echo.Context) error { panic("boom") })
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	signedIn := ts.client(t)
	signedIn.login("uma@example.com", "uma-password")

	cases := []struct {
		name   string
		c      *client
		path   string
		status int
	}{
		{"200 login page", ts.client(t), "/login", 200},
		{"200 signed-in page", signedIn, "/settings/profile", 200},
		{"404 page", ts.client(t), "/missing", 404},
		{"500 from a panic", ts.client(t), "/test/panic", 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.get(tc.path)
			assertStatus(t, res, tc.status)
			csp := res.Header.Get("Content-Security-Policy")
			for _, directive := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, directive) {
					t.Errorf("CSP %q lacks %q", csp, directive)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP allows inline script or eval: %q", csp)
			}
			for header, want := range map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
				"Cache-Control":          "no-store",
			} {
				if got := res.Header.Get(header); got != want {
					t.Errorf("%s = %q, want %q", header, got, want)
				}
			}
			assertLacks(t, res, "<script>", "goroutine", "boom", "panic(")
		})
	}
	if !strings.Contains(ts.logs.String(), "boom") {
		t.Error("the panic was not logged")
	}
}

func TestSessionCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secure bool
		cookie string
	}{
		{"plain HTTP on loopback", false, "keydesk_session"},
		{"behind HTTPS", true, "__Host-keydesk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *Config) { c.SecureCookies = tc.secure })
			ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
			res := ts.client(t).post("/login", url.Values{"email": {"uma@example.com"}, "password": {"uma-password"}})
			assertStatus(t, res, http.StatusSeeOther)
			var ck *http.Cookie
			for _, c := range res.Cookies() {
				if c.Name == tc.cookie {
					ck = c
				}
			}
			if ck == nil {
				t.Fatalf("no %s cookie in %v", tc.cookie, res.Header["Set-Cookie"])
			}
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != tc.secure || ck.Path != "/" {
				t.Errorf("cookie flags: HttpOnly=%v SameSite=%v Secure=%v Path=%q", ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path)
			}
			if tc.secure && res.Header.Get("Strict-Transport-Security") == "" {
				t.Error("no HSTS behind HTTPS")
			}
		})
	}
}

func TestLoginAndLogout(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)

	t.Run("login lands where the user was going", func(t *testing.T) {
		c := ts.client(t)
		res := c.get("/settings/api-keys")
		assertStatus(t, res, http.StatusSeeOther)
		next := res.Header.Get("Location")
		page := c.get(next)
		assertContains(t, page, `name="next" value="/settings/api-keys"`)
		res = c.post("/login", url.Values{"email": {"uma@example.com"}, "password": {"uma-password"}, "next": {"/settings/api-keys"}})
		assertStatus(t, res, http.StatusSeeOther)
		if got := res.Header.Get("Location"); got != "/settings/api-keys" {
			t.Errorf("Location %q", got)
		}
	})

	t.Run("a next on another host is ignored", func(t *testing.T) {
		for _, next := range []string{"//evil.example/x", "https://evil.example", `/\evil.example`, "javascript:alert(1)"} {
			res := ts.client(t).post("/login", url.Values{"email": {"UMA@example.com"}, "password": {"uma-password"}, "next": {next}})
			assertStatus(t, res, http.StatusSeeOther)
			if got := res.Header.Get("Location"); got != "/settings/profile" {
				t.Errorf("next %q: Location %q", next, got)
			}
		}
	})

	t.Run("a new session id at every login", func(t *testing.T) {
		c := ts.client(t)
		c.login("uma@example.com", "uma-password")
		first := c.sessionCookie()
		c.login("uma@example.com", "uma-password")
		second := c.sessionCookie()
		if first.Value == second.Value {
			t.Fatal("the session cookie did not change at login")
		}
		assertStatus(t, ts.withCookie(t, first).get("/settings/profile"), http.StatusSeeOther)
		assertStatus(t, ts.withCookie(t, second).get("/settings/profile"), http.StatusOK)
	})

	t.Run("a copied cookie is useless after logout", func(t *testing.T) {
		c := ts.client(t)
		c.login("uma@example.com", "uma-password")
		stolen := c.sessionCookie()
		assertStatus(t, ts.withCookie(t, stolen).get("/settings/profile"), http.StatusOK)

		res := c.post("/logout", nil)
		assertStatus(t, res, http.StatusSeeOther)
		if res.Header.Get("Location") != "/login" {
			t.Errorf("logout went to %q", res.Header.Get("Location"))
		}
		replay := ts.withCookie(t, stolen).get("/settings/profile")
		assertStatus(t, replay, http.StatusSeeOther)
		if !strings.HasPrefix(replay.Header.Get("Location"), "/login") {
			t.Errorf("replayed cookie went to %q", replay.Header.Get("Location"))
		}
	})

	t.Run("a forged cookie is refused", func(t *testing.T) {
		forged := &http.Cookie{Name: "keydesk_session", Value: "MTY5OTk5OTk5OXxmb3JnZWR8"}
		assertStatus(t, ts.withCookie(t, forged).get("/settings/profile"), http.StatusSeeOther)
	})

	t.Run("login and logout are audited", func(t *testing.T) {
		auditPage, err := ts.db.AuditLog(context.Background(), store.AuditFilter{Limit: 100})
		events := auditPage.Events
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range events {
			seen[e.Action] = true
			if e.Action == store.ActionLogin && (e.Actor != "uma@example.com" || e.IP != "127.0.0.1") {
				t.Errorf("login event %+v", e)
			}
		}
		for _, a := range []string{store.ActionLogin, store.ActionLogout} {
			if !seen[a] {
				t.Errorf("no %s event", a)
			}
		}
	})
}

func TestLoginGivesNothingAway(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	disabled := ts.createUser(t, "Dis", "dis@example.com", "dis-password", store.RoleUser)
	if err := ts.db.SetUserDisabled(context.Background(), disabled.ID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}

	answers := map[string]response{}
	for name, form := range map[string]url.Values{
		"unknown email":  {"email": {"nobody@example.com"}, "password": {"uma-password"}},
		"wrong password": {"email": {"uma@example.com"}, "password": {"wrong-password"}},
		"disabled":       {"email": {"dis@example.com"}, "password": {"dis-password"}},
	} {
		res := ts.client(t).post("/login", form)
		res.body = strings.ReplaceAll(res.body, form.Get("email"), "EMAIL")
		answers[name] = res
	}
	want := answers["wrong password"]
	assertStatus(t, want, http.StatusUnauthorized)
	assertContains(t, want, "Incorrect email or password.", `value="EMAIL"`)
	for name, res := range answers {
		if res.StatusCode != want.StatusCode || res.body != want.body {
			t.Errorf("%s answers differently from a wrong password (status %d)", name, res.StatusCode)
		}
	}
	assertLacks(t, want, "wrong-password")
}

func TestLoginRateLimit(t *testing.T) {
	t.Run("per account", func(t *testing.T) {
		ts := newTestServer(t)
		ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
		for i := range loginMaxAccount {
			// Each attempt from its own claimed address: X-Forwarded-For is
			// not trusted, so it changes nothing.
			res := ts.client(t).do("POST", "/login", url.Values{"email": {"uma@example.com"}, "password": {"nope-nope"}},
				map[string]string{"X-Forwarded-For": "203.0.113." + string(rune('1'+i))})
			assertStatus(t, res, http.StatusUnauthorized)
		}
		res := ts.client(t).post("/login", url.Values{"email": {"uma@example.com"}, "password": {"uma-password"}})
		assertStatus(t, res, http.StatusTooManyRequests)
		assertContains(t, res, "Too many failed sign-in attempts")
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// Another account from the same address is still served.
		ts.createUser(t, "Other", "other@example.com", "other-password", store.RoleUser)
		ts.client(t).login("other@example.com", "other-password")

		ts.clock.Advance(loginWindow + time.Second)
		ts.client(t).login("uma@example.com", "uma-password")
	})

	t.Run("per client IP, whatever X-Forwarded-For says", func(t *testing.T) {
		ts := newTestServer(t)
		for i := range loginMaxIP {
			res := ts.client(t).do("POST", "/login",
				url.Values{"email": {"guess" + strings.Repeat("x", i) + "@example.com"}, "password": {"password1"}},
				map[string]string{"X-Forwarded-For": "198.51.100.7"})
			assertStatus(t, res, http.StatusUnauthorized)
		}
		res := ts.client(t).do("POST", "/login", url.Values{"email": {"fresh@example.com"}, "password": {"password1"}},
			map[string]string{"X-Forwarded-For": "198.51.100.8"})
		assertStatus(t, res, http.StatusTooManyRequests)
	})

	t.Run("a configured proxy's X-Forwarded-For is believed", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8") })
		for i := range loginMaxIP {
			res := ts.client(t).do("POST", "/login",
				url.Values{"email": {"guess" + strings.Repeat("y", i) + "@example.com"}, "password": {"password1"}},
				map[string]string{"X-Forwarded-For": "198.51.100.7"})
			assertStatus(t, res, http.StatusUnauthorized)
		}
		blocked := ts.client(t).do("POST", "/login", url.Values{"email": {"a@example.com"}, "password": {"password1"}},
			map[string]string{"X-Forwarded-For": "198.51.100.7"})
		assertStatus(t, blocked, http.StatusTooManyRequests)
		other := ts.client(t).do("POST", "/login", url.Values{"email": {"a@example.com"}, "password": {"password1"}},
			map[string]string{"X-Forwarded-For": "198.51.100.99"})
		assertStatus(t, other, http.StatusUnauthorized)
	})
}

func TestSessionTimeouts(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)

	t.Run("idle", func(t *testing.T) {
		c := ts.client(t)
		c.login("uma@example.com", "uma-password")
		ts.clock.Advance(sessionIdle - time.Hour)
		assertStatus(t, c.get("/settings/profile"), http.StatusOK) // activity resets the idle clock
		ts.clock.Advance(sessionIdle - time.Hour)
		assertStatus(t, c.get("/settings/profile"), http.StatusOK)
		ts.clock.Advance(sessionIdle + time.Minute)
		assertStatus(t, c.get("/settings/profile"), http.StatusSeeOther)
	})

	t.Run("absolute", func(t *testing.T) {
		c := ts.client(t)
		c.login("uma@example.com", "uma-password")
		for elapsed := time.Duration(0); elapsed < sessionAbsolute-12*time.Hour; elapsed += 12 * time.Hour {
			ts.clock.Advance(12 * time.Hour)
			assertStatus(t, c.get("/settings/profile"), http.StatusOK)
		}
		ts.clock.Advance(13 * time.Hour)
		assertStatus(t, c.get("/settings/profile"), http.StatusSeeOther)
	})
}

// TestSessionOfADisabledUserIsRefused: disabling an account deletes its
// sessions, but a login that raced the disable (password checked before it,
// session written after) leaves a live row for a disabled account. The
// session check must refuse the account itself, not trust the rows to be
// gone, and delete that row, so that enabling the account again does not
// revive the session.
func TestSessionOfADisabledUserIsRefused(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	assertStatus(t, c.get("/settings/profile"), http.StatusOK)

	raw := ts.raw(t)
	if _, err := raw.Exec(ts.db.Rebind(`UPDATE users SET disabled = true WHERE id = ?`), u.ID); err != nil {
		t.Fatal(err)
	}
	res := c.get("/settings/profile")
	assertStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Errorf("Location %q, want the login page", loc)
	}
	var rows int
	if err := raw.QueryRow(ts.db.Rebind(`SELECT count(*) FROM sessions WHERE user_id = ?`), u.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("%d session rows left for the disabled account, want 0", rows)
	}
	if err := ts.db.SetUserDisabled(context.Background(), u.ID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	assertStatus(t, c.get("/settings/profile"), http.StatusSeeOther)
}

// TestLastSeenIsWrittenAtMostOncePerMinute: a signed-in page costs no write
// of the session's last-seen time unless a minute has passed since the
// last one, however many pages the user opens.
func TestLastSeenIsWrittenAtMostOncePerMinute(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	writes := ts.countWrites(t, "sessions", "last_seen_at")

	pages := func() {
		t.Helper()
		for range 10 {
			assertStatus(t, c.get("/settings/profile"), http.StatusOK)
		}
	}
	pages()
	if n := writes(); n != 0 {
		t.Errorf("10 pages right after login wrote last-seen %d times, want 0", n)
	}
	ts.clock.Advance(sessionTouch - time.Second)
	pages()
	if n := writes(); n != 0 {
		t.Errorf("within the minute: %d writes of last-seen, want 0", n)
	}
	ts.clock.Advance(2 * time.Second)
	pages()
	if n := writes(); n != 1 {
		t.Errorf("after the minute: %d writes of last-seen, want 1", n)
	}
}

// TestSignedInRequestReadsSessionAndUserOnce: whatever the page, a
// signed-in request reads its session and the session's user with one
// call of the store (one statement, a join), and reads the user no other
// way: an error page for a signed-in user, which keeps its header, too.
func TestSignedInRequestReadsSessionAndUserOnce(t *testing.T) {
	var reads *readCounter
	ts := newTestServer(t, func(cfg *Config) {
		reads = &readCounter{Store: cfg.Store}
		cfg.Store = reads
	})
	ts.createUser(t, "Ada", "ada@example.com", "ada-password", store.RoleAdmin)
	c := ts.client(t)
	c.login("ada@example.com", "ada-password")
	for _, p := range []struct {
		path   string
		status int
	}{
		{"/", http.StatusSeeOther},
		{"/settings/profile", http.StatusOK},
		{"/settings/api-keys", http.StatusOK},
		{"/admin/api-keys", http.StatusOK},
		{"/admin/audit", http.StatusOK},
		{"/no-such-page", http.StatusNotFound},
	} {
		reads.reset()
		res := c.get(p.path)
		assertStatus(t, res, p.status)
		if got := reads.counts(); got != (sessionReads{sessionWithUser: 1}) {
			t.Errorf("GET %s read %+v, want the session with its user once and nothing else", p.path, got)
		}
	}
	assertContains(t, c.get("/no-such-page"), "Ada")
}

// readCounter is the real store, counting the calls that read a session
// or a user by id, for the promise of how many a request makes.
type readCounter struct {
	Store
	mu sync.Mutex
	n  sessionReads
}

type sessionReads struct{ sessionWithUser, userByID int }

func (r *readCounter) SessionWithUser(ctx context.Context, idHash string) (*store.Session, *store.User, error) {
	r.mu.Lock()
	r.n.sessionWithUser++
	r.mu.Unlock()
	return r.Store.SessionWithUser(ctx, idHash)
}

func (r *readCounter) UserByID(ctx context.Context, id int64) (*store.User, error) {
	r.mu.Lock()
	r.n.userByID++
	r.mu.Unlock()
	return r.Store.UserByID(ctx, id)
}

func (r *readCounter) reset() { r.mu.Lock(); r.n = sessionReads{}; r.mu.Unlock() }

func (r *readCounter) counts() sessionReads { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

func TestStoreFailureIsNotASignOut(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	ts.db.Close()
	res := c.get("/settings/profile")
	if res.StatusCode < 500 {
		t.Fatalf("status %d with the store down, want 5xx", res.StatusCode)
	}
	assertStatus(t, c.get("/readyz"), http.StatusServiceUnavailable)
	assertStatus(t, c.get("/healthz"), http.StatusOK)
	if c.sessionCookie() == nil {
		t.Error("the session cookie was cleared by a store failure")
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.post("/login", url.Values{"email": {"uma@example.com"}, "password": {"typo-password"}})
	c.login("uma@example.com", "uma-password")
	cookie := c.sessionCookie().Value
	c.post("/settings/password", url.Values{"current_password": {"uma-password"},
		"new_password": {"brand-new-secret"}, "confirm_password": {"brand-new-secret"}})
	c.get("/settings/profile?token=query-secret")
	logs := ts.logs.String()
	if !strings.Contains(logs, `"path":"/settings/password"`) {
		t.Fatalf("requests were not logged:\n%s", logs)
	}
	if !strings.Contains(logs, `"request_id":"`) || !strings.Contains(logs, `"status":303`) {
		t.Errorf("log lines lack a request id or status:\n%s", logs)
	}
	for _, secret := range []string{"uma-password", "typo-password", "brand-new-secret", cookie, "query-secret"} {
		if strings.Contains(logs, secret) {
			t.Errorf("a log line holds %q", secret)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	ts := newTestServer(t)
	res := ts.client(t).post("/login", url.Values{"email": {strings.Repeat("a", 70_000)}, "password": {"x"}})
	assertStatus(t, res, http.StatusRequestEntityTooLarge)
	assertContains(t, res, "Request too large")
}

func mustCIDRs(t *testing.T, cidrs ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, c := range cidrs {
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

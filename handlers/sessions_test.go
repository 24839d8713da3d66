package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"

	"keydesk/store"
)

var signOutLinkRe = regexp.MustCompile(`href="/settings/sessions/([^"/]+)/sign-out"`)

// signOutHandles are the handles of the sessions a profile page (or its
// sessions section) offers to sign out.
func signOutHandles(body string) []string {
	var out []string
	for _, m := range signOutLinkRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// storedSessions are the id hashes of every session row of the user.
func storedSessions(t *testing.T, ts *testServer, userID int64) []string {
	t.Helper()
	rows, err := ts.raw(t).Query(ts.db.Rebind(`SELECT id_hash FROM sessions WHERE user_id = ?`), userID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func countAudit(t *testing.T, ts *testServer, action string) (n int, details string) {
	t.Helper()
	rows, err := ts.raw(t).Query(ts.db.Rebind(`SELECT detail, target FROM audit_events WHERE action = ?`), action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, target string
		if err := rows.Scan(&d, &target); err != nil {
			t.Fatal(err)
		}
		n++
		details += d + "|" + target + "\n"
	}
	return n, details
}

// TestSignOutOneSession: the sessions list names each session by an opaque
// handle (never its id or stored hash), the other session is signed out
// after a confirmation that names it, with htmx or a plain post, and its
// next request lands on the login page; this device keeps working.
func TestSignOutOneSession(t *testing.T) {
	for _, htmx := range []bool{true, false} {
		name := "plain post"
		if htmx {
			name = "htmx"
		}
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t)
			uma := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
			me, other := ts.client(t), ts.client(t)
			me.login("uma@example.com", "uma-password")
			other.do("POST", "/login", url.Values{"email": {"uma@example.com"}, "password": {"uma-password"}},
				map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Firefox/133.0"})
			headers := map[string]string{}
			if htmx {
				headers["HX-Request"] = "true"
			}

			page := me.get("/settings/profile")
			assertStatus(t, page, http.StatusOK)
			assertContains(t, page, "Signed in", "Last seen", "This device")
			handles := signOutHandles(page.body)
			if len(handles) != 1 {
				t.Fatalf("%d sessions offered to sign out, want 1 (not this device): %v", len(handles), handles)
			}
			for _, ck := range []*http.Cookie{me.sessionCookie(), other.sessionCookie()} {
				assertLacks(t, page, ck.Value)
			}
			hashes := storedSessions(t, ts, uma.ID)
			assertLacks(t, page, hashes...)

			confirm := me.do("GET", "/settings/sessions/"+handles[0]+"/sign-out", nil, headers)
			assertStatus(t, confirm, http.StatusOK)
			assertContains(t, confirm, "Sign out Firefox on Linux at 127.0.0.1?", ">Cancel</a>")
			if n, _ := countAudit(t, ts, store.ActionSessionRevoked); n != 0 {
				t.Fatalf("the confirmation ended a session: %d events", n)
			}
			assertStatus(t, other.get("/settings/profile"), http.StatusOK)

			res := me.do("POST", "/settings/sessions/"+handles[0]+"/sign-out", url.Values{}, headers)
			if htmx {
				assertStatus(t, res, http.StatusOK)
				assertContains(t, res, "Signed out Firefox on Linux (127.0.0.1).")
				assertLacks(t, res, "<html")
				if got := signOutHandles(res.body); len(got) != 0 {
					t.Errorf("still offered after: %v", got)
				}
			} else {
				assertStatus(t, res, http.StatusSeeOther)
				after := me.get(res.Header.Get("Location"))
				assertContains(t, after, "Signed out Firefox on Linux (127.0.0.1).")
			}
			gone := other.get("/settings/profile")
			assertStatus(t, gone, http.StatusSeeOther)
			if loc := gone.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
				t.Errorf("the signed-out session went to %q, want /login", loc)
			}
			assertStatus(t, me.get("/settings/profile"), http.StatusOK)

			n, details := countAudit(t, ts, store.ActionSessionRevoked)
			if n != 1 || !strings.Contains(details, "Firefox on Linux") {
				t.Errorf("%d %s events (%q), want 1 naming the device", n, store.ActionSessionRevoked, details)
			}
			for _, secret := range append(hashes, me.sessionCookie().Value, other.sessionCookie().Value, handles[0]) {
				if strings.Contains(details, secret) {
					t.Errorf("the audit event holds a session id, hash or handle: %q", details)
				}
			}
			// The handle is in the URL and the request log, by design: it
			// names a session only to its own user, and cannot be turned
			// into the session id or its stored hash, which are nowhere.
			for _, secret := range append(hashes, me.sessionCookie().Value, other.sessionCookie().Value) {
				if strings.Contains(ts.logs.String(), secret) {
					t.Error("a log line holds a session id or its hash")
				}
			}
		})
	}
}

// TestSignOutSessionRefusesOthers: a handle of another user's session, a
// forged one, one already used, and this device's own (which ends only with
// Log out) are all 404, and nothing ends.
func TestSignOutSessionRefusesOthers(t *testing.T) {
	var keys [][]byte
	ts := newTestServer(t, func(c *Config) { keys = c.SessionKeys })
	uma := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	ts.createUser(t, "Vic", "vic@example.com", "vic-password", store.RoleUser)
	me, mine := ts.client(t), ts.client(t)
	me.login("uma@example.com", "uma-password")
	mine.login("uma@example.com", "uma-password")
	vic1, vic2 := ts.client(t), ts.client(t)
	vic1.login("vic@example.com", "vic-password")
	vic2.login("vic@example.com", "vic-password")

	vicHandles := signOutHandles(vic1.get("/settings/profile").body)
	if len(vicHandles) != 1 {
		t.Fatalf("Vic is offered %d sessions, want 1", len(vicHandles))
	}
	myHandles := signOutHandles(me.get("/settings/profile").body)
	if len(myHandles) != 1 {
		t.Fatalf("Uma is offered %d sessions, want 1", len(myHandles))
	}
	// This device's handle, as the server would make it: the one of Uma's
	// sessions the page does not offer.
	var current string
	hs := newSessionStore(ts.db, keys, false, sessionIdle, sessionAbsolute)
	for _, h := range storedSessions(t, ts, uma.ID) {
		if hs.handle(h) != myHandles[0] {
			current = hs.handle(h)
		}
	}
	if current == "" {
		t.Fatal("no handle for this device")
	}
	forged := strings.Repeat("A", len(myHandles[0]))

	for _, c := range []struct{ name, handle string }{
		{"another user's session", vicHandles[0]},
		{"a forged handle", forged},
		{"this device", current},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, htmx := range []map[string]string{nil, {"HX-Request": "true"}} {
				assertStatus(t, me.do("GET", "/settings/sessions/"+c.handle+"/sign-out", nil, htmx), http.StatusNotFound)
				assertStatus(t, me.do("POST", "/settings/sessions/"+c.handle+"/sign-out", url.Values{}, htmx), http.StatusNotFound)
			}
		})
	}
	for name, c := range map[string]*client{"Uma here": me, "Uma elsewhere": mine, "Vic": vic1, "Vic elsewhere": vic2} {
		if res := c.get("/settings/profile"); res.StatusCode != http.StatusOK {
			t.Errorf("%s was signed out: %d", name, res.StatusCode)
		}
	}
	if n, _ := countAudit(t, ts, store.ActionSessionRevoked); n != 0 {
		t.Errorf("%d %s events for refused requests", n, store.ActionSessionRevoked)
	}

	assertStatus(t, me.do("POST", "/settings/sessions/"+myHandles[0]+"/sign-out", url.Values{}, nil), http.StatusSeeOther)
	assertStatus(t, me.do("POST", "/settings/sessions/"+myHandles[0]+"/sign-out", url.Values{}, nil), http.StatusNotFound)
}

// TestSavedNameReachesTheHeader: after saving the name, the header's user
// menu says it, swapped out of band for htmx, and on the page a plain post
// redirects to.
func TestSavedNameReachesTheHeader(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")

	res := c.do("POST", "/settings/profile", url.Values{"name": {"  Uma Renamed  "}}, map[string]string{"HX-Request": "true"})
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, "Name saved.", `id="user-menu"`, `hx-swap-oob="true"`,
		`<span class="menu__name">Uma Renamed</span>`, `aria-label="Uma Renamed, account menu"`, "uma@example.com")
	assertLacks(t, res, "<html", `<span class="menu__name">Uma</span>`)

	res = c.post("/settings/profile", url.Values{"name": {"Uma Plain"}})
	assertStatus(t, res, http.StatusSeeOther)
	page := c.get(res.Header.Get("Location"))
	assertContains(t, page, `<span class="menu__name">Uma Plain</span>`, "Name saved.")
	assertLacks(t, page, `hx-swap-oob`)
	// The notice is shown once: the next page does not repeat it.
	assertLacks(t, c.get("/settings/profile"), "Name saved.")
}

// TestPasswordMistakesNeverEchoPasswords: whatever goes wrong in Change
// password, with htmx or without, no answer holds a password typed.
func TestPasswordMistakesNeverEchoPasswords(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password-7731", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password-7731")
	typed := []string{"uma-password-7731", "Fresh-Secret-4410", "Other-Secret-9921", "short7", "Wrong-Current-5512"}
	for _, m := range []struct {
		name                   string
		current, next, confirm string
		want                   string
	}{
		{"confirmation differs", "uma-password-7731", "Fresh-Secret-4410", "Other-Secret-9921", "The two new passwords do not match."},
		{"too short", "uma-password-7731", "short7", "short7", "at least 8"},
		{"wrong current", "Wrong-Current-5512", "Fresh-Secret-4410", "Fresh-Secret-4410", "Your current password is not correct."},
		{"no current", "", "Fresh-Secret-4410", "Fresh-Secret-4410", "Enter your current password."},
	} {
		for _, headers := range []map[string]string{nil, {"HX-Request": "true"}} {
			res := c.do("POST", "/settings/password", passwordForm(m.current, m.next, m.confirm), headers)
			assertStatus(t, res, http.StatusUnprocessableEntity)
			assertContains(t, res, m.want, `id="current_password"`)
			assertLacks(t, res, typed...)
		}
	}
}

// TestSessionDataKeepsOnlyWhatTheRowDoesNot: a session's row holds its
// user and times in columns, so its data holds nothing else but a notice
// on its way to the next page: a signed-in page then decodes nothing.
func TestSessionDataKeepsOnlyWhatTheRowDoesNot(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	data := func() []byte {
		t.Helper()
		var b []byte
		if err := ts.raw(t).QueryRow(ts.db.Rebind(`SELECT data FROM sessions WHERE user_id = ?`), u.ID).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	c.login("uma@example.com", "uma-password")
	if b := data(); len(b) != 0 {
		t.Errorf("after login the session stores %d bytes of data, want none", len(b))
	}
	res := c.post("/settings/profile", url.Values{"name": {"Uma Plain"}})
	assertStatus(t, res, http.StatusSeeOther)
	if len(data()) == 0 {
		t.Error("the notice for the next page was not stored")
	}
	assertContains(t, c.get(res.Header.Get("Location")), "Name saved.")
	if b := data(); len(b) != 0 {
		t.Errorf("after the notice was shown the session stores %d bytes of data, want none", len(b))
	}
	assertStatus(t, c.get("/settings/profile"), http.StatusOK)
}

// TestSessionsWrittenBeforeStillLoad: a session whose data an older
// version wrote (gob, with the user id and last-seen time in it too) is
// still signed in after an upgrade, its notice shown once.
func TestSessionsWrittenBeforeStillLoad(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	old, err := (securecookie.GobEncoder{}).Serialize(map[any]any{
		valUserID: u.ID, valLastSeen: ts.clock.Now().UnixMilli(), "_flash": []any{"A notice from before."},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.raw(t).Exec(ts.db.Rebind(`UPDATE sessions SET data = ? WHERE user_id = ?`), old, u.ID); err != nil {
		t.Fatal(err)
	}
	page := c.get("/settings/profile")
	assertStatus(t, page, http.StatusOK)
	assertContains(t, page, "A notice from before.", "uma@example.com")
	page = c.get("/settings/profile")
	assertStatus(t, page, http.StatusOK)
	assertLacks(t, page, "A notice from before.")
}

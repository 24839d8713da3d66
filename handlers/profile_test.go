package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keydesk/store"
)

func passwordForm(current, next, confirm string) url.Values {
	return url.Values{"current_password": {current}, "new_password": {next}, "confirm_password": {confirm}}
}

func TestChangePassword(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	me, other := ts.client(t), ts.client(t)
	me.login("uma@example.com", "uma-password")
	other.login("uma@example.com", "uma-password")
	otherCookie := other.sessionCookie()

	hundred := strings.Repeat("p", 100)
	refusals := []struct {
		name  string
		form  url.Values
		field string
		msg   string
	}{
		{"wrong current password", passwordForm("not-my-password", "new-password-1", "new-password-1"),
			"current_password", "Your current password is not correct."},
		{"no current password", passwordForm("", "new-password-1", "new-password-1"),
			"current_password", "Enter your current password."},
		{"7 characters", passwordForm("uma-password", "1234567", "1234567"), "new_password", "Use at least 8 characters."},
		{"257 characters", passwordForm("uma-password", strings.Repeat("p", 257), strings.Repeat("p", 257)),
			"new_password", "Use at most 256 characters."},
		{"confirmation differs", passwordForm("uma-password", "new-password-1", "new-password-2"),
			"confirm_password", "The two new passwords do not match."},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				headers := map[string]string{}
				if htmx {
					headers["HX-Request"] = "true"
				}
				res := me.do("POST", "/settings/password", tc.form, headers)
				assertStatus(t, res, http.StatusUnprocessableEntity)
				assertContains(t, res, `id="`+tc.field+`-error"`, tc.msg, "<details class=\"disclosure\" open")
				for _, v := range tc.form {
					if v[0] != "" {
						assertLacks(t, res, `value="`+v[0]+`"`)
					}
				}
				if htmx {
					assertLacks(t, res, "<html")
				}
			}
			// Nothing changed: the old password and the other session still work.
			assertStatus(t, ts.withCookie(t, otherCookie).get("/settings/profile"), http.StatusOK)
		})
	}

	t.Run("a 100-character password works, and ends the other sessions", func(t *testing.T) {
		res := me.do("POST", "/settings/password", passwordForm("uma-password", hundred, hundred),
			map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, "Password changed.", `hx-swap-oob="true"`)
		assertStatus(t, me.get("/settings/profile"), http.StatusOK)
		assertStatus(t, ts.withCookie(t, otherCookie).get("/settings/profile"), http.StatusSeeOther)

		old := ts.client(t).post("/login", url.Values{"email": {"uma@example.com"}, "password": {"uma-password"}})
		assertStatus(t, old, http.StatusUnauthorized)
		ts.client(t).login("uma@example.com", hundred)
	})

	t.Run("a 256-character password works without JavaScript", func(t *testing.T) {
		max := strings.Repeat("€", 256) // characters, not bytes
		res := me.post("/settings/password", passwordForm(hundred, max, max))
		assertStatus(t, res, http.StatusSeeOther)
		page := me.get("/settings/profile")
		assertContains(t, page, "Password changed. Your other sessions were signed out.")
		assertLacks(t, me.get("/settings/profile"), "Password changed.") // a flash shows once
		ts.client(t).login("uma@example.com", max)
	})

	t.Run("the change is audited", func(t *testing.T) {
		auditPage, err := ts.db.AuditLog(context.Background(), store.AuditFilter{Limit: 100})
		events := auditPage.Events
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events {
			if e.Action == store.ActionPasswordChanged {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d password change events, want 2", n)
		}
	})
}

func TestWrongCurrentPasswordIsRateLimited(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	for range loginMaxAccount {
		assertStatus(t, c.post("/settings/password", passwordForm("guess-guess", "new-password-1", "new-password-1")),
			http.StatusUnprocessableEntity)
	}
	res := c.post("/settings/password", passwordForm("uma-password", "new-password-1", "new-password-1"))
	assertStatus(t, res, http.StatusTooManyRequests)
	assertContains(t, res, "Too many failed sign-in attempts")
}

func TestSignOutOtherSessions(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	me := ts.client(t)
	me.login("uma@example.com", "uma-password")
	others := []*client{ts.client(t), ts.client(t)}
	for _, o := range others {
		o.login("uma@example.com", "uma-password")
	}

	page := me.do("GET", "/settings/profile", nil, map[string]string{"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"})
	assertContains(t, page, "This device", "127.0.0.1")
	if n := strings.Count(page.body, `data-label="Device"`); n != 3 {
		t.Errorf("%d sessions listed, want 3", n)
	}

	res := me.do("POST", "/settings/sessions/revoke-others", nil, map[string]string{"HX-Request": "true"})
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, "Signed out of 2 other sessions.")
	if n := strings.Count(res.body, `data-label="Device"`); n != 1 {
		t.Errorf("%d sessions listed after, want 1", n)
	}
	for _, o := range others {
		assertStatus(t, o.get("/settings/profile"), http.StatusSeeOther)
	}
	assertStatus(t, me.get("/settings/profile"), http.StatusOK)
}

func TestDeviceName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":                   "Chrome on macOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                        "Firefox on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36 EdgA/126.0 Edg/126.0":                               "Edge on Android",
		"curl/8.5.0": "curl",
		"":           "Unknown device",
	} {
		if got := deviceName(ua); got != want {
			t.Errorf("deviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}

package handlers

import (
	"context"
	"html"
	"net/url"
	"testing"

	"keydesk/store"
)

// TestSignupThenLoginInAnyCase: an account signed up as Ärger@… is found
// by every spelling of that address, because the email is stored and looked
// up in one canonical form (SQLite's lower() knows only ASCII).
func TestSignupThenLoginInAnyCase(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Signup = true })
	res := ts.client(t).post("/signup", url.Values{"name": {"Ärger"}, "email": {"Ärger@example.com"}, "password": {"arger-password"}})
	assertStatus(t, res, 303)

	for _, typed := range []string{"ärger@example.com", "Ärger@example.com", "ÄRGER@EXAMPLE.COM", "A\u0308rger@example.com"} {
		t.Run(typed, func(t *testing.T) {
			c := ts.client(t)
			c.login(typed, "arger-password")
			assertContains(t, c.get("/settings/profile"), "ärger@example.com")
		})
	}
	page, err := ts.db.AuditLog(context.Background(), store.AuditFilter{Action: store.ActionSignup})
	if err != nil || len(page.Events) != 1 || page.Events[0].Actor != "ärger@example.com" {
		t.Errorf("sign-up event %+v (%v), want its actor in canonical form", page.Events, err)
	}
}

// TestSignupRefusesLookAlikeEmails: an address that only looks like a
// taken one is the same account (the Kelvin sign, fullwidth letters), and
// an address with invisible characters or mixed scripts is refused beside
// the field, the input kept.
func TestSignupRefusesLookAlikeEmails(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Signup = true })
	res := ts.client(t).post("/signup", url.Values{"name": {"Kim"}, "email": {"kim@example.com"}, "password": {"kim-password"}})
	assertStatus(t, res, 303)

	const (
		taken     = "An account with this email already exists."
		invisible = "Remove the invisible or control characters from the email address."
		scripts   = "Write each part of the address (between dots and the @) in one alphabet."
	)
	for _, tc := range []struct {
		name, email, msg string
	}{
		{"the Kelvin sign", "\u212Aim@example.com", taken},
		{"fullwidth letters", "ｋｉｍ@example.com", taken},
		{"upper case", "KIM@Example.com", taken},
		{"a right-to-left override", "moc.elpmaxe@\u202ekim", invisible},
		{"a zero-width space", "ki\u200bm@example.com", invisible},
		{"a zero-width joiner", "ki\u200dm@example.com", invisible},
		{"a byte-order mark", "\ufeffkim2@example.com", invisible},
		{"a Cyrillic letter among Latin ones", "k\u0456m@example.com", scripts},
		{"a Greek letter in the domain", "kim2@ex\u03b1mple.com", scripts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.client(t).post("/signup", url.Values{"name": {"Twin"}, "email": {tc.email}, "password": {"twin-password"}})
			assertStatus(t, res, 422)
			assertContains(t, res, `id="email-error"`, html.EscapeString(tc.msg), `value="`+html.EscapeString(tc.email)+`"`)
		})
	}
	users, err := ts.db.Users(context.Background(), store.UserFilter{})
	if err != nil || len(users.Rows) != 1 {
		t.Errorf("%d accounts (%v), want only kim@example.com", len(users.Rows), err)
	}
}

// TestAdminSearchFindsEmailsInAnyForm: the admin lists search emails in
// canonical form.
func TestAdminSearchFindsEmailsInAnyForm(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	arger := ts.createUser(t, "Ärger", "Ärger@example.com", "arger-password", store.RoleUser)
	if _, _, err := ts.db.CreateKey(context.Background(), arger.ID, store.NewKey{Name: "deploy", Description: ""}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	c.login("admin@example.com", "admin-password")
	for _, path := range []string{"/admin/users?q=", "/admin/api-keys?q="} {
		for _, q := range []string{"ÄRG", "A\u0308rger@"} {
			res := c.get(path + url.QueryEscape(q))
			assertStatus(t, res, 200)
			assertContains(t, res, "ärger@example.com")
		}
	}
}

package handlers

import (
	"net/url"
	"strings"
	"testing"

	"keydesk/store"
)

// scenario is one request and everything its answer must and must not be.
type scenario struct {
	name        string
	as          string // "", "user" or "admin": who is signed in
	method      string
	path        string
	form        url.Values
	headers     map[string]string
	wantStatus  int
	wantHeaders map[string]string // exact values; "" means the header must be absent
	want        []string          // in the body
	forbid      []string          // not in the body
}

func runScenarios(t *testing.T, ts *testServer, scenarios []scenario) {
	t.Helper()
	ts.createUser(t, "Uma User", "user@example.com", "user-password", store.RoleUser)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			c := ts.client(t)
			switch sc.as {
			case "user":
				c.login("user@example.com", "user-password")
			case "admin":
				c.login("admin@example.com", "admin-password")
			}
			res := c.do(sc.method, sc.path, sc.form, sc.headers)
			assertStatus(t, res, sc.wantStatus)
			for k, v := range sc.wantHeaders {
				if got := res.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			assertContains(t, res, sc.want...)
			assertLacks(t, res, sc.forbid...)
		})
	}
}

func TestRoutes(t *testing.T) {
	ts := newTestServer(t)
	long := strings.Repeat("x", 101)
	runScenarios(t, ts, []scenario{
		{name: "healthz answers while the process runs", method: "GET", path: "/healthz", wantStatus: 200, want: []string{"ok"}},
		{name: "readyz answers when the store does", method: "GET", path: "/readyz", wantStatus: 200, want: []string{"ok"}},
		{name: "root sends the signed-out to login", method: "GET", path: "/", wantStatus: 303,
			wantHeaders: map[string]string{"Location": "/login"}},
		{name: "root sends the signed-in to their profile", as: "user", method: "GET", path: "/", wantStatus: 303,
			wantHeaders: map[string]string{"Location": "/settings/profile"}},
		{name: "settings redirects to profile", as: "user", method: "GET", path: "/settings", wantStatus: 303,
			wantHeaders: map[string]string{"Location": "/settings/profile"}},
		{name: "a settings page remembers where the signed-out were going", method: "GET", path: "/settings/profile",
			wantStatus: 303, wantHeaders: map[string]string{"Location": "/login?next=%2Fsettings%2Fprofile"}},
		{name: "login page has the SPEC's fields", method: "GET", path: "/login", wantStatus: 200,
			want: []string{`<label for="email">Email</label>`, `name="email"`, `<label for="password">Password</label>`,
				`name="password"`, `type="password"`, ">Log in</button>"}},
		{name: "login page carries a local next", method: "GET", path: "/login?next=%2Fadmin%2Faudit", wantStatus: 200,
			want: []string{`name="next" value="/admin/audit"`}},
		{name: "login page drops a next on another host", method: "GET", path: "/login?next=%2F%2Fevil.example", wantStatus: 200,
			forbid: []string{"evil.example"}},
		{name: "signed-in login page moves on", as: "user", method: "GET", path: "/login", wantStatus: 303,
			wantHeaders: map[string]string{"Location": "/settings/profile"}},
		{name: "sign-up is off by default", method: "GET", path: "/signup", wantStatus: 404, want: []string{"Page not found"}},
		{name: "Personal Details shows every SPEC label", as: "user", method: "GET", path: "/settings/profile", wantStatus: 200,
			want: []string{">Name</label>", "User ID", "Email ID", ">Password<", "Change password", "KALP ID", "KYC status",
				"Verified", "user@example.com", `value="Uma User"`, "usr_", "Sign out other sessions", "Active sessions",
				"Personal Details", "API Auth Key", ">Settings<", ">Log out<"},
			forbid: []string{">Admin<", "password_hash", "$argon2id"}},
		{name: "admins see Admin in the menu", as: "admin", method: "GET", path: "/settings/profile", wantStatus: 200,
			want: []string{">Admin<"}},
		{name: "admin pages are 404 to users", as: "user", method: "GET", path: "/admin/audit", wantStatus: 404},
		{name: "admin pages are 404 when signed out", method: "GET", path: "/admin/audit", wantStatus: 404},
		{name: "audit log for admins", as: "admin", method: "GET", path: "/admin/audit", wantStatus: 200,
			want: []string{"Audit log", "user.login", "admin@example.com"}},
		{name: "a forged cursor on the users list is refused", as: "admin", method: "GET", path: "/admin/users?after=forged",
			wantStatus: 400, want: []string{"Bad request"}, forbid: []string{"user@example.com"}},
		{name: "a cursor that decodes to no cursor is refused", as: "admin", method: "GET", path: "/admin/users?after=bm9wZQ",
			wantStatus: 400, want: []string{"Bad request"}, forbid: []string{"user@example.com"}},
		{name: "a forged cursor on the audit log is refused", as: "admin", method: "GET", path: "/admin/audit?after=forged",
			wantStatus: 400, want: []string{"Bad request"}, forbid: []string{"user.login"}},
		{name: "unknown page is the styled 404", method: "GET", path: "/no/such/page", wantStatus: 404,
			want: []string{"Page not found", `<link rel="stylesheet"`}},
		{name: "a signed-in 404 keeps the user menu", as: "user", method: "GET", path: "/settings/no-such-page", wantStatus: 404,
			want: []string{"Page not found", "Uma User", ">Log out<"}},
		{name: "unknown asset is 404", method: "GET", path: "/static/nope.css", wantStatus: 404},
		{name: "logout is POST only", as: "user", method: "GET", path: "/logout", wantStatus: 405},
		{name: "password change is POST only", as: "user", method: "GET", path: "/settings/password", wantStatus: 405},
		{name: "revoking sessions is POST only", as: "user", method: "GET", path: "/settings/sessions/revoke-others", wantStatus: 405},
		{name: "a cross-site login post is refused", method: "POST", path: "/login",
			form:    url.Values{"email": {"user@example.com"}, "password": {"user-password"}},
			headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, wantStatus: 403, want: []string{"Request refused"}},
		{name: "a cross-site name change is refused", as: "user", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {"Mallory"}}, headers: map[string]string{"Origin": "https://evil.example"},
			wantStatus: 403},
		{name: "a same-origin post from the page is accepted", as: "user", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {"Uma Renamed"}}, headers: map[string]string{"Sec-Fetch-Site": "same-origin"},
			wantStatus: 303, wantHeaders: map[string]string{"Location": "/settings/profile"}},
		{name: "an empty name is refused beside the field", as: "user", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {"  "}}, wantStatus: 422,
			want: []string{`id="name-error"`, "Enter your name.", `aria-invalid="true"`, "Personal Details"}},
		{name: "form values in the URL query do not count", as: "user", method: "POST", path: "/settings/profile?name=From+Query",
			form: url.Values{}, wantStatus: 422, want: []string{"Enter your name."}, forbid: []string{"From Query"}},
		{name: "a 101-character name is refused, input kept", as: "user", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {long}}, wantStatus: 422, want: []string{"Use at most 100 characters.", long}},
		{name: "htmx gets the name fragment", as: "user", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {"Uma Fragment"}}, headers: map[string]string{"HX-Request": "true"}, wantStatus: 200,
			want: []string{`id="name-form"`, "Name saved.", `value="Uma Fragment"`}, forbid: []string{"<html"}},
		{name: "htmx gets the name error as a 422 fragment", as: "user", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {""}}, headers: map[string]string{"HX-Request": "true"}, wantStatus: 422,
			want: []string{"Enter your name."}, forbid: []string{"<html"}},
		{name: "htmx requests from the signed-out are sent to login", method: "POST", path: "/settings/profile",
			form: url.Values{"name": {"x"}}, headers: map[string]string{"HX-Request": "true"}, wantStatus: 401,
			wantHeaders: map[string]string{"HX-Redirect": "/login"}},
		{name: "static assets are cached by version", method: "GET", path: "/static/app.css", wantStatus: 200,
			wantHeaders: map[string]string{"Cache-Control": "public, max-age=0, must-revalidate"}},
	})
}

func TestSignup(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Signup = true })
	ts.createUser(t, "Taken", "taken@example.com", "taken-password", store.RoleUser)
	runScenarios(t, ts, []scenario{
		{name: "sign-up page has its fields", method: "GET", path: "/signup", wantStatus: 200,
			want: []string{">Name</label>", ">Email</label>", ">Password</label>", ">Sign up</button>"}},
		{name: "bad input is answered beside each field, input kept", method: "POST", path: "/signup",
			form: url.Values{"name": {""}, "email": {"not-an-email"}, "password": {"short"}}, wantStatus: 422,
			want: []string{"Enter your name.", "Enter an email address like name@example.com.",
				"Use at least 8 characters.", `value="not-an-email"`},
			forbid: []string{`value="short"`}},
		{name: "a taken email, in any case, is refused", method: "POST", path: "/signup",
			form: url.Values{"name": {"Again"}, "email": {"TAKEN@example.com"}, "password": {"long-enough"}}, wantStatus: 422,
			want: []string{"An account with this email already exists."}},
		{name: "a new account is created and signed in", method: "POST", path: "/signup",
			form: url.Values{"name": {"Nia New"}, "email": {"nia@example.com"}, "password": {"nia-password"}}, wantStatus: 303,
			wantHeaders: map[string]string{"Location": "/settings/profile"}},
	})
	c := ts.client(t)
	c.login("nia@example.com", "nia-password")
	assertContains(t, c.get("/settings/profile"), "Nia New", "Not started")
}

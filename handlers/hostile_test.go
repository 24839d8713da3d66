package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"keydesk/store"
)

// Hostile values, each typed or pasted into a form field somewhere.
const (
	hostileSQL     = "'; DROP TABLE users; --"
	hostileTag     = "<script>alert(1)</script>"
	hostileAttr    = `"><img src=x onerror=alert(1)>`
	hostileRLO     = "invoice\u202efdp.exe"            // right-to-left override: reads "invoiceexe.pdf"
	hostileIsolate = "admin\u2067x\u2069"              // right-to-left isolate
	hostileZW      = "Uma\u200b\u200c\u200d\ufeffUser" // zero-width space, non-joiner, joiner, no-break space
	hostileNUL     = "Uma\x00User"
	hostileUTF8    = "Uma\xff\xfeUser"
	hostilePUA     = "Deploy \U000f0000 bot" // a private-use character outside the BMP, as icon fonts use
)

var (
	hostileLong = strings.Repeat("n", 10_000)
	// hostileHuge is a form over the 64 KB body limit.
	hostileHuge = url.Values{"name": {strings.Repeat("a", 70_000)}, "email": {"user@example.com"},
		"password": {"x"}, "description": {"d"}, "enabled": {"false"}, "status": {"pending"}, "role": {"admin"},
		"disabled": {"true"}, "id": {"key_0000000000000000"}, "confirm": {"yes"}}.Encode()
	// rawTags are what must never reach a page unescaped.
	rawTags = []string{"<script>alert(", "<img src=x onerror="}
)

// hostileState is what the store holds that a form could change.
type hostileState struct {
	Users map[string]hostileUser // by email
	Keys  map[string]hostileKey  // by public id; "new" for the one a post created
}

type hostileUser struct {
	Name, PasswordHash string
	Role               store.Role
	KYC                store.KYCStatus
	Disabled           bool
}

type hostileKey struct {
	Owner, Name, Description string
	Enabled                  bool
}

func (s hostileState) clone() hostileState {
	c := hostileState{Users: map[string]hostileUser{}, Keys: map[string]hostileKey{}}
	for k, v := range s.Users {
		c.Users[k] = v
	}
	for k, v := range s.Keys {
		c.Keys[k] = v
	}
	return c
}

// The changes a post may make, for hostilePost.change.
func setName(email, name string) func(*hostileState) {
	return func(s *hostileState) { u := s.Users[email]; u.Name = name; s.Users[email] = u }
}

func newAccount(email, name string) func(*hostileState) {
	return func(s *hostileState) {
		s.Users[email] = hostileUser{Name: name, PasswordHash: "new", Role: store.RoleUser, KYC: store.KYCNotStarted}
	}
}

func newKey(owner, name, desc string) func(*hostileState) {
	return func(s *hostileState) {
		s.Keys["new"] = hostileKey{Owner: owner, Name: name, Description: desc, Enabled: true}
	}
}

func editKey(id, name, desc string) func(*hostileState) {
	return func(s *hostileState) { k := s.Keys[id]; k.Name, k.Description = name, desc; s.Keys[id] = k }
}

func setEnabled(id string, enabled bool) func(*hostileState) {
	return func(s *hostileState) { k := s.Keys[id]; k.Enabled = enabled; s.Keys[id] = k }
}

func deleteKey(id string) func(*hostileState) {
	return func(s *hostileState) { delete(s.Keys, id) }
}

func setKYC(email string, kyc store.KYCStatus) func(*hostileState) {
	return func(s *hostileState) { u := s.Users[email]; u.KYC = kyc; s.Users[email] = u }
}

// hostilePost is one hostile form post and everything that must come of it.
type hostilePost struct {
	name string
	as   string // "user", "admin", "" (signed out) or "fresh" (a new session of the user's)
	path string
	form url.Values
	// raw is a body sent as is, with contentType, instead of form;
	// chunked sends it without a length, so only reading finds its size.
	raw, contentType string
	chunked          bool
	htmx             bool

	status   int
	location string   // the Location of a redirect
	want     []string // in the answer
	forbid   []string // not in the answer
	change   func(*hostileState)
	then     []hostilePage // pages that must show what was stored, escaped
}

// hostilePage is a page fetched after the post, as "user", "admin" or
// "self" (the client that posted).
type hostilePage struct {
	as, path     string
	want, forbid []string
}

type hostileFixture struct {
	ts                     *testServer
	user, admin            *client
	keyCI, keyAnalytics    string // the user's keys
	keyDisposable          string
	keyOther, keyPUA       string // another user's
	other, victim, victim2 *store.User
}

func newHostileFixture(t *testing.T) *hostileFixture {
	ts := newTestServer(t, func(c *Config) { c.Signup = true })
	ctx := context.Background()
	user := ts.createUser(t, "Uma User", "user@example.com", "user-password", store.RoleUser)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	other := ts.createUser(t, "Oscar Other", "other@example.com", "other-password", store.RoleUser)
	// Two disabled accounts, one for each post that must not enable them.
	victim := ts.createUser(t, "Vic Victim", "vic@example.com", "vic-password", store.RoleUser)
	victim2 := ts.createUser(t, "Val Victim", "val@example.com", "val-password", store.RoleUser)
	for _, u := range []*store.User{victim, victim2} {
		if err := ts.db.SetUserDisabled(ctx, u.ID, true, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	key := func(u *store.User, name, desc string) string {
		k, _, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: name, Description: desc}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		return k.PublicID
	}
	fx := &hostileFixture{ts: ts, user: ts.client(t), admin: ts.client(t), other: other, victim: victim, victim2: victim2,
		keyCI:         key(user, "CI deploys", "GitHub Actions"),
		keyAnalytics:  key(user, "Analytics", "Nightly export"),
		keyDisposable: key(user, "Disposable", "To delete"),
		keyOther:      key(other, "Oscar's bot", "Chat bot"),
		keyPUA:        key(other, hostilePUA, "Named with a private-use character"),
	}
	fx.user.login("user@example.com", "user-password")
	fx.admin.login("admin@example.com", "admin-password")
	return fx
}

func (fx *hostileFixture) state(t *testing.T) hostileState {
	t.Helper()
	ctx := context.Background()
	s := hostileState{Users: map[string]hostileUser{}, Keys: map[string]hostileKey{}}
	users, err := fx.ts.db.Users(ctx, store.UserFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range users.Rows {
		s.Users[r.Email] = hostileUser{Name: r.Name, PasswordHash: r.PasswordHash, Role: r.Role, KYC: r.KYCStatus, Disabled: r.Disabled}
	}
	keys, err := fx.ts.db.AllKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range keys {
		s.Keys[r.Key.PublicID] = hostileKey{Owner: r.OwnerEmail, Name: r.Key.Name, Description: r.Key.Description, Enabled: r.Key.Enabled}
	}
	return s
}

// send posts p from the client it names.
func (fx *hostileFixture) send(t *testing.T, c *client, p hostilePost) response {
	t.Helper()
	headers := map[string]string{"Sec-Fetch-Site": "same-origin"}
	if p.htmx {
		headers["HX-Request"] = "true"
	}
	if p.raw == "" {
		return c.do(http.MethodPost, p.path, p.form, headers)
	}
	var body io.Reader = strings.NewReader(p.raw)
	if p.chunked {
		body = struct{ io.Reader }{body} // a reader of unknown length: sent chunked
	}
	req, err := http.NewRequest(http.MethodPost, fx.ts.URL+p.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", p.contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Response: res, body: string(b)}
}

func (fx *hostileFixture) run(t *testing.T, posts []hostilePost) {
	for _, p := range posts {
		t.Run(p.name, func(t *testing.T) {
			// Failed sign-ins count towards the limit; the next case
			// starts with none, so that its answer is the one under test.
			if p.path == "/login" || p.path == "/settings/password" {
				defer fx.ts.clock.Advance(loginWindow)
			}

			c := map[string]*client{"user": fx.user, "admin": fx.admin}[p.as]
			switch p.as {
			case "":
				c = fx.ts.client(t)
			case "fresh":
				c = fx.ts.client(t)
				c.login("user@example.com", "user-password")
			}
			before := fx.state(t)
			res := fx.send(t, c, p)
			// Not fatal: what the post changed is worth seeing too.
			if res.StatusCode != p.status {
				t.Errorf("POST %s: status %d, want %d\n%.400s", p.path, res.StatusCode, p.status, res.body)
			}
			if p.location != "" {
				if got := res.Header.Get("Location"); got != p.location {
					t.Errorf("Location %q, want %q", got, p.location)
				}
			}
			assertContains(t, res, p.want...)
			assertLacks(t, res, slices.Concat(rawTags, p.forbid)...)
			if h := res.Header.Get("HX-Trigger-After-Settle"); h != "" && !json.Valid([]byte(h)) {
				t.Errorf("HX-Trigger-After-Settle is not JSON, so htmx drops it: %s", h)
			}

			want := before.clone()
			if p.change != nil {
				p.change(&want)
			}
			after := fx.state(t)
			for id, k := range after.Keys {
				if _, ok := before.Keys[id]; !ok {
					delete(after.Keys, id)
					after.Keys["new"] = k
				}
			}
			for email, u := range after.Users {
				if _, ok := before.Users[email]; !ok {
					u.PasswordHash = "new"
					after.Users[email] = u
				}
			}
			if !reflect.DeepEqual(want, after) {
				t.Errorf("the store changed other than it should:\n%s", stateDiff(want, after))
			}

			for _, pg := range p.then {
				pc := map[string]*client{"user": fx.user, "admin": fx.admin, "self": c}[pg.as]
				page := pc.get(pg.path)
				assertStatus(t, page, http.StatusOK)
				assertContains(t, page, pg.want...)
				assertLacks(t, page, slices.Concat(rawTags, pg.forbid)...)
			}
		})
	}
}

// stateDiff lists what differs between the store as wanted and as found.
func stateDiff(want, got hostileState) string {
	var b strings.Builder
	for email := range union(want.Users, got.Users) {
		if w, g := want.Users[email], got.Users[email]; w != g {
			fmt.Fprintf(&b, "user %s:\n\twant %#v\n\tgot  %#v\n", email, w, g)
		}
	}
	for id := range union(want.Keys, got.Keys) {
		if w, g := want.Keys[id], got.Keys[id]; w != g {
			fmt.Fprintf(&b, "key %s:\n\twant %#v\n\tgot  %#v\n", id, w, g)
		}
	}
	return b.String()
}

func union[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// esc is s as a page must show it: escaped, as text or in an attribute.
func esc(s string) string { return html.EscapeString(s) }

func fields(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// TestHostileInput posts hostile input to every form: each post gets a
// clear 4xx with the error beside its field, or its value is stored exactly
// and shown escaped; and nothing else in the store changes.
func TestHostileInput(t *testing.T) {
	fx := newHostileFixture(t)
	const (
		user  = "user@example.com"
		other = "other@example.com"
	)
	badChars := "Use letters, numbers, spaces and punctuation only."
	tooLarge := "Request too large"
	profile := func(name string) []hostilePage {
		return []hostilePage{
			{as: "user", path: "/settings/profile", want: []string{`value="` + esc(name) + `"`}},
			{as: "admin", path: "/admin/users", want: []string{esc(name)}},
		}
	}
	keysShow := func(name, desc string) []hostilePage {
		return []hostilePage{
			{as: "user", path: "/settings/api-keys", want: []string{esc(name), esc(desc)}},
			{as: "admin", path: "/admin/api-keys", want: []string{esc(name)}},
		}
	}
	many := url.Values{"confirm": {"yes"}}
	for i := range maxBulk + 1 {
		many.Add("id", fmt.Sprintf("key_%016x", i))
	}

	fx.run(t, []hostilePost{
		// Log in: a generic refusal, the email kept and escaped, the password never shown.
		{name: "login: SQL in the email", path: "/login", form: fields("email", hostileSQL, "password", "x"),
			status: 401, want: []string{msgBadLogin, `value="` + esc(hostileSQL) + `"`}},
		{name: "login: HTML in the email", path: "/login", form: fields("email", hostileAttr, "password", "x"),
			status: 401, want: []string{`value="` + esc(hostileAttr) + `"`}},
		{name: "login: HTML in next", path: "/login",
			form:   fields("email", user, "password", "wrong-password", "next", "/"+hostileAttr+hostileTag),
			status: 401, want: []string{`name="next" value="` + esc(localPath("/"+hostileAttr+hostileTag)) + `"`}},
		{name: "login: SQL in the password is never shown", path: "/login", form: fields("email", user, "password", hostileSQL),
			status: 401, want: []string{msgBadLogin}, forbid: []string{"DROP TABLE"}},
		{name: "login: NUL in the email", path: "/login", form: fields("email", hostileNUL, "password", "x"), status: 401},
		{name: "login: invalid UTF-8 in the email", path: "/login", form: fields("email", hostileUTF8, "password", "x"), status: 401},
		{name: "login: right-to-left override in the email", path: "/login", form: fields("email", hostileRLO, "password", "x"), status: 401},
		{name: "login: a 10,000-character email and password", path: "/login",
			form: fields("email", hostileLong, "password", hostileLong), status: 401, want: []string{msgBadLogin}},
		{name: "login: oversized body", path: "/login", raw: hostileHuge, contentType: formType, status: 413, want: []string{tooLarge}},
		{name: "login: oversized body without a length", path: "/login", raw: hostileHuge, contentType: formType, chunked: true,
			status: 413, want: []string{tooLarge}},
		{name: "login: malformed percent-encoding", path: "/login", raw: "email=%zz&password=x", contentType: formType,
			status: 400, want: []string{"Bad request"}},

		// Sign up: a name is stored exactly unless it hides what it says.
		{name: "signup: HTML name is stored and shown escaped", path: "/signup",
			form: fields("name", hostileTag, "email", "nia@example.com", "password", "nia-password"), status: 303,
			location: "/settings/profile", change: newAccount("nia@example.com", hostileTag),
			then: []hostilePage{{as: "self", path: "/settings/profile", want: []string{`value="` + esc(hostileTag) + `"`}},
				{as: "admin", path: "/admin/users", want: []string{esc(hostileTag)}}}},
		{name: "signup: SQL name and a quote in the email are stored exactly", path: "/signup",
			form: fields("name", hostileSQL, "email", "o'brien@example.com", "password", "obrien-password"), status: 303,
			change: newAccount("o'brien@example.com", hostileSQL),
			then:   []hostilePage{{as: "self", path: "/settings/profile", want: []string{esc(hostileSQL), esc("o'brien@example.com")}}}},
		{name: "signup: zero-width characters are stored exactly", path: "/signup",
			form: fields("name", hostileZW, "email", "zed@example.com", "password", "zed-password"), status: 303,
			change: newAccount("zed@example.com", hostileZW)},
		{name: "signup: right-to-left override", path: "/signup",
			form: fields("name", hostileRLO, "email", "rlo@example.com", "password", "rlo-password"), status: 422,
			want: []string{`id="name-error"`, badChars}},
		{name: "signup: NUL in the name", path: "/signup",
			form: fields("name", hostileNUL, "email", "nul@example.com", "password", "nul-password"), status: 422,
			want: []string{`id="name-error"`, badChars}},
		{name: "signup: invalid UTF-8 in the name", path: "/signup",
			form: fields("name", hostileUTF8, "email", "utf@example.com", "password", "utf-password"), status: 422,
			want: []string{`id="name-error"`, badChars}},
		{name: "signup: a 10,000-character name", path: "/signup",
			form: fields("name", hostileLong, "email", "long@example.com", "password", "long-password"), status: 422,
			want: []string{`id="name-error"`, "Use at most 100 characters."}},
		{name: "signup: HTML in the email", path: "/signup",
			form: fields("name", "Eve", "email", hostileAttr, "password", "eve-password"), status: 422,
			want: []string{`id="email-error"`, `value="` + esc(hostileAttr) + `"`}},
		{name: "signup: SQL in the email", path: "/signup",
			form: fields("name", "Eve", "email", hostileSQL, "password", "eve-password"), status: 422,
			want: []string{`id="email-error"`}},
		{name: "signup: oversized body", path: "/signup", raw: hostileHuge, contentType: formType, status: 413, want: []string{tooLarge}},

		// Personal Details: Name.
		{name: "name: HTML is stored and shown escaped", as: "user", path: "/settings/profile", form: fields("name", hostileTag),
			status: 303, location: "/settings/profile", change: setName(user, hostileTag), then: profile(hostileTag)},
		{name: "name: an attribute breakout is stored and shown escaped", as: "user", path: "/settings/profile",
			form: fields("name", hostileAttr), status: 303, change: setName(user, hostileAttr), then: profile(hostileAttr)},
		{name: "name: SQL is stored exactly", as: "user", path: "/settings/profile", form: fields("name", hostileSQL),
			status: 303, change: setName(user, hostileSQL), then: profile(hostileSQL)},
		{name: "name: zero-width characters are stored exactly", as: "user", path: "/settings/profile", form: fields("name", hostileZW),
			status: 303, change: setName(user, hostileZW), then: profile(hostileZW)},
		{name: "name: HTML through htmx", as: "user", path: "/settings/profile", form: fields("name", hostileAttr+" 2"), htmx: true,
			status: 200, want: []string{`value="` + esc(hostileAttr+" 2") + `"`, "Name saved."}, change: setName(user, hostileAttr+" 2")},
		// The forms post urlencoded; a multipart body is not read, so its
		// name is missing.
		{name: "name: HTML in a multipart form", as: "user", path: "/settings/profile",
			raw: multipartBody("name", hostileTag+" 3"), contentType: "multipart/form-data; boundary=XyZ",
			status: 422, want: []string{`id="name-error"`, "Enter your name."}},
		{name: "name: right-to-left override", as: "user", path: "/settings/profile", form: fields("name", hostileRLO),
			status: 422, want: []string{`id="name-error"`, badChars}},
		{name: "name: right-to-left isolate", as: "user", path: "/settings/profile", form: fields("name", hostileIsolate),
			status: 422, want: []string{`id="name-error"`, badChars}},
		{name: "name: NUL", as: "user", path: "/settings/profile", form: fields("name", hostileNUL),
			status: 422, want: []string{`id="name-error"`, badChars}},
		{name: "name: a raw NUL byte in the body", as: "user", path: "/settings/profile", raw: "name=Uma\x00User",
			contentType: formType, status: 422, want: []string{`id="name-error"`, badChars}},
		{name: "name: invalid UTF-8", as: "user", path: "/settings/profile", form: fields("name", hostileUTF8),
			status: 422, want: []string{`id="name-error"`, badChars}},
		{name: "name: 10,000 characters", as: "user", path: "/settings/profile", form: fields("name", hostileLong),
			status: 422, want: []string{`id="name-error"`, "Use at most 100 characters."}},
		{name: "name: HTML and NUL through htmx", as: "user", path: "/settings/profile", form: fields("name", hostileTag+"\x00"),
			htmx: true, status: 422, want: []string{`id="name-error"`, badChars, esc(hostileTag)}},
		{name: "name: oversized body", as: "user", path: "/settings/profile", raw: hostileHuge, contentType: formType,
			status: 413, want: []string{tooLarge}},
		{name: "name: oversized body without a length", as: "user", path: "/settings/profile", raw: hostileHuge,
			contentType: formType, chunked: true, status: 413, want: []string{tooLarge}},
		{name: "name: malformed percent-encoding", as: "user", path: "/settings/profile", raw: "name=%e2%80",
			contentType: formType, status: 422, want: []string{badChars}},
		{name: "name: a bad escape", as: "user", path: "/settings/profile", raw: "name=%zz", contentType: formType, status: 400},

		// Change password: a wrong or hostile password changes nothing and is never shown.
		{name: "password: SQL as the current password", as: "user", path: "/settings/password",
			form:   fields("current_password", hostileSQL, "new_password", "brand-new-secret", "confirm_password", "brand-new-secret"),
			status: 422, want: []string{`id="current_password-error"`, "Your current password is not correct."},
			forbid: []string{"DROP TABLE", "brand-new-secret"}},
		{name: "password: HTML as the current password", as: "user", path: "/settings/password", htmx: true,
			form: fields("current_password", "<b>current-pw</b>", "new_password", "brand-new-secret",
				"confirm_password", "brand-new-secret"),
			status: 422, want: []string{`id="current_password-error"`}, forbid: []string{"current-pw", "brand-new-secret"}},
		{name: "password: a 10,000-character new password", as: "user", path: "/settings/password",
			form:   fields("current_password", "user-password", "new_password", hostileLong, "confirm_password", hostileLong),
			status: 422, want: []string{`id="new_password-error"`, "Use at most 256 characters."}, forbid: []string{hostileLong}},
		{name: "password: HTML new passwords that differ", as: "user", path: "/settings/password",
			form: fields("current_password", "user-password", "new_password", "<script>new-pw</script>",
				"confirm_password", `"><i>confirm-pw`),
			status: 422, want: []string{`id="confirm_password-error"`, "The two new passwords do not match."},
			forbid: []string{"new-pw", "confirm-pw", "user-password"}},
		{name: "password: oversized body", as: "user", path: "/settings/password", raw: hostileHuge, contentType: formType,
			status: 413, want: []string{tooLarge}},
		{name: "password: oversized body without a length", as: "user", path: "/settings/password", raw: hostileHuge,
			contentType: formType, chunked: true, status: 413, want: []string{tooLarge}},

		// Sign out other sessions: the body means nothing.
		{name: "revoke: a hostile body", as: "user", path: "/settings/sessions/revoke-others",
			form: fields("name", hostileTag, "id", hostileSQL), status: 303, location: "/settings/profile"},
		{name: "revoke: oversized body", as: "user", path: "/settings/sessions/revoke-others", raw: hostileHuge,
			contentType: formType, status: 413},

		// Create an API key.
		{name: "create: HTML on the confirmation step is shown escaped, nothing created", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileTag, "description", hostileAttr), status: 200,
			want: []string{"Create this key?", "<dd>" + esc(hostileTag) + "</dd>", `value="` + esc(hostileAttr) + `"`}},
		{name: "create: HTML is stored and shown escaped", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileTag, "description", hostileAttr, "action", "confirm"), status: 200,
			want: []string{"Your new API Auth Key", esc(hostileTag)}, change: newKey(user, hostileTag, hostileAttr),
			then: keysShow(hostileTag, hostileAttr)},
		{name: "create: SQL is stored exactly", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileSQL, "description", hostileSQL, "action", "confirm"), status: 200,
			change: newKey(user, hostileSQL, hostileSQL), then: keysShow(hostileSQL, hostileSQL)},
		{name: "create: zero-width characters and a multi-line description are stored exactly", as: "user",
			path: "/settings/api-keys", form: fields("name", hostileZW, "description", "line one\r\nline two\tand a tab", "action", "confirm"),
			status: 200, change: newKey(user, hostileZW, "line one\nline two\tand a tab")}, // a break is stored as "\n"
		{name: "create: HTML through htmx", as: "user", path: "/settings/api-keys", htmx: true,
			form: fields("name", hostileAttr, "description", hostileTag, "action", "confirm"), status: 200,
			want: []string{esc(hostileAttr), `hx-swap-oob="true"`}, change: newKey(user, hostileAttr, hostileTag)},
		{name: "create: a hostile action only asks to confirm", as: "user", path: "/settings/api-keys",
			form: fields("name", "Fine name", "description", "Fine", "action", hostileTag), status: 200, want: []string{"Create this key?"}},
		{name: "create: right-to-left override in the name", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileRLO, "description", "d", "action", "confirm"), status: 422,
			want: []string{`id="create-name-error"`, badChars}},
		{name: "create: NUL in the name", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileNUL, "description", "d", "action", "confirm"), status: 422,
			want: []string{`id="create-name-error"`, badChars}},
		{name: "create: invalid UTF-8 in the name", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileUTF8, "description", "d", "action", "confirm"), status: 422,
			want: []string{`id="create-name-error"`, badChars}},
		{name: "create: NUL in the description", as: "user", path: "/settings/api-keys",
			form: fields("name", "Nul desc", "description", hostileNUL, "action", "confirm"), status: 422,
			want: []string{`id="create-description-error"`, badChars}},
		{name: "create: right-to-left isolate in the description", as: "user", path: "/settings/api-keys",
			form: fields("name", "Bidi desc", "description", hostileIsolate, "action", "confirm"), status: 422,
			want: []string{`id="create-description-error"`, badChars}},
		{name: "create: a 10,000-character name", as: "user", path: "/settings/api-keys",
			form: fields("name", hostileLong, "description", "d", "action", "confirm"), status: 422,
			want: []string{`id="create-name-error"`, "Use at most 64 characters."}},
		{name: "create: a 10,000-character description", as: "user", path: "/settings/api-keys",
			form: fields("name", "Long desc", "description", hostileLong, "action", "confirm"), status: 422,
			want: []string{`id="create-description-error"`, "Use at most 500 characters."}},
		{name: "create: oversized body", as: "user", path: "/settings/api-keys", raw: hostileHuge, contentType: formType,
			status: 413, want: []string{tooLarge}},
		{name: "create: oversized body without a length", as: "user", path: "/settings/api-keys", raw: hostileHuge,
			contentType: formType, chunked: true, status: 413, want: []string{tooLarge}},
		{name: "create: a semicolon outside an escape", as: "user", path: "/settings/api-keys",
			raw: "name=a;b&description=c&action=confirm", contentType: formType, status: 400},

		// Edit a key.
		{name: "edit: HTML is stored and shown escaped", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/edit",
			form: fields("name", "<img src=x onerror=alert(2)>", "description", hostileTag+" edited"), status: 303,
			location: "/settings/api-keys", change: editKey(fx.keyCI, "<img src=x onerror=alert(2)>", hostileTag+" edited"),
			then: []hostilePage{{as: "user", path: "/settings/api-keys", forbid: []string{"<img src=x onerror=alert(2)>"},
				want: []string{esc("Key “<img src=x onerror=alert(2)>” saved."), esc(hostileTag + " edited")}}}},
		{name: "edit: SQL through htmx", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/edit", htmx: true,
			form: fields("name", hostileSQL+" CI", "description", hostileSQL), status: 200,
			want: []string{esc("Key “" + hostileSQL + " CI” saved.")}, change: editKey(fx.keyCI, hostileSQL+" CI", hostileSQL)},
		{name: "edit: right-to-left override", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/edit",
			form: fields("name", hostileRLO, "description", "d"), status: 422, want: []string{`id="edit-name-error"`, badChars}},
		{name: "edit: NUL in the description", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/edit",
			form: fields("name", "CI", "description", hostileNUL), status: 422, want: []string{`id="edit-description-error"`, badChars}},
		{name: "edit: a 10,000-character name", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/edit",
			form: fields("name", hostileLong, "description", "d"), status: 422, want: []string{`id="edit-name-error"`, "Use at most 64 characters."}},
		{name: "edit: another user's key", as: "user", path: "/settings/api-keys/" + fx.keyOther + "/edit",
			form: fields("name", hostileTag, "description", hostileTag), status: 404},
		{name: "edit: SQL as the key id", as: "user", path: "/settings/api-keys/" + url.PathEscape(hostileSQL) + "/edit",
			form: fields("name", "x", "description", "y"), status: 404},
		{name: "edit: oversized body", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/edit", raw: hostileHuge,
			contentType: formType, status: 413},

		// A key's Status switch posts "true" or "false"; nothing else is a state.
		{name: "status: HTML as the state", as: "user", path: "/settings/api-keys/" + fx.keyAnalytics + "/status",
			form: fields("enabled", hostileTag), status: 400},
		{name: "status: SQL as the state, through htmx", as: "user", path: "/settings/api-keys/" + fx.keyCI + "/status",
			form: fields("enabled", hostileSQL), htmx: true, status: 400},
		{name: "status: hostile extra fields are ignored", as: "user", path: "/settings/api-keys/" + fx.keyAnalytics + "/status",
			form: fields("enabled", "false", "name", hostileTag, "user_id", hostileSQL), status: 303,
			change: setEnabled(fx.keyAnalytics, false)},
		{name: "status: enable again", as: "user", path: "/settings/api-keys/" + fx.keyAnalytics + "/status",
			form: fields("enabled", "true"), status: 303, change: setEnabled(fx.keyAnalytics, true)},
		{name: "status: another user's key", as: "user", path: "/settings/api-keys/" + fx.keyOther + "/status",
			form: fields("enabled", "false"), status: 404},
		{name: "status: oversized body", as: "user", path: "/settings/api-keys/" + fx.keyAnalytics + "/status",
			raw: hostileHuge, contentType: formType, status: 413},

		// Delete a key: the body means nothing.
		{name: "delete: oversized body", as: "user", path: "/settings/api-keys/" + fx.keyDisposable + "/delete",
			raw: hostileHuge, contentType: formType, status: 413},
		{name: "delete: another user's key", as: "user", path: "/settings/api-keys/" + fx.keyOther + "/delete",
			form: fields("name", hostileTag), status: 404},
		{name: "delete: HTML as the key id", as: "user", path: "/settings/api-keys/" + url.PathEscape(hostileTag) + "/delete",
			status: 404},
		{name: "delete: a hostile body", as: "user", path: "/settings/api-keys/" + fx.keyDisposable + "/delete",
			form: fields("id", fx.keyOther, "name", hostileSQL), status: 303, change: deleteKey(fx.keyDisposable)},

		// Admin: any key's status.
		{name: "admin status: HTML as the state", as: "admin", path: "/admin/api-keys/" + fx.keyOther + "/status",
			form: fields("enabled", hostileTag), status: 400},
		{name: "admin status: a script URL to return to", as: "admin", path: "/admin/api-keys/" + fx.keyOther + "/status",
			form: fields("enabled", "false", "return", "javascript:alert(1)"), status: 303, location: "/admin/api-keys",
			change: setEnabled(fx.keyOther, false)},
		{name: "admin status: another host to return to", as: "admin", path: "/admin/api-keys/" + fx.keyOther + "/status",
			form: fields("enabled", "true", "return", "//evil.example/admin/"), status: 303, location: "/admin/api-keys",
			change: setEnabled(fx.keyOther, true)},
		{name: "admin status: HTML to return to, through htmx", as: "admin", path: "/admin/api-keys/" + fx.keyOther + "/status",
			form: fields("enabled", "false", "return", "/admin/api-keys?q="+hostileAttr), htmx: true, status: 200,
			want: []string{esc("/admin/api-keys?q=" + hostileAttr)}, change: setEnabled(fx.keyOther, false)},
		{name: "admin status: a key named with a private-use character, through htmx", as: "admin",
			path: "/admin/api-keys/" + fx.keyPUA + "/status", form: fields("enabled", "false"), htmx: true, status: 200,
			change: setEnabled(fx.keyPUA, false)},
		{name: "admin status: oversized body", as: "admin", path: "/admin/api-keys/" + fx.keyOther + "/status",
			raw: hostileHuge, contentType: formType, status: 413},

		// Admin: disable selected keys.
		{name: "bulk: ids that name nothing", as: "admin", path: "/admin/api-keys/disable",
			form: fields("id", hostileSQL, "id", hostileTag), status: 404},
		{name: "bulk: confirmed ids that name nothing", as: "admin", path: "/admin/api-keys/disable",
			form: fields("id", hostileSQL, "confirm", "yes", "return", "javascript:alert(1)"), status: 303, location: "/admin/api-keys",
			then: []hostilePage{{as: "admin", path: "/admin/api-keys", want: []string{"Disabled 0 keys."}}}},
		{name: "bulk: a real id among hostile ones is shown escaped", as: "admin", path: "/admin/api-keys/disable",
			form: fields("id", fx.keyCI, "id", hostileTag, "return", "/admin/api-keys"+hostileAttr), status: 200,
			want: []string{esc(hostileSQL + " CI")}},
		{name: "bulk: more ids than a page holds", as: "admin", path: "/admin/api-keys/disable", form: many, status: 400},
		{name: "bulk: oversized body", as: "admin", path: "/admin/api-keys/disable", raw: hostileHuge, contentType: formType,
			status: 413},

		// Admin: accounts.
		{name: "kyc: HTML as the status, through htmx", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/kyc",
			form: fields("status", hostileTag), htmx: true, status: 422, want: []string{"Choose one of the listed values."}},
		{name: "kyc: SQL as the status", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/kyc",
			form: fields("status", hostileSQL), status: 303, location: "/admin/users",
			then: []hostilePage{{as: "admin", path: "/admin/users", want: []string{"Choose one of the listed values."}}}},
		{name: "kyc: HTML to return to, through htmx", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/kyc",
			form: fields("status", "pending", "return", "/admin/users?q="+hostileAttr), htmx: true, status: 200,
			want: []string{esc("/admin/users?q=" + hostileAttr)}, change: setKYC(other, store.KYCPending)},
		{name: "kyc: SQL as the user id", as: "admin", path: "/admin/users/" + url.PathEscape(hostileSQL) + "/kyc",
			form: fields("status", "verified"), status: 404},
		{name: "kyc: oversized body", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/kyc", raw: hostileHuge,
			contentType: formType, status: 413},
		{name: "role: HTML as the role, through htmx", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/role",
			form: fields("role", hostileTag), htmx: true, status: 422, want: []string{"Choose one of the listed values."}},
		{name: "role: SQL as the role", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/role",
			form: fields("role", hostileSQL), status: 303,
			then: []hostilePage{{as: "admin", path: "/admin/users", want: []string{"Choose one of the listed values."}}}},
		{name: "role: oversized body", as: "admin", path: "/admin/users/" + fx.other.PublicID + "/role", raw: hostileHuge,
			contentType: formType, status: 413},
		// The Disable/Enable button posts "true" or "false"; anything else
		// must not enable a disabled account.
		{name: "disabled: HTML as the state, through htmx", as: "admin", path: "/admin/users/" + fx.victim.PublicID + "/disabled",
			form: fields("disabled", hostileTag), htmx: true, status: 422, want: []string{"Choose one of the listed values."}},
		{name: "disabled: yes as the state", as: "admin", path: "/admin/users/" + fx.victim2.PublicID + "/disabled",
			form: fields("disabled", "yes"), status: 303,
			then: []hostilePage{{as: "admin", path: "/admin/users", want: []string{"Choose one of the listed values."}}}},
		{name: "disabled: oversized body", as: "admin", path: "/admin/users/" + fx.victim.PublicID + "/disabled",
			raw: hostileHuge, contentType: formType, status: 413},

		// Log out: the body means nothing; an oversized one is refused before the session ends.
		{name: "logout: oversized body", as: "fresh", path: "/logout", raw: hostileHuge, contentType: formType, status: 413,
			then: []hostilePage{{as: "self", path: "/settings/profile"}}},
		{name: "logout: a hostile body", as: "fresh", path: "/logout", form: fields("next", "//evil.example", "name", hostileTag),
			status: 303, location: "/login"},
	})

	// The passwords still work, the user's session too.
	for email, password := range map[string]string{user: "user-password", "admin@example.com": "admin-password",
		other: "other-password"} {
		fx.ts.client(t).login(email, password)
	}
	assertStatus(t, fx.user.get("/settings/profile"), http.StatusOK)
}

const formType = "application/x-www-form-urlencoded"

func multipartBody(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, "--XyZ\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", kv[i], kv[i+1])
	}
	b.WriteString("--XyZ--\r\n")
	return b.String()
}

// TestHostilePasswordIsStoredExactly: a new password is any 8 to 256
// characters, and works exactly as typed, no more and no less.
func TestHostilePasswordIsStoredExactly(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	hostile := hostileSQL + hostileTag + hostileRLO + hostileZW + "\x00\xff"
	res := c.post("/settings/password", fields("current_password", "uma-password", "new_password", hostile, "confirm_password", hostile))
	assertStatus(t, res, http.StatusSeeOther)

	ts.client(t).login("uma@example.com", hostile)
	for _, near := range []string{"uma-password", strings.ReplaceAll(hostile, "\u200b", ""), strings.TrimSuffix(hostile, "\xff")} {
		res := ts.client(t).post("/login", fields("email", "uma@example.com", "password", near))
		assertStatus(t, res, http.StatusUnauthorized)
	}
}

package handlers

import (
	"net/http"
	"net/url"
	"testing"

	"keydesk/store"
)

// TestLocalPath feeds localPath the known ways of smuggling another origin
// past a check on the text (each a family of open-redirect bypasses that a
// browser's URL parser turns into another host) and what it must keep.
func TestLocalPath(t *testing.T) {
	const home = "/settings/profile"
	for _, tc := range []struct{ name, in, want string }{
		{"a page", "/settings/api-keys", "/settings/api-keys"},
		{"a page with its query", "/admin/api-keys?q=uma&status=enabled", "/admin/api-keys?q=uma&status=enabled"},
		{"a query is re-encoded", "/admin/audit?q=a b\"<", "/admin/audit?q=a%20b%22%3C"},
		{"a lone percent is encoded", "/admin/audit?q=100%", "/admin/audit?q=100%25"},
		{"a path is re-encoded", "/settings/a b", "/settings/a%20b"},
		{"the fragment is dropped", "/settings/api-keys#new", "/settings/api-keys"},
		{"dot segments are resolved", "/settings/../admin/audit", "/admin/audit"},
		{"dot segments stop at the root", "/../../admin", "/admin"},
		{"encoded dots stay encoded, on this site", "/%2e%2e/admin", "/%2e%2e/admin"},
		{"an encoded slash stays encoded", "/a%2Fb", "/a%2Fb"},
		{"surrounding spaces go, as a browser drops them", "  /settings/api-keys \x00", "/settings/api-keys"},
		{"a backslash in the query is not a slash", `/admin/audit?q=a\b`, "/admin/audit?q=a%5Cb"},

		{"empty", "", home},
		{"a relative path", "settings/api-keys", home},
		{"scheme-relative", "//evil.example", home},
		{"scheme-relative with a path", "//evil.example/settings", home},
		{"three slashes", "///evil.example", home},
		{"four slashes", "////evil.example", home},
		{"absolute http", "http://evil.example/", home},
		{"absolute https", "https://evil.example/", home},
		{"http without slashes", "http:evil.example", home},
		{"javascript", "javascript:alert(1)", home},
		{"javascript after a space", " javascript:alert(1)", home},
		{"javascript with a TAB inside", "java\tscript:alert(1)", home},
		{"data", "data:text/html,<script>alert(1)</script>", home},
		{"user info", "//user@evil.example", home},

		{"TAB between slashes", "/\t/evil.example", home},
		{"TAB before the slashes", "\t//evil.example", home},
		{"LF between slashes", "/\n/evil.example", home},
		{"CR between slashes", "/\r/evil.example", home},
		{"CRLF between slashes", "/\r\n/evil.example", home},
		{"TABs all over", "/\t\t/\tevil.example", home},
		{"a C0 control first", "\x01//evil.example", home},
		{"a NUL first", "\x00//evil.example", home},
		{"a space first", " //evil.example", home},
		{"a C0 control inside", "/\x01/evil.example", home},

		{"backslash second", `/\evil.example`, home},
		{"two backslashes", `\\evil.example`, home},
		{"backslash then slash", `\/evil.example`, home},
		{"slash backslash slash", `/\/evil.example`, home},
		{"backslash TAB backslash", "\\\t\\evil.example", home},

		{"an encoded slash second", "/%2F/evil.example", home},
		{"an encoded slash second, lower case", "/%2f/evil.example", home},
		{"an encoded backslash second", "/%5Cevil.example", home},
		{"an encoded backslash second, lower case", "/%5cevil.example", home},
		{"encoded slashes only", "%2F%2Fevil.example", home},
		{"an encoded TAB is text, kept encoded", "/%09/evil.example", "/%09/evil.example"},
		{"a double-encoded slash is text, kept encoded", "/%252F/evil.example", "/%252F/evil.example"},
		{"a dot segment that leaves two slashes", "/.//evil.example", home},
		{"dot segments are resolved before the answer is sent", "/a/..//evil.example", "/evil.example"},
		{"an encoded dot segment that leaves two slashes", "/%2e//evil.example", home},
		{"a bad escape", "/%zz", home},
		{"a full-width solidus is not a slash", "／／evil.example", home},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := localPath(tc.in); got != tc.want {
				t.Errorf("localPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestLoginRedirectStaysHere runs the bypass families through the real
// login: the form's next, and the login page that moves a signed-in
// visitor on.
func TestLoginRedirectStaysHere(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma User", "user@example.com", "user-password", store.RoleUser)
	for _, next := range []string{"/\t/evil.example", "/\\evil.example", "/%2F/evil.example", "\\/evil.example",
		"//evil.example", " //evil.example", "/\r\n/evil.example", "https://evil.example"} {
		t.Run(next, func(t *testing.T) {
			c := ts.client(t)
			res := c.post("/login", url.Values{"email": {"user@example.com"}, "password": {"user-password"}, "next": {next}})
			assertStatus(t, res, http.StatusSeeOther)
			if got := res.Header.Get("Location"); got != "/settings/profile" {
				t.Errorf("login with next %q: Location %q, want /settings/profile", next, got)
			}
			res = c.get("/login?next=" + url.QueryEscape(next))
			assertStatus(t, res, http.StatusSeeOther)
			if got := res.Header.Get("Location"); got != "/settings/profile" {
				t.Errorf("signed-in login page with next %q: Location %q, want /settings/profile", next, got)
			}
		})
	}
	c := ts.client(t)
	res := c.post("/login", url.Values{"email": {"user@example.com"}, "password": {"user-password"},
		"next": {"/settings/api-keys?x=a b"}})
	if got := res.Header.Get("Location"); got != "/settings/api-keys?x=a%20b" {
		t.Errorf("a local next: Location %q, want /settings/api-keys?x=a%%20b", got)
	}
}

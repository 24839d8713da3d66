package handlers

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keydesk/store"
)

// TestHostCheck: with AllowedHosts set, a request addressed to any other
// host (what DNS rebinding sends: the attacker's name, resolved to this
// server) gets a plain 421 with nothing of the app in it, and changes
// nothing; the allowed names pass whatever their port or case; health
// checks answer whatever the host.
func TestHostCheck(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AllowedHosts = []string{"localhost", "127.0.0.1", "::1", "keys.example.com"} })
	ts.createUser(t, "Uma User", "user@example.com", "user-password", store.RoleUser)
	c := ts.client(t)
	c.login("user@example.com", "user-password")
	// Cookies are sent by hand: a client (as a browser) picks them by the
	// Host it asks for, and DNS rebinding works on a browser that has them.
	signedIn := c.sessionCookie()
	before := stateOf(t, ts)

	send := func(cookie *http.Cookie, method, host, path string, form url.Values) response {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, ts.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Host = host
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := ts.client(t).http.Do(req)
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

	for _, host := range []string{"evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io",
		"keys.example.com.evil.example", "10.0.0.1", "[::2]:8080"} {
		for _, path := range []string{"/settings/profile", "/login", "/no/such/page", "/static/app.css", "/api/v1/me"} {
			res := send(signedIn, http.MethodGet, host, path, nil)
			if res.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("Host %s, GET %s: status %d, want 421", host, path, res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Host %s, GET %s: Content-Type %q, want plain text", host, path, ct)
			}
			assertLacks(t, res, "Uma User", "user@example.com", "<html", "Keydesk")
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Host %s: Cache-Control %q", host, got)
			}
		}
		res := send(nil, http.MethodPost, host, "/login",
			url.Values{"email": {"user@example.com"}, "password": {"user-password"}})
		if res.StatusCode != http.StatusMisdirectedRequest || len(res.Cookies()) != 0 {
			t.Errorf("Host %s, POST /login: status %d, cookies %v; want 421 and none", host, res.StatusCode, res.Cookies())
		}
		for _, path := range []string{"/healthz", "/readyz"} {
			if res := send(nil, http.MethodGet, host, path, nil); res.StatusCode != http.StatusOK {
				t.Errorf("Host %s, GET %s: status %d, want 200 for a load balancer", host, path, res.StatusCode)
			}
		}
	}
	if after := stateOf(t, ts); after != before {
		t.Errorf("refused requests changed the store:\nbefore %s\nafter  %s", before, after)
	}

	for _, host := range []string{"localhost", "localhost:8080", "LOCALHOST:9", "localhost.", "127.0.0.1", "127.0.0.1:8080",
		"[::1]", "[::1]:8080", "keys.example.com", "Keys.Example.Com:443"} {
		if res := send(signedIn, http.MethodGet, host, "/settings/profile", nil); res.StatusCode != http.StatusOK {
			t.Errorf("Host %s: status %d, want 200", host, res.StatusCode)
		}
	}

	// An HTTP/1.0 request may come with no Host at all.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /login HTTP/1.0\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("no Host: status %d, want 421", res.StatusCode)
	}
}

// TestNoHostCheckWithoutAllowedHosts: an embedder (or a test) that names
// no hosts gets every host answered, as before.
func TestNoHostCheckWithoutAllowedHosts(t *testing.T) {
	ts := newTestServer(t)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/login", nil)
	req.Host = "anything.example"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", res.StatusCode)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlite"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func runCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, env(nil), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestUserAdd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")

	out, _, err := runCmd(t, "a-chosen-password\n", "user", "add", "--db", db, "--email", "uma@example.com", "--name", "Uma User")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Created user Uma User <uma@example.com>") || strings.Contains(out, "a-chosen-password") {
		t.Errorf("output: %q", out)
	}

	out, _, err = runCmd(t, "", "user", "add", "--db", db, "--email", "ada@example.com", "--name", "Ada", "--admin")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Password \(shown once\): (\S+)`).FindStringSubmatch(out)
	if m == nil || len(m[1]) != 20 {
		t.Fatalf("no generated password in %q", out)
	}

	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for email, pw := range map[string]string{"uma@example.com": "a-chosen-password", "ada@example.com": m[1]} {
		u, err := s.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CheckPassword(u.PasswordHash, pw); err != nil {
			t.Errorf("%s: the password does not verify: %v", email, err)
		}
		if (email == "ada@example.com") != u.IsAdmin() {
			t.Errorf("%s: role %s", email, u.Role)
		}
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"taken email", "another-password\n", []string{"--email", "UMA@example.com", "--name", "X"}, 1, "already exists"},
		{"short password", "short\n", []string{"--email", "x@example.com", "--name", "X"}, 2, "Use at least 8 characters."},
		{"no email", "", []string{"--name", "X"}, 2, "--email and --name are required"},
		{"not an email", "", []string{"--email", "nope", "--name", "X"}, 2, "Enter an email address like name@example.com."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, tc.stdin, append([]string{"user", "add", "--db", db}, tc.args...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
		})
	}
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := runCmd(t, "", "version")
	if err != nil || !strings.HasPrefix(out, "keydesk ") {
		t.Errorf("version: %q, %v", out, err)
	}
	if _, _, err := runCmd(t, "", "frobnicate"); exitCode(err) != 2 {
		t.Errorf("unknown command: %v", err)
	}
	if _, _, err := runCmd(t, "", "serve", "--secure-cookies=maybe"); exitCode(err) != 2 {
		t.Errorf("bad flag value: %v", err)
	}
}

func TestServeConfig(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		env        map[string]string
		signup     bool
		secure     bool
		demo       bool
		addr       string
		proxyCount int
	}{
		{name: "defaults", addr: "127.0.0.1:8080"},
		{name: "demo turns sign-up on", args: []string{"--demo"}, demo: true, signup: true, addr: "127.0.0.1:8080"},
		{name: "sign-up can be turned off in demo", args: []string{"--demo", "--signup=false"}, demo: true, addr: "127.0.0.1:8080"},
		{name: "a public address gets Secure cookies", args: []string{"--addr", ":8443"}, secure: true, addr: ":8443"},
		{name: "environment fallbacks", env: map[string]string{"KEYDESK_ADDR": "0.0.0.0:9000", "KEYDESK_SIGNUP": "true",
			"KEYDESK_SECURE_COOKIES": "false", "KEYDESK_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.0/16", "KEYDESK_DEMO": "1"},
			addr: "0.0.0.0:9000", signup: true, demo: true, proxyCount: 2},
		{name: "flags win over the environment", args: []string{"--secure-cookies"}, env: map[string]string{"KEYDESK_SECURE_COOKIES": "false"},
			secure: true, addr: "127.0.0.1:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.addr != tc.addr || cfg.signup != tc.signup || cfg.secureCookies != tc.secure || cfg.demo != tc.demo ||
				len(cfg.trustedProxies) != tc.proxyCount {
				t.Errorf("got %+v", cfg)
			}
		})
	}
	if _, err := parseServe(nil, env(map[string]string{"KEYDESK_SESSION_KEYS": "abcd"}), io.Discard); err == nil {
		t.Error("a short session key was accepted")
	}
}

// server is `keydesk serve` running in-process on a free port.
type server struct {
	url  string
	stop func() error
}

func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), env(nil), nil, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	addr := regexp.MustCompile(`listening on (http://\S+)`)
	for lines.Scan() {
		if m := addr.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, pr)
			s := &server{url: m[1], stop: sync.OnceValue(func() error { cancel(); return <-done })}
			t.Cleanup(func() { s.stop() })
			return s
		}
	}
	cancel()
	t.Fatalf("the server did not start: %v", <-done)
	return nil
}

func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func status(t *testing.T, c *http.Client, method, u string, form url.Values) int {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestDemoSessionsSurviveRestartsAndInstances(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	first := startServer(t, "--demo", "--db", db)
	browser := newBrowser()
	if got := status(t, browser, "POST", first.url+"/login", url.Values{"email": {"demo@example.com"}, "password": {"demo-password"}}); got != 303 {
		t.Fatalf("demo login: %d", got)
	}
	if got := status(t, browser, "GET", first.url+"/settings/profile", nil); got != 200 {
		t.Fatalf("profile: %d", got)
	}

	// A second instance on the same database accepts the same cookie.
	second := startServer(t, "--db", db)
	cookies := browser.Jar.Cookies(mustURL(t, first.url))
	other := newBrowser()
	other.Jar.SetCookies(mustURL(t, second.url), cookies)
	if got := status(t, other, "GET", second.url+"/settings/profile", nil); got != 200 {
		t.Errorf("the second instance refused the session: %d", got)
	}

	// A restart, seeding again, keeps both the accounts and the session.
	if err := first.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	third := startServer(t, "--demo", "--db", db)
	again := newBrowser()
	again.Jar.SetCookies(mustURL(t, third.url), cookies)
	if got := status(t, again, "GET", third.url+"/settings/profile", nil); got != 200 {
		t.Errorf("the session did not survive a restart: %d", got)
	}

	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	demo, _ := s.UserByEmail(context.Background(), "demo@example.com")
	keys, _ := s.KeysForUser(context.Background(), demo.ID)
	if demo.KYCStatus != store.KYCVerified || demo.KALPID == "" || len(keys) != len(demoKeys) {
		t.Errorf("demo user %+v with %d keys after two seedings, want KYC verified and %d keys", demo, len(keys), len(demoKeys))
	}
}

func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	srv := startServer(t, "--demo", "--db", filepath.Join(t.TempDir(), "k.db"))
	host := strings.TrimPrefix(srv.url, "http://")

	// A login whose handler is running, waiting for its body, when the
	// shutdown begins: "Expect: 100-continue" makes the server say when the
	// handler first reads the body, so the test knows it is in flight.
	body := url.Values{"email": {"demo@example.com"}, "password": {"demo-password"}}.Encode()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", host, len(body))
	replies := bufio.NewReader(conn)
	cont, err := http.ReadResponse(replies, nil)
	if err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("no 100 Continue: %v", err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop() }()

	// Once new connections are refused, the shutdown is under way.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", host)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server kept accepting connections after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}

	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(replies, nil)
	if err != nil {
		t.Fatalf("the in-flight request was cut off: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("the in-flight login answered %d, want 303", res.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKeysCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	if _, _, err := runCmd(t, "uma-password\n", "user", "add", "--db", db, "--email", "uma@example.com", "--name", "Uma"); err != nil {
		t.Fatal(err)
	}
	// A server on the same database at the same time.
	srv := startServer(t, "--db", db)

	out, errOut, err := runCmd(t, "", "keys", "create", "--db", db, "--email", "UMA@example.com", "--name", "deploy bot", "--description", "CI")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if store.ParseKey(key) != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("stdout %q is not one key", out)
	}
	if strings.Contains(errOut, key) {
		t.Error("the key is repeated on stderr")
	}
	req, _ := http.NewRequest("GET", srv.url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("the running server refused the new key: %d", res.StatusCode)
	}

	s, _ := sqlite.Open(context.Background(), db)
	defer s.Close()
	auditPage, _ := s.AuditLog(context.Background(), store.AuditFilter{Limit: 10})
	events := auditPage.Events
	if events[0].Action != store.ActionKeyCreated || events[0].Actor != "cli" || strings.Contains(events[0].Detail, key) {
		t.Errorf("audit event %+v", events[0])
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"taken name", []string{"--email", "uma@example.com", "--name", "Deploy Bot"}, 1, "already has a key named"},
		{"unknown owner", []string{"--email", "nobody@example.com", "--name", "x"}, 1, "no account"},
		{"no name", []string{"--email", "uma@example.com"}, 2, "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, "", append([]string{"keys", "create", "--db", db}, tc.args...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
		})
	}
}

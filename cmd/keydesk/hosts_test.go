package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestAllowedHosts(t *testing.T) {
	machine := func() ([]net.IP, error) {
		return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.1.2.3"), net.ParseIP("fe80::1")}, nil
	}
	loopback := []string{"localhost", "127.0.0.1", "::1"}
	everywhere := []string{"localhost", "127.0.0.1", "::1", "10.1.2.3", "fe80::1"}
	for _, tc := range []struct {
		addr, publicURL string
		want            []string
		warns           bool
	}{
		{addr: "127.0.0.1:8080", want: loopback},
		{addr: "localhost:8080", want: loopback},
		{addr: "[::1]:8080", want: loopback},
		{addr: "127.0.0.2:8080", want: append(slices.Clone(loopback), "127.0.0.2")},
		{addr: "127.0.0.1:8080", publicURL: "https://keys.example.com", want: append([]string{"keys.example.com"}, loopback...)},
		{addr: "0.0.0.0:8080", publicURL: "https://Keys.Example.com:8443/", want: []string{"keys.example.com"}},
		{addr: "10.1.2.3:8080", publicURL: "http://keys.internal", want: []string{"keys.internal"}},
		{addr: ":8080", want: everywhere, warns: true},
		{addr: "0.0.0.0:8080", want: everywhere, warns: true},
		{addr: "[::]:8080", want: everywhere, warns: true},
		{addr: "10.1.2.3:8080", want: []string{"10.1.2.3"}, warns: true},
		{addr: "keys.internal:8080", want: []string{"keys.internal"}, warns: true},
	} {
		t.Run(tc.addr+" "+tc.publicURL, func(t *testing.T) {
			hosts, warning, err := allowedHosts(tc.addr, tc.publicURL, machine)
			if err != nil {
				t.Fatal(err)
			}
			for i := range hosts {
				hosts[i] = strings.ToLower(hosts[i])
			}
			slices.Sort(hosts)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(hosts, want) {
				t.Errorf("hosts %v, want %v", hosts, want)
			}
			if (warning != "") != tc.warns {
				t.Errorf("warning %q, want one: %v", warning, tc.warns)
			}
			if tc.warns && !strings.Contains(warning, "--public-url") {
				t.Errorf("the warning does not say what to do: %q", warning)
			}
		})
	}
	for _, bad := range []string{"keys.example.com", "ftp://keys.example.com", "https://", "https://u:p@keys.example.com",
		"https://keys.example.com/keydesk", "https://keys.example.com/?a=b", "https://keys.example.com/#x", "://x"} {
		if _, _, err := allowedHosts("0.0.0.0:8080", bad, machine); exitCode(err) != 2 {
			t.Errorf("--public-url %q: %v, want a usage error", bad, err)
		}
	}
}

// lockedBuffer collects what a server writes to stderr while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveWith runs `keydesk serve` in-process with args and vars, and
// returns the port it listens on and what it writes to stderr.
func serveWith(t *testing.T, vars map[string]string, args ...string) (port string, stderr *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &lockedBuffer{}
	done := make(chan error, 1)
	args = append([]string{"serve", "--db", filepath.Join(t.TempDir(), "k.db")}, args...)
	go func() {
		done <- run(ctx, args, env(vars), nil, pw, stderr)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	lines := bufio.NewScanner(pr)
	listening := regexp.MustCompile(`listening on http://\S+:(\d+) `)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, pr)
			return m[1], stderr
		}
	}
	t.Fatalf("the server did not start:\n%s", stderr)
	return "", nil
}

// statusFor asks the server on 127.0.0.1:port for path, addressed to host.
func statusFor(t *testing.T, port, method, host, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1:"+port+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestServeAnswersOnlyItsHosts runs the real program: on loopback it
// answers the loopback names and --public-url's host (or
// KEYDESK_PUBLIC_URL's), refuses any other name with 421, and answers
// health checks (HEAD too) for any.
func TestServeAnswersOnlyItsHosts(t *testing.T) {
	for name, start := range map[string]func() (string, *lockedBuffer){
		"flag": func() (string, *lockedBuffer) {
			return serveWith(t, nil, "--addr", "127.0.0.1:0", "--public-url", "https://keys.example.com")
		},
		"environment": func() (string, *lockedBuffer) {
			return serveWith(t, map[string]string{"KEYDESK_PUBLIC_URL": "https://keys.example.com"}, "--addr", "127.0.0.1:0")
		},
	} {
		t.Run(name, func(t *testing.T) {
			port, stderr := start()
			for _, tc := range []struct {
				method, host, path string
				want               int
			}{
				{"GET", "127.0.0.1:" + port, "/login", 200},
				{"GET", "localhost:" + port, "/login", 200},
				{"GET", "[::1]:" + port, "/login", 200},
				{"GET", "keys.example.com", "/login", 200},
				{"HEAD", "keys.example.com", "/healthz", 200},
				{"GET", "evil.example:" + port, "/login", 421},
				{"GET", "evil.example", "/", 421},
				{"HEAD", "evil.example", "/login", 421},
				{"GET", "evil.example", "/healthz", 200},
				{"HEAD", "10.9.8.7:" + port, "/healthz", 200},
				{"GET", "10.9.8.7:" + port, "/readyz", 200},
			} {
				if got := statusFor(t, port, tc.method, tc.host, tc.path); got != tc.want {
					t.Errorf("%s %s for Host %s: %d, want %d", tc.method, tc.path, tc.host, got, tc.want)
				}
			}
			if strings.Contains(stderr.String(), "warning") {
				t.Errorf("a warning with --public-url on loopback:\n%s", stderr)
			}
		})
	}
}

// TestServeWarnsWithoutPublicURL: on every interface and with no
// --public-url, the server says loudly that it answers only this
// machine's addresses and loopback names, and does so.
func TestServeWarnsWithoutPublicURL(t *testing.T) {
	port, stderr := serveWith(t, nil, "--addr", "0.0.0.0:0")
	if !strings.Contains(stderr.String(), "keydesk: warning: no --public-url") {
		t.Errorf("no warning on stderr:\n%s", stderr)
	}
	for host, want := range map[string]int{"127.0.0.1:" + port: 200, "localhost:" + port: 200, "evil.example:" + port: 421} {
		if got := statusFor(t, port, "GET", host, "/login"); got != want {
			t.Errorf("GET /login for Host %s: %d, want %d", host, got, want)
		}
	}
}

func TestServeRefusesABadPublicURL(t *testing.T) {
	_, _, err := runCmd(t, "", "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "k.db"),
		"--public-url", "keys.example.com")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--public-url") {
		t.Errorf("serve --public-url keys.example.com: %v, want a usage error naming the flag", err)
	}
}

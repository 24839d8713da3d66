package main

// The README's nginx config, run as written (issue 10): the file
// docs/deploy/nginx/keydesk.conf, which the README shows verbatim
// (TestNginxDeploymentIsTheREADMEs), goes in front of two `keydesk serve`
// processes on one PostgreSQL database, flagged as the README says; only
// its ports and certificate paths are changed, in a temp copy, and it is
// included from a main config shaped like Debian's (gzip on). Through it
// a client signs in, makes a key and calls the API; both instances serve,
// and both log and record the client's own address, not nginx's nor one
// the client forged; with one instance stopped, nginx moves on to the
// other (TestNginxInFrontOfTwoInstances). Without nginx the test skips
// loudly; under CI it fails.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"keydesk/store/pgtest"
)

const (
	// nginxConfig is the site config the README shows.
	nginxConfig = "../../docs/deploy/nginx/keydesk.conf"
	// deployHost is the host name in nginxConfig and the instances'
	// --public-url.
	deployHost = "keys.example.com"
	// deployClientIP is the address the test's client connects from: on
	// loopback, but not nginx's 127.0.0.1, so that Keydesk's idea of the
	// client can be told from the proxy.
	deployClientIP = "127.0.0.2"
	// forgedIP is what the client claims in its own X-Forwarded-For.
	forgedIP = "203.0.113.66"
)

// deployFlags are the flags the README gives each instance behind nginx.
var deployFlags = []string{"--public-url", "https://" + deployHost, "--secure-cookies", "--trusted-proxies", "127.0.0.1/32"}

// TestNginxDeploymentIsTheREADMEs: the README shows the nginx config and
// the instances' flags that TestNginxInFrontOfTwoInstances runs.
func TestNginxDeploymentIsTheREADMEs(t *testing.T) {
	conf, err := os.ReadFile(nginxConfig)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte("```nginx\n"+string(conf)+"```\n")) {
		t.Errorf("README.md does not show %s verbatim in an nginx block; copy the file into it", nginxConfig)
	}
	if flags := "flags='" + strings.Join(deployFlags, " ") + "'"; !bytes.Contains(readme, []byte(flags)) {
		t.Errorf("README.md does not start the instances with %s, the flags the test gives them", flags)
	}
}

func TestNginxInFrontOfTwoInstances(t *testing.T) {
	nginx := nginxBinary(t)
	bin := keydeskBinary(t)
	db := pgtest.Database(t)
	first := startBinary(t, bin, db, deployFlags...)
	second := startBinary(t, bin, db, deployFlags...)
	front := startNginx(t, nginx, first.host, second.host)
	email := "behind-nginx@example.com"
	addInstanceUser(t, db, email)

	t.Run("plain HTTP is sent to HTTPS", func(t *testing.T) {
		code, h, _, err := fetch(front.client, "GET", front.plain+"/login", nil, nil, 10*time.Second)
		if want := "https://" + deployHost + "/login"; err != nil || code != http.StatusMovedPermanently || h.Get("Location") != want {
			t.Errorf("GET %s/login: %d to %q %v, want 301 to %s", front.plain, code, h.Get("Location"), err, want)
		}
	})

	// The client forges X-Forwarded-For on every request: nginx appends
	// the address it sees, and Keydesk must take that one.
	forged := map[string]string{"X-Forwarded-For": forgedIP}
	with := func(extra ...string) map[string]string {
		h := map[string]string{"X-Forwarded-For": forgedIP}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}

	code, h, body, err := fetch(front.client, "POST", front.url+"/login",
		url.Values{"email": {email}, "password": {instancesPassword}}, forged, 20*time.Second)
	if err != nil || code != http.StatusSeeOther {
		t.Fatalf("login through nginx: %d %v\n%.300s", code, err, body)
	}
	var session string
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "__Host-keydesk" && ck.Value != "" {
			if !ck.Secure || !ck.HttpOnly {
				t.Errorf("the session cookie is not Secure and HttpOnly: %v", ck)
			}
			session = ck.Name + "=" + ck.Value
		}
	}
	if session == "" {
		t.Fatalf("login through nginx set no __Host-keydesk cookie: %q", h.Values("Set-Cookie"))
	}

	const rounds = 6 // of each kind of request; nginx takes turns, so both instances get some
	for i := 0; i < rounds; i++ {
		code, h, body, err := fetch(front.client, "GET", front.url+"/settings/profile", nil, with("Cookie", session), 10*time.Second)
		if err != nil || code != http.StatusOK || !strings.Contains(string(body), email) {
			t.Fatalf("profile %d through nginx: %d %v\n%.300s", i+1, code, err, body)
		}
		if h.Get("Strict-Transport-Security") == "" {
			t.Errorf("profile %d through nginx: no Strict-Transport-Security", i+1)
		}
	}

	t.Run("the page that shows a new key is not compressed", func(t *testing.T) {
		code, h, body, err := fetch(front.client, "POST", front.url+"/settings/api-keys",
			url.Values{"name": {"through nginx"}, "description": {"made behind the proxy"}, "action": {"confirm"}},
			with("Cookie", session, "Accept-Encoding", "gzip"), 20*time.Second)
		if enc := h.Get("Content-Encoding"); enc != "" {
			t.Fatalf("the answer that shows the key came with Content-Encoding %q", enc)
		}
		if err != nil || code != http.StatusOK || !shownKey.Match(body) {
			t.Fatalf("create a key through nginx: %d %v\n%.300s", code, err, body)
		}
		front.secret = string(shownKey.Find(body))
	})
	if front.secret == "" {
		t.FailNow()
	}

	t.Run("Origin is checked against the host the browser used", func(t *testing.T) {
		form := url.Values{"name": {"same origin"}, "description": {"posted with an Origin"}, "action": {"confirm"}}
		code, _, body, err := fetch(front.client, "POST", front.url+"/settings/api-keys", form,
			with("Cookie", session, "Origin", front.url), 20*time.Second)
		if err != nil || code != http.StatusOK || !shownKey.Match(body) {
			t.Errorf("a post with Origin %s: %d %v\n%.300s", front.url, code, err, body)
		}
		form.Set("name", "cross site")
		code, _, _, err = fetch(front.client, "POST", front.url+"/settings/api-keys", form,
			with("Cookie", session, "Origin", "https://elsewhere.example"), 20*time.Second)
		if err != nil || code != http.StatusForbidden {
			t.Errorf("a post with Origin https://elsewhere.example: %d %v, want 403", code, err)
		}
	})

	for i := 0; i < rounds; i++ {
		if code := front.apiStatus(t); code != http.StatusOK {
			t.Fatalf("GET /api/v1/me %d through nginx: %d", i+1, code)
		}
	}

	t.Run("both instances served, and saw the client's own address", func(t *testing.T) {
		for i, s := range []*binaryServer{first, second} {
			served := map[string]int{}
			for _, line := range requestLines(t, s) {
				if line.IP != deployClientIP {
					t.Errorf("instance %d logged %s %s from %q, want the client's %s", i+1, line.Method, line.Path, line.IP, deployClientIP)
				}
				if line.Status == http.StatusOK {
					served[line.Path]++
				}
			}
			if served["/settings/profile"] == 0 || served["/api/v1/me"] == 0 {
				t.Errorf("instance %d served %d profiles and %d API calls of %d each: nginx did not spread them",
					i+1, served["/settings/profile"], served["/api/v1/me"], rounds)
			}
			if strings.Contains(s.stderr.String(), forgedIP) {
				t.Errorf("instance %d logged the forged address %s", i+1, forgedIP)
			}
			s.checkLogs(t)
		}
		checkRecordedAddresses(t, db)
	})

	t.Run("with one instance stopped, nginx moves on to the other", func(t *testing.T) {
		if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		second.waitExit(t, 25*time.Second)
		for i := 0; i < rounds; i++ {
			if code := front.apiStatus(t); code != http.StatusOK {
				t.Errorf("GET /api/v1/me %d with the second instance stopped: %d", i+1, code)
			}
		}
		if log := front.errorLog(); !strings.Contains(log, "Connection refused") {
			t.Errorf("nginx never tried the stopped instance; its error log:\n%s", log)
		}
	})
}

// requestLine is the part of a request's log line the test reads.
type requestLine struct {
	Msg    string `json:"msg"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	IP     string `json:"ip"`
}

// requestLines are the request lines of an instance's log.
func requestLines(t *testing.T, s *binaryServer) []requestLine {
	t.Helper()
	var lines []requestLine
	for _, raw := range strings.Split(s.stderr.String(), "\n") {
		var l requestLine
		if json.Unmarshal([]byte(raw), &l) == nil && l.Msg == "request" {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkRecordedAddresses: the sign-in's session, every audit event of the
// web and the key's Last Used hold the client's own address.
func checkRecordedAddresses(t *testing.T, db string) {
	t.Helper()
	conn, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	read := func(query string) []string {
		t.Helper()
		rows, err := conn.Query(query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, q := range []struct {
		what, query string
		lag         time.Duration // how long after the request it may land
	}{
		{"session", "SELECT ip FROM sessions", 0},
		{"audit event", "SELECT action || ' ' || ip FROM audit_events WHERE actor <> 'cli'", 0},
		// Written with the instance's next batch of recent use, within a
		// second; the wait only allows for a busy machine.
		{"key's Last Used", "SELECT name || ' ' || last_used_ip FROM api_keys WHERE last_used_at IS NOT NULL", 10 * time.Second},
	} {
		got := read(q.query)
		for deadline := time.Now().Add(q.lag); len(got) == 0 && time.Now().Before(deadline); got = read(q.query) {
			time.Sleep(50 * time.Millisecond)
		}
		for _, g := range got {
			if !strings.HasSuffix(g, " "+deployClientIP) && g != deployClientIP {
				t.Errorf("%s recorded %q, want the address %s", q.what, g, deployClientIP)
			}
		}
		if len(got) == 0 {
			t.Errorf("no %s recorded (%s)", q.what, q.query)
		}
	}
}

// nginxBinary finds nginx, or skips the test loudly (fails it under CI,
// whose .ci/run installs it).
func nginxBinary(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("nginx"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx" // Debian's, off a non-root PATH
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is required under CI: install Debian's nginx package (.ci/run does)")
	}
	t.Skip("*** SKIPPED: no nginx, so the README's nginx config is not tried; install Debian's nginx package ***")
	return ""
}

// front is a running nginx with the README's config.
type front struct {
	url    string // https://keys.example.com:PORT, which client reaches nginx at
	plain  string // the same on the plain HTTP port
	client *http.Client
	dir    string
	secret string // a key made through it
}

// apiStatus is what GET /api/v1/me answers through nginx with f.secret.
func (f *front) apiStatus(t *testing.T) int {
	t.Helper()
	code, _, _, err := fetch(f.client, "GET", f.url+"/api/v1/me", nil,
		map[string]string{"Authorization": "Bearer " + f.secret, "X-Forwarded-For": forgedIP}, 10*time.Second)
	if err != nil {
		t.Fatalf("GET /api/v1/me through nginx: %v", err)
	}
	return code
}

func (f *front) errorLog() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "error.log"))
	return string(b)
}

// nginxMain is the main config the site config is included from: Debian's
// /etc/nginx/nginx.conf cut to what a test may run (its files under its
// own directory, one worker) with the http settings that bear on a
// proxied site kept, gzip on among them. The first %s is a user line for
// a root run, whose workers could not otherwise use the temp directories.
const nginxMain = `%s
worker_processes 1;
pid %[2]s/nginx.pid;
events {
    worker_connections 256;
}
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log %[2]s/access.log;
    gzip on;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/keydesk.conf;
}
`

// startNginx runs nginx with the README's config in front of the two
// instances, on free loopback ports, and waits (with a deadline) until it
// answers through to them. A port taken between the probe and nginx's bind
// costs another try.
func startNginx(t *testing.T, nginx, firstAddr, secondAddr string) *front {
	t.Helper()
	conf, err := os.ReadFile(nginxConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, roots := writeCertificate(t, dir)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), fmt.Appendf(nil, nginxMain, user, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	client := deployClient(t, roots)
	for try := 1; ; try++ {
		ports := freeLoopbackPorts(t, 2)
		httpsPort, httpPort := ports[0], ports[1]
		site := substitute(t, string(conf), [][2]string{
			{"server 127.0.0.1:8081 ", "server " + firstAddr + " "},
			{"server 127.0.0.1:8082 ", "server " + secondAddr + " "},
			{"listen 80;", "listen 127.0.0.1:" + httpPort + ";"},
			{"listen 443 ssl;", "listen 127.0.0.1:" + httpsPort + " ssl;"},
			{"/etc/letsencrypt/live/keys.example.com/fullchain.pem", certFile},
			{"/etc/letsencrypt/live/keys.example.com/privkey.pem", keyFile},
		})
		if err := os.WriteFile(filepath.Join(dir, "keydesk.conf"), []byte(site), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, "error.log"))
		f := &front{
			url:    "https://" + deployHost + ":" + httpsPort,
			plain:  "http://" + deployHost + ":" + httpPort,
			client: client,
			dir:    dir,
		}
		cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"),
			"-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			select {
			case <-exited:
				return
			default:
			}
			cmd.Process.Signal(syscall.SIGTERM) // nginx's fast shutdown
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		if f.waitAnswering(exited) {
			t.Cleanup(stop)
			return f
		}
		stop()
		if log := f.errorLog(); try == 3 || !strings.Contains(log, "Address already in use") {
			t.Fatalf("nginx did not answer through to Keydesk:\n%s%s", out.String(), log)
		}
	}
}

// waitAnswering polls /readyz through nginx, which it answers only by
// reaching an instance, until it answers 200, nginx exits, or 20 seconds
// pass.
func (f *front) waitAnswering(exited <-chan struct{}) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, _, _, _ := fetch(f.client, "GET", f.url+"/readyz", nil, nil, 2*time.Second)
		if code == http.StatusOK {
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// substitute makes each replacement in s, each of whose old strings must
// occur exactly once: a config that has changed shape fails here rather
// than running with the README's own ports.
func substitute(t *testing.T, s string, pairs [][2]string) string {
	t.Helper()
	for _, p := range pairs {
		if n := strings.Count(s, p[0]); n != 1 {
			t.Fatalf("%s holds %q %d times, not once: bring the test's substitutions up to date", nginxConfig, p[0], n)
		}
		s = strings.Replace(s, p[0], p[1], 1)
	}
	return s
}

// deployClient is a browser at https://keys.example.com: whatever host a
// URL names, it connects to nginx on loopback, from deployClientIP, and it
// trusts roots. It has no cookie jar and follows no redirects.
func deployClient(t *testing.T, roots *x509.CertPool) *http.Client {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(deployClientIP)}}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// writeCertificate writes a self-signed certificate for deployHost and its
// key into dir, and returns their paths and a pool that trusts it.
func writeCertificate(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: deployHost},
		DNSNames:              []string{deployHost},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// freeLoopbackPorts are n distinct ports free on 127.0.0.1 a moment ago.
func freeLoopbackPorts(t *testing.T, n int) []string {
	t.Helper()
	var ports []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are chosen, so they differ
		_, port, _ := net.SplitHostPort(l.Addr().String())
		ports = append(ports, port)
	}
	return ports
}

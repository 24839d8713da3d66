package main

// The reliability suite of issue 6 against the real binary: a crash
// (SIGKILL) under load loses no acknowledged key, requests cancelled
// mid-flight leave the server whole, and SIGTERM under load lets every
// answered request finish, refuses the rest cleanly and exits 0 with the
// database intact. The binary is built once per run; under -short these
// tests are skipped.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"keydesk/store"
	"keydesk/store/pgtest"
	"keydesk/store/sqlite"
)

// builtBinary is the keydesk binary, built once for the whole package run
// and removed by TestMain.
var builtBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}

// keydeskBinary builds the binary on first use (go build -o <tmp>/keydesk
// ./cmd/keydesk), or skips the test under -short.
func keydeskBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped under -short")
	}
	builtBinary.once.Do(func() {
		// go test runs with the go command's directory first on PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			builtBinary.err = fmt.Errorf("find the go command: %w", err)
			return
		}
		if builtBinary.dir, builtBinary.err = os.MkdirTemp("", "keydesk-reliability-"); builtBinary.err != nil {
			return
		}
		builtBinary.path = filepath.Join(builtBinary.dir, "keydesk")
		// The test runs in cmd/keydesk, so "." is ./cmd/keydesk.
		out, err := exec.Command(goTool, "build", "-o", builtBinary.path, ".").CombinedOutput()
		if err != nil {
			builtBinary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if builtBinary.err != nil {
		t.Fatal(builtBinary.err)
	}
	return builtBinary.path
}

// watchedBuffer collects a child's output and says when more arrives.
type watchedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{}, 1)} }

func (b *watchedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *watchedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// binaryServer is `keydesk serve` running as a child process.
type binaryServer struct {
	cmd    *exec.Cmd
	url    string
	host   string
	stdout *watchedBuffer
	stderr *watchedBuffer
	exited chan struct{} // closed once the process is reaped
	state  *os.ProcessState
}

var listeningLine = regexp.MustCompile(`listening on (http://(\S+))`)

// startBinary starts the binary on a free loopback port and waits, with a
// deadline, for it to say where it listens.
func startBinary(t *testing.T, bin, db string, args ...string) *binaryServer {
	t.Helper()
	s := launchBinary(t, bin, db, args...)
	s.waitListening(t)
	return s
}

// launchBinary starts the binary on a free loopback port without waiting
// for it, so that a test can start several at the same moment.
func launchBinary(t *testing.T, bin, db string, args ...string) *binaryServer {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYDESK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	s := &binaryServer{cmd: cmd, stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		s.state = cmd.ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

// waitListening waits, with a deadline, for a launched binary to say where
// it listens.
func (s *binaryServer) waitListening(t *testing.T) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		if m := listeningLine.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url, s.host = m[1], m[2]
			return
		}
		select {
		case <-s.stdout.changed:
		case <-s.exited:
			t.Fatalf("keydesk exited before listening (%v):\n%s", s.state, s.stderr.String())
		case <-deadline.C:
			t.Fatalf("keydesk did not listen within 30s:\n%s", s.stderr.String())
		}
	}
}

// waitExit waits, at most timeout, for the process to end.
func (s *binaryServer) waitExit(t *testing.T, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-s.exited:
		return s.state
	case <-time.After(timeout):
		t.Fatalf("keydesk still runs %s after it was told to stop", timeout)
		return nil
	}
}

// checkLogs fails on a panic or a locked database in the server's log. A
// panic is "panic:" as written, the runtime's and the recovered one's
// (recoverPanics) alike: a random request id can hold "PaNiC" in any case,
// never a colon.
func (s *binaryServer) checkLogs(t *testing.T) {
	t.Helper()
	if strings.Contains(s.stderr.String(), "panic:") {
		t.Errorf("the server's log mentions a panic:\n%s", firstLinesWith(s.stderr.String(), "panic:", 5))
	}
	logs := strings.ToLower(s.stderr.String())
	for _, bad := range []string{"database is locked", "sqlite_busy", "database table is locked"} {
		if strings.Contains(logs, bad) {
			t.Errorf("the server's log mentions %q:\n%s", bad, firstLinesWith(s.stderr.String(), bad, 5))
		}
	}
}

func firstLinesWith(logs, what string, n int) string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(strings.ToLower(line), what) && len(out) < n {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// checkIntegrity opens the file with database/sql and modernc's driver, as
// any tool would, and runs SQLite's own checks.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	var results []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0] != "ok" {
		t.Errorf("PRAGMA integrity_check: %q, want \"ok\"", results)
	}
	var fkProblems int
	if err := db.QueryRow("SELECT count(*) FROM pragma_foreign_key_check").Scan(&fkProblems); err != nil {
		t.Fatalf("foreign_key_check: %v", err)
	}
	if fkProblems != 0 {
		t.Errorf("PRAGMA foreign_key_check: %d rows break a foreign key", fkProblems)
	}
}

// loadClient is a browser for load: cookies, no redirects followed, its own
// transport so its connections are its own.
func loadClient(keepAlive bool) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Transport:     &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fetch makes one request with a deadline and reads the whole answer.
func fetch(c *http.Client, method, u string, form url.Values, headers map[string]string, timeout time.Duration) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b, err
}

// binaryLogin signs c in and fails the test unless it works.
func binaryLogin(t *testing.T, c *http.Client, base, email, password string) {
	t.Helper()
	code, h, body, err := fetch(c, "POST", base+"/login", url.Values{"email": {email}, "password": {password}}, nil, 20*time.Second)
	if err != nil || code != http.StatusSeeOther {
		t.Fatalf("login %s: %d %v\n%.300s", email, code, err, body)
	}
	if h.Get("Location") != "/settings/profile" {
		t.Fatalf("login %s: sent to %q", email, h.Get("Location"))
	}
}

var shownKey = regexp.MustCompile(`kdk_[0-9A-Za-z]{36}`)

// meAnswer is the part of GET /api/v1/me the tests read.
type meAnswer struct {
	Email string `json:"email"`
	Key   struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"key"`
}

// ackedKey is a key whose creation was answered with success.
type ackedKey struct {
	email, name, secret string
}

// TestCrashLosesNoAcknowledgedKey creates keys through the plain form flow
// from eight sessions at once, kills the server with SIGKILL while they
// write, and restarts it on the same file, three times over. After each
// crash the database passes integrity_check, every creation that was
// answered with the key is there by name and its key authenticates, and at
// most the creations in flight at the kill are there unanswered.
func TestCrashLosesNoAcknowledgedKey(t *testing.T) {
	bin := keydeskBinary(t)
	db := filepath.Join(t.TempDir(), "keydesk.db")
	const (
		users          = 4
		workersPerUser = 2
		rounds         = 3
		perRound       = 30 // acknowledged creations before each kill
		maxPerWorker   = store.MaxKeysPerUser / workersPerUser
	)
	emails := make([]string, users)
	for i := range emails {
		emails[i] = fmt.Sprintf("crash%d@example.com", i)
		if _, _, err := runCmd(t, "crash-password\n", "user", "add", "--db", db, "--email", emails[i], "--name", fmt.Sprintf("Crash %d", i)); err != nil {
			t.Fatal(err)
		}
	}

	var (
		mu       sync.Mutex
		acked    []ackedKey
		attempts = make([]int, users*workersPerUser) // creations sent, per worker, over all rounds
	)
	for round := 0; round < rounds; round++ {
		srv := startBinary(t, bin, db)
		verifyAckedKeys(t, srv, db, acked)
		if t.Failed() {
			t.FailNow()
		}

		// Every worker signs in first, so that all of them write at the kill.
		clients := make([]*http.Client, len(attempts))
		var logins sync.WaitGroup
		for w := range clients {
			clients[w] = loadClient(true)
			logins.Add(1)
			go func() {
				defer logins.Done()
				// One address may have only a few password checks under
				// way; the rest are told 429 at once and try again.
				form := url.Values{"email": {emails[w%users]}, "password": {"crash-password"}}
				code, _, body, err := fetch(clients[w], "POST", srv.url+"/login", form, nil, 20*time.Second)
				for deadline := time.Now().Add(20 * time.Second); err == nil && code == http.StatusTooManyRequests && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
					code, _, body, err = fetch(clients[w], "POST", srv.url+"/login", form, nil, 20*time.Second)
				}
				if err != nil || code != http.StatusSeeOther {
					t.Errorf("round %d worker %d: login: %d %v\n%.300s", round, w, code, err, body)
				}
			}()
		}
		logins.Wait()
		if t.Failed() {
			t.FailNow()
		}
		target := len(acked) + perRound
		var killed atomic.Bool
		reached := make(chan struct{})
		var reachedOnce sync.Once
		var wg sync.WaitGroup
		for w, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := emails[w%users]
				for attempts[w] < maxPerWorker && !killed.Load() {
					name := fmt.Sprintf("w%d key %03d", w, attempts[w])
					attempts[w]++
					form := url.Values{"name": {name}, "description": {"written under load"}, "action": {"confirm"}}
					code, _, body, err := fetch(c, "POST", srv.url+"/settings/api-keys", form, nil, 20*time.Second)
					key := shownKey.Find(body)
					if err != nil || code != http.StatusOK || key == nil || !bytes.Contains(body, []byte(name)) {
						if !killed.Load() {
							t.Errorf("round %d worker %d: create %q before the kill: %d %v\n%.300s", round, w, name, code, err, body)
						}
						return // after the kill: cut off, and an unanswered creation promises nothing
					}
					// Answered in full, before or after the kill signal: it counts.
					mu.Lock()
					acked = append(acked, ackedKey{email: email, name: name, secret: string(key)})
					if len(acked) >= target {
						reachedOnce.Do(func() { close(reached) })
					}
					mu.Unlock()
				}
			}()
		}
		// Kill once enough creations are answered, while the workers are
		// still sending: mid-stream.
		select {
		case <-reached:
		case <-time.After(30 * time.Second):
			mu.Lock()
			t.Errorf("round %d: only %d acknowledged creations after 30s", round, len(acked))
			mu.Unlock()
		}
		killed.Store(true)
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		state := srv.waitExit(t, 10*time.Second)
		if ws, ok := state.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("round %d: the server ended with %v, not by SIGKILL", round, state)
		}
		wg.Wait()
		srv.checkLogs(t)
		if t.Failed() {
			t.FailNow()
		}
	}

	srv := startBinary(t, bin, db)
	verifyAckedKeys(t, srv, db, acked)

	// Unanswered creations may have committed, but only those in flight at
	// a kill: at most one per worker per round.
	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, email := range emails {
		u, err := s.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := s.KeysForUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		total += len(keys)
	}
	s.Close()
	if extra := total - len(acked); extra < 0 || extra > rounds*len(attempts) {
		t.Errorf("%d keys stored for %d acknowledged creations", total, len(acked))
	}
	t.Logf("%d acknowledged creations over %d crashes; %d keys stored", len(acked), rounds, total)

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.waitExit(t, 25*time.Second).ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	srv.checkLogs(t)
	checkIntegrity(t, db)
}

// verifyAckedKeys checks the file and every acknowledged key: present by
// name, and working against the running server.
func verifyAckedKeys(t *testing.T, srv *binaryServer, db string, acked []ackedKey) {
	t.Helper()
	checkIntegrity(t, db)
	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := map[string]map[string]bool{}
	for _, k := range acked {
		if names[k.email] == nil {
			u, err := s.UserByEmail(context.Background(), k.email)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := s.KeysForUser(context.Background(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			names[k.email] = map[string]bool{}
			for _, sk := range keys {
				names[k.email][sk.Name] = true
			}
		}
		if !names[k.email][k.name] {
			t.Errorf("%s: the acknowledged key %q is missing after the crash", k.email, k.name)
			continue
		}
		code, _, body, err := fetch(http.DefaultClient, "GET", srv.url+"/api/v1/me", nil,
			map[string]string{"Authorization": "Bearer " + k.secret}, 10*time.Second)
		var me meAnswer
		if err != nil || code != http.StatusOK || json.Unmarshal(body, &me) != nil || me.Key.Name != k.name || me.Email != k.email {
			t.Errorf("%s: the acknowledged key %q: /api/v1/me answered %d %v %s", k.email, k.name, code, err, body)
		}
	}
}

// outcome is how a request under shutdown ended.
type outcome int

const (
	answered outcome = iota // a complete, valid answer
	refused                 // the connection was refused: the listener is closed
	dropped                 // the connection ended before any byte of an answer
	broken                  // anything else: a 5xx, a wrong answer, a cut body, a hang
)

// traced makes one request, telling apart a refused connection, a
// connection dropped before any answer, and one cut mid-answer.
func traced(c *http.Client, method, u string, form url.Values, headers map[string]string) (code int, h http.Header, body []byte, firstByte bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var got atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { got.Store(true) }})
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, false, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, got.Load(), err
	}
	defer res.Body.Close()
	body, err = io.ReadAll(res.Body)
	return res.StatusCode, res.Header, body, true, err
}

// classify names a failed request's end.
func classify(err error, firstByte bool) outcome {
	switch {
	case firstByte:
		return broken // an answer began and did not finish
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused
	case errors.Is(err, context.DeadlineExceeded):
		return broken // a hang
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "server closed idle connection"):
		return dropped
	}
	return broken
}

// TestGracefulShutdownUnderLoad keeps 20 clients busy (half calling
// /api/v1/me with keys, half logging in; half with keep-alive, half
// without), sends SIGTERM, and checks: every answer is complete and valid,
// requests that began before SIGTERM and were answered after it finished,
// later ones are refused (no hang, no answer cut off), the process exits 0
// promptly, the database is left closed (no WAL to recover) and intact,
// and every login that was answered has its session on a fresh server.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	bin := keydeskBinary(t)
	db := filepath.Join(t.TempDir(), "keydesk.db")
	const email, password = "load@example.com", "load-password"
	if _, _, err := runCmd(t, password+"\n", "user", "add", "--db", db, "--email", email, "--name", "Load"); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for i := 0; i < 5; i++ {
		out, _, err := runCmd(t, "", "keys", "create", "--db", db, "--email", email, "--name", fmt.Sprintf("load %d", i))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(out))
	}
	srv := startBinary(t, bin, db)

	const clients = 20
	var (
		terminating atomic.Bool
		termAt      time.Time
		okMe        atomic.Int64
		okLogin     atomic.Int64
		inFlight    atomic.Int64 // sent before SIGTERM, answered after it
		refusals    atomic.Int64
		drops       atomic.Int64
		cookiesMu   sync.Mutex
		cookies     []*http.Cookie // of every answered login
		warm        = make(chan struct{})
		warmOnce    sync.Once
	)
	// warmedUp closes warm once the load is well under way.
	warmedUp := func() {
		if okMe.Load() >= 300 && okLogin.Load() >= 20 {
			warmOnce.Do(func() { close(warm) })
		}
	}
	failf := func(format string, args ...any) { t.Errorf(format, args...) }
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := loadClient(i%4 < 2)
			login := i%2 == 1
			for n := 0; n < 100_000; n++ {
				before := terminating.Load()
				if before && time.Since(termAt) > 10*time.Second {
					failf("client %d: still no refusal 10s after SIGTERM", i)
					return
				}
				var (
					code      int
					h         http.Header
					body      []byte
					firstByte bool
					err       error
				)
				if login {
					// A fresh jar each time: every login starts a new session.
					c.Jar, _ = cookiejar.New(nil)
					code, h, body, firstByte, err = traced(c, "POST", srv.url+"/login",
						url.Values{"email": {email}, "password": {password}}, nil)
				} else {
					code, h, body, firstByte, err = traced(c, "GET", srv.url+"/api/v1/me", nil,
						map[string]string{"Authorization": "Bearer " + secrets[(i+n)%len(secrets)]})
				}
				if err != nil {
					switch o := classify(err, firstByte); {
					case !terminating.Load():
						failf("client %d: before SIGTERM: %v", i, err)
						return
					case o == refused:
						refusals.Add(1)
						return // the listener is closed: done
					case o == dropped:
						// No byte of an answer, and the request was never
						// served: net/http closes a connection whose request
						// it reads once Shutdown has begun (server.go, after
						// readRequest: "if c.server.shuttingDown() { return }"),
						// and the kernel resets connections still in the
						// listen backlog when the listener closes. The
						// session count below proves no dropped login ran.
						if drops.Add(1) <= 5 {
							t.Logf("client %d (keep-alive %t): dropped before any answer: %v", i, i%4 < 2, err)
						}
						continue
					default:
						failf("client %d: after SIGTERM: %v (answer begun: %t)", i, err, firstByte)
						return
					}
				}
				if login && code == http.StatusTooManyRequests {
					// This address has enough password checks under way:
					// refused at once, before any work, and tried again.
					continue
				}
				if login {
					var session *http.Cookie
					for _, ck := range (&http.Response{Header: h}).Cookies() {
						if ck.Name == "keydesk_session" && ck.Value != "" {
							session = ck
						}
					}
					if code != http.StatusSeeOther || h.Get("Location") != "/settings/profile" || session == nil {
						failf("client %d: login answered %d to %q (session cookie %t)\n%.300s", i, code, h.Get("Location"), session != nil, body)
						return
					}
					cookiesMu.Lock()
					cookies = append(cookies, session)
					cookiesMu.Unlock()
					okLogin.Add(1)
				} else {
					var me meAnswer
					if code != http.StatusOK || json.Unmarshal(body, &me) != nil || me.Email != email || !strings.HasPrefix(me.Key.Name, "load ") {
						failf("client %d: /api/v1/me answered %d: %q", i, code, body)
						return
					}
					okMe.Add(1)
				}
				if !before && terminating.Load() {
					inFlight.Add(1)
				}
				warmedUp()
			}
			failf("client %d: 100000 requests and no refusal", i)
		}()
	}

	// SIGTERM once the load is well under way.
	select {
	case <-warm:
	case <-time.After(30 * time.Second):
		termAt = time.Now()
		terminating.Store(true)
		srv.cmd.Process.Kill()
		wg.Wait()
		t.Fatalf("the load did not get going: %d /me, %d logins in 30s", okMe.Load(), okLogin.Load())
	}
	termAt = time.Now()
	terminating.Store(true)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	state := srv.waitExit(t, 25*time.Second)
	exitAfter := time.Since(termAt)
	wg.Wait()
	if code := state.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, srv.stderr.String())
	}
	if exitAfter > 10*time.Second {
		t.Errorf("the process took %s to exit after SIGTERM", exitAfter)
	}
	if inFlight.Load() == 0 {
		t.Error("no request was in flight at SIGTERM: the test proved nothing about draining")
	}
	// After the exit, a request is refused at once.
	if _, _, _, _, err := traced(http.DefaultClient, "GET", srv.url+"/healthz", nil, nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("a request after the exit: %v, want connection refused", err)
	}
	srv.checkLogs(t)
	t.Logf("%d /me and %d logins answered, %d in flight at SIGTERM and answered; %d refused, %d dropped before any answer; exit after %s",
		okMe.Load(), okLogin.Load(), inFlight.Load(), refusals.Load(), drops.Load(), exitAfter.Round(time.Millisecond))

	// A clean close leaves no WAL to recover.
	if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the database was not closed cleanly: a %d-byte WAL is left", fi.Size())
	}
	checkIntegrity(t, db)

	// A request dropped before any answer was never served: there is one
	// session per answered login, no more.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := st.ActiveSessions(context.Background(), u.ID, st.Now().Add(-time.Hour))
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != len(cookies) {
		t.Errorf("%d sessions stored for %d answered logins", len(sessions), len(cookies))
	}

	// Every answered login's session was kept.
	next := startBinary(t, bin, db)
	c := loadClient(true)
	lost := 0
	for _, ck := range cookies {
		code, _, _, err := fetch(c, "GET", next.url+"/settings/profile", nil, map[string]string{"Cookie": ck.Name + "=" + ck.Value}, 10*time.Second)
		if err != nil || code != http.StatusOK {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d answered logins lost their session over the shutdown", lost, len(cookies))
	}
}

// TestCancelledRequestsLeaveTheServerWhole cancels 1,000 requests mid-flight
// (each after it was written, some before the answer, some while its body
// streams), on pages, the API and writes, then checks that ordinary requests
// all succeed, nothing is stuck, the session still works on a new process,
// and the log has no panic or locked database. A cancelled request may be
// logged as failed, but as the outage it is (503), never as an unexpected
// error (500): TestWritesCutShortAnswer503 in handlers shows that case
// reliably; here it shows up now and then.
func TestCancelledRequestsLeaveTheServerWhole(t *testing.T) {
	bin := keydeskBinary(t)
	db := filepath.Join(t.TempDir(), "keydesk.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, store.NewUser{Name: "Uma", Email: "uma@example.com", PasswordHash: store.HashPassword("uma-password"),
		Role: store.RoleUser, KYCStatus: store.KYCVerified}, store.AuditEvent{Actor: "test", Action: store.ActionUserCreated})
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	var toggled []string // public ids the storm flips
	for i := 0; i < 45; i++ {
		k, secret, err := s.CreateKey(ctx, u.ID, store.NewKey{Name: fmt.Sprintf("key %02d with a longer name for a fuller page", i), Description: "a description long enough to make the page a few dozen kilobytes"}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			secrets = append(secrets, secret)
		} else if i < 20 {
			toggled = append(toggled, k.PublicID)
		}
	}
	s.Close()

	srv := startBinary(t, bin, db)
	browser := loadClient(true)
	binaryLogin(t, browser, srv.url, "uma@example.com", "uma-password")
	session := map[string]string{}
	for _, ck := range browser.Jar.Cookies(mustURL(t, srv.url)) {
		session["Cookie"] = ck.Name + "=" + ck.Value
	}
	htmx := func(h map[string]string) map[string]string {
		out := map[string]string{"HX-Request": "true"}
		for k, v := range h {
			out[k] = v
		}
		return out
	}

	type kind struct {
		name    string
		method  string
		path    func(rng *mathrand.Rand) string
		form    func(rng *mathrand.Rand) url.Values
		headers func(rng *mathrand.Rand) map[string]string
		want    int
	}
	fixed := func(s string) func(*mathrand.Rand) string { return func(*mathrand.Rand) string { return s } }
	kinds := []kind{
		{"the key page", "GET", fixed("/settings/api-keys"), nil,
			func(*mathrand.Rand) map[string]string { return session }, http.StatusOK},
		{"/api/v1/me", "GET", fixed("/api/v1/me"), nil,
			func(rng *mathrand.Rand) map[string]string {
				return map[string]string{"Authorization": "Bearer " + secrets[rng.IntN(len(secrets))]}
			}, http.StatusOK},
		{"/api/v1/keys", "GET", fixed("/api/v1/keys"), nil,
			func(rng *mathrand.Rand) map[string]string {
				return map[string]string{"X-API-Key": secrets[rng.IntN(len(secrets))]}
			},
			http.StatusOK},
		{"a status switch", "POST",
			func(rng *mathrand.Rand) string {
				return "/settings/api-keys/" + toggled[rng.IntN(len(toggled))] + "/status"
			},
			func(rng *mathrand.Rand) url.Values { return url.Values{"enabled": {fmt.Sprint(rng.IntN(2) == 0)}} },
			func(*mathrand.Rand) map[string]string { return htmx(session) }, http.StatusOK},
		{"a rename", "POST", fixed("/settings/profile"),
			func(rng *mathrand.Rand) url.Values {
				return url.Values{"name": {fmt.Sprintf("Uma %d", rng.IntN(1000))}}
			},
			func(*mathrand.Rand) map[string]string { return htmx(session) }, http.StatusOK},
	}
	const firstWrite = 3 // kinds from here on write
	c := loadClient(true)
	c.Jar = nil // the session travels in a header, as set above
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 32

	// How long each kind takes, so cancellations land while it runs.
	latency := make([]time.Duration, len(kinds))
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	for i, k := range kinds {
		var took []time.Duration
		for n := 0; n < 5; n++ {
			start := time.Now()
			code, _, body, err := fetch(c, k.method, srv.url+k.path(rng), formOf(k.form, rng), k.headers(rng), 10*time.Second)
			if err != nil || code != k.want {
				t.Fatalf("%s: %d %v\n%.300s", k.name, code, err, body)
			}
			took = append(took, time.Since(start))
		}
		sort.Slice(took, func(a, b int) bool { return took[a] < took[b] })
		latency[i] = took[len(took)/2]
	}

	const wantCancelled = 1000
	var cancelled, completed, attempts atomic.Int64
	stormEnd := time.Now().Add(40 * time.Second)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mathrand.New(mathrand.NewPCG(uint64(g), 7))
			for cancelled.Load() < wantCancelled && attempts.Add(1) <= 6*wantCancelled && time.Now().Before(stormEnd) {
				// Writes get most of the storm: their cancellations are
				// the ones that can leave something behind.
				ki := rng.IntN(len(kinds))
				if rng.IntN(2) == 0 {
					ki = firstWrite + rng.IntN(len(kinds)-firstWrite)
				}
				k := kinds[ki]
				form := formOf(k.form, rng)
				wasCancelled, code, err := cancelMidFlight(c, k.method, srv.url+k.path(rng), form, k.headers(rng), latency[ki], rng)
				switch {
				case wasCancelled:
					cancelled.Add(1)
				case err != nil:
					t.Errorf("%s: failed without being cancelled: %v", k.name, err)
					return
				case code != k.want:
					t.Errorf("%s: a completed answer was %d, want %d", k.name, code, k.want)
					return
				default:
					completed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d requests: %d cancelled mid-flight, %d completed first", attempts.Load()-16, cancelled.Load(), completed.Load())
	if cancelled.Load() < wantCancelled {
		t.Fatalf("only %d requests were cancelled mid-flight", cancelled.Load())
	}

	// Ordinary requests now all succeed, at once and under concurrency:
	// nothing is stuck (a leaked writer connection would hang every write).
	var okWg sync.WaitGroup
	for g := 0; g < 8; g++ {
		okWg.Add(1)
		go func() {
			defer okWg.Done()
			rng := mathrand.New(mathrand.NewPCG(uint64(g), 9))
			for n := 0; n < 25; n++ {
				k := kinds[(g+n)%len(kinds)]
				code, _, body, err := fetch(c, k.method, srv.url+k.path(rng), formOf(k.form, rng), k.headers(rng), 10*time.Second)
				if err != nil || code != k.want {
					t.Errorf("after the storm, %s: %d %v\n%.300s", k.name, code, err, body)
					return
				}
			}
		}()
	}
	okWg.Wait()
	// The whole create flow, the new key, a switch, a new login, readiness.
	code, _, body, err := fetch(browser, "POST", srv.url+"/settings/api-keys",
		url.Values{"name": {"after the storm"}, "description": {"made afterwards"}, "action": {"confirm"}}, nil, 10*time.Second)
	key := shownKey.Find(body)
	if err != nil || code != http.StatusOK || key == nil {
		t.Fatalf("after the storm, creating a key: %d %v\n%.300s", code, err, body)
	}
	code, _, body, err = fetch(c, "GET", srv.url+"/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + string(key)}, 10*time.Second)
	var me meAnswer
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &me) != nil || me.Key.Name != "after the storm" {
		t.Errorf("after the storm, the new key: %d %v %s", code, err, body)
	}
	code, _, _, err = fetch(browser, "POST", srv.url+"/settings/api-keys/"+me.Key.ID+"/status", url.Values{"enabled": {"false"}}, nil, 10*time.Second)
	if err != nil || code != http.StatusSeeOther {
		t.Errorf("after the storm, disabling the new key: %d %v", code, err)
	}
	code, _, _, err = fetch(c, "GET", srv.url+"/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + string(key)}, 10*time.Second)
	if err != nil || code != http.StatusUnauthorized {
		t.Errorf("after the storm, the disabled key: %d %v, want 401", code, err)
	}
	binaryLogin(t, loadClient(true), srv.url, "uma@example.com", "uma-password")
	if code, _, _, err := fetch(c, "GET", srv.url+"/readyz", nil, nil, 10*time.Second); err != nil || code != http.StatusOK {
		t.Errorf("after the storm, /readyz: %d %v", code, err)
	}

	srv.checkLogs(t)
	logFailures(t, srv.stderr.String())
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.waitExit(t, 25*time.Second).ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	checkIntegrity(t, db)

	// The storm signed no one out: the same cookie works on a new process.
	next := startBinary(t, bin, db)
	if code, _, body, err := fetch(c, "GET", next.url+"/settings/api-keys", nil, session, 10*time.Second); err != nil ||
		code != http.StatusOK || !strings.Contains(string(body), "after the storm") {
		t.Errorf("the session after a restart: %d %v", code, err)
	}
}

// cancelMidFlight sends one request and cancels it mid-flight: either a
// random while (up to 1.5 times the usual latency) after the request is
// fully written, or after part of the answer's body has arrived. It reports
// whether the cancellation cut the request short; if not, the answer's
// status, or the error that ended it for another reason.
func cancelMidFlight(c *http.Client, method, u string, form url.Values, headers map[string]string,
	latency time.Duration, rng *mathrand.Rand) (cancelled bool, code int, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	whileBody := rng.IntN(3) == 0
	var (
		timerMu sync.Mutex
		timer   *time.Timer
	)
	if !whileBody {
		delay := time.Duration(rng.Int64N(int64(latency)*3/2 + 1))
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
			timerMu.Lock()
			defer timerMu.Unlock()
			timer = time.AfterFunc(delay, cancel)
		}})
	}
	defer func() {
		timerMu.Lock()
		defer timerMu.Unlock()
		if timer != nil {
			timer.Stop()
		}
	}()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return false, 0, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// A deadline on the whole exchange turns a hang into a failure.
	stuck := time.AfterFunc(15*time.Second, cancel)
	defer stuck.Stop()
	start := time.Now()
	res, err := c.Do(req)
	if err == nil {
		if whileBody {
			io.CopyN(io.Discard, res.Body, rng.Int64N(2048)+1)
			cancel()
		}
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
		code = res.StatusCode
	}
	if err != nil && ctx.Err() != nil {
		if time.Since(start) > 14*time.Second {
			return false, code, fmt.Errorf("no answer in 15s: %w", err)
		}
		return true, code, nil
	}
	return false, code, err
}

// logFailures reports the server's "request failed" lines: cancelled
// requests may leave some (their clients are gone), but only as 503s.
func logFailures(t *testing.T, logs string) {
	t.Helper()
	statuses := map[int]int{}
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg    string `json:"msg"`
			Status int    `json:"status"`
			Err    string `json:"err"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "request failed" {
			continue
		}
		statuses[l.Status]++
		if l.Status != http.StatusServiceUnavailable && statuses[l.Status] <= 3 {
			t.Errorf("the server logged a %d for a cancelled request: %s", l.Status, l.Err)
		}
	}
	t.Logf("\"request failed\" lines in the server's log, by status: %v", statuses)
}

func formOf(f func(*mathrand.Rand) url.Values, rng *mathrand.Rand) url.Values {
	if f == nil {
		return nil
	}
	return f(rng)
}

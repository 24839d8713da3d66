package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/store/engine"
	"keydesk/store/pgtest"
	"keydesk/store/sqlstore"
)

// TestMain runs the package's tests on SQLite, or on a throw-away
// PostgreSQL server when KEYDESK_TEST_STORE=postgres (see store/pgtest).
func TestMain(m *testing.M) { pgtest.Main(m) }

// testServer is the whole application on a fresh database (a SQLite file,
// or a PostgreSQL database with KEYDESK_TEST_STORE=postgres), served over
// real HTTP.
type testServer struct {
	*httptest.Server
	db    *sqlstore.DB
	dsn   string // the database, as --db takes it
	echo  *echo.Echo
	clock *testClock
	logs  *syncBuffer
	// uses is the server's key-use recorder, which no loop runs here: a
	// test writes what it recorded with uses.Flush.
	uses *UseRecorder

	rawDB     *sql.DB // raw's pool, once opened
	heldWaits int64   // the writer pool's WaitCount when holdWrites took its lock
}

// onPostgres reports whether the server's store is PostgreSQL.
func (ts *testServer) onPostgres() bool { return engine.IsPostgres(ts.dsn) }

// testClock is a clock tests can move.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestServer(t testing.TB, configure ...func(*Config)) *testServer {
	t.Helper()
	clock := &testClock{now: time.Now()}
	dsn := pgtest.StoreDSN(t)
	db, err := engine.Open(context.Background(), dsn, sqlstore.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &syncBuffer{}
	key := make([]byte, 32)
	rand.Read(key)
	cfg := Config{
		Store:       db,
		Logger:      slog.New(slog.NewJSONHandler(logs, nil)),
		SessionKeys: [][]byte{key},
		Version:     "test",
	}
	for _, f := range configure {
		f(&cfg)
	}
	if cfg.Uses == nil {
		cfg.Uses = NewUseRecorder(cfg.Store, cfg.Logger)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, db: db, dsn: dsn, echo: h.(*echo.Echo), clock: clock, logs: logs, uses: cfg.Uses}
}

// createUser adds an account; the password is the name's first word with
// "-password" appended unless given.
func (ts *testServer) createUser(t *testing.T, name, email, password string, role store.Role) *store.User {
	t.Helper()
	u, err := ts.db.CreateUser(context.Background(), store.NewUser{
		Name: name, Email: email, PasswordHash: store.HashPassword(password), Role: role, KYCStatus: store.KYCVerified,
	}, store.AuditEvent{Actor: "test", Action: store.ActionUserCreated})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// raw opens the test server's database a second time, beside the store,
// for what a test must see or do underneath it; later calls return the same
// pool. Its queries take the engine's placeholders: write them with "?"
// and pass them through ts.db.Rebind.
func (ts *testServer) raw(t *testing.T) *sql.DB {
	t.Helper()
	if ts.rawDB != nil {
		return ts.rawDB
	}
	driver, source := "sqlite", "file:"+ts.dsn+"?_pragma=busy_timeout(5000)"
	if ts.onPostgres() {
		driver, source = "pgx", ts.dsn
	}
	raw, err := sql.Open(driver, source)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	ts.rawDB = raw
	return raw
}

// countWrites counts, from now on, the rows that UPDATEs of column of
// table change, with a trigger in the real database: the database itself
// keeps the count, so nothing in the server can hide a write from it.
func (ts *testServer) countWrites(t *testing.T, table, column string) func() int {
	t.Helper()
	raw := ts.raw(t)
	counter := fmt.Sprintf("writes_%s_%s", table, column)
	ddl := []string{
		`CREATE TABLE ` + counter + ` (n INTEGER)`,
		`CREATE TRIGGER count_` + counter + ` AFTER UPDATE OF ` + column + ` ON ` + table +
			` BEGIN INSERT INTO ` + counter + ` VALUES (1); END`,
	}
	if ts.onPostgres() {
		ddl = []string{
			`CREATE TABLE ` + counter + ` (n INTEGER)`,
			`CREATE FUNCTION count_` + counter + `() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN INSERT INTO ` + counter + ` VALUES (1); RETURN NULL; END $$`,
			`CREATE TRIGGER count_` + counter + ` AFTER UPDATE OF ` + column + ` ON ` + table +
				` FOR EACH ROW EXECUTE FUNCTION count_` + counter + `()`,
		}
	}
	for _, q := range ddl {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() int {
		t.Helper()
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM ` + counter).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// holdWrites takes, on a connection of its own, a lock under which the
// store's reads go on and its writes to table wait: SQLite's write lock (on
// every table), or on PostgreSQL a SHARE lock on table. It returns the
// function that releases it, which the test's end calls too.
func (ts *testServer) holdWrites(t *testing.T, table string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := ts.raw(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	take := []string{"BEGIN IMMEDIATE"}
	if ts.onPostgres() {
		take = []string{"BEGIN", "LOCK TABLE " + table + " IN SHARE MODE"}
	}
	for _, q := range take {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			t.Fatal(err)
		}
	}
	write, _ := ts.db.Pools()
	ts.heldWaits = write.Stats().WaitCount
	var once sync.Once
	release = func() {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Error(err)
			}
			conn.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// writesWaiting is how many of the store's write transactions wait, while
// holdWrites holds its lock: on PostgreSQL the sessions waiting for a lock
// on the test's database; on SQLite the one on the store's single writer
// connection, waiting out the lock, and those queued for that connection.
func (ts *testServer) writesWaiting(t *testing.T) int {
	t.Helper()
	if ts.onPostgres() {
		var n int
		err := ts.raw(t).QueryRow(`SELECT count(*) FROM pg_locks
			WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	write, _ := ts.db.Pools()
	st := write.Stats()
	return int(st.WaitCount-ts.heldWaits) + st.InUse
}

// client is a browser: it keeps cookies and does not follow redirects, so
// tests see each answer.
type client struct {
	t    *testing.T
	ts   *testServer
	http *http.Client
}

func (ts *testServer) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, ts: ts, http: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is an answer with its body read.
type response struct {
	*http.Response
	body string
}

func (c *client) do(method, path string, form url.Values, headers map[string]string) response {
	c.t.Helper()
	res, err := c.roundTrip(method, path, form, headers)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// sent is an answer, or what stopped it, for a request sent from a
// goroutine of the test's, which may not stop the test.
type sent struct {
	response
	err error
}

// send is do for a goroutine.
func (c *client) send(method, path string, form url.Values) sent {
	res, err := c.roundTrip(method, path, form, nil)
	return sent{response: res, err: err}
}

func (c *client) roundTrip(method, path string, form url.Values, headers map[string]string) (response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.ts.URL+path, body)
	if err != nil {
		return response{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return c.exchange(req)
}

// exchange sends req and reads the whole answer. Every answer under /api/
// is held to openapi.json, so each API test also tests the document.
func (c *client) exchange(req *http.Request) (response, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	if strings.HasPrefix(req.URL.Path, "/api/") && req.Method != http.MethodHead {
		body := b
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return response{}, err
			}
			if body, err = io.ReadAll(zr); err != nil {
				return response{}, err
			}
		}
		if err := apiContract(c.t).check(req.Method, req.URL.Path, res.StatusCode, res.Header, body); err != nil {
			c.t.Error(err)
		}
	}
	return response{Response: res, body: string(b)}, nil
}

func (c *client) get(path string) response { return c.do(http.MethodGet, path, nil, nil) }

func (c *client) post(path string, form url.Values) response {
	return c.do(http.MethodPost, path, form, nil)
}

// login signs the client in and fails the test unless it works.
func (c *client) login(email, password string) {
	c.t.Helper()
	res := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d, want 303\n%s", email, res.StatusCode, res.body)
	}
}

// sessionCookie is the client's current session cookie value.
func (c *client) sessionCookie() *http.Cookie {
	u, _ := url.Parse(c.ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "keydesk_session" {
			return ck
		}
	}
	return nil
}

// withCookie is a fresh client holding only a copy of cookie: an attacker
// who copied it.
func (ts *testServer) withCookie(t *testing.T, cookie *http.Cookie) *client {
	c := ts.client(t)
	u, _ := url.Parse(ts.URL)
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: cookie.Value, Path: "/"}})
	return c
}

func assertStatus(t *testing.T, res response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, res.body)
	}
}

func assertContains(t *testing.T, res response, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(res.body, w) {
			t.Errorf("%s %s: body lacks %q", res.Request.Method, res.Request.URL.Path, w)
		}
	}
}

func assertLacks(t *testing.T, res response, forbidden ...string) {
	t.Helper()
	for _, f := range forbidden {
		if strings.Contains(res.body, f) {
			t.Errorf("%s %s: body contains %q", res.Request.Method, res.Request.URL.Path, f)
		}
	}
}

package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"keydesk/store"
)

func TestAPI(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma User", "uma@example.com", "uma-password", store.RoleUser)
	k, secret, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	disabled, disabledSecret, _ := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "Off", Description: "off"}, store.AuditEvent{})
	ts.db.SetKeyEnabled(context.Background(), u.ID, disabled.PublicID, false, store.AuditEvent{})
	deleted, deletedSecret, _ := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "Gone", Description: "gone"}, store.AuditEvent{})
	ts.db.DeleteKey(context.Background(), u.ID, deleted.PublicID, store.AuditEvent{})
	unknown := store.GenerateKey()
	last := "a"
	if strings.HasSuffix(secret, "a") {
		last = "b"
	}
	badChecksum := secret[:len(secret)-1] + last

	browser := ts.client(t)
	browser.login("uma@example.com", "uma-password")

	cases := []struct {
		name     string
		c        *client
		path     string
		headers  map[string]string
		status   int
		error    string
		wwwAuth  string
		contains []string
	}{
		{name: "Bearer key", path: "/api/v1/me", headers: map[string]string{"Authorization": "Bearer " + secret}, status: 200,
			contains: []string{`"user_id":"` + u.PublicID + `"`, `"name":"Uma User"`, `"email":"uma@example.com"`,
				`"kalp_id":"` + u.KALPID + `"`, `"kyc_status":"verified"`, `"key":{"id":"` + k.PublicID + `","name":"CI","scopes":["profile:read","keys:read"],"expires_at":null}`}},
		{name: "lower-case bearer scheme", path: "/api/v1/me", headers: map[string]string{"Authorization": "bearer " + secret}, status: 200},
		{name: "X-API-Key", path: "/api/v1/me", headers: map[string]string{"X-API-Key": secret}, status: 200},
		{name: "the caller's keys, metadata only", path: "/api/v1/keys", headers: map[string]string{"X-API-Key": secret}, status: 200,
			contains: []string{`"keys":[`, `"id":"` + k.PublicID + `"`, `"status":"enabled"`, `"status":"disabled"`, `"masked_key":"kdk_…`}},
		{name: "no key", path: "/api/v1/me", status: 401, error: "unauthorized", wwwAuth: "Bearer"},
		{name: "another scheme", path: "/api/v1/me", headers: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, status: 401, error: "unauthorized", wwwAuth: "Bearer"},
		{name: "a session cookie is not accepted", c: browser, path: "/api/v1/me", status: 401, error: "unauthorized", wwwAuth: "Bearer"},
		{name: "malformed key", path: "/api/v1/me", headers: map[string]string{"Authorization": "Bearer not-a-key"}, status: 401, error: "invalid_token", wwwAuth: `Bearer error="invalid_token"`},
		{name: "bad checksum", path: "/api/v1/me", headers: map[string]string{"Authorization": "Bearer " + badChecksum}, status: 401, error: "invalid_token", wwwAuth: `Bearer error="invalid_token"`},
		{name: "unknown key", path: "/api/v1/me", headers: map[string]string{"Authorization": "Bearer " + unknown}, status: 401, error: "invalid_token", wwwAuth: `Bearer error="invalid_token"`},
		{name: "disabled key", path: "/api/v1/me", headers: map[string]string{"X-API-Key": disabledSecret}, status: 401, error: "invalid_token", wwwAuth: `Bearer error="invalid_token"`},
		{name: "deleted key", path: "/api/v1/keys", headers: map[string]string{"X-API-Key": deletedSecret}, status: 401, error: "invalid_token", wwwAuth: `Bearer error="invalid_token"`},
		{name: "a key in the query is refused", path: "/api/v1/me?api_key=" + secret, status: 400, error: "invalid_request"},
		{name: "even beside a good header", path: "/api/v1/me?token=" + secret, headers: map[string]string{"Authorization": "Bearer " + secret}, status: 400, error: "invalid_request"},
		{name: "a key under any other parameter name is refused", path: "/api/v1/me?q=" + secret, status: 400, error: "invalid_request"},
		{name: "a key as a parameter name is refused", path: "/api/v1/me?" + secret, status: 400, error: "invalid_request"},
		{name: "a percent-encoded key is refused", path: "/api/v1/me?q=%6B" + secret[1:], status: 400, error: "invalid_request"},
		{name: "a key in a pair the query parser drops is refused", path: "/api/v1/me?x;q=" + secret,
			headers: map[string]string{"Authorization": "Bearer " + secret}, status: 400, error: "invalid_request"},
		{name: "a query without a key is no refusal", path: "/api/v1/me?pretty=1&q=kdk",
			headers: map[string]string{"Authorization": "Bearer " + secret}, status: 200},
		{name: "unknown API route is JSON 404", path: "/api/v1/nope", headers: map[string]string{"Authorization": "Bearer " + secret}, status: 404, error: "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			if c == nil {
				c = ts.client(t)
			}
			res := c.do("GET", tc.path, nil, tc.headers)
			assertStatus(t, res, tc.status)
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.error != "" {
				var body struct{ Error string }
				if err := json.Unmarshal([]byte(res.body), &body); err != nil || body.Error != tc.error {
					t.Errorf("body %s, want error %q", res.body, tc.error)
				}
			}
			if tc.wwwAuth != "" && res.Header.Get("WWW-Authenticate") != tc.wwwAuth {
				t.Errorf("WWW-Authenticate %q, want %q", res.Header.Get("WWW-Authenticate"), tc.wwwAuth)
			}
			assertContains(t, res, tc.contains...)
			assertLacks(t, res, secret, "hash")
		})
	}

	t.Run("a disabled user's keys fail at once", func(t *testing.T) {
		if err := ts.db.SetUserDisabled(context.Background(), u.ID, true, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
		res := ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"X-API-Key": secret})
		assertStatus(t, res, http.StatusUnauthorized)
		ts.db.SetUserDisabled(context.Background(), u.ID, false, store.AuditEvent{})
	})

	t.Run("keys never reach the log", func(t *testing.T) {
		ts.client(t).get("/api/v1/" + secret) // a key pasted into the path
		for _, s := range []string{secret, disabledSecret, deletedSecret, unknown} {
			if strings.Contains(ts.logs.String(), s) {
				t.Error("a key is in the log")
			}
		}
	})
}

func TestAPIStoreFailureIs503(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	_, secret, _ := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	ts.db.Close()
	res := ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + secret})
	assertStatus(t, res, http.StatusServiceUnavailable)
	assertContains(t, res, `"error":"unavailable"`)
	// A malformed key is refused without touching the (dead) store.
	res = ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer kdk_" + strings.Repeat("A", 36)})
	assertStatus(t, res, http.StatusUnauthorized)
}

// On SQLite, commits are counted per database file, on every connection
// this test binary opens from the first watchCommits on. A trigger sees only
// rows that changed; SQLite's commit hook also sees the write transaction
// whose UPDATE matched nothing, which costs the writer's lock all the same.
// The driver's hook list is global and cannot be undone, hence the
// package-level state.
var (
	commitHookOnce sync.Once
	commitCounts   sync.Map // database file path → *atomic.Int64
)

// watchCommits makes SQLite count the commits of every connection opened
// from now on; a test calls it before newTestServer opens the store. On
// PostgreSQL it changes nothing (countCommits counts there).
func watchCommits(t *testing.T) {
	t.Helper()
	commitHookOnce.Do(func() {
		sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
			hooks, ok := conn.(sqlite.HookRegisterer)
			if !ok {
				return errors.New("watch commits: the driver's connection takes no hooks")
			}
			path, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
			n, _ := commitCounts.LoadOrStore(path, new(atomic.Int64))
			hooks.RegisterCommitHook(func() int32 { n.(*atomic.Int64).Add(1); return 0 })
			return nil
		})
	})
}

// countCommits counts, from now on, the writes the test server's database
// commits, on any connection, whether or not they changed a row. On SQLite
// it counts write transactions, by the commit hook of watchCommits. On
// PostgreSQL, which has no commit hook, it counts committed write statements
// with a statement-level trigger on every table, which fires even for an
// UPDATE that matched nothing (a trigger in a rolled-back transaction counts
// nothing): every write transaction of the store runs at least one.
func (ts *testServer) countCommits(t *testing.T) func() int64 {
	t.Helper()
	if !ts.onPostgres() {
		load := func() int64 {
			n, ok := commitCounts.Load(ts.dsn)
			if !ok {
				return 0
			}
			return n.(*atomic.Int64).Load()
		}
		base := load()
		return func() int64 { return load() - base }
	}
	raw := ts.raw(t)
	ddl := []string{
		`CREATE TABLE write_statements (n INTEGER)`,
		`CREATE FUNCTION count_write_statement() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO write_statements VALUES (1); RETURN NULL; END $$`,
	}
	rows, err := raw.Query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'write_statements'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			t.Fatal(err)
		}
		ddl = append(ddl, `CREATE TRIGGER count_write_statements AFTER INSERT OR UPDATE OR DELETE ON `+table+
			` FOR EACH STATEMENT EXECUTE FUNCTION count_write_statement()`)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, q := range ddl {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	return func() int64 {
		t.Helper()
		var n int64
		if err := raw.QueryRow(`SELECT count(*) FROM write_statements`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// Last Used costs no call a write: the calls that set it wait in the
// recorder's batch, one per key and store.LastUsedEvery (the in-process
// throttle), and the batch's write changes the stored time once per
// window (the UPDATE's own condition).
func TestLastUsedCostsOneWritePerWindow(t *testing.T) {
	watchCommits(t)
	ts := newTestServer(t)
	commits := ts.countCommits(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	k, secret, _ := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	if commits() == 0 {
		t.Fatal("the commit count saw none of the store's writes")
	}
	writes := ts.countWrites(t, "api_keys", "last_used_at")
	pending := func() bool {
		ts.uses.mu.Lock()
		defer ts.uses.mu.Unlock()
		_, ok := ts.uses.batch.LastUsed[k.ID]
		return ok
	}
	flush := func() {
		t.Helper()
		if err := ts.uses.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	httpClient := &http.Client{Transport: transport}
	call := func() int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := httpClient.Do(req)
		if err != nil {
			return -1
		}
		res.Body.Close()
		return res.StatusCode
	}
	burst := func(n int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		failures := make(chan int, n)
		for range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if s := call(); s != 200 {
					failures <- s
				}
			}()
		}
		wg.Wait()
		close(failures)
		for s := range failures {
			t.Fatalf("a call answered %d", s)
		}
	}

	before := commits()
	burst(1000)
	if n := commits() - before; n != 0 {
		t.Errorf("1,000 calls cost %d write transactions while they ran, want 0", n)
	}
	if !pending() {
		t.Fatal("no call of the burst was held to become Last Used")
	}
	flush()
	if n := writes(); n != 1 {
		t.Fatalf("1,000 calls cost %d writes of Last Used, want 1", n)
	}
	got, _ := ts.db.KeyForUser(context.Background(), u.ID, k.PublicID)
	if got.LastUsedAt.IsZero() || got.LastUsedIP != "127.0.0.1" {
		t.Errorf("Last Used not recorded: %+v", got)
	}
	ts.clock.Advance(store.LastUsedEvery - time.Second)
	burst(100)
	if pending() {
		t.Error("within the window, a call was held to write Last Used again")
	}
	flush()
	if n := writes(); n != 1 {
		t.Errorf("within the window: %d writes, want still 1", n)
	}
	ts.clock.Advance(2 * time.Second)
	burst(100)
	if !pending() {
		t.Error("after the window, no call was held to become Last Used")
	}
	flush()
	if n := writes(); n != 2 {
		t.Errorf("after the window: %d writes, want 2", n)
	}
	page := ts.client(t)
	page.login("uma@example.com", "uma-password")
	assertContains(t, page.get("/settings/api-keys"), "from 127.0.0.1")
}

// TestLastUsedWaitsForNoWrite: no call waits on the writer for its Last
// Used. Another connection holds a lock that stops every write of the key
// meanwhile (holdWrites): every call still answers, and the one held to
// become Last Used is written with the recorder's next batch, once the
// lock is gone.
func TestLastUsedWaitsForNoWrite(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	_, secret, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	writes := ts.countWrites(t, "api_keys", "last_used_at")

	release := ts.holdWrites(t, "api_keys")
	const calls = 20
	statuses := make(chan int, calls)
	for range calls {
		go func() {
			req, _ := http.NewRequest("GET", ts.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- -1
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	// A call that queued for the writer could answer only when its wait
	// failed (the store's busy timeout, the request's deadline); the
	// deadline here only turns a hang into a failure.
	deadline := time.After(time.Minute)
	for range calls {
		select {
		case s := <-statuses:
			if s != http.StatusOK {
				t.Errorf("a call answered %d", s)
			}
		case <-deadline:
			t.Fatal("with the write lock held elsewhere, a call waited")
		}
	}
	// A call that waited and gave up would have logged its failure.
	if n := strings.Count(ts.logs.String(), `"level":"WARN"`) + strings.Count(ts.logs.String(), `"level":"ERROR"`); n > 0 {
		t.Errorf("%d warnings and errors logged while the lock was held, want none:\n%s", n, ts.logs.String())
	}
	if n := writes(); n != 0 {
		t.Fatalf("%d writes of Last Used landed under another connection's lock", n)
	}
	release()
	if err := ts.uses.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := writes(); n != 1 {
		t.Errorf("the recorder's write after the lock: %d writes of Last Used, want 1", n)
	}
}

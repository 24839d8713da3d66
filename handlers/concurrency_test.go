package handlers

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/engine"
)

// The promises of issue 6 that the router alone can show: concurrent key
// and name changes from many sessions lose nothing and never fail, and a
// store failure during authentication is an outage (5xx), never a sign-out.

// failures collects what goroutines find wrong; t.Errorf is safe from any
// goroutine, but a flood of one fault repeated helps nobody.
type failures struct {
	t  *testing.T
	mu sync.Mutex
	n  int
}

func (f *failures) add(format string, args ...any) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n <= 25 {
		f.t.Errorf(format, args...)
	} else if f.n == 26 {
		f.t.Error("… more failures left out")
	}
}

// register is one value that several goroutines write at once (a user's
// name, a shared key's status). A write is acknowledged when its response
// says so. Acknowledged writes commit somewhere between their start and
// their acknowledgement, so the final value must be one that no later write
// certainly replaced: a write that started after it was acknowledged.
type register struct {
	mu      sync.Mutex
	initial string
	writes  []registerWrite
}

type registerWrite struct {
	value      string
	start, ack time.Time
}

func (r *register) record(value string, start, ack time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, registerWrite{value, start, ack})
}

// possible lists the values the register may hold once every write is done.
func (r *register) possible() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.writes) == 0 {
		return []string{r.initial}
	}
	var out []string
	for _, w := range r.writes {
		replaced := false
		for _, later := range r.writes {
			if later.start.After(w.ack) {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, w.value)
		}
	}
	return out
}

// trackedKey is a key some worker created and alone changes: its last
// acknowledged state is exactly what the store must hold at the end.
type trackedKey struct {
	id, secret  string
	name, desc  string
	enabled     bool
	deleted     bool
	ownerUserID int64
}

// concurrentUser is one account shared by several workers, each signed in
// with a session of its own.
type concurrentUser struct {
	u         *store.User
	email     string
	password  string
	name      register // the account's Name
	sharedKey string   // public id of the key every worker of this user toggles
	shared    register // its status: "true" or "false"
}

// worker is one goroutine: one browser with its own session.
type worker struct {
	id   int
	ts   *testServer
	user *concurrentUser
	http *http.Client
	rng  *mathrand.Rand
	fail *failures
	seq  int

	owned   []*trackedKey  // live keys this worker created
	created []*trackedKey  // every key it created, deleted or not
	acks    map[string]int // acknowledged actions by kind, for the test's log
}

// answer is one response, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// send makes one request. Transport errors are failures: the server is in
// the same process, nothing should cut a connection.
func (w *worker) send(method, path string, form url.Values, headers map[string]string) (answer, bool) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, w.ts.URL+path, body)
	if err != nil {
		w.fail.add("worker %d: %s %s: %v", w.id, method, path, err)
		return answer{}, false
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := w.http.Do(req)
	if err != nil {
		w.fail.add("worker %d: %s %s: %v", w.id, method, path, err)
		return answer{}, false
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.fail.add("worker %d: %s %s: reading the body: %v", w.id, method, path, err)
		return answer{}, false
	}
	a := answer{status: res.StatusCode, header: res.Header, body: string(b)}
	if a.status >= 500 {
		w.fail.add("worker %d: %s %s: status %d\n%.400s", w.id, method, path, a.status, a.body)
		return a, false
	}
	if lockedDB(a.body) {
		w.fail.add("worker %d: %s %s: the response mentions a locked database", w.id, method, path)
	}
	return a, true
}

// post is a form post, plain or as htmx sends it.
func (w *worker) post(path string, form url.Values, htmx bool) (answer, bool) {
	var h map[string]string
	if htmx {
		h = map[string]string{"HX-Request": "true"}
	}
	return w.send(http.MethodPost, path, form, h)
}

// acknowledged reports whether a key or profile action succeeded: 303 to
// the page for a plain post, 200 in place for htmx.
func (w *worker) acknowledged(what string, a answer, htmx bool) bool {
	want := http.StatusSeeOther
	if htmx {
		want = http.StatusOK
	}
	if a.status != want {
		w.fail.add("worker %d: %s: status %d, want %d\n%.400s", w.id, what, a.status, want, a.body)
		return false
	}
	return true
}

// lockedDB reports text that tells of writers that got in each other's
// way: SQLite's busy database, or PostgreSQL's serialization failure and
// deadlock, which the store retries and should never let through.
func lockedDB(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "database is locked") || strings.Contains(s, "sqlite_busy") ||
		strings.Contains(s, "database table is locked") ||
		strings.Contains(s, "could not serialize access") || strings.Contains(s, "deadlock detected") ||
		strings.Contains(s, "transaction must be retried")
}

const maxOwnedKeys = 4 // per worker; with 10 workers and the shared key a user stays under 50

func (w *worker) run(ops int) {
	start := time.Now()
	// The workers sign in at once from one address, which may have only a
	// few password checks under way: the rest are told 429 (or 503) at once
	// and try again, as a person would.
	a, ok := w.post("/login", url.Values{"email": {w.user.email}, "password": {w.user.password}}, false)
	for ok && (a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable) &&
		time.Since(start) < 30*time.Second {
		time.Sleep(10 * time.Millisecond)
		a, ok = w.post("/login", url.Values{"email": {w.user.email}, "password": {w.user.password}}, false)
	}
	if !ok || a.status != http.StatusSeeOther {
		w.fail.add("worker %d: login: status %d", w.id, a.status)
		return
	}
	for i := 0; i < ops && time.Since(start) < 40*time.Second; i++ {
		htmx := w.rng.IntN(2) == 0
		switch n := w.rng.IntN(100); {
		case n < 22:
			w.create(fmt.Sprintf("w%02d key %d", w.id, w.seq), htmx)
		case n < 30:
			w.create(fmt.Sprintf("contested %d", w.rng.IntN(3)), htmx)
		case n < 45:
			w.toggleOwn(htmx)
		case n < 57:
			w.editOwn(htmx)
		case n < 67:
			w.deleteOwn(htmx)
		case n < 79:
			w.rename(htmx)
		case n < 91:
			w.toggleShared(htmx)
		default:
			w.checkPage()
		}
		w.seq++
	}
}

// create runs the create flow, sometimes with its confirmation step. A
// contested name may already be taken by another worker: then the answer
// must be the form again with the name's error, never a 5xx.
func (w *worker) create(name string, htmx bool) {
	if len(w.owned) >= maxOwnedKeys {
		w.toggleOwn(htmx)
		return
	}
	desc := fmt.Sprintf("made by worker %d, step %d", w.id, w.seq)
	form := url.Values{"name": {name}, "description": {desc}}
	contested := strings.HasPrefix(name, "contested")
	if w.rng.IntN(3) == 0 {
		a, ok := w.post("/settings/api-keys", form, htmx)
		if !ok {
			return
		}
		switch {
		case a.status == http.StatusOK && strings.Contains(a.body, "Create this key?"):
		case contested && a.status == http.StatusUnprocessableEntity && strings.Contains(a.body, msgNameTaken):
			w.acks["name taken"]++
			return
		default:
			w.fail.add("worker %d: create %q, confirmation step: status %d\n%.400s", w.id, name, a.status, a.body)
			return
		}
	}
	form.Set("action", "confirm")
	a, ok := w.post("/settings/api-keys", form, htmx)
	if !ok {
		return
	}
	if contested && a.status == http.StatusUnprocessableEntity && strings.Contains(a.body, msgNameTaken) {
		w.acks["name taken"]++
		return
	}
	secret := fullKey.FindString(a.body)
	if a.status != http.StatusOK || secret == "" || !strings.Contains(a.body, name) {
		w.fail.add("worker %d: create %q: status %d, key shown: %t\n%.400s", w.id, name, a.status, secret != "", a.body)
		return
	}
	// The key works at once, and the API tells its public id.
	me, ok := w.send(http.MethodGet, "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + secret})
	if !ok {
		return
	}
	var body meResponse
	if me.status != http.StatusOK || json.Unmarshal([]byte(me.body), &body) != nil || body.Key.Name != name ||
		body.Email != w.user.email {
		w.fail.add("worker %d: the new key %q: /api/v1/me answered %d %s", w.id, name, me.status, me.body)
		return
	}
	w.acks["create"]++
	k := &trackedKey{id: body.Key.ID, secret: secret, name: name, desc: desc, enabled: true, ownerUserID: w.user.u.ID}
	w.owned = append(w.owned, k)
	w.created = append(w.created, k)
}

func (w *worker) pick() *trackedKey {
	if len(w.owned) == 0 {
		return nil
	}
	return w.owned[w.rng.IntN(len(w.owned))]
}

// toggleOwn flips one of the worker's keys, then checks the API agrees on
// the very next request.
func (w *worker) toggleOwn(htmx bool) {
	k := w.pick()
	if k == nil {
		w.create(fmt.Sprintf("w%02d key %d", w.id, w.seq), htmx)
		return
	}
	enabled := !k.enabled
	a, ok := w.post("/settings/api-keys/"+k.id+"/status", url.Values{"enabled": {fmt.Sprint(enabled)}}, htmx)
	if !ok || !w.acknowledged(fmt.Sprintf("set %q enabled=%t", k.name, enabled), a, htmx) {
		return
	}
	w.acks["toggle"]++
	k.enabled = enabled
	w.checkKeyWorks(k)
}

// checkKeyWorks asks the API with the key: an enabled key answers 200, a
// disabled or deleted one 401 invalid_token.
func (w *worker) checkKeyWorks(k *trackedKey) {
	a, ok := w.send(http.MethodGet, "/api/v1/me", nil, map[string]string{"X-API-Key": k.secret})
	if !ok {
		return
	}
	want := http.StatusOK
	if !k.enabled || k.deleted {
		want = http.StatusUnauthorized
	}
	if a.status != want {
		w.fail.add("worker %d: key %q (enabled %t, deleted %t): /api/v1/me answered %d, want %d",
			w.id, k.name, k.enabled, k.deleted, a.status, want)
	}
}

func (w *worker) editOwn(htmx bool) {
	k := w.pick()
	if k == nil {
		w.create(fmt.Sprintf("w%02d key %d", w.id, w.seq), htmx)
		return
	}
	name := fmt.Sprintf("w%02d key %d (edited)", w.id, w.seq)
	desc := fmt.Sprintf("edited by worker %d at step %d", w.id, w.seq)
	a, ok := w.post("/settings/api-keys/"+k.id+"/edit", url.Values{"name": {name}, "description": {desc}}, htmx)
	if !ok || !w.acknowledged(fmt.Sprintf("edit %q", k.name), a, htmx) {
		return
	}
	w.acks["edit"]++
	k.name, k.desc = name, desc
}

func (w *worker) deleteOwn(htmx bool) {
	k := w.pick()
	if k == nil {
		w.checkPage()
		return
	}
	a, ok := w.post("/settings/api-keys/"+k.id+"/delete", nil, htmx)
	if !ok || !w.acknowledged(fmt.Sprintf("delete %q", k.name), a, htmx) {
		return
	}
	w.acks["delete"]++
	k.deleted = true
	w.owned = slices.DeleteFunc(w.owned, func(o *trackedKey) bool { return o == k })
	w.checkKeyWorks(k)
}

func (w *worker) rename(htmx bool) {
	name := fmt.Sprintf("User %d, named by worker %d at step %d", w.user.u.ID, w.id, w.seq)
	start := time.Now()
	a, ok := w.post("/settings/profile", url.Values{"name": {name}}, htmx)
	if !ok || !w.acknowledged("rename", a, htmx) {
		return
	}
	w.acks["rename"]++
	w.user.name.record(name, start, time.Now())
}

func (w *worker) toggleShared(htmx bool) {
	enabled := fmt.Sprint(w.rng.IntN(2) == 0)
	start := time.Now()
	a, ok := w.post("/settings/api-keys/"+w.user.sharedKey+"/status", url.Values{"enabled": {enabled}}, htmx)
	if !ok || !w.acknowledged("toggle the shared key", a, htmx) {
		return
	}
	w.acks["shared toggle"]++
	w.user.shared.record(enabled, start, time.Now())
}

// checkPage reads the key page: every key this worker holds is listed (a
// session reads its own writes), with its current name.
func (w *worker) checkPage() {
	a, ok := w.send(http.MethodGet, "/settings/api-keys", nil, nil)
	if !ok {
		return
	}
	if a.status != http.StatusOK {
		w.fail.add("worker %d: the key page answered %d", w.id, a.status)
		return
	}
	for _, k := range w.owned {
		if !strings.Contains(a.body, k.id) || !strings.Contains(a.body, k.name) {
			w.fail.add("worker %d: the key page lacks %s %q", w.id, k.id, k.name)
		}
	}
}

// TestConcurrentKeyAndNameChanges runs 50 browsers (5 users, 10 sessions
// each) creating, toggling, editing and deleting keys and renaming their
// accounts at once, while the clock runs fast enough that sessions and keys
// record their use too. Nothing may fail, nothing may report a locked
// database, and the store must end exactly as the acknowledged answers say.
func TestConcurrentKeyAndNameChanges(t *testing.T) {
	const (
		users          = 5
		workersPerUser = 10
		opsPerWorker   = 14
	)
	ts := newTestServer(t)
	ctx := context.Background()

	accounts := make([]*concurrentUser, users)
	for i := range accounts {
		email := fmt.Sprintf("user%d@example.com", i)
		u := ts.createUser(t, fmt.Sprintf("User %d", i), email, "concurrent-password", store.RoleUser)
		k, _, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: "shared", Description: "toggled by every session"}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		accounts[i] = &concurrentUser{u: u, email: email, password: "concurrent-password", sharedKey: k.PublicID,
			name: register{initial: u.Name}, shared: register{initial: "true"}}
	}

	transport := &http.Transport{MaxIdleConns: 100, MaxIdleConnsPerHost: 100}
	t.Cleanup(transport.CloseIdleConnections)
	fail := &failures{t: t}
	workers := make([]*worker, users*workersPerUser)
	for i := range workers {
		jar, _ := cookiejar.New(nil)
		workers[i] = &worker{
			id: i, ts: ts, user: accounts[i%users], fail: fail, acks: map[string]int{},
			rng: mathrand.New(mathrand.NewPCG(uint64(i), 6)),
			http: &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		}
	}

	// The clock moves on while the workers run, so that session and key
	// "last seen" writes join the mix.
	stopClock := make(chan struct{})
	clockDone := make(chan struct{})
	go func() {
		defer close(clockDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 3000; i++ {
			select {
			case <-stopClock:
				return
			case <-tick.C:
				ts.clock.Advance(31 * time.Second)
			}
		}
	}()

	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(opsPerWorker)
		}()
	}
	wg.Wait()
	close(stopClock)
	<-clockDone
	acks := map[string]int{}
	for _, w := range workers {
		for kind, n := range w.acks {
			acks[kind] += n
		}
	}
	t.Logf("acknowledged: %v", acks)
	if t.Failed() {
		t.FailNow()
	}

	// The store holds exactly what was acknowledged.
	auditPage, err := ts.db.AuditLog(ctx, store.AuditFilter{Limit: 100_000})
	events := auditPage.Events
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range accounts {
		keys, err := ts.db.KeysForUser(ctx, acc.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]*store.APIKey{}
		for _, k := range keys {
			stored[k.PublicID] = k
		}
		expected := map[string]*trackedKey{}
		created := 0
		for _, w := range workers {
			if w.user != acc {
				continue
			}
			for _, k := range w.created {
				created++
				if !k.deleted {
					expected[k.id] = k
				}
			}
		}
		for id, want := range expected {
			got, ok := stored[id]
			switch {
			case !ok:
				t.Errorf("%s: acknowledged key %s %q is missing", acc.email, id, want.name)
			case got.Name != want.name || got.Description != want.desc || got.Enabled != want.enabled:
				t.Errorf("%s: key %s is %q/%q enabled=%t, the last acknowledged answers said %q/%q enabled=%t",
					acc.email, id, got.Name, got.Description, got.Enabled, want.name, want.desc, want.enabled)
			}
		}
		for id, got := range stored {
			if _, ok := expected[id]; !ok && id != acc.sharedKey {
				t.Errorf("%s: key %s %q is in the store, but no answer created it or its deletion was acknowledged",
					acc.email, id, got.Name)
			}
		}
		if shared, ok := stored[acc.sharedKey]; !ok {
			t.Errorf("%s: the shared key is gone", acc.email)
		} else if p := acc.shared.possible(); !slices.Contains(p, fmt.Sprint(shared.Enabled)) {
			t.Errorf("%s: the shared key is enabled=%t; the acknowledged toggles allow only %v", acc.email, shared.Enabled, p)
		}

		u, err := ts.db.UserByID(ctx, acc.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p := acc.name.possible(); !slices.Contains(p, u.Name) {
			t.Errorf("%s: the name is %q; the acknowledged renames allow only %q", acc.email, u.Name, p)
		}

		audited := 0
		for _, e := range events {
			if e.Action == store.ActionKeyCreated && e.ActorID == acc.u.ID {
				audited++
			}
		}
		if audited != created {
			t.Errorf("%s: %d key.created audit events for %d acknowledged creations", acc.email, audited, created)
		}
	}

	logs := ts.logs.String()
	if lockedDB(logs) {
		t.Error("the log mentions a locked database")
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panic:") {
			t.Errorf("log: %s", line)
		}
	}
}

// TestStoreFailureDuringAuthentication: while the store fails, every
// request that needs a session or a key is an outage: a 5xx (503 with
// {"error":"unavailable"} on the API), never a 401, a redirect to the login
// page or a cleared cookie. Once the store is back (here, a second server
// on the same database, as after a restart), the same cookie and key work.
func TestStoreFailureDuringAuthentication(t *testing.T) {
	sessionKey := make([]byte, 32)
	rand.Read(sessionKey)
	ts := newTestServer(t, func(c *Config) { c.SessionKeys = [][]byte{sessionKey} })
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	k, secret, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	cookie := c.sessionCookie()
	assertStatus(t, c.get("/settings/api-keys"), http.StatusOK)
	bearer := map[string]string{"Authorization": "Bearer " + secret}
	assertStatus(t, c.do("GET", "/api/v1/me", nil, bearer), http.StatusOK)

	ts.db.Close()

	htmx := map[string]string{"HX-Request": "true"}
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		form    url.Values
		headers map[string]string
	}{
		{"the profile page", "GET", "/settings/profile", nil, nil},
		{"the key page", "GET", "/settings/api-keys", nil, nil},
		{"the home page", "GET", "/", nil, nil},
		{"the key page, htmx", "GET", "/settings/api-keys", nil, htmx},
		{"creating a key", "POST", "/settings/api-keys", url.Values{"name": {"n"}, "description": {"d"}, "action": {"confirm"}}, nil},
		{"creating a key, htmx", "POST", "/settings/api-keys", url.Values{"name": {"n"}, "description": {"d"}, "action": {"confirm"}}, htmx},
		{"disabling a key, htmx", "POST", "/settings/api-keys/" + k.PublicID + "/status", url.Values{"enabled": {"false"}}, htmx},
		{"renaming", "POST", "/settings/profile", url.Values{"name": {"New"}}, nil},
		{"the login page", "GET", "/login", nil, nil},
		{"logging in", "POST", "/login", url.Values{"email": {"uma@example.com"}, "password": {"uma-password"}}, nil},
		{"logging out", "POST", "/logout", url.Values{}, nil},
	} {
		t.Run("web: "+tc.name, func(t *testing.T) {
			res := c.do(tc.method, tc.path, tc.form, tc.headers)
			if res.StatusCode < 500 {
				t.Errorf("status %d with the store down, want 5xx (location %q, HX-Redirect %q)",
					res.StatusCode, res.Header.Get("Location"), res.Header.Get("HX-Redirect"))
			}
			for _, sc := range res.Cookies() {
				if sc.Name == cookie.Name {
					t.Errorf("the response sets the session cookie: %q max-age %d", sc.Value, sc.MaxAge)
				}
			}
			if got := c.sessionCookie(); got == nil || got.Value != cookie.Value {
				t.Fatal("the browser lost its session cookie")
			}
		})
	}

	for _, tc := range []struct {
		name    string
		path    string
		headers map[string]string
	}{
		{"Bearer on /api/v1/me", "/api/v1/me", bearer},
		{"X-API-Key on /api/v1/me", "/api/v1/me", map[string]string{"X-API-Key": secret}},
		{"Bearer on /api/v1/keys", "/api/v1/keys", bearer},
	} {
		t.Run("api: "+tc.name, func(t *testing.T) {
			res := ts.client(t).do("GET", tc.path, nil, tc.headers)
			assertStatus(t, res, http.StatusServiceUnavailable)
			if strings.TrimSpace(res.body) != `{"error":"unavailable"}` {
				t.Errorf("body %q", res.body)
			}
			if h := res.Header.Get("WWW-Authenticate"); h != "" {
				t.Errorf("an outage answered with WWW-Authenticate %q, which tells the client its key is bad", h)
			}
		})
	}

	// The store is back: a second server on the same database, with the same
	// session key, as after a restart.
	db, err := engine.Open(context.Background(), ts.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h, err := New(Config{Store: db, Logger: slog.New(slog.DiscardHandler), SessionKeys: [][]byte{sessionKey}, Version: "test",
		Uses: NewUseRecorder(db, nil)})
	if err != nil {
		t.Fatal(err)
	}
	second := httptest.NewServer(h)
	t.Cleanup(second.Close)
	after := (&testServer{Server: second, db: db}).withCookie(t, cookie)
	res := after.get("/settings/api-keys")
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, "Uma", k.PublicID)
	res = after.do("GET", "/api/v1/me", nil, bearer)
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, `"email":"uma@example.com"`)
	if keys, _ := db.KeysForUser(context.Background(), u.ID); len(keys) != 1 || !keys[0].Enabled {
		t.Errorf("the outage changed the keys: %d keys", len(keys))
	}
}

// TestWritesCutShortAnswer503 ends requests' contexts at random points
// while they write, as the request timeout or a client that goes away
// does. Each is answered either as done (200) or as an outage to retry
// (503: "Nothing was lost"), never as an unexpected error (500), and the
// store ends with the last acknowledged change or a later one, never an
// earlier one.
func TestWritesCutShortAnswer503(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	k, _, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	cookie := c.sessionCookie()

	// send serves one htmx post through the router with the given context.
	send := func(ctx context.Context, path string, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		rec := httptest.NewRecorder()
		ts.echo.ServeHTTP(rec, req)
		return rec
	}
	rename := func(i int) url.Values { return url.Values{"name": {fmt.Sprintf("Uma %d", i)}} }
	toggle := func(i int) url.Values { return url.Values{"enabled": {fmt.Sprint(i%2 == 0)}} }
	statusPath := "/settings/api-keys/" + k.PublicID + "/status"

	// How long a write takes here, so deadlines land inside it.
	start := time.Now()
	for i := 0; i < 20; i++ {
		if rec := send(context.Background(), "/settings/profile", rename(-1)); rec.Code != http.StatusOK {
			t.Fatalf("rename: %d\n%s", rec.Code, rec.Body)
		}
	}
	took := time.Since(start) / 20

	type attempt struct {
		value  string
		status int
	}
	var names, statuses []attempt
	counts := map[int]int{}
	rng := mathrand.New(mathrand.NewPCG(3, 4))
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; i < 4000 && time.Now().Before(deadline); i++ {
		// Most deadlines land inside a write; every fourth pair of
		// attempts has room to spare, and must be spared: on
		// PostgreSQL a write cut short costs its connection, so the
		// writes after one take a new connection's time and a deadline
		// of twice a write seldom holds one.
		limit := time.Duration(rng.Int64N(int64(took)*2 + 1))
		if i%8 >= 6 {
			limit = 50 * took
		}
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		var rec *httptest.ResponseRecorder
		if i%2 == 0 {
			rec = send(ctx, "/settings/profile", rename(i))
			names = append(names, attempt{rename(i).Get("name"), rec.Code})
		} else {
			rec = send(ctx, statusPath, toggle(i))
			statuses = append(statuses, attempt{toggle(i).Get("enabled"), rec.Code})
		}
		cancel()
		counts[rec.Code]++
		if rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable && counts[rec.Code] <= 3 {
			body := rec.Body.String()
			if i := strings.Index(body, "<main"); i >= 0 {
				body = body[i:]
			}
			t.Errorf("a write cut short by its deadline answered %d, want 200 or 503\n%.600s", rec.Code, body)
		}
	}
	t.Logf("write latency %s; answers by status: %v", took, counts)
	if counts[http.StatusInternalServerError] > 0 {
		causes := map[string]int{}
		for _, line := range strings.Split(ts.logs.String(), "\n") {
			var l struct {
				Msg    string `json:"msg"`
				Status int    `json:"status"`
				Err    string `json:"err"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request failed" && l.Status == http.StatusInternalServerError {
				causes[l.Err]++
			}
		}
		t.Errorf("the 500s, by the error the log gives: %v", causes)
	}
	if counts[http.StatusServiceUnavailable] == 0 || counts[http.StatusOK] == 0 {
		t.Fatalf("the deadlines did not cut writes short and spare others: %v", counts)
	}
	if logs := ts.logs.String(); lockedDB(logs) {
		t.Error("the log mentions a locked database")
	}

	// Nothing acknowledged was lost: the store holds the last acknowledged
	// value or one sent after it (an unacknowledged write may have landed).
	possible := func(attempts []attempt, initial string) []string {
		last := -1
		for i, a := range attempts {
			if a.status == http.StatusOK {
				last = i
			}
		}
		out := []string{initial}
		if last >= 0 {
			out = []string{attempts[last].value}
		}
		for _, a := range attempts[last+1:] {
			out = append(out, a.value)
		}
		return out
	}
	got, err := ts.db.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := possible(names, "Uma -1"); !slices.Contains(p, got.Name) {
		t.Errorf("the name is %q; the answers allow only %q", got.Name, p)
	}
	key, err := ts.db.KeyForUser(context.Background(), u.ID, k.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	if p := possible(statuses, "true"); !slices.Contains(p, fmt.Sprint(key.Enabled)) {
		t.Errorf("the key is enabled=%t; the answers allow only %q", key.Enabled, p)
	}
	// And the session is still good.
	assertStatus(t, c.get("/settings/api-keys"), http.StatusOK)
}

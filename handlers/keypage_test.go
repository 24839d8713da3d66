package handlers

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"keydesk/store"
)

// A key's own page shows its details and recent use to its owner, and to an
// admin with the owner; to anyone else, the key does not exist.
func TestKeyOwnPage(t *testing.T) {
	f := newAdminFixture(t)
	ctx := context.Background()
	k := f.keys[0]
	other := f.ts.createUser(t, "Olga Other", "olga@example.com", "olga-password", store.RoleUser)
	otherKey, _, err := f.ts.db.CreateKey(ctx, other.ID, store.NewKey{Name: "Olga's key", Description: "d"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	page := "/settings/api-keys/" + k.PublicID

	// The table links each key's name to its page.
	assertContains(t, f.user.get("/settings/api-keys"), `href="`+page+`"`)
	res := f.user.get(page)
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, "<h1 class=\"wrap\">Deploy bot</h1>", k.Masked(), "Enabled", "Never", "Not used yet",
		"Every permission: this key was made before permissions existed.", "<code>profile:read</code>",
		`href="`+page+`/edit"`, `href="`+page+`/regenerate"`, `href="`+page+`/delete"`)
	assertStatus(t, f.user.get(page+"/regenerate"), http.StatusOK)
	assertLacks(t, res, "Owner</dt>", `class="owner__email"`, `<svg class="chart__svg"`)
	if got := res.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("Cache-Control %q on a signed-in page, want no-store", got)
	}

	// Another user's key, a made-up id and a signed-out visitor.
	assertStatus(t, f.user.get("/settings/api-keys/"+otherKey.PublicID), http.StatusNotFound)
	assertStatus(t, f.user.get("/settings/api-keys/key_doesnotexist"), http.StatusNotFound)
	if res := f.ts.client(t).get(page); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("signed out: %d to %q, want 303 to the login page", res.StatusCode, res.Header.Get("Location"))
	}

	// The admin opens it from the inventory, with its owner; a user
	// asking for the admin's page finds nothing there.
	adminPage := "/admin/api-keys/" + k.PublicID
	assertContains(t, f.admin.get("/admin/api-keys"), `href="`+adminPage+`"`)
	res = f.admin.get(adminPage)
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, "Deploy bot", k.Masked(), "Owner</dt>", "Uma User", "uma@example.com", f.owner.PublicID,
		`href="/admin/api-keys"`)
	assertLacks(t, res, "/edit\"", "/regenerate\"")
	assertStatus(t, f.admin.get("/admin/api-keys/"+otherKey.PublicID), http.StatusOK)
	assertStatus(t, f.admin.get("/admin/api-keys/key_doesnotexist"), http.StatusNotFound)
	assertStatus(t, f.user.get(adminPage), http.StatusNotFound)

	// Calls made with the key, refused ones included, are on both pages
	// once the recorder has written them.
	f.api(t, 0)
	if _, err := f.ts.db.SetKeyEnabled(ctx, f.owner.ID, k.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	f.api(t, 0)
	if err := f.ts.uses.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  *client
		path string
	}{{f.user, page}, {f.admin, adminPage}} {
		res := c.who.get(c.path)
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, "Last 2 calls", "<code>GET /api/v1/me</code>", ">OK</span>", ">Disabled</span>",
			"Go-http-client/1.1", "2 calls in the last 30 days: 1 successful, 1 refused.")
		assertLacks(t, res, "Not used yet", f.secrets[0])
	}
}

// rowWrites counts, from now on, the rows inserted, updated or deleted in
// table, with triggers on the real file, as countWrites counts updates.
func (ts *testServer) rowWrites(t *testing.T, table string) func() int {
	t.Helper()
	raw := ts.raw(t)
	counter := "row_writes_" + table
	if _, err := raw.Exec(`CREATE TABLE ` + counter + ` (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if ts.onPostgres() {
		if _, err := raw.Exec(`CREATE FUNCTION count_` + counter + `() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO ` + counter + ` VALUES (1); RETURN NULL; END $$`); err != nil {
			t.Fatal(err)
		}
	}
	for _, event := range []string{"INSERT", "UPDATE", "DELETE"} {
		ddl := `CREATE TRIGGER count_` + counter + `_` + event + ` AFTER ` + event + ` ON ` + table +
			` BEGIN INSERT INTO ` + counter + ` VALUES (1); END`
		if ts.onPostgres() {
			ddl = `CREATE TRIGGER count_` + counter + `_` + event + ` AFTER ` + event + ` ON ` + table +
				` FOR EACH ROW EXECUTE FUNCTION count_` + counter + `()`
		}
		if _, err := raw.Exec(ddl); err != nil {
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

// batchCounter is the store, counting the batches written to it: each is
// one transaction.
type batchCounter struct {
	UseWriter
	batches atomic.Int32
}

func (b *batchCounter) RecordKeyUses(ctx context.Context, batch *store.UseBatch) error {
	b.batches.Add(1)
	return b.UseWriter.RecordKeyUses(ctx, batch)
}

// A burst of 1,000 calls costs no write of its own while it runs, and one
// batch (one transaction) when the recorder next writes; the key's page
// then shows the last 50 of them and 1,000 calls today.
func TestKeyUseBurstCostsOneBatch(t *testing.T) {
	var counter *batchCounter
	ts := newTestServer(t, func(c *Config) {
		counter = &batchCounter{UseWriter: c.Store}
		c.Uses = NewUseRecorder(counter, c.Logger)
	})
	ctx := context.Background()
	u := ts.createUser(t, "Bea Burst", "bea@example.com", "bea-password", store.RoleUser)
	// profile:read only: its calls to GET /api/v1/keys are refused.
	k, secret, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: "Busy", Description: "d",
		Scopes: []string{store.ScopeProfileRead}}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	uses, days := ts.rowWrites(t, "key_uses"), ts.rowWrites(t, "key_use_days")
	lastUsed := ts.countWrites(t, "api_keys", "last_used_at")

	const calls, refusals = 1000, 10
	var wg sync.WaitGroup
	work := make(chan string)
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			c := ts.client(t)
			for path := range work {
				want := http.StatusOK
				if path == "/api/v1/keys" {
					want = http.StatusForbidden
				}
				if res := c.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + secret}); res.StatusCode != want {
					failed.Add(1)
				}
			}
		})
	}
	for range calls - refusals {
		work <- "/api/v1/me"
	}
	for range refusals {
		work <- "/api/v1/keys"
	}
	close(work)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d calls got an unexpected status", n)
	}

	if n, d, b := uses(), days(), counter.batches.Load(); n != 0 || d != 0 || b != 0 {
		t.Errorf("during the burst: %d key_uses rows and %d key_use_days rows written in %d batches; want none before the recorder writes", n, d, b)
	}
	if n := lastUsed(); n > 1 {
		t.Errorf("the burst updated Last Used %d times; want at most once", n)
	}
	// Held in memory: one key, its last 50 calls in detail.
	ts.uses.mu.Lock()
	held, keys := len(ts.uses.batch.Recent(k.ID)), ts.uses.batch.Len()
	ts.uses.mu.Unlock()
	if held != store.RecentUses || keys != 1 {
		t.Errorf("the recorder holds %d keys and %d calls of this one; want 1 and %d", keys, held, store.RecentUses)
	}

	if err := ts.uses.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if b := counter.batches.Load(); b != 1 {
		t.Errorf("the burst was written in %d batches, want 1", b)
	}
	// In that one transaction: the last 50 calls, one tally for the day.
	if n, d := uses(), days(); n != store.RecentUses || d != 1 {
		t.Errorf("the batch wrote %d key_uses rows and %d key_use_days rows; want %d and 1", n, d, store.RecentUses)
	}
	if err := ts.uses.Flush(ctx); err != nil || counter.batches.Load() != 1 {
		t.Errorf("a flush with nothing recorded wrote a batch (err %v)", err)
	}

	c := ts.client(t)
	c.login("bea@example.com", "bea-password")
	res := c.get("/settings/api-keys/" + k.PublicID)
	assertStatus(t, res, http.StatusOK)
	if rows := strings.Count(res.body, `<td data-label="Route">`); rows != store.RecentUses {
		t.Errorf("the page lists %d calls, want %d", rows, store.RecentUses)
	}
	if n := strings.Count(res.body, ">Missing scope</span>"); n != refusals {
		t.Errorf("the page lists %d Missing scope refusals, want the last %d calls", n, refusals)
	}
	today := ts.clock.Now().UTC().Format("2006-01-02")
	todayBar := regexp.MustCompile(`(?s)<g class="chart__day" data-day="` + today + `">.*?</g>`).FindString(res.body)
	for _, want := range []string{`class="chart__ok"`, fmt.Sprintf(`data-value="%d"`, calls-refusals),
		`class="chart__refused"`, fmt.Sprintf(`data-value="%d"`, refusals)} {
		if !strings.Contains(todayBar, want) {
			t.Errorf("today's bar lacks %s:\n%s", want, todayBar)
		}
	}
	todayRow := regexp.MustCompile(`<tr data-day="` + today + `">.*?</tr>`).FindString(res.body)
	if !strings.Contains(todayRow, `<td data-label="Successful">990</td><td data-label="Refused">10</td>`) {
		t.Errorf("today's table row is %s; want 990 successful and 10 refused", todayRow)
	}
	assertContains(t, res, "1,000 calls in the last 30 days: 990 successful, 10 refused.")
}

// The recorder's memory is bounded by keys: in one interval it holds at
// most its limit of keys, and the calls of any other key are dropped,
// counted and logged when it writes, while the calls themselves are
// answered as ever.
func TestKeyUseRecorderDropsBeyondItsBound(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Uses = newUseRecorder(c.Store, c.Logger, 2) })
	ctx := context.Background()
	u := ts.createUser(t, "Dora Drop", "dora@example.com", "dora-password", store.RoleUser)
	var keys []*store.APIKey
	var secrets []string
	for i := range 3 {
		k, secret, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: fmt.Sprintf("Key %d", i), Description: "d"}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		keys, secrets = append(keys, k), append(secrets, secret)
	}
	api := ts.client(t)
	for i, secret := range secrets {
		for range 5 {
			if res := api.do("GET", "/api/v1/me", nil, map[string]string{"X-API-Key": secret}); res.StatusCode != http.StatusOK {
				t.Fatalf("key %d: status %d, want 200: the bound must not refuse calls", i, res.StatusCode)
			}
		}
	}
	ts.uses.mu.Lock()
	held, dropped := ts.uses.batch.Len(), ts.uses.batch.Dropped
	ts.uses.mu.Unlock()
	if held != 2 || dropped != 5 {
		t.Errorf("the recorder holds %d keys and dropped %d calls; want 2 and the third key's 5", held, dropped)
	}
	if err := ts.uses.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, `"msg":"key uses dropped: too many keys in one interval","dropped":5,"keys":2`) {
		t.Errorf("the drop was not logged with its count:\n%s", logs)
	}

	c := ts.client(t)
	c.login("dora@example.com", "dora-password")
	for i, k := range keys {
		res := c.get("/settings/api-keys/" + k.PublicID)
		if i < 2 {
			assertContains(t, res, "Last 5 calls")
		} else {
			// Dropped from recent use; its Last Used, kept past the bound, still says.
			assertContains(t, res, "No calls recorded in the last 30 days")
			assertContains(t, res, "from <code>127.0.0.1</code>")
		}
	}

	// The next interval starts empty: the third key is recorded again.
	api.do("GET", "/api/v1/me", nil, map[string]string{"X-API-Key": secrets[2]})
	if err := ts.uses.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	assertContains(t, c.get("/settings/api-keys/"+keys[2].PublicID), "The last call")
}

// The chart counts UTC days back from today, 30 of them: a call made 29
// days ago is on it, one made 30 days ago is not.
func TestKeyPageChartIsThirtyUTCDays(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	u := ts.createUser(t, "Tess Time", "tess@example.com", "tess-password", store.RoleUser)
	k, _, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: "Old", Description: "d"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	now := ts.clock.Now()
	b := store.NewUseBatch(1)
	for _, ago := range []int{30, 29, 0} {
		b.Add(store.KeyUse{KeyID: k.ID, At: now.AddDate(0, 0, -ago), Route: "GET /api/v1/me", Result: store.UseOK})
	}
	if err := ts.db.RecordKeyUses(ctx, b); err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	c.login("tess@example.com", "tess-password")
	res := c.get("/settings/api-keys/" + k.PublicID)
	if n := strings.Count(res.body, `<g class="chart__day"`); n != 30 {
		t.Errorf("the chart has %d days, want 30", n)
	}
	first := now.UTC().AddDate(0, 0, -29).Format("2006-01-02")
	if !strings.Contains(res.body, `<g class="chart__day" data-day="`+first+`">`) {
		t.Errorf("the chart does not start on %s, 29 days ago", first)
	}
	assertContains(t, res, "2 calls in the last 30 days: 2 successful, 0 refused.")
}

package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// demoPolicyServer is a test server with the demo platform's scopes.
func demoPolicyServer(t *testing.T) *testServer {
	t.Helper()
	scopes, err := store.ParseScopes(store.DemoScopes)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, func(c *Config) { c.Policy = store.KeyPolicy{Scopes: scopes} })
}

// lifecycleKeys are one owner's keys of every expiry and kind of scopes,
// by name; each name appears nowhere else on the inventory page.
type lifecycleKeys map[string]*store.APIKey

func seedLifecycleKeys(t *testing.T, ts *testServer, owner *store.User) lifecycleKeys {
	t.Helper()
	now := ts.clock.Now()
	keys := lifecycleKeys{}
	for _, k := range []struct {
		name    string
		expires time.Time
		scopes  []string
	}{
		{"Alpha soon", now.Add(3 * 24 * time.Hour), []string{store.ScopeProfileRead, "payments:read"}},
		{"Bravo later", now.Add(30 * 24 * time.Hour), []string{"payments:write"}},
		{"Charlie expired", now.Add(-time.Hour), []string{"payments:read"}},
		{"Delta forever", time.Time{}, []string{"customers:read", "webhooks:manage", store.ScopeKeysRead}},
		{"Echo legacy", time.Time{}, nil}, // made before scopes: every scope, no expiry
	} {
		key, _, err := ts.db.CreateKey(context.Background(), owner.ID,
			store.NewKey{Name: k.name, Description: "d", ExpiresAt: k.expires, Scopes: k.scopes}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		keys[key.Name] = key
	}
	return keys
}

// names are the lifecycle keys but those listed.
func (ks lifecycleKeys) except(names ...string) []string {
	var out []string
	for name := range ks {
		if !slices.Contains(names, name) {
			out = append(out, name)
		}
	}
	return out
}

// The inventory's expiry and scope filters, alone, together and with the
// others; the form keeps them, the export link carries them, and a value
// the inventory does not know falls back to showing every key.
func TestInventoryLifecycleFilters(t *testing.T) {
	ts := demoPolicyServer(t)
	owner := ts.createUser(t, "Olga Owner", "olga@example.com", "olga-password", store.RoleUser)
	keys := seedLifecycleKeys(t, ts, owner)
	if _, err := ts.db.SetKeyEnabled(context.Background(), owner.ID, keys["Delta forever"].PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	only := func(names ...string) ([]string, []string) { return names, keys.except(names...) }
	var scenarios []scenario
	for _, c := range []struct {
		name, query string
		shown       []string
	}{
		{"expires within 7 days", "expiry=soon", []string{"Alpha soon"}},
		{"expired", "expiry=expired", []string{"Charlie expired"}},
		{"no expiration, keys made before expiry included", "expiry=never", []string{"Delta forever", "Echo legacy"}},
		{"a scope, and the keys made before scopes", "scope=payments:read", []string{"Alpha soon", "Charlie expired", "Echo legacy"}},
		{"a scope only the legacy key holds", "scope=payments:write", []string{"Bravo later", "Echo legacy"}},
		{"an admin-only scope", "scope=keys:verify", []string{"Echo legacy"}},
		{"scope and expiry", "scope=payments:read&expiry=never", []string{"Echo legacy"}},
		{"scope and expired", "scope=payments:read&expiry=expired", []string{"Charlie expired"}},
		{"scope and status", "scope=customers:read&status=disabled", []string{"Delta forever"}},
		{"expiry and search", "expiry=never&q=delta", []string{"Delta forever"}},
		{"expiry, scope and risk", "expiry=soon&scope=profile:read&risk=never_used", []string{"Alpha soon"}},
		{"an unknown expiry shows every key", "expiry=someday", []string{"Alpha soon", "Bravo later", "Charlie expired", "Delta forever", "Echo legacy"}},
		{"an unknown scope shows every key", "scope=payments", []string{"Alpha soon", "Bravo later", "Charlie expired", "Delta forever", "Echo legacy"}},
	} {
		want, forbid := only(c.shown...)
		scenarios = append(scenarios, scenario{name: c.name, as: "admin", method: "GET", path: "/admin/api-keys?" + c.query,
			wantStatus: http.StatusOK, want: want, forbid: forbid})
	}
	scenarios = append(scenarios,
		scenario{name: "no match", as: "admin", method: "GET", path: "/admin/api-keys?expiry=expired&scope=customers:read",
			wantStatus: http.StatusOK, want: []string{"No keys match these filters."}, forbid: keys.except()},
		scenario{name: "the form keeps the filters, the export link carries them", as: "admin", method: "GET",
			path: "/admin/api-keys?expiry=soon&scope=payments:read&sort=name", wantStatus: http.StatusOK,
			want: []string{`<label for="expiry">Expiry</label>`, `<option value="soon" selected>Expires within 7 days</option>`,
				`<label for="scope">Scope</label>`, `<option value="payments:read" selected>payments:read</option>`,
				`href="/admin/api-keys/export?dir=asc&amp;expiry=soon&amp;scope=payments%3Aread&amp;sort=name"`,
				`aria-describedby="scope-hint"`, `id="scope-hint"`, "Keys made before scopes existed hold every scope"}},
		scenario{name: "every choice is offered, the policy's scopes with the admin-only one", as: "admin", method: "GET",
			path: "/admin/api-keys", wantStatus: http.StatusOK,
			want: []string{`<option value="" selected>Any expiry</option>`, `<option value="expired">Expired</option>`,
				`<option value="never">No expiration</option>`, `<option value="" selected>Any scope</option>`,
				`<option value="profile:read">`, `<option value="keys:read">`, `<option value="keys:verify">`,
				`<option value="webhooks:manage">`, ">Expires</th>", ">Scopes</th>"}},
		scenario{name: "an unknown value is not kept", as: "admin", method: "GET", path: "/admin/api-keys?scope=payments&expiry=someday",
			wantStatus: http.StatusOK, want: []string{`<option value="" selected>Any scope</option>`, `<option value="" selected>Any expiry</option>`},
			forbid: []string{`href="/admin/api-keys/export?expiry`, `href="/admin/api-keys/export?scope`}},
		scenario{name: "the filters are the admin's only", as: "user", method: "GET", path: "/admin/api-keys?expiry=soon",
			wantStatus: http.StatusNotFound, forbid: keys.except()},
	)
	runScenarios(t, ts, scenarios)
}

// Each row says when its key expires and what it may do: Never, a
// relative time marked when it is within 7 days, or Expired; the scopes
// by name, their count when there are several, or All scopes for a key
// made before scopes. An expired key's switch says so, and cannot be
// flipped on once off.
func TestInventoryRowsShowExpiryAndScopes(t *testing.T) {
	ts := demoPolicyServer(t)
	owner := ts.createUser(t, "Olga Owner", "olga@example.com", "olga-password", store.RoleUser)
	keys := seedLifecycleKeys(t, ts, owner)
	expired := keys["Charlie expired"]
	if _, err := ts.db.SetKeyEnabled(context.Background(), owner.ID, expired.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	admin := ts.client(t)
	admin.login("admin@example.com", "admin-password")
	page := admin.get("/admin/api-keys")
	assertStatus(t, page, http.StatusOK)
	for name, wants := range map[string][]string{
		"Alpha soon": {`<td data-label="Expires"><time class="badge badge--warning" datetime="` +
			keys["Alpha soon"].ExpiresAt.UTC().Format(time.RFC3339) + `"`, ">in 3 days</time>",
			`<td data-label="Scopes"><details class="scopes"><summary>2 scopes<span class="visually-hidden"> of Alpha soon</span></summary>`,
			"profile:<wbr>read", "payments:<wbr>read", ">Enabled</span>"},
		"Bravo later":     {">in 30 days</time>", `<code class="scope">payments:<wbr>write</code>`},
		"Charlie expired": {`<span class="badge badge--danger">Expired</span>`, `-note" class="badge badge--danger switch__note" aria-hidden="true">Expired</span>`, " disabled>"},
		"Delta forever":   {`<td data-label="Expires"><span class="muted">Never</span>`, "3 scopes", "webhooks:<wbr>manage"},
		"Echo legacy":     {`<span class="muted">Never</span>`, `<span class="all-scopes" title="Made before scopes existed: it holds every scope">All scopes</span>`},
	} {
		row := rowHTML(page.body, "inv-"+keys[name].PublicID)
		if row == "" {
			t.Fatalf("no row for %s", name)
		}
		for _, w := range wants {
			if !strings.Contains(row, w) {
				t.Errorf("the row of %s lacks %q:\n%s", name, w, row)
			}
		}
	}
	if row := rowHTML(page.body, "inv-"+keys["Alpha soon"].PublicID); strings.Contains(row, " disabled>") || strings.Contains(row, "Expired") {
		t.Errorf("a key that has not expired looks expired:\n%s", row)
	}

	// The moment it expires, a key's row says so.
	ts.clock.Advance(3 * 24 * time.Hour)
	admin.login("admin@example.com", "admin-password") // the session idled out meanwhile
	row := rowHTML(admin.get("/admin/api-keys").body, "inv-"+keys["Alpha soon"].PublicID)
	if !strings.Contains(row, `<span class="badge badge--danger">Expired</span>`) || !strings.Contains(row, ">Expired</span>") {
		t.Errorf("a key past its expiry does not say Expired:\n%s", row)
	}
}

// Paging keeps the expiry and scope filters: the next page's link carries
// them, the second page holds the rest of exactly the keys that match,
// and the first page's link goes back with the filters too.
func TestInventoryLifecycleFiltersPage(t *testing.T) {
	ts := demoPolicyServer(t)
	ctx := context.Background()
	now := ts.clock.Now()
	var owners []*store.User
	for i := range 2 {
		owners = append(owners, ts.createUser(t, "Owner", fmt.Sprintf("owner%d@example.com", i), "owner-password", store.RoleUser))
	}
	for i := range 60 {
		if _, _, err := ts.db.CreateKey(ctx, owners[i%2].ID, store.NewKey{Name: fmt.Sprintf("match %02d", i), Description: "d",
			ExpiresAt: now.Add(time.Duration(1+i%6) * 24 * time.Hour), Scopes: []string{"payments:read"}}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, nk := range []store.NewKey{
		{Name: "miss never", Scopes: []string{"payments:read"}},                                              // no expiry
		{Name: "miss scope", Scopes: []string{"payments:write"}, ExpiresAt: now.Add(2 * 24 * time.Hour)},     // another scope
		{Name: "miss later", Scopes: []string{"payments:read"}, ExpiresAt: now.Add(8 * 24 * time.Hour)},      // past 7 days
		{Name: "miss expired", Scopes: []string{"payments:read"}, ExpiresAt: now.Add(-2 * 24 * time.Hour)},   // expired
		{Name: "match legacy", ExpiresAt: now.Add(24 * time.Hour)},                                           // every scope
		{Name: "miss legacy", ExpiresAt: now.Add(30 * 24 * time.Hour)},                                       // every scope, later
		{Name: "miss verify", Scopes: []string{store.ScopeKeysVerify}, ExpiresAt: now.Add(24 * time.Hour)},   // another scope
		{Name: "miss profile", Scopes: []string{store.ScopeProfileRead}, ExpiresAt: now.Add(24 * time.Hour)}, // another scope
	} {
		nk.Description = "d"
		if _, _, err := ts.db.CreateKey(ctx, owners[i%2].ID, nk, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	admin := ts.client(t)
	admin.login("admin@example.com", "admin-password")

	first := admin.get("/admin/api-keys?expiry=soon&scope=payments:read&sort=name&dir=asc")
	assertStatus(t, first, http.StatusOK)
	seen := inventoryNames(first.body)
	if len(seen) != store.InventoryPageSize || seen[0] != "match 00" || seen[49] != "match 49" {
		t.Fatalf("the first page holds %d keys, %q", len(seen), seen)
	}
	next := link(t, first.body, "Next →")
	for _, p := range []string{"expiry=soon", "scope=payments%3Aread", "sort=name", "dir=asc", "after="} {
		if !strings.Contains(next, p) {
			t.Errorf("the next page's link %q lost %s", next, p)
		}
	}
	second := admin.get(next)
	assertStatus(t, second, http.StatusOK)
	rest := inventoryNames(second.body)
	want := []string{"match 50", "match 51", "match 52", "match 53", "match 54", "match 55", "match 56", "match 57",
		"match 58", "match 59", "match legacy"}
	if !slices.Equal(rest, want) {
		t.Errorf("the second page holds %q, want %q", rest, want)
	}
	assertLacks(t, second, "Next →")
	back := link(t, second.body, "← Previous")
	if !strings.Contains(back, "expiry=soon") || !strings.Contains(back, "scope=payments%3Aread") || !strings.Contains(back, "before=") {
		t.Errorf("the previous page's link %q", back)
	}
	if again := inventoryNames(admin.get(back).body); !slices.Equal(again, seen) {
		t.Errorf("back on the first page: %q", again)
	}

	// The export holds every key that matches, on one list.
	records := exportRecords(t, admin, "/admin/api-keys/export?expiry=soon&scope=payments:read")
	if len(records) != 1+61 {
		t.Errorf("the filtered export holds %d keys, want 61", len(records)-1)
	}
	for _, rec := range records[1:] {
		if !strings.HasPrefix(rec[4], "match ") {
			t.Errorf("the filtered export holds %q", rec[4])
		}
	}
}

// inventoryNames are the key names of the inventory rows in body, in order.
func inventoryNames(body string) []string {
	var out []string
	const open = `<td data-label="Key name" class="key-name"><a class="key-name__title" href="`
	for rest := body; ; {
		i := strings.Index(rest, open)
		if i < 0 {
			return out
		}
		rest = rest[i+len(open):]
		rest = rest[strings.Index(rest, ">")+1:]
		out = append(out, rest[:strings.Index(rest, "<")])
	}
}

// link is the href of the link whose text is text, unescaped.
func link(t *testing.T, body, text string) string {
	t.Helper()
	end := strings.Index(body, ">"+text+"</a>")
	if end < 0 {
		t.Fatalf("no link %q", text)
	}
	start := strings.LastIndex(body[:end], `href="`)
	href := body[start+len(`href="`):]
	return strings.ReplaceAll(href[:strings.IndexByte(href, '"')], "&amp;", "&")
}

// exportRecords downloads an export and reads it as CSV.
func exportRecords(t *testing.T, c *client, path string) [][]string {
	t.Helper()
	res := c.get(path)
	assertStatus(t, res, http.StatusOK)
	records, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return records
}

// The export ends with expires_at (RFC 3339, empty for never) and scopes
// (space-separated, "*" for a key made before scopes), and its filters
// choose the rows.
func TestExportExpiryAndScopes(t *testing.T) {
	ts := demoPolicyServer(t)
	owner := ts.createUser(t, "Olga Owner", "olga@example.com", "olga-password", store.RoleUser)
	keys := seedLifecycleKeys(t, ts, owner)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	admin := ts.client(t)
	admin.login("admin@example.com", "admin-password")

	records := exportRecords(t, admin, "/admin/api-keys/export")
	header := []string{"owner_name", "owner_email", "owner_disabled", "key_id", "key_name", "masked_key",
		"status", "effective_status", "last_used_at", "created_at", "expires_at", "scopes"}
	if !slices.Equal(records[0], header) {
		t.Fatalf("header %q, want %q", records[0], header)
	}
	got := map[string][]string{}
	for _, rec := range records[1:] {
		got[rec[4]] = rec
	}
	rfc := func(name string) string { return keys[name].ExpiresAt.UTC().Format(time.RFC3339) }
	for name, want := range map[string][2]string{
		"Alpha soon":      {rfc("Alpha soon"), "profile:read payments:read"},
		"Bravo later":     {rfc("Bravo later"), "payments:write"},
		"Charlie expired": {rfc("Charlie expired"), "payments:read"},
		"Delta forever":   {"", "customers:read webhooks:manage keys:read"},
		"Echo legacy":     {"", "*"},
	} {
		rec := got[name]
		if rec == nil {
			t.Errorf("no line for %s", name)
			continue
		}
		if rec[10] != want[0] || rec[11] != want[1] {
			t.Errorf("%s: expires_at %q, scopes %q; want %q, %q", name, rec[10], rec[11], want[0], want[1])
		}
		if rec[10] != "" {
			if at, err := time.Parse(time.RFC3339, rec[10]); err != nil || !at.Equal(keys[name].ExpiresAt.Truncate(time.Second)) {
				t.Errorf("%s: expires_at %q reads as %v (%v), want %v", name, rec[10], at, err, keys[name].ExpiresAt)
			}
		}
	}

	for query, want := range map[string][]string{
		"expiry=expired":                     {"Charlie expired"},
		"expiry=never&scope=webhooks:manage": {"Delta forever", "Echo legacy"},
		"scope=payments:write":               {"Bravo later", "Echo legacy"},
	} {
		var names []string
		for _, rec := range exportRecords(t, admin, "/admin/api-keys/export?"+query)[1:] {
			names = append(names, rec[4])
		}
		slices.Sort(names)
		if !slices.Equal(names, want) {
			t.Errorf("export?%s holds %q, want %q", query, names, want)
		}
	}
}

// An admin's enable of an expired key is refused with a clear message and
// changes nothing, in place with htmx (422, the row locked) and as a plain
// post (back to the inventory, the message shown); the admin may still
// disable an expired key that is on. Only the owner's regeneration brings
// it back, and then the admin's enable works.
func TestAdminCannotEnableExpiredKey(t *testing.T) {
	ts := demoPolicyServer(t)
	ctx := context.Background()
	owner := ts.createUser(t, "Olga Owner", "olga@example.com", "olga-password", store.RoleUser)
	keys := seedLifecycleKeys(t, ts, owner)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	admin := ts.client(t)
	admin.login("admin@example.com", "admin-password")
	htmx := map[string]string{"HX-Request": "true"}
	expired := keys["Charlie expired"]
	path := "/admin/api-keys/" + expired.PublicID + "/status"
	enables := func() int {
		t.Helper()
		page, err := ts.db.AuditLog(ctx, store.AuditFilter{Actor: "admin@example.com", Action: store.ActionKeyEnabled})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	assertOff := func(when string) {
		t.Helper()
		k, err := ts.db.KeyForUser(ctx, owner.ID, expired.PublicID)
		if err != nil {
			t.Fatal(err)
		}
		if k.Enabled {
			t.Errorf("%s: the expired key is enabled", when)
		}
		if n := enables(); n != 0 {
			t.Errorf("%s: %d key.enabled events recorded", when, n)
		}
	}

	// On when it expired: the admin can switch it off.
	off := admin.do("POST", path, url.Values{"enabled": {"false"}}, htmx)
	assertStatus(t, off, http.StatusOK)
	assertContains(t, off, `aria-checked="false"`, ">Expired</span>")
	msg := "Expired: it cannot be enabled. Only its owner can regenerate it."
	flash := "“Charlie expired” has expired, so it cannot be enabled. Only its owner can bring it back, by regenerating it."

	res := admin.do("POST", path, url.Values{"enabled": {"true"}, "return": {"/admin/api-keys?expiry=expired"}}, htmx)
	assertStatus(t, res, http.StatusUnprocessableEntity)
	assertContains(t, res, `<tr id="inv-`+expired.PublicID+`"`, `role="alert">`+msg+`</p>`, `aria-checked="false"`, " disabled>",
		`name="return" value="/admin/api-keys?expiry=expired"`)
	assertLacks(t, res, "<html")
	assertOff(t.Name() + ", htmx")

	res = admin.post(path, url.Values{"enabled": {"true"}, "return": {"/admin/api-keys?expiry=expired"}})
	assertStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/admin/api-keys?expiry=expired" {
		t.Errorf("the refused plain post went back to %q", got)
	}
	assertContains(t, admin.get("/admin/api-keys?expiry=expired"), `<div class="flash" role="status">`+flash+`</div>`)
	assertOff(t.Name() + ", plain post")

	// The owner regenerates it: the admin's enable works again.
	if _, _, err := ts.db.RegenerateKey(ctx, owner.ID, expired.PublicID, 0, ts.clock.Now().Add(24*time.Hour), store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	res = admin.do("POST", path, url.Values{"enabled": {"true"}}, htmx)
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, `aria-checked="true"`)
	assertLacks(t, res, msg, " disabled>")
}

package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// The create flow's expiry and scopes (contract v2), the key table's
// Expires column and scopes, the expired row, and the notice of keys about
// to expire, through the whole router on a real SQLite file.

// demoPolicy is keydesk serve --demo's: Keydesk's scopes and a platform's.
func demoPolicy(t testing.TB, maxLifetime int) func(*Config) {
	t.Helper()
	scopes, err := store.ParseScopes(store.DemoScopes)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Policy = store.KeyPolicy{Scopes: scopes, MaxLifetime: maxLifetime} }
}

// lifecycleServer is a test server with the demo policy (and maxLifetime
// days at most), a user and an admin signed in.
func lifecycleServer(t *testing.T, maxLifetime int, configure ...func(*Config)) (ts *testServer, user, admin *client, uma *store.User) {
	t.Helper()
	ts = newTestServer(t, append([]func(*Config){demoPolicy(t, maxLifetime)}, configure...)...)
	// A fixed morning (UTC), so that days to a date at 00:00 UTC round
	// the same whenever the test runs.
	ts.clock.now = time.Date(2030, 6, 15, 6, 0, 0, 0, time.UTC)
	uma = ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	ts.createUser(t, "Ada", "ada@example.com", "ada-password", store.RoleAdmin)
	user, admin = ts.client(t), ts.client(t)
	user.login("uma@example.com", "uma-password")
	admin.login("ada@example.com", "ada-password")
	return ts, user, admin, uma
}

// keysOf reads the user's keys from the store.
func keysOf(t *testing.T, ts *testServer, u *store.User) []*store.APIKey {
	t.Helper()
	keys, err := ts.db.KeysForUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func htmxOr(htmx bool) map[string]string {
	if htmx {
		return map[string]string{"HX-Request": "true"}
	}
	return nil
}

// exact is how the pages write a moment in full.
func exact(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04:05 MST") }

func TestCreateFormOffersExpiryAndScopes(t *testing.T) {
	ts, user, admin, _ := lifecycleServer(t, 0)
	tomorrow := ts.clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Format(time.DateOnly)
	for _, htmx := range []bool{false, true} {
		form := user.do("GET", "/settings/api-keys/new", nil, htmxOr(htmx))
		assertStatus(t, form, http.StatusOK)
		assertContains(t, form, "<legend>Expiration</legend>",
			`name="expires_in" value="7"`, `name="expires_in" value="30" checked`, `name="expires_in" value="90"`,
			`name="expires_in" value="365"`, `name="expires_in" value="never"`, `name="expires_in" value="custom"`,
			">7 days</span>", ">30 days</span>", ">1 year</span>", ">No expiration</span>", ">Custom date</span>",
			`<label for="create-expires-on">Expiration date</label>`, `type="date"`, `name="expires_on"`, `min="`+tomorrow+`"`,
			"<legend>Permissions</legend>", `name="scopes" value=""`,
			`value="profile:read" checked`, "Read your profile: GET /api/v1/me",
			`value="keys:read" checked`, `value="payments:write" checked`, "Create payments and refunds",
			`value="webhooks:manage" checked`)
		// keys:verify is an admin's to grant, and never ticked by default.
		assertLacks(t, form, "keys:verify", `max="`)
	}
	adminForm := admin.get("/settings/api-keys/new")
	assertContains(t, adminForm, `value="keys:verify"`, "Admins only", `value="profile:read" checked`)
	assertLacks(t, adminForm, `value="keys:verify" checked`)
}

// A post that names no scopes and no expiry gets the defaults: the first
// contract's flow (name, description, create, confirm) still makes a
// working key, now with 30 days and every scope but keys:verify.
func TestCreateDefaultsWhenFieldsAreAbsent(t *testing.T) {
	ts, user, _, uma := lifecycleServer(t, 0)
	now := ts.clock.Now()
	form := url.Values{"name": {"First contract"}, "description": {"posts name and description only"}}
	confirm := user.post("/settings/api-keys", form)
	assertStatus(t, confirm, http.StatusOK)
	want30 := exact(now.Add(30 * 24 * time.Hour))
	assertContains(t, confirm, "Create this key?", "<dt>Expires</dt>", want30, "(in 30 days)", "<dt>Permissions</dt>",
		`<input type="hidden" name="expires_in" value="30">`, `<input type="hidden" name="scopes" value="payments:read">`)
	assertLacks(t, confirm, "keys:verify")

	form.Set("action", "confirm")
	res := user.post("/settings/api-keys", form)
	assertStatus(t, res, http.StatusOK)
	keys := keysOf(t, ts, uma)
	if len(keys) != 1 {
		t.Fatalf("%d keys", len(keys))
	}
	k := keys[0]
	wantScopes := []string{"profile:read", "keys:read", "payments:read", "payments:write", "customers:read", "webhooks:manage"}
	if !slices.Equal(k.Scopes, wantScopes) {
		t.Errorf("scopes %v, want %v", k.Scopes, wantScopes)
	}
	if d := k.ExpiresAt.Sub(now); d != 30*24*time.Hour {
		t.Errorf("expires %v after creation, want 30 days", d)
	}
	me := ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + fullKey.FindString(res.body)})
	assertStatus(t, me, http.StatusOK)
}

func TestCreateWithChosenTerms(t *testing.T) {
	ts, user, admin, uma := lifecycleServer(t, 0)
	today := ts.clock.Now().UTC().Truncate(24 * time.Hour)
	date := today.AddDate(0, 0, 45)

	t.Run("a custom date and two scopes: the confirmation states them, the key holds them", func(t *testing.T) {
		form := url.Values{"name": {"Payments reader"}, "description": {"reads payments"}, "expires_in": {"custom"},
			"expires_on": {date.Format(time.DateOnly)}, "scopes": {"", "customers:read", "payments:read"}}
		for _, htmx := range []bool{false, true} {
			confirm := user.do("POST", "/settings/api-keys", form, htmxOr(htmx))
			assertStatus(t, confirm, http.StatusOK)
			assertContains(t, confirm, "<dd>Payments reader</dd>", ">reads payments</dd>", exact(date), "(in 45 days)",
				"<code>payments:read</code>", "Read payments and refunds", "<code>customers:read</code>", "Read customer records",
				`value="custom"`, `name="expires_on" value="`+date.Format(time.DateOnly)+`"`,
				`value="confirm"`, `value="edit"`, ">Edit details</button>", `value="cancel"`)
			assertLacks(t, confirm, "<code>profile:read</code>", "<code>payments:write</code>", "kdk_")
		}
		form.Set("action", "confirm")
		created := user.post("/settings/api-keys", form)
		assertStatus(t, created, http.StatusOK)
		// The shown-once panel states the expiry and the scopes too.
		assertContains(t, created, "Your new API Auth Key", "<dt>Expires</dt>", exact(date), "<code>payments:read</code>")
		k := keysOf(t, ts, uma)[0]
		if !k.ExpiresAt.Equal(date) || !slices.Equal(k.Scopes, []string{"payments:read", "customers:read"}) {
			t.Errorf("stored expiry %v scopes %v; want %v (00:00 UTC) and payments:read, customers:read", k.ExpiresAt, k.Scopes, date)
		}
	})

	t.Run("Edit details goes back to the form with every input kept, and creates nothing", func(t *testing.T) {
		before := len(keysOf(t, ts, uma))
		form := url.Values{"name": {"Kept"}, "description": {"kept as typed"}, "expires_in": {"custom"},
			"expires_on": {date.Format(time.DateOnly)}, "scopes": {"", "webhooks:manage"}, "action": {"edit"}}
		for _, htmx := range []bool{false, true} {
			res := user.do("POST", "/settings/api-keys", form, htmxOr(htmx))
			assertStatus(t, res, http.StatusOK)
			assertContains(t, res, "New API Auth Key", `value="Kept"`, ">kept as typed</textarea>",
				`value="custom" checked`, `value="`+date.Format(time.DateOnly)+`"`, `value="webhooks:manage" checked`)
			assertLacks(t, res, `value="payments:read" checked`, `value="30" checked`, "field__error")
		}
		if len(keysOf(t, ts, uma)) != before {
			t.Error("Edit details created a key")
		}
	})

	t.Run("No expiration makes a key that never expires", func(t *testing.T) {
		form := url.Values{"name": {"Forever"}, "description": {"d"}, "expires_in": {"never"}, "scopes": {"", "profile:read"}}
		confirm := user.post("/settings/api-keys", form)
		assertContains(t, confirm, "Never <span class=\"muted\">(no expiration)</span>")
		form.Set("action", "confirm")
		assertStatus(t, user.post("/settings/api-keys", form), http.StatusOK)
		for _, k := range keysOf(t, ts, uma) {
			if k.Name == "Forever" && !k.ExpiresAt.IsZero() {
				t.Errorf("expires %v", k.ExpiresAt)
			}
		}
	})

	t.Run("an admin may grant keys:verify to their own key", func(t *testing.T) {
		form := url.Values{"name": {"Gateway"}, "description": {"verifies callers"}, "scopes": {"", "keys:verify"}, "action": {"confirm"}}
		assertStatus(t, admin.post("/settings/api-keys", form), http.StatusOK)
	})
}

func TestCreateRefusesBadTerms(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxLifetime int
		form        url.Values
		field, msg  string // the error's element id, and its sentence
	}{
		{"a date that is today", 0, url.Values{"expires_in": {"custom"}, "expires_on": {"TODAY"}},
			"create-expires-on-error", "Choose a date from tomorrow on."},
		{"a date in the past", 0, url.Values{"expires_in": {"custom"}, "expires_on": {"2001-01-01"}},
			"create-expires-on-error", "Choose a date from tomorrow on."},
		{"custom without a date", 0, url.Values{"expires_in": {"custom"}, "expires_on": {""}},
			"create-expires-on-error", "Choose the date the key expires."},
		{"a date that is not a date", 0, url.Values{"expires_in": {"custom"}, "expires_on": {"31/12/2030"}},
			"create-expires-on-error", "Enter a date as YYYY-MM-DD."},
		{"an expiry that is not offered", 0, url.Values{"expires_in": {"45"}},
			"create-expires-error", "Choose one of the expiration options."},
		{"no expiration under a maximum lifetime", 90, url.Values{"expires_in": {"never"}},
			"create-expires-error", "Keys must expire within 90 days."},
		{"a preset beyond the maximum lifetime", 90, url.Values{"expires_in": {"365"}},
			"create-expires-error", "Keys must expire within 90 days."},
		{"a date beyond the maximum lifetime", 90, url.Values{"expires_in": {"custom"}, "expires_on": {"DAY+91"}},
			"create-expires-on-error", "Choose a date within 90 days"},
		{"no scope ticked", 0, url.Values{"scopes": {""}},
			"create-scopes-error", "Choose at least one permission."},
		{"a scope the platform does not offer", 0, url.Values{"scopes": {"", "root:everything"}},
			"create-scopes-error", "is not a scope this platform offers."},
		{"keys:verify by a user who is not an admin", 0, url.Values{"scopes": {"", "profile:read", "keys:verify"}},
			"create-scopes-error", "Only an admin can grant keys:verify."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, user, _, uma := lifecycleServer(t, tc.maxLifetime)
			today := ts.clock.Now().UTC().Truncate(24 * time.Hour)
			form := url.Values{"name": {"Refused"}, "description": {"never made"}}
			for k, v := range tc.form {
				for i := range v {
					v[i] = strings.NewReplacer("TODAY", today.Format(time.DateOnly),
						"DAY+91", today.AddDate(0, 0, 91).Format(time.DateOnly)).Replace(v[i])
				}
				form[k] = v
			}
			for _, action := range []string{"", "confirm"} {
				for _, htmx := range []bool{false, true} {
					form.Set("action", action)
					res := user.do("POST", "/settings/api-keys", form, htmxOr(htmx))
					assertStatus(t, res, http.StatusUnprocessableEntity)
					assertContains(t, res, `id="`+tc.field+`"`, tc.msg, `value="Refused"`, "New API Auth Key")
					assertLacks(t, res, "Create this key?", "kdk_")
				}
			}
			if n := len(keysOf(t, ts, uma)); n != 0 {
				t.Errorf("a refused create made %d keys", n)
			}
		})
	}
}

func TestMaxKeyLifetime(t *testing.T) {
	t.Run("presets beyond it and No expiration are not offered; a date within it is taken", func(t *testing.T) {
		ts, user, _, uma := lifecycleServer(t, 90)
		today := ts.clock.Now().UTC().Truncate(24 * time.Hour)
		form := user.get("/settings/api-keys/new")
		assertContains(t, form, `value="7"`, `value="30" checked`, `value="90"`, `value="custom"`,
			`max="`+today.AddDate(0, 0, 90).Format(time.DateOnly)+`"`, "at the latest "+today.AddDate(0, 0, 90).Format("2 Jan 2006"))
		assertLacks(t, form, `value="365"`, `value="never"`, "No expiration")
		last := today.AddDate(0, 0, 90)
		res := user.post("/settings/api-keys", url.Values{"name": {"Longest"}, "description": {"d"}, "expires_in": {"custom"},
			"expires_on": {last.Format(time.DateOnly)}, "action": {"confirm"}})
		assertStatus(t, res, http.StatusOK)
		if k := keysOf(t, ts, uma)[0]; !k.ExpiresAt.Equal(last) {
			t.Errorf("expires %v, want %v", k.ExpiresAt, last)
		}
	})
	t.Run("under a maximum shorter than 30 days the default is the longest preset within it", func(t *testing.T) {
		ts, user, _, uma := lifecycleServer(t, 20)
		assertContains(t, user.get("/settings/api-keys/new"), `value="7" checked`)
		res := user.post("/settings/api-keys", url.Values{"name": {"Short"}, "description": {"d"}, "action": {"confirm"}})
		assertStatus(t, res, http.StatusOK)
		if d := keysOf(t, ts, uma)[0].ExpiresAt.Sub(ts.clock.Now()); d > 7*24*time.Hour+time.Second || d < 7*24*time.Hour-time.Second {
			t.Errorf("expires in %v, want 7 days", d)
		}
	})
}

func TestShownOnceUsageExample(t *testing.T) {
	curl := regexp.MustCompile(`curl -H &#34;Authorization: Bearer (kdk_[0-9A-Za-z]{36})&#34; (\S+)</code>`)
	create := func(t *testing.T, c *client, name string, scopes ...string) (key, target, body string) {
		t.Helper()
		form := url.Values{"name": {name}, "description": {"d"}, "action": {"confirm"}}
		if scopes != nil {
			form["scopes"] = append([]string{""}, scopes...)
		}
		res := c.post("/settings/api-keys", form)
		assertStatus(t, res, http.StatusOK)
		m := curl.FindStringSubmatch(res.body)
		if m == nil {
			t.Fatalf("no usage example:\n%s", res.body)
		}
		if m[1] != fullKey.FindString(res.body) {
			t.Errorf("the example holds %s, not the new key", m[1])
		}
		assertContains(t, res, `data-copy="#usage-example"`, ">Copy command</button>", `id="usage-example"`)
		return m[1], m[2], res.body
	}

	t.Run("on this server's own address, and the call works", func(t *testing.T) {
		ts, user, _, _ := lifecycleServer(t, 0)
		key, target, _ := create(t, user, "Example")
		if target != ts.URL+"/api/v1/me" {
			t.Errorf("the example calls %s, want %s/api/v1/me", target, ts.URL)
		}
		me := ts.client(t).do("GET", strings.TrimPrefix(target, ts.URL), nil, map[string]string{"Authorization": "Bearer " + key})
		assertStatus(t, me, http.StatusOK)
	})
	t.Run("on --public-url when it is set", func(t *testing.T) {
		_, user, _, _ := lifecycleServer(t, 0, func(c *Config) { c.PublicURL = "https://keys.example.com/" })
		if _, target, _ := create(t, user, "Public"); target != "https://keys.example.com/api/v1/me" {
			t.Errorf("the example calls %s", target)
		}
	})
	t.Run("a key without profile:read is shown a call it may make", func(t *testing.T) {
		ts, user, _, _ := lifecycleServer(t, 0)
		_, target, body := create(t, user, "Lister", "keys:read")
		if target != ts.URL+"/api/v1/keys" {
			t.Errorf("the example calls %s, want /api/v1/keys", target)
		}
		if strings.Contains(body, "insufficient_scope") {
			t.Error("a note of refusal for a key that may call the example")
		}
		_, _, body = create(t, user, "Platform only", "payments:read")
		if !strings.Contains(body, "Keydesk&#39;s own API refuses this call (403, insufficient_scope)") {
			t.Errorf("no note that the example will be refused:\n%s", body)
		}
	})
}

func TestKeyTableExpiryAndScopes(t *testing.T) {
	ts, user, _, uma := lifecycleServer(t, 0)
	now := ts.clock.Now()
	mk := func(name string, scopes []string, expires time.Time) *store.APIKey {
		t.Helper()
		k, _, err := ts.db.CreateKey(context.Background(), uma.ID, store.NewKey{Name: name, Description: "d", Scopes: scopes, ExpiresAt: expires}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	legacy := mk("Legacy", nil, time.Time{})
	twelve := mk("Twelve days", []string{"payments:read", "customers:read"}, now.Add(12*24*time.Hour))
	soon := mk("Soon", []string{"profile:read"}, now.Add(3*24*time.Hour))
	soonest := mk("Soonest", []string{"profile:read"}, now.Add(2*time.Hour))
	expiring, secret, err := ts.db.CreateKey(context.Background(), uma.ID,
		store.NewKey{Name: "Expiring", Description: "d", Scopes: []string{"profile:read"}, ExpiresAt: now.Add(24 * time.Hour)}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?s)<tr id="row-[^"]+"[^>]*>.*?</tr>`)
	rowOf := func(res response, k *store.APIKey) string {
		t.Helper()
		for _, r := range row.FindAllString(res.body, -1) {
			if strings.Contains(r, `id="row-`+k.PublicID+`"`) {
				return r
			}
		}
		t.Fatalf("no row for %s", k.Name)
		return ""
	}

	page := user.get("/settings/api-keys")
	assertStatus(t, page, http.StatusOK)
	t.Run("Expires: Never, or a time to come with the exact time on hover", func(t *testing.T) {
		if r := rowOf(page, legacy); !strings.Contains(r, `<td data-label="Expires"><span class="key-expires"><span class="muted">Never</span>`) {
			t.Errorf("legacy row: %s", r)
		}
		if r := rowOf(page, twelve); !strings.Contains(r, `title="`+exact(twelve.ExpiresAt)+`"`) || !strings.Contains(r, ">in 12 days</time>") {
			t.Errorf("12-day row: %s", r)
		}
	})
	t.Run("the row shows the key's scopes, or All scopes for a key made before them", func(t *testing.T) {
		if r := rowOf(page, legacy); !strings.Contains(r, ">All scopes</li>") {
			t.Errorf("legacy row: %s", r)
		}
		r := rowOf(page, twelve)
		if !strings.Contains(r, `<code class="scope-badge">payments:read</code>`) || !strings.Contains(r, `<code class="scope-badge">customers:read</code>`) ||
			strings.Contains(r, "profile:read") || strings.Contains(r, "All scopes") {
			t.Errorf("scoped row: %s", r)
		}
	})
	t.Run("keys expiring within 7 days are announced, soonest first, with Regenerate", func(t *testing.T) {
		assertContains(t, page, `<div id="expiry-notice">`, "3 keys expire within 7 days",
			`href="/settings/api-keys/`+soon.PublicID+`/regenerate"`, `aria-label="Regenerate Soon"`)
		notice := page.body[strings.Index(page.body, `id="expiry-notice"`):strings.Index(page.body, `id="create-panel"`)]
		i, j, k := strings.Index(notice, "Soonest"), strings.Index(notice, "Expiring"), strings.Index(notice, ">Soon<")
		if i < 0 || j < 0 || k < 0 || i > j || j > k || strings.Contains(notice, "Twelve days") || strings.Contains(notice, "Legacy") {
			t.Errorf("notice lists the wrong keys, or out of order:\n%s", notice)
		}
	})

	// The switch is flipped off before the expiry, so that enabling it
	// after is what is refused.
	if _, err := ts.db.SetKeyEnabled(context.Background(), uma.ID, expiring.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	ts.clock.Advance(24 * time.Hour)
	t.Run("a key past its expiry: Expired, a locked switch that says so, and Regenerate", func(t *testing.T) {
		page := user.get("/settings/api-keys")
		r := rowOf(page, expiring)
		for _, want := range []string{">Expired</time>", `class="badge badge--danger expires--expired"`,
			`aria-describedby="switch-` + expiring.PublicID + `-note" disabled`, `id="switch-` + expiring.PublicID + `-note"`, ">Expired</span>",
			`href="/settings/api-keys/` + expiring.PublicID + `/regenerate"`, `aria-label="Regenerate Expiring"`} {
			if !strings.Contains(r, want) {
				t.Errorf("expired row lacks %q: %s", want, r)
			}
		}
		// Expired keys are past announcing: the notice keeps Soon only.
		assertContains(t, page, "1 key expires within 7 days")
		if r := rowOf(page, soonest); !strings.Contains(r, ">Expired</time>") {
			t.Errorf("a key 22 hours past its expiry: %s", r)
		}
		if r := rowOf(page, soon); strings.Contains(r, "Expired") || strings.Contains(r, " disabled>") {
			t.Errorf("a key not yet expired looks expired: %s", r)
		}
	})
	t.Run("its switch cannot enable it, even posted by hand", func(t *testing.T) {
		for _, htmx := range []bool{false, true} {
			res := user.do("POST", "/settings/api-keys/"+expiring.PublicID+"/status", url.Values{"enabled": {"true"}}, htmxOr(htmx))
			assertStatus(t, res, http.StatusUnprocessableEntity)
			assertContains(t, res, "This key has expired, so it cannot be enabled again. Regenerate it")
		}
		k, _ := ts.db.KeyForUser(context.Background(), uma.ID, expiring.PublicID)
		if k.Enabled {
			t.Error("an expired key was enabled")
		}
		api := ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + secret})
		assertStatus(t, api, http.StatusUnauthorized)
	})
	t.Run("htmx answers carry the notice out of band, so it follows the table", func(t *testing.T) {
		res := user.do("POST", "/settings/api-keys/"+soon.PublicID+"/delete", nil, htmxOr(true))
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, `<div id="expiry-notice" hx-swap-oob="true"></div>`)
		assertLacks(t, res, "expire within 7 days", "expires within 7 days")
	})
}

func TestNewRowIsMarked(t *testing.T) {
	ts, user, _, uma := lifecycleServer(t, 0)
	old, _, err := ts.db.CreateKey(context.Background(), uma.ID, store.NewKey{Name: "Older", Description: "d"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	newBadge := regexp.MustCompile(`<tr id="row-([^"]+)" class="key-row--new">`)
	form := url.Values{"name": {"Fresh"}, "description": {"d"}, "action": {"confirm"}}

	res := user.post("/settings/api-keys", form)
	assertStatus(t, res, http.StatusOK)
	fresh := keysOf(t, ts, uma)[0]
	m := newBadge.FindAllStringSubmatch(res.body, -1)
	if len(m) != 1 || m[0][1] != fresh.PublicID {
		t.Errorf("marked rows %v, want only %s", m, fresh.PublicID)
	}
	assertContains(t, res, `href="/settings/api-keys?new=`+fresh.PublicID+`">Done</a>`)

	// Done, without JavaScript: the page after the panel closes.
	done := user.get("/settings/api-keys?new=" + fresh.PublicID)
	assertContains(t, done, `<tr id="row-`+fresh.PublicID+`" class="key-row--new">`, ">New</span>")
	assertLacks(t, done, `<tr id="row-`+old.PublicID+`" class="key-row--new">`, fullKey.FindString(res.body))
	assertLacks(t, user.get("/settings/api-keys"), "key-row--new")

	// With htmx the table out of band marks it as the panel shows the key.
	form.Set("name", "Fresher")
	hx := user.do("POST", "/settings/api-keys", form, htmxOr(true))
	assertStatus(t, hx, http.StatusOK)
	m = newBadge.FindAllStringSubmatch(hx.body, -1)
	if len(m) != 1 || m[0][1] != keysOf(t, ts, uma)[0].PublicID {
		t.Errorf("htmx: marked rows %v", m)
	}
}

func TestAPIKeysListsExpiryAndScopes(t *testing.T) {
	ts, _, _, uma := lifecycleServer(t, 0)
	now := ts.clock.Now()
	_, caller, err := ts.db.CreateKey(context.Background(), uma.ID, store.NewKey{Name: "Caller", Description: "d"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.db.CreateKey(context.Background(), uma.ID, store.NewKey{Name: "Short", Description: "d",
		Scopes: []string{"payments:read"}, ExpiresAt: now.Add(time.Hour)}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	ts.clock.Advance(2 * time.Hour)
	res := ts.client(t).do("GET", "/api/v1/keys", nil, map[string]string{"Authorization": "Bearer " + caller})
	assertStatus(t, res, http.StatusOK)
	var got struct {
		Keys []struct {
			Name      string     `json:"name"`
			Status    string     `json:"status"`
			Scopes    []string   `json:"scopes"`
			ExpiresAt *time.Time `json:"expires_at"`
			Expired   bool       `json:"expired"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(res.body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Keys) != 2 {
		t.Fatalf("%d keys: %s", len(got.Keys), res.body)
	}
	short, callerKey := got.Keys[0], got.Keys[1]
	if short.Status != "enabled" || !short.Expired || short.ExpiresAt == nil || !short.ExpiresAt.Equal(now.Add(time.Hour).Truncate(time.Millisecond)) ||
		!slices.Equal(short.Scopes, []string{"payments:read"}) {
		t.Errorf("expired key: %+v", short)
	}
	// A key made before scopes holds every one the operator offers (and
	// keys:verify only for an admin); it never expires.
	if callerKey.Expired || callerKey.ExpiresAt != nil || !slices.Equal(callerKey.Scopes,
		[]string{"profile:read", "keys:read", "payments:read", "payments:write", "customers:read", "webhooks:manage"}) {
		t.Errorf("legacy key: %+v", callerKey)
	}
	if !strings.Contains(res.body, `"expires_at":null`) {
		t.Errorf("no expiry is not null: %s", res.body)
	}
}

package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// regenFixture is a user with one key made through the store, signed in
// in a client, on a server of its own (its own clock).
type regenFixture struct {
	ts     *testServer
	uma    *store.User
	c      *client
	key    *store.APIKey
	secret string
}

func newRegenFixture(t *testing.T, nk store.NewKey) *regenFixture {
	t.Helper()
	ts := newTestServer(t)
	uma := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	if nk.Name == "" {
		nk.Name, nk.Description = "Deploy", "deploys"
	}
	k, secret, err := ts.db.CreateKey(context.Background(), uma.ID, nk, store.AuditEvent{Action: store.ActionKeyCreated})
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	return &regenFixture{ts: ts, uma: uma, c: c, key: k, secret: secret}
}

// api is the status GET /api/v1/me answers key.
func (f *regenFixture) api(t *testing.T, key string) int {
	t.Helper()
	return f.ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + key}).StatusCode
}

// stored reads the key back from the store.
func (f *regenFixture) stored(t *testing.T) *store.APIKey {
	t.Helper()
	k, err := f.ts.db.KeyForUser(context.Background(), f.uma.ID, f.key.PublicID)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// regenerate posts the confirmation, as htmx or as a plain form. It asks
// for gzip, as browsers do, so the test sees whether the answer is
// compressed (Go's client would otherwise ask and decompress unseen).
func (f *regenFixture) regenerate(form url.Values, htmx bool) response {
	h := map[string]string{"Accept-Encoding": "gzip"}
	if htmx {
		h["HX-Request"] = "true"
	}
	return f.c.do("POST", "/settings/api-keys/"+f.key.PublicID+"/regenerate", form, h)
}

// events are the audit events of action.
func (f *regenFixture) events(t *testing.T, action string) []store.AuditEvent {
	t.Helper()
	page, err := f.ts.db.AuditLog(context.Background(), store.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// at sets the server's clock to at (it only moves forward).
func (f *regenFixture) at(t *testing.T, at time.Time) {
	t.Helper()
	d := at.Sub(f.ts.clock.Now())
	if d < 0 {
		t.Fatalf("the clock is at %v, past %v", f.ts.clock.Now(), at)
	}
	f.ts.clock.Advance(d)
}

func htmxHeaders(htmx bool) map[string]string {
	if htmx {
		return map[string]string{"HX-Request": "true"}
	}
	return nil
}

func TestRegenerateConfirmation(t *testing.T) {
	f := newRegenFixture(t, store.NewKey{})
	path := "/settings/api-keys/" + f.key.PublicID + "/regenerate"
	for _, htmx := range []bool{false, true} {
		res := f.c.do("GET", path, nil, htmxHeaders(htmx))
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, "Regenerate Deploy?", f.key.Masked(), "keeps its name,",
			"<legend>Keep the old key working for</legend>",
			`name="overlap" value="0"`, "<span>Stop it now</span>", `value="1h"`, "<span>1 hour</span>",
			`value="24h" checked`, "<span>24 hours</span>", `value="7d"`, "<span>7 days</span>",
			`<label for="regen-expires-in">Expiration</label>`, `name="expires_in"`, `<option value="30" selected>30 days</option>`,
			`<option value="never">No expiration</option>`, `<option value="custom">Custom date</option>`,
			`<label for="regen-expires-on">Expiration date</label>`, `name="expires_on"`,
			`hx-post="`+path+`"`, `method="post" action="`+path+`"`, ">Regenerate key</button>", ">Cancel</a>")
		assertLacks(t, res, `name="scopes"`, f.secret)
		if htmx {
			assertLacks(t, res, "<html")
		} else {
			assertContains(t, res, "<html", "API Auth Key")
		}
	}
	if k := f.stored(t); k.Last4 != f.key.Last4 || k.PrevLast4 != "" {
		t.Errorf("opening the confirmation changed the key: %+v", k)
	}
	if f.api(t, f.secret) != 200 {
		t.Error("opening the confirmation broke the key")
	}
	assertContains(t, f.c.get("/settings/api-keys"), `href="`+path+`"`, `hx-get="`+path+`"`, ">Regenerate</a>",
		`aria-label="Regenerate Deploy"`)

	t.Run("a maximum lifetime takes away No expiration and bounds the date", func(t *testing.T) {
		ts := newTestServer(t, func(c *Config) { c.Policy.MaxLifetime = 90 })
		u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
		k, _, _ := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "n", Description: "d"}, store.AuditEvent{})
		c := ts.client(t)
		c.login("uma@example.com", "uma-password")
		res := c.get("/settings/api-keys/" + k.PublicID + "/regenerate")
		max := ts.db.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 90).Format(time.DateOnly)
		assertContains(t, res, `<option value="90">90 days</option>`, `max="`+max+`"`)
		assertLacks(t, res, `value="never"`, `value="365"`)
	})
}

// TestRegenerateOverlaps regenerates a key with each overlap offered, by
// htmx and by plain post: the new key is shown once and works at once, the
// key keeps its id, name, description and scopes, and the old secret works
// until the very end of its overlap and is refused from that instant.
func TestRegenerateOverlaps(t *testing.T) {
	for i, o := range store.Overlaps {
		htmx := i%2 == 1
		t.Run(o.Value, func(t *testing.T) {
			f := newRegenFixture(t, store.NewKey{Name: "Deploy", Description: "deploys",
				Scopes: []string{store.ScopeProfileRead}})
			start := f.ts.db.Now()
			res := f.regenerate(url.Values{"overlap": {o.Value}, "expires_in": {"90"}}, htmx)
			assertStatus(t, res, http.StatusOK)
			// Never compressed (BREACH), never cached.
			if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Content-Encoding") != "" {
				t.Fatalf("the answer with the key: Cache-Control %q, Content-Encoding %q",
					res.Header.Get("Cache-Control"), res.Header.Get("Content-Encoding"))
			}
			fresh := fullKey.FindString(res.body)
			if store.ParseKey(fresh) != nil || fresh == f.secret {
				t.Fatalf("no new key on the page:\n%s", res.body)
			}
			assertContains(t, res, "Your new API Auth Key", "cannot be shown again", `hx-history="false"`, `id="new-key"`,
				"Key “Deploy” regenerated.")
			if htmx {
				assertContains(t, res, `id="create-panel"`, `<section id="keys"`, `hx-swap-oob="true"`)
				assertLacks(t, res, "<html")
			} else {
				assertContains(t, res, "<html")
			}
			if strings.Contains(f.ts.logs.String(), fresh) || strings.Contains(f.ts.logs.String(), f.secret) {
				t.Error("a key reached the log")
			}

			k := f.stored(t)
			if k.PublicID != f.key.PublicID || k.Name != "Deploy" || k.Description != "deploys" ||
				!slices.Equal(k.Scopes, []string{store.ScopeProfileRead}) || k.Last4 != fresh[len(fresh)-4:] {
				t.Errorf("after regenerate: %+v", k)
			}
			if want := start.Add(90 * 24 * time.Hour); k.ExpiresAt.Before(want) || k.ExpiresAt.After(want.Add(time.Second)) {
				t.Errorf("expires at %v, want 90 days from %v", k.ExpiresAt, start)
			}
			if f.api(t, fresh) != 200 {
				t.Fatal("the new key does not work")
			}
			if code := f.ts.client(t).do("GET", "/api/v1/keys", nil, map[string]string{"X-API-Key": fresh}).StatusCode; code != 403 {
				t.Errorf("the new key reads keys (%d): its scopes were not kept", code)
			}
			if o.D == 0 {
				if f.api(t, f.secret) != 401 {
					t.Error("Stop it now: the old key still works")
				}
				assertLacks(t, f.c.get("/settings/api-keys"), "still works", "End overlap now")
				return
			}

			want := start.Add(o.D)
			if k.PrevUntil.Before(want) || k.PrevUntil.After(want.Add(time.Second)) {
				t.Errorf("old secret until %v, want %v", k.PrevUntil, want)
			}
			if f.api(t, f.secret) != 200 {
				t.Fatal("the old key stopped at once, in an overlap")
			}
			f.at(t, k.PrevUntil.Add(-time.Millisecond))
			if f.api(t, f.secret) != 200 || f.api(t, fresh) != 200 {
				t.Error("a millisecond before the end of the overlap, a key is refused")
			}
			f.at(t, k.PrevUntil)
			if f.api(t, f.secret) != 401 {
				t.Error("the old key works at the very end of its overlap")
			}
			if f.api(t, fresh) != 200 {
				t.Error("the end of the overlap stopped the new key")
			}
			assertLacks(t, f.c.get("/settings/api-keys"), "still works", "End overlap now")
		})
	}
}

// TestOverlapRow: the row says the old key works, until when (the exact
// time on hover) and when it was last used, and End overlap now stops it
// on the very next request, by htmx and by plain post.
func TestOverlapRow(t *testing.T) {
	for _, htmx := range []bool{true, false} {
		t.Run(map[bool]string{true: "htmx", false: "plain post"}[htmx], func(t *testing.T) {
			f := newRegenFixture(t, store.NewKey{})
			res := f.regenerate(url.Values{"overlap": {"24h"}, "expires_in": {"30"}}, htmx)
			assertStatus(t, res, http.StatusOK)
			fresh := fullKey.FindString(res.body)
			k := f.stored(t)
			end := "/settings/api-keys/" + k.PublicID + "/end-overlap"

			page := f.c.get("/settings/api-keys")
			assertContains(t, page, "Old key <code class=\"masked-key\">kdk_…"+f.secret[len(f.secret)-4:]+"</code> still works",
				"Stops <time datetime=\""+k.PrevUntil.Format(time.RFC3339)+"\" title=\""+k.PrevUntil.Format("2 Jan 2006, 15:04:05 MST")+"\">in 24 hours</time>",
				"Not used since regenerating", `method="post" action="`+end+`"`, `hx-post="`+end+`"`, ">End overlap now</button>")

			f.ts.clock.Advance(3 * time.Hour)
			if f.api(t, f.secret) != 200 {
				t.Fatal("the old key does not work in its overlap")
			}
			if err := f.ts.uses.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			f.ts.clock.Advance(5 * time.Minute)
			page = f.c.get("/settings/api-keys")
			assertContains(t, page, "in 21 hours", "Last used <time", ">5 minutes ago</time>")
			assertLacks(t, page, "Not used since regenerating")

			assertStatus(t, f.c.get(end), http.StatusMethodNotAllowed)
			res = f.c.do("POST", end, nil, htmxHeaders(htmx))
			notice := "The old key of “Deploy” stopped working. Only its new key works now."
			if htmx {
				assertStatus(t, res, http.StatusOK)
				assertContains(t, res, `<section id="keys"`, notice, `id="row-`+k.PublicID+`"`)
				assertLacks(t, res, "<html", "still works")
			} else {
				assertStatus(t, res, http.StatusSeeOther)
				if loc := res.Header.Get("Location"); loc != "/settings/api-keys" {
					t.Errorf("redirect to %q", loc)
				}
				page := f.c.get("/settings/api-keys")
				assertContains(t, page, notice)
				assertLacks(t, page, "still works")
			}
			if f.api(t, f.secret) != 401 {
				t.Error("the old key works after End overlap now")
			}
			if f.api(t, fresh) != 200 {
				t.Error("End overlap now stopped the new key")
			}

			again := f.c.do("POST", end, nil, htmxHeaders(htmx))
			if htmx {
				assertStatus(t, again, http.StatusOK)
				assertContains(t, again, "The old key of “Deploy” had already stopped working.")
			} else {
				assertStatus(t, again, http.StatusSeeOther)
				assertContains(t, f.c.get("/settings/api-keys"), "The old key of “Deploy” had already stopped working.")
			}

			if ev := f.events(t, store.ActionKeyOverlapEnd); len(ev) != 1 || ev[0].Target != k.PublicID ||
				ev[0].Actor != "uma@example.com" || !strings.Contains(ev[0].Detail, "was to work until") {
				t.Errorf("overlap end events: %+v", ev)
			}
			ev := f.events(t, store.ActionKeyRegenerated)
			if len(ev) != 1 || ev[0].Target != k.PublicID || ev[0].Actor != "uma@example.com" || ev[0].IP == "" ||
				!strings.Contains(ev[0].Detail, "overlap: 24 hours, the old secret works until ") {
				t.Errorf("regenerate events: %+v", ev)
			}
			for _, e := range append(ev, f.events(t, store.ActionKeyOverlapEnd)...) {
				for _, s := range []string{f.secret, fresh, f.secret[4:], fresh[4:]} {
					if strings.Contains(e.Detail+e.Target+e.Actor, s) {
						t.Errorf("an audit event holds a key: %+v", e)
					}
				}
			}
		})
	}
}

// TestRegenerateRefusals: bad input is answered with the confirmation
// again, the error beside its field and the input kept (422), for htmx
// in the row, and changes nothing.
func TestRegenerateRefusals(t *testing.T) {
	f := newRegenFixture(t, store.NewKey{})
	tomorrow := f.ts.db.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1).Format(time.DateOnly)
	today := f.ts.db.Now().UTC().Format(time.DateOnly)
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string // the id of the error
		msg   string
		kept  []string
	}{
		{"no overlap", url.Values{"expires_in": {"30"}}, "regen-overlap", msgChooseOverlap, []string{`<option value="30" selected>`}},
		{"an overlap not offered", url.Values{"overlap": {"2h"}, "expires_in": {"7"}}, "regen-overlap", msgChooseOverlap, []string{`<option value="7" selected>`}},
		{"an expiry not offered", url.Values{"overlap": {"1h"}, "expires_in": {"999"}}, "regen-expires-in",
			"Choose one of the expiration options.", []string{`value="1h" checked`}},
		{"a custom date without a date", url.Values{"overlap": {"7d"}, "expires_in": {"custom"}}, "regen-expires-on",
			"Choose the date the key expires.", []string{`value="7d" checked`, `<option value="custom" selected>`}},
		{"a custom date today", url.Values{"overlap": {"0"}, "expires_in": {"custom"}, "expires_on": {today}}, "regen-expires-on",
			"Choose a date from tomorrow on.", []string{`value="0" checked`, `value="` + today + `"`, `min="` + tomorrow + `"`}},
		{"a date that is not one", url.Values{"overlap": {"1h"}, "expires_in": {"custom"}, "expires_on": {"soon"}}, "regen-expires-on",
			"Enter a date as YYYY-MM-DD.", []string{`value="soon"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, htmx := range []bool{false, true} {
				res := f.regenerate(tc.form, htmx)
				assertStatus(t, res, http.StatusUnprocessableEntity)
				assertContains(t, res, `id="`+tc.field+`-error">`+tc.msg, `aria-describedby="`+tc.field+`-error"`, "Regenerate Deploy?")
				assertContains(t, res, tc.kept...)
				if fullKey.FindString(res.body) != "" {
					t.Error("a refused regenerate showed a key")
				}
				if htmx {
					if res.Header.Get("HX-Retarget") != "#keys" || res.Header.Get("HX-Reswap") != "outerHTML" {
						t.Errorf("htmx answer retargets to %q, %q; want the table", res.Header.Get("HX-Retarget"), res.Header.Get("HX-Reswap"))
					}
					assertLacks(t, res, "<html")
				} else {
					assertContains(t, res, "<html")
				}
			}
		})
	}
	if k := f.stored(t); k.Last4 != f.key.Last4 || k.PrevLast4 != "" || !k.ExpiresAt.Equal(f.key.ExpiresAt) {
		t.Errorf("a refused regenerate changed the key: %+v", k)
	}
	if len(f.events(t, store.ActionKeyRegenerated)) != 0 {
		t.Error("a refused regenerate was audited")
	}
	if f.api(t, f.secret) != 200 {
		t.Error("a refused regenerate broke the key")
	}
}

// TestRegenerateOthersKey: another user's key id is 404 to every step, by
// htmx or not, and changes nothing.
func TestRegenerateOthersKey(t *testing.T) {
	f := newRegenFixture(t, store.NewKey{})
	f.ts.createUser(t, "Bob", "bob@example.com", "bob-password", store.RoleUser)
	bob := f.ts.client(t)
	bob.login("bob@example.com", "bob-password")
	// An overlap to end, so that a 404 cannot be the absence of one.
	res := f.regenerate(url.Values{"overlap": {"7d"}}, false)
	assertStatus(t, res, http.StatusOK)
	fresh := fullKey.FindString(res.body)
	before := f.stored(t)
	for _, r := range []struct{ method, path string }{
		{"GET", "/settings/api-keys/" + f.key.PublicID + "/regenerate"},
		{"POST", "/settings/api-keys/" + f.key.PublicID + "/regenerate"},
		{"POST", "/settings/api-keys/" + f.key.PublicID + "/end-overlap"},
		{"POST", "/settings/api-keys/key_doesnotexist/regenerate"},
		{"POST", "/settings/api-keys/key_doesnotexist/end-overlap"},
	} {
		for _, htmx := range []bool{false, true} {
			res := bob.do(r.method, r.path, url.Values{"overlap": {"0"}, "expires_in": {"30"}}, htmxHeaders(htmx))
			assertStatus(t, res, http.StatusNotFound)
			assertLacks(t, res, "Deploy", "kdk_…")
		}
	}
	if after := f.stored(t); after.Last4 != before.Last4 || !after.PrevUntil.Equal(before.PrevUntil) {
		t.Errorf("bob changed uma's key: %+v", after)
	}
	if f.api(t, f.secret) != 200 || f.api(t, fresh) != 200 {
		t.Error("bob's requests stopped one of uma's secrets")
	}
	if n := len(f.events(t, store.ActionKeyRegenerated)); n != 1 {
		t.Errorf("%d regenerate events, want uma's one", n)
	}
}

// TestRegenerateExpiredKey: an expired key is offered no overlap (its old
// secret cannot come back) and Regenerate brings it back with a new expiry.
func TestRegenerateExpiredKey(t *testing.T) {
	f := newRegenFixture(t, store.NewKey{ExpiresAt: time.Now().Add(time.Hour)})
	f.ts.clock.Advance(2 * time.Hour)
	if f.api(t, f.secret) != 401 {
		t.Fatal("an expired key works")
	}
	ask := f.c.get("/settings/api-keys/" + f.key.PublicID + "/regenerate")
	assertStatus(t, ask, http.StatusOK)
	assertContains(t, ask, "This key has expired.", `<input type="hidden" name="overlap" value="0">`)
	assertLacks(t, ask, "Keep the old key working for")

	res := f.regenerate(url.Values{"overlap": {"0"}, "expires_in": {"7"}}, true)
	assertStatus(t, res, http.StatusOK)
	fresh := fullKey.FindString(res.body)
	if f.api(t, fresh) != 200 {
		t.Fatal("the regenerated key does not work")
	}
	if f.api(t, f.secret) != 401 {
		t.Error("the expired secret came back")
	}
	k := f.stored(t)
	if want := f.ts.db.Now().Add(7 * 24 * time.Hour); k.Expired(f.ts.db.Now()) || k.ExpiresAt.After(want) || k.ExpiresAt.Before(want.Add(-time.Second)) {
		t.Errorf("expires at %v, want 7 days from now", k.ExpiresAt)
	}
	// Expired again, with an overlap asked for anyway: the expired secret
	// does not come back.
	f.ts.clock.Advance(8 * 24 * time.Hour)
	f.c.login("uma@example.com", "uma-password") // the session has timed out meanwhile
	res = f.regenerate(url.Values{"overlap": {"7d"}, "expires_in": {"30"}}, false)
	assertStatus(t, res, http.StatusOK)
	if f.api(t, fresh) != 401 {
		t.Error("a secret that expired works again in an overlap")
	}
	if ev := f.events(t, store.ActionKeyRegenerated); len(ev) != 2 || !strings.Contains(ev[0].Detail, "the old secret had expired") {
		t.Errorf("regenerate events: %+v", ev)
	}
}

// TestRegenerateDisabledKey: a key its owner or an admin disabled can be
// regenerated, and stays disabled; the confirmation says so.
func TestRegenerateDisabledKey(t *testing.T) {
	for _, byAdmin := range []bool{false, true} {
		t.Run(map[bool]string{false: "by its owner", true: "by an admin"}[byAdmin], func(t *testing.T) {
			f := newRegenFixture(t, store.NewKey{})
			ctx := context.Background()
			var err error
			if byAdmin {
				_, err = f.ts.db.AdminSetKeyEnabled(ctx, f.key.PublicID, false, store.AuditEvent{Action: store.ActionKeyDisabled})
			} else {
				_, err = f.ts.db.SetKeyEnabled(ctx, f.uma.ID, f.key.PublicID, false, store.AuditEvent{Action: store.ActionKeyDisabled})
			}
			if err != nil {
				t.Fatal(err)
			}
			note := "This key is disabled and stays disabled"
			if byAdmin {
				note = "An admin disabled this key. It stays disabled after you regenerate it"
			}
			assertContains(t, f.c.get("/settings/api-keys/"+f.key.PublicID+"/regenerate"), note, "Keep the old key working for")
			res := f.regenerate(url.Values{"overlap": {"24h"}, "expires_in": {"30"}}, true)
			assertStatus(t, res, http.StatusOK)
			fresh := fullKey.FindString(res.body)
			assertContains(t, res, "Disabled")
			if f.api(t, fresh) != 401 || f.api(t, f.secret) != 401 {
				t.Error("regenerating a disabled key made one of its secrets work")
			}
			k := f.stored(t)
			if k.Enabled || k.DisabledByAdmin != byAdmin {
				t.Errorf("after regenerate: enabled %v, disabled by admin %v", k.Enabled, k.DisabledByAdmin)
			}
			if !byAdmin {
				if _, err := f.ts.db.SetKeyEnabled(ctx, f.uma.ID, f.key.PublicID, true, store.AuditEvent{Action: store.ActionKeyEnabled}); err != nil {
					t.Fatal(err)
				}
				if f.api(t, fresh) != 200 || f.api(t, f.secret) != 200 {
					t.Error("enabled again in its overlap, the key does not take both secrets")
				}
			}
		})
	}
}

// TestRegenerateInOverlap: regenerating again while the old secret still
// works warns that it stops, and a key keeps at most one old secret.
func TestRegenerateInOverlap(t *testing.T) {
	f := newRegenFixture(t, store.NewKey{})
	res := f.regenerate(url.Values{"overlap": {"7d"}}, false)
	assertStatus(t, res, http.StatusOK)
	second := fullKey.FindString(res.body)
	assertContains(t, f.c.get("/settings/api-keys/"+f.key.PublicID+"/regenerate"),
		"The old key <code>kdk_…"+f.secret[len(f.secret)-4:]+"</code> from the last regeneration stops working at once")
	res = f.regenerate(url.Values{"overlap": {"1h"}}, true)
	assertStatus(t, res, http.StatusOK)
	third := fullKey.FindString(res.body)
	if f.api(t, f.secret) != 401 {
		t.Error("the first secret survived a second regeneration")
	}
	if f.api(t, second) != 200 || f.api(t, third) != 200 {
		t.Error("the second secret (now old, in its hour) or the third does not work")
	}
	assertContains(t, res, "kdk_…"+second[len(second)-4:]+"</code> still works", "in 1 hour")
}

// TestAuditShowsRegenerations: the audit log can be filtered by the new
// actions and shows what each changed.
func TestAuditShowsRegenerations(t *testing.T) {
	f := newRegenFixture(t, store.NewKey{})
	f.ts.createUser(t, "Ada", "ada@example.com", "ada-password", store.RoleAdmin)
	admin := f.ts.client(t)
	admin.login("ada@example.com", "ada-password")
	assertStatus(t, f.regenerate(url.Values{"overlap": {"1h"}, "expires_in": {"never"}}, false), http.StatusOK)
	assertStatus(t, f.c.post("/settings/api-keys/"+f.key.PublicID+"/end-overlap", nil), http.StatusSeeOther)

	log := admin.get("/admin/audit")
	assertContains(t, log, `<option value="key.regenerated">`, `<option value="key.overlap_ended">`)
	regen := admin.get("/admin/audit?action=key.regenerated")
	assertContains(t, regen, "<code>key.regenerated</code>", f.key.PublicID,
		`<dt>Detail</dt><dd>overlap: 1 hour, the old secret works until `, "; expires: never</dd>")
	assertLacks(t, regen, "<code>key.overlap_ended</code>")
	ended := admin.get("/admin/audit?action=key.overlap_ended")
	assertContains(t, ended, "<code>key.overlap_ended</code>", "old secret kdk_…"+f.secret[len(f.secret)-4:]+" stopped")
}

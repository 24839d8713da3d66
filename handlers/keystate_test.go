package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// stateKeys are keys in every effective state, by the state they are in:
// Uma's working, switched-off, admin-disabled and expired keys, and Olga's
// keys (one enabled, one switched off) whose owner is disabled.
type stateKeys struct {
	uma, olga    *store.User
	working      string // the secret of Uma's working key
	byState      map[store.KeyState][]*store.APIKey
	ownerKeyList []*store.APIKey // Uma's keys, in every state but owner_disabled (as read after the changes)
}

func seedStateKeys(t *testing.T, ts *testServer) stateKeys {
	t.Helper()
	ctx := context.Background()
	sk := stateKeys{byState: map[store.KeyState][]*store.APIKey{}}
	sk.uma = ts.createUser(t, "Uma User", "uma@example.com", "uma-password", store.RoleUser)
	sk.olga = ts.createUser(t, "Olga Owner", "olga@example.com", "olga-password", store.RoleUser)
	mk := func(u *store.User, name string, expires time.Time) *store.APIKey {
		k, secret, err := ts.db.CreateKey(ctx, u.ID, store.NewKey{Name: name, Description: "d", ExpiresAt: expires}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		if name == "Working" {
			sk.working = secret
		}
		return k
	}
	working := mk(sk.uma, "Working", time.Time{})
	off := mk(sk.uma, "Switched off", time.Time{})
	locked := mk(sk.uma, "Locked by admin", time.Time{})
	expired := mk(sk.uma, "Past it", ts.clock.Now().Add(-time.Minute))
	olgaOn := mk(sk.olga, "Olga on", time.Time{})
	olgaOff := mk(sk.olga, "Olga off", time.Time{})
	if _, err := ts.db.SetKeyEnabled(ctx, sk.uma.ID, off.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.AdminSetKeyEnabled(ctx, locked.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.SetKeyEnabled(ctx, sk.olga.ID, olgaOff.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := ts.db.SetUserDisabled(ctx, sk.olga.ID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	reload := func(u *store.User, ks ...**store.APIKey) {
		for _, k := range ks {
			fresh, err := ts.db.KeyForUser(ctx, u.ID, (*k).PublicID)
			if err != nil {
				t.Fatal(err)
			}
			*k = fresh
		}
	}
	reload(sk.uma, &working, &off, &locked, &expired)
	reload(sk.olga, &olgaOn, &olgaOff)
	sk.byState[store.KeyEnabled] = []*store.APIKey{working}
	sk.byState[store.KeyDisabled] = []*store.APIKey{off}
	sk.byState[store.KeyDisabledByAdmin] = []*store.APIKey{locked}
	sk.byState[store.KeyExpired] = []*store.APIKey{expired}
	sk.byState[store.KeyOwnerDisabled] = []*store.APIKey{olgaOn, olgaOff}
	sk.ownerKeyList = []*store.APIKey{working, off, locked, expired}
	return sk
}

// each calls f for every seeded key with its state.
func (sk stateKeys) each(f func(st store.KeyState, k *store.APIKey)) {
	for st, keys := range sk.byState {
		for _, k := range keys {
			f(st, k)
		}
	}
}

// A key that does not work says so, in the same words, on every surface:
// its owner's table (a muted row, and a badge in words beside the switch),
// its page (the owner's and the admin's), the inventory's status cell, the
// CSV's effective_status and the JSON API's effective_status.
func TestEffectiveStateEverywhere(t *testing.T) {
	ts := newTestServer(t)
	sk := seedStateKeys(t, ts)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	owner := ts.client(t)
	owner.login("uma@example.com", "uma-password")
	admin := ts.client(t)
	admin.login("admin@example.com", "admin-password")

	// What the status cell says beside the switch, per state: the working
	// key the switch's own word, the others a badge.
	note := func(label string) []string {
		return []string{`-note" class="badge badge--danger switch__note`, `aria-hidden="true">` + label + `</span>`}
	}
	cell := map[store.KeyState][]string{
		store.KeyEnabled:         {`<span class="switch__text" aria-hidden="true">Enabled</span>`},
		store.KeyDisabled:        {`<span class="badge badge--neutral switch__note" aria-hidden="true">Disabled</span>`},
		store.KeyDisabledByAdmin: note("Disabled by an admin"),
		store.KeyExpired:         note("Expired"),
		store.KeyOwnerDisabled:   note("Owner disabled"),
	}
	hasAll := func(html string, wants []string) bool {
		for _, w := range wants {
			if !strings.Contains(html, w) {
				return false
			}
		}
		return true
	}
	badge := map[store.KeyState]string{
		store.KeyEnabled:         `<span class="badge badge--success">Enabled</span>`,
		store.KeyDisabled:        `<span class="badge badge--neutral">Disabled</span>`,
		store.KeyDisabledByAdmin: `<span class="badge badge--danger">Disabled by an admin</span>`,
		store.KeyExpired:         `<span class="badge badge--danger">Expired</span>`,
		store.KeyOwnerDisabled:   `<span class="badge badge--danger">Owner disabled</span>`,
	}

	t.Run("owner's table", func(t *testing.T) {
		page := owner.get("/settings/api-keys")
		assertStatus(t, page, http.StatusOK)
		for _, k := range sk.ownerKeyList {
			st := store.EffectiveState(k, false, ts.clock.Now())
			row := rowHTML(page.body, "row-"+k.PublicID)
			if !hasAll(row, cell[st]) {
				t.Errorf("%s (%s): the row lacks %q:\n%s", k.Name, st, cell[st], row)
			}
			if muted := strings.Contains(row, "key-row--off"); muted == st.Works() {
				t.Errorf("%s (%s): muted %v:\n%s", k.Name, st, muted, row)
			}
		}
	})
	t.Run("key page", func(t *testing.T) {
		for _, k := range sk.ownerKeyList {
			st := store.EffectiveState(k, false, ts.clock.Now())
			assertContains(t, owner.get("/settings/api-keys/"+k.PublicID), `<dt class="details__label">Status</dt><dd class="details__value">`+badge[st])
		}
		sk.each(func(st store.KeyState, k *store.APIKey) {
			assertContains(t, admin.get("/admin/api-keys/"+k.PublicID), `<dt class="details__label">Status</dt><dd class="details__value">`+badge[st])
		})
	})
	t.Run("inventory", func(t *testing.T) {
		page := admin.get("/admin/api-keys")
		assertStatus(t, page, http.StatusOK)
		sk.each(func(st store.KeyState, k *store.APIKey) {
			row := rowHTML(page.body, "inv-"+k.PublicID)
			if !hasAll(row, cell[st]) {
				t.Errorf("%s (%s): the inventory row lacks %q:\n%s", k.Name, st, cell[st], row)
			}
		})
	})
	t.Run("CSV", func(t *testing.T) {
		records := exportRecords(t, admin, "/admin/api-keys/export")
		col := map[string]int{}
		for i, name := range records[0] {
			col[name] = i
		}
		got := map[string][]string{}
		for _, rec := range records[1:] {
			got[rec[col["key_id"]]] = rec
		}
		sk.each(func(st store.KeyState, k *store.APIKey) {
			rec := got[k.PublicID]
			if rec == nil {
				t.Fatalf("no line for %s", k.Name)
			}
			if rec[col["effective_status"]] != string(st) || rec[col["status"]] != keyStatus(k.Enabled) {
				t.Errorf("%s: status %q, effective_status %q; want %q, %q", k.Name, rec[col["status"]],
					rec[col["effective_status"]], keyStatus(k.Enabled), st)
			}
		})
	})
	t.Run("JSON API", func(t *testing.T) {
		res := ts.client(t).do(http.MethodGet, "/api/v1/keys", nil, map[string]string{"Authorization": "Bearer " + sk.working})
		assertStatus(t, res, http.StatusOK)
		var body struct {
			Keys []struct {
				ID              string `json:"id"`
				Status          string `json:"status"`
				EffectiveStatus string `json:"effective_status"`
			} `json:"keys"`
		}
		if err := json.Unmarshal([]byte(res.body), &body); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, k := range body.Keys {
			got[k.ID] = k.EffectiveStatus
		}
		for _, k := range sk.ownerKeyList {
			if want := string(store.EffectiveState(k, false, ts.clock.Now())); got[k.PublicID] != want {
				t.Errorf("%s: effective_status %q, want %q", k.Name, got[k.PublicID], want)
			}
		}
	})
}

// The key table, as served (so with JavaScript off too): a short
// description whole, with its text on hover; a long one in a <details>
// whose summary holds the whole text and a Show more; and, before the
// first key, what a key is for, a Create API Auth Key that opens the form
// and the first call to make.
func TestKeyTableDescriptionsAndEmptyState(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma User", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")

	empty := c.get("/settings/api-keys")
	assertStatus(t, empty, http.StatusOK)
	assertContains(t, empty, "No API Auth Keys yet", "lets a script, a CI job or a service call the Keydesk API as you",
		`<a id="create-open-empty" class="button button--primary keys-empty__create" href="/settings/api-keys/new"`,
		`hx-get="/settings/api-keys/new" hx-target="#create-panel"`,
		`curl -H "Authorization: Bearer $KEYDESK_KEY" `+ts.URL+`/api/v1/me`, `<a href="/api/openapi.json">OpenAPI document</a>`)
	form := c.get("/settings/api-keys/new")
	assertStatus(t, form, http.StatusOK)
	assertContains(t, form, `name="name"`, `name="description"`)

	long := strings.Repeat("Reconciles the ledger nightly. ", 6)
	for name, desc := range map[string]string{"Short": "Deploys.", "Long": long, "Lines": "One line.\nAnother."} {
		if _, _, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: name, Description: desc}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	page := c.get("/settings/api-keys")
	assertLacks(t, page, "No API Auth Keys yet", "create-open-empty")
	keys, err := ts.db.KeysForUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		row := rowHTML(page.body, "row-"+k.PublicID)
		details := `<details class="key-desc" id="desc-` + k.PublicID + `"><summary class="key-desc__summary" title="`
		switch k.Name {
		case "Short":
			if !strings.Contains(row, `<span class="key-desc__text" title="Deploys.">Deploys.</span>`) || strings.Contains(row, "<details") {
				t.Errorf("the short description:\n%s", row)
			}
		default:
			if !strings.Contains(row, details) || !strings.Contains(row, ">Show more</span>") ||
				!strings.Contains(row, `<span class="key-desc__text">`+k.Description+`</span>`) {
				t.Errorf("the description of %s, %d characters, is not whole behind Show more:\n%s", k.Name, len(k.Description), row)
			}
		}
	}
}

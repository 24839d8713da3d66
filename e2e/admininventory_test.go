package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// The owner's keys the inventory's lifecycle filters sort out: one of each
// expiry, with scopes, and one made before scopes.
var (
	soonKey    = "Invoice export"  // expires in 3 days; payments:read
	expiredKey = "Webhook relay"   // expired an hour ago, switched off; webhooks:manage
	foreverKey = "Customer lookup" // never expires; customers:read, profile:read and keys:read
	legacyKey  = "Nightly backup"  // made before scopes and expiry: every scope, never expires
)

func seedInventory(t *testing.T, db *sqlstore.DB, owner *store.User) {
	t.Helper()
	now := db.Now()
	for _, k := range []struct {
		name    string
		expires time.Time
		scopes  []string
	}{
		{soonKey, now.Add(3 * 24 * time.Hour), []string{"payments:read"}},
		{expiredKey, now.Add(-time.Hour), []string{"webhooks:manage"}},
		{foreverKey, time.Time{}, []string{store.ScopeProfileRead, store.ScopeKeysRead, "customers:read"}},
		{legacyKey, time.Time{}, nil},
	} {
		key, _, err := db.CreateKey(t.Context(), owner.ID, store.NewKey{Name: k.name, Description: "Made by the inventory tests.",
			ExpiresAt: k.expires, Scopes: k.scopes}, store.AuditEvent{Actor: "test", Action: store.ActionKeyCreated, SubjectID: owner.ID})
		if err != nil {
			t.Fatalf("create key %q: %v", k.name, err)
		}
		if k.name == expiredKey {
			setKeyEnabled(t, db, owner, key, false)
		}
	}
}

// TestAdminFiltersByExpiryAndScope has the admin narrow the inventory by
// expiry, then by scope and expiry together, read each row's Expires and
// Scopes, open a key's list of scopes from the keyboard, find an expired
// key's switch locked, and clear the filters; every filtered page passes
// axe-core, in light and dark, and at phone width does not scroll sideways.
func TestAdminFiltersByExpiryAndScope(t *testing.T) {
	src, err := os.ReadFile(axeSource)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	seedInventory(t, db, owner)
	var found axeFindings
	checkPage := func(name string) {
		t.Helper()
		for _, scheme := range []string{"light", "dark"} {
			run(t, ctx, name+": "+scheme, colorScheme(scheme))
			found.add(name+" ("+scheme+")", runAxe(t, ctx, string(src), name))
		}
		run(t, ctx, name+": back to light", colorScheme("light"))
	}

	signInAs(t, ctx, base, adminAcct)
	openAdminFromMenu(t, ctx, adminAcct.Name)
	wantRows(t, ctx, soonKey, expiredKey, foreverKey, legacyKey)

	run(t, ctx, "filter by keys that expire within 7 days",
		chromedp.SendKeys(dropdown("Expiry"), "Expires within 7 days"),
		chromedp.Click(submit("Apply")),
		chromedp.WaitNotPresent(inventoryRow(legacyKey)),
		chromedp.WaitVisible(inventoryRow(soonKey)),
		pageReady())
	wantQuery(t, ctx, "expiry", store.ExpirySoon)
	wantValue(t, ctx, dropdown("Expiry"), store.ExpirySoon)
	wantRows(t, ctx, soonKey)
	wantCell(t, ctx, soonKey, "Expires", "in 3 days")
	wantCell(t, ctx, soonKey, "Scopes", "payments:read")
	checkPage("key inventory, expiring within 7 days")

	run(t, ctx, "filter by a scope, among keys that never expire",
		chromedp.SendKeys(dropdown("Expiry"), "No expiration"),
		chromedp.SendKeys(dropdown("Scope"), "customers:read"),
		chromedp.Click(submit("Apply")),
		chromedp.WaitNotPresent(inventoryRow(soonKey)),
		chromedp.WaitVisible(inventoryRow(foreverKey)),
		pageReady())
	wantQuery(t, ctx, "expiry", store.ExpiryNever)
	wantQuery(t, ctx, "scope", "customers:read")
	wantValue(t, ctx, dropdown("Scope"), "customers:read")
	wantRows(t, ctx, foreverKey, legacyKey)
	wantCell(t, ctx, legacyKey, "Scopes", "All scopes")
	wantCell(t, ctx, foreverKey, "Expires", "Never")
	wantCell(t, ctx, foreverKey, "Scopes", "3 scopes of "+foreverKey)
	if got := textOf(t, ctx, `//p[@id=//select[@id="scope"]/@aria-describedby]`); got !=
		"Keys made before scopes existed hold every scope, so they match any scope filter." {
		t.Errorf("the scope filter's hint reads %q", got)
	}

	scopes := column(inventoryRow(foreverKey), "Scopes") + `//summary`
	run(t, ctx, "open the key's scopes from the keyboard",
		chromedp.Focus(scopes),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(column(inventoryRow(foreverKey), "Scopes")+`//code[normalize-space()="customers:read"]`))
	for _, s := range []string{store.ScopeProfileRead, store.ScopeKeysRead} {
		run(t, ctx, "see "+s, chromedp.WaitVisible(column(inventoryRow(foreverKey), "Scopes")+fmt.Sprintf(`//code[normalize-space()=%q]`, s)))
	}
	checkPage("key inventory, a scope among keys that never expire, a key's scopes open")

	run(t, ctx, "filter by expired keys, any scope",
		chromedp.SendKeys(dropdown("Scope"), "Any scope"),
		chromedp.SendKeys(dropdown("Expiry"), "Expired"),
		chromedp.Click(submit("Apply")),
		chromedp.WaitNotPresent(inventoryRow(foreverKey)),
		chromedp.WaitVisible(inventoryRow(expiredKey)),
		pageReady())
	wantRows(t, ctx, expiredKey)
	wantQuery(t, ctx, "scope", "")
	wantQuery(t, ctx, "expiry", store.ExpiryExpired)
	wantCell(t, ctx, expiredKey, "Expires", "Expired")
	wantCell(t, ctx, expiredKey, "Status", "Expired")
	if n := countNodes(t, ctx, `//button[@role="switch" and @disabled and @aria-label="Enable key `+expiredKey+` of `+ownerAcct.Email+`"]`); n != 1 {
		t.Errorf("the expired key's switch is not locked (%d locked switches)", n)
	}
	checkPage("key inventory, expired")

	run(t, ctx, "see the expired filter at phone width", phoneScreen(), nextFrames())
	l, err := read(ctx, chromedp.Evaluate[phoneLayout](phoneLayoutJS))
	if err != nil {
		t.Fatalf("measure the layout: %v", err)
	}
	if l.ScrollWidth > phoneWidth {
		t.Errorf("the filtered inventory is %dpx wide on a %dpx screen; furthest out: %v", l.ScrollWidth, phoneWidth, l.Culprits)
	}
	for _, tbl := range l.Tables {
		if !tbl.Fits || len(tbl.Unlabelled) > 0 {
			t.Errorf("on a phone, %s fits %t, unlabelled cells %v", tbl.Name, tbl.Fits, tbl.Unlabelled)
		}
	}
	run(t, ctx, "back to the desktop", chromedp.EmulateViewport(1280, 800), nextFrames())

	run(t, ctx, "clear the filters",
		chromedp.Click(`//form[@role="search"]//a[normalize-space()="Reset"]`),
		chromedp.WaitVisible(inventoryRow(legacyKey)),
		pageReady())
	if q := location(t, ctx).RawQuery; q != "" {
		t.Errorf("Reset left the query %q", q)
	}
	wantRows(t, ctx, soonKey, expiredKey, foreverKey, legacyKey)
	wantValue(t, ctx, dropdown("Expiry"), "")
	wantValue(t, ctx, dropdown("Scope"), "")

	for _, f := range found.list {
		if f.serious() {
			t.Errorf("axe: %s", f)
		} else {
			t.Logf("axe, not failing: %s", f)
		}
	}
}

// wantRows wants the inventory to show exactly the keys named.
func wantRows(t *testing.T, ctx context.Context, names ...string) {
	t.Helper()
	if n := countNodes(t, ctx, `//table//tbody/tr`); n != len(names) {
		t.Errorf("the inventory shows %d rows, want %d: %v\n%s", n, len(names), names, pageState(ctx))
	}
	for _, name := range names {
		if n := countNodes(t, ctx, inventoryRow(name)); n != 1 {
			t.Errorf("the inventory shows %s %d times, want once", name, n)
		}
	}
}

// wantCell wants the text of a key's cell under a column.
func wantCell(t *testing.T, ctx context.Context, key, header, want string) {
	t.Helper()
	if got := textOf(t, ctx, column(inventoryRow(key), header)); got != want {
		t.Errorf("%s's %s reads %q, want %q", key, header, got, want)
	}
}

// wantQuery wants the page's URL to carry name=want.
func wantQuery(t *testing.T, ctx context.Context, name, want string) {
	t.Helper()
	if got := location(t, ctx).Query().Get(name); got != want {
		t.Errorf("the URL carries %s=%q, want %q", name, got, want)
	}
}

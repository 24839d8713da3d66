package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// TestInventorySelectAllAndSortByKeyboard: the header checkbox selects
// every key on the page and "Disable selected" counts the selection as it
// changes; the confirmation says how many. Then, by keyboard only, the Key
// name header sorts the list A to Z (names in natural order), then Z to A,
// and aria-sort says which.
func TestInventorySelectAllAndSortByKeyboard(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	for _, name := range []string{"export 10", "export 2", "CI deploy", "export 1"} {
		mustCreateKey(t, db, owner, name)
	}
	signInAs(t, ctx, base, adminAcct)
	run(t, ctx, "open the inventory", chromedp.Navigate(base+"/admin/api-keys"), pageReady())

	const bulk = `//button[@data-bulk-disable]`
	wantBulk := func(want string) {
		t.Helper()
		if got := textOf(t, ctx, bulk); got != want {
			t.Errorf("the bulk button reads %q, want %q", got, want)
		}
	}
	wantBulk("Disable selected (0)…")
	run(t, ctx, "select one key", chromedp.Click(`//input[@aria-label="Select export 2 of `+ownerAcct.Email+`"]`))
	wantBulk("Disable selected (1)…")
	if ind, err := read(ctx, chromedp.Evaluate[bool](`document.getElementById("select-all").indeterminate`)); err != nil || !ind {
		t.Errorf("with one of four selected the header checkbox is not mixed: %v, %v", ind, err)
	}
	run(t, ctx, "select every key on the page", chromedp.Click(`//input[@id="select-all"]`))
	wantBulk("Disable selected (4)…")
	if n := countNodes(t, ctx, `//tbody//input[@type="checkbox" and @name="id"]`); n != 4 {
		t.Fatalf("%d row checkboxes, want 4", n)
	}
	if checked, err := read(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tbody input[name=id]:checked').length`)); err != nil || checked != 4 {
		t.Errorf("%d rows checked after select-all, want 4 (%v)", checked, err)
	}
	run(t, ctx, "clear the selection", chromedp.Click(`//input[@id="select-all"]`))
	wantBulk("Disable selected (0)…")
	run(t, ctx, "select all again and ask to disable them", chromedp.Click(`//input[@id="select-all"]`), chromedp.Click(bulk),
		chromedp.WaitVisible(heading("Disable 4 keys?")), pageReady())
	run(t, ctx, "cancel", chromedp.Click(`//a[normalize-space()="Cancel"]`), chromedp.WaitVisible(heading("Key inventory")),
		chromedp.WaitVisible(bulk), pageReady())

	keyName := `el.matches("th a.sort-link") && el.textContent.includes("Key name")`
	names := func() []string {
		t.Helper()
		got, err := read(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tbody td[data-label='Key name'] .key-name__title")].map(a => a.textContent.trim())`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ariaSort := func() string {
		t.Helper()
		got, err := read(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("th[aria-sort]")].map(th => th.textContent.trim().split(/\s+/).slice(0, 2).join(" ") + "=" + th.getAttribute("aria-sort")).join(",")`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, step := range []struct {
		dir  string
		want []string
		sort string
	}{
		{"asc", []string{"CI deploy", "export 1", "export 2", "export 10"}, "Key name=ascending"},
		{"desc", []string{"export 10", "export 2", "export 1", "CI deploy"}, "Key name=descending"},
	} {
		tabTo(t, ctx, "Tab to the Key name header", keyName, false)
		keys(t, ctx, "sort by it with Enter", kb.Enter)
		run(t, ctx, "the sorted page", chromedp.WaitVisible(`//th[@aria-sort="`+map[string]string{"asc": "ascending", "desc": "descending"}[step.dir]+`"]/a[contains(., "Key name")]`), pageReady())
		if q := location(t, ctx).Query(); q.Get("sort") != "name" || q.Get("dir") != step.dir {
			t.Errorf("sorted to %v, want sort=name dir=%s", q, step.dir)
		}
		if got := names(); !slices.Equal(got, step.want) {
			t.Errorf("dir=%s: %q, want %q", step.dir, got, step.want)
		}
		if got := ariaSort(); got != step.sort {
			t.Errorf("aria-sort: %s, want %s", got, step.sort)
		}
	}
}

// TestInventoryRowsAboveTheFold: at 1280×800, with the filters and the
// table's header above them, at least a dozen inventory rows are whole on
// screen, however their keys differ (a long name, several scopes, one
// expired and locked, one an admin disabled, one made before scopes); no
// cell takes more than two short lines (the owner's name over the email,
// the key's name over its History link); the table fits the page without
// scrolling sideways; and at phone width the same rows fit the screen.
func TestInventoryRowsAboveTheFold(t *testing.T) {
	const want = 12
	ctx := newTab(t, tabTimeout)
	clock := new(Clock)
	base, db := startApp(t, sqlstore.WithClock(clock.Now))
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	seedInventory(t, db, owner)
	other := mustCreateUser(t, db, Account{Name: "Priya Platform", Email: "priya.platform@example.com", Password: "priya-password-1"})
	for i, name := range []string{"CI deploy (GitHub Actions)", "Grafana metrics exporter",
		"Mobile app (iOS)", "Local development", "Billing sync (legacy)", "Support console", "Refunds worker",
		"Payments webhook receiver", "Data warehouse loader", "Staging smoke tests", "Partner API sandbox",
		"Zapier: new sign-ups to the CRM"} {
		var k *store.APIKey
		if i == 4 { // a date of two digits, the widest Created
			clock.Back(time.Since(time.Date(2026, time.May, 28, 12, 0, 0, 0, time.UTC)), func() error {
				k, _ = mustCreateKey(t, db, other, name)
				return nil
			})
		} else {
			k, _ = mustCreateKey(t, db, other, name)
		}
		if i == 0 { // the longest Last Used a day shows
			at := db.Now().Add(-50 * time.Minute)
			if _, err := db.TouchKey(t.Context(), k.ID, "203.0.113.24", at, at); err != nil {
				t.Fatal(err)
			}
		}
		if i == 11 { // the newest, first in the list: an admin disabled it
			if _, err := db.AdminSetKeyEnabled(t.Context(), k.PublicID, false, store.AuditEvent{Actor: "test", Action: store.ActionKeyDisabled}); err != nil {
				t.Fatal(err)
			}
		}
	}
	signInAs(t, ctx, base, adminAcct)
	run(t, ctx, "open the inventory at 1280×800", chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(base+"/admin/api-keys"), pageReady(), nextFrames())
	type rowBox struct {
		Name   string  `json:"name"`
		Bottom float64 `json:"bottom"`
		Height float64 `json:"height"`
		// Lines is the most lines of text a cell takes.
		Lines int    `json:"lines"`
		Cell  string `json:"cell"`
	}
	rows, err := read(ctx, chromedp.Evaluate[[]rowBox](`[...document.querySelectorAll(".inventory-table tbody tr")].map(tr => {
		let lines = 0, cell = "";
		for (const td of tr.cells) {
			// A cell's lines: the tops of its text, those more than 6px
			// apart counted as lines of their own.
			const tops = [];
			const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
			for (let n = walk.nextNode(); n; n = walk.nextNode()) {
				if (!n.textContent.trim() || n.parentElement.closest(".visually-hidden") || !n.parentElement.checkVisibility()) continue;
				const range = document.createRange();
				range.selectNodeContents(n);
				for (const r of range.getClientRects()) if (r.height > 0) tops.push(r.top);
			}
			tops.sort((a, b) => a - b);
			const n = tops.filter((top, i) => i === 0 || top - tops[i - 1] > 6).length;
			if (n > lines) { lines = n; cell = td.dataset.label; }
		}
		const b = tr.getBoundingClientRect();
		return {name: tr.querySelector(".key-name__title").textContent.trim(), bottom: b.bottom, height: b.height, lines, cell};
	})`))
	if err != nil {
		t.Fatalf("measure the rows: %v", err)
	}
	if len(rows) < want+1 {
		t.Fatalf("%d rows, want more than %d to measure", len(rows), want)
	}
	whole := 0
	for _, r := range rows {
		if r.Bottom <= 800 {
			whole++
		}
		if r.Lines > 2 {
			t.Errorf("row %q: its %s cell takes %d lines, want two at most (the row is %.0fpx tall)", r.Name, r.Cell, r.Lines, r.Height)
		}
	}
	if whole < want {
		t.Errorf("%d rows are whole above the fold at 1280×800, want at least %d (the first ends at %.0fpx, each is about %.0fpx)",
			whole, want, rows[0].Bottom, rows[1].Height)
	}
	if over, err := read(ctx, chromedp.Evaluate[float64](`(() => { const w = document.querySelector(".inventory-table").closest(".table-wrap"); return w.scrollWidth - w.clientWidth; })()`)); err != nil || over > 0 {
		t.Errorf("at 1280 px the inventory's table is %.0fpx wider than its box and scrolls sideways (%v)", over, err)
	}
	// Names are cut with an ellipsis on one line: the column is wide
	// enough to read a realistic one ("Payments webhook sig…"), not only
	// its first two words.
	if width, err := read(ctx, chromedp.Evaluate[float64](`document.querySelector(".inventory-table tbody .key-name__title").parentElement.getBoundingClientRect().width`)); err != nil || width < 176 {
		t.Errorf("at 1280 px the Key name column is %.0fpx wide, want at least 176 (11rem) (%v)", width, err)
	}
	t.Logf("%d rows above the fold at 1280×800; row heights %.0f, %.0f, %.0f…", whole, rows[0].Height, rows[1].Height, rows[2].Height)

	run(t, ctx, "the same rows on a phone", phoneScreen(), nextFrames())
	l, err := read(ctx, chromedp.Evaluate[phoneLayout](phoneLayoutJS))
	if err != nil {
		t.Fatalf("measure the layout: %v", err)
	}
	if l.ScrollWidth > phoneWidth {
		t.Errorf("the inventory is %dpx wide on a %dpx screen; furthest out: %v", l.ScrollWidth, phoneWidth, l.Culprits)
	}
	for _, tbl := range l.Tables {
		if !tbl.Fits || len(tbl.Unlabelled) > 0 {
			t.Errorf("on a phone, %s fits %t, unlabelled cells %v", tbl.Name, tbl.Fits, tbl.Unlabelled)
		}
	}
}

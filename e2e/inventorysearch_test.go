package e2e

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
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

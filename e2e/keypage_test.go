package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// TestKeyPage opens a key's own page from the API Auth Key table, with
// JavaScript on, after calls made with the key (one refused while it was
// off): the page lists them with readable results and draws them per day,
// the chart's numbers open as a table, and the breadcrumb leads back. An
// admin then opens the same key from the inventory and sees its owner.
func TestKeyPage(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	owner := mustCreateUser(t, db, ownerAcct)
	mustCreateUser(t, db, adminAcct)
	k, secret := mustCreateKey(t, db, owner, "Billing export")
	callWithKey(t, base, db, owner, k, secret)

	signInAs(t, ctx, base, ownerAcct)
	run(t, ctx, "open API Auth Key", chromedp.Click(sideNav("API Auth Key")), chromedp.WaitVisible(keyRow(k.Name)), pageReady())
	checkKeyPage(t, ctx, k, func() {
		run(t, ctx, "open the key's page from its name", chromedp.Click(keyRow(k.Name)+"//a[normalize-space()="+quote(k.Name)+"]"),
			chromedp.WaitVisible(heading(k.Name)), pageReady())
	})
	run(t, ctx, "go back by the breadcrumb", chromedp.Click(`//nav[@aria-label="Breadcrumb"]//a[normalize-space()="API Auth Key"]`),
		chromedp.WaitVisible(heading("API Auth Key")))
	wantPath(t, ctx, "/settings/api-keys")

	admin := newTab(t, tabTimeout)
	signInAs(t, admin, base, adminAcct)
	openAdminFromMenu(t, admin, adminAcct.Name)
	run(t, admin, "open the key's page from the inventory",
		chromedp.Click(inventoryRow(k.Name)+"//a[normalize-space()="+quote(k.Name)+"]"),
		chromedp.WaitVisible(heading(k.Name)), pageReady())
	wantPath(t, admin, "/admin/api-keys/"+k.PublicID)
	if got := textOf(t, admin, detail("Owner")); !strings.Contains(got, ownerAcct.Name) || !strings.Contains(got, ownerAcct.Email) {
		t.Errorf("the admin's page names the owner %q, want %s <%s>", got, ownerAcct.Name, ownerAcct.Email)
	}
	if n := countNodes(t, admin, usesRows); n != 3 {
		t.Errorf("the admin's page lists %d calls, want 3", n)
	}
}

// TestKeyPageWithoutJavaScript is the same page with scripts off: the link
// is a link, the chart is drawn by the server, and "Show as table" opens
// without a script.
func TestKeyPageWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	owner := mustCreateUser(t, db, ownerAcct)
	k, secret := mustCreateKey(t, db, owner, "Nightly sync")
	callWithKey(t, base, db, owner, k, secret)

	signInAs(t, ctx, base, ownerAcct)
	run(t, ctx, "open API Auth Key", chromedp.Click(sideNav("API Auth Key")), chromedp.WaitVisible(keyRow(k.Name)))
	if htmx, err := read(ctx, chromedp.Evaluate[string](`typeof window.htmx`)); err != nil || htmx != "undefined" {
		t.Fatalf("htmx is %q (err %v); want scripts off", htmx, err)
	}
	checkKeyPage(t, ctx, k, func() {
		run(t, ctx, "open the key's page from its name", chromedp.Click(keyRow(k.Name)+"//a[normalize-space()="+quote(k.Name)+"]"),
			chromedp.WaitVisible(heading(k.Name)))
	})
}

// callWithKey calls the API with the key as a script would: twice with
// success, once while the key is off; and waits until the recorder has
// written the three calls.
func callWithKey(t *testing.T, base string, db *sqlstore.DB, owner *store.User, k *store.APIKey, secret string) {
	t.Helper()
	wantAPI(t, base, secret, http.StatusOK)
	wantAPI(t, base, secret, http.StatusOK)
	setKeyEnabled(t, db, owner, k, false)
	wantAPI(t, base, secret, http.StatusUnauthorized)
	setKeyEnabled(t, db, owner, k, true)
	deadline := time.Now().Add(stepTimeout)
	for {
		uses, err := db.RecentKeyUses(t.Context(), k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(uses) == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recorder wrote %d of the 3 calls", len(uses))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkKeyPage opens the key's page by open and checks what it shows of
// the three calls of callWithKey.
func checkKeyPage(t *testing.T, ctx context.Context, k *store.APIKey, open func()) {
	t.Helper()
	open()
	wantPath(t, ctx, "/settings/api-keys/"+k.PublicID)
	if got := textOf(t, ctx, detail("API Auth Key")); got != k.Masked() {
		t.Errorf("API Auth Key reads %q, want %s", got, k.Masked())
	}
	if got := textOf(t, ctx, detail("Status")); got != "Enabled" {
		t.Errorf("Status reads %q, want Enabled", got)
	}
	if n := countNodes(t, ctx, usesRows); n != 3 {
		t.Fatalf("the page lists %d calls, want 3\n%s", n, pageState(ctx))
	}
	// Newest first: the refusal, then the two successes.
	for i, want := range []string{"Disabled", "OK", "OK"} {
		row := fmt.Sprintf("(%s)[%d]", usesRows, i+1)
		if got := textOf(t, ctx, column(row, "Result")); got != want {
			t.Errorf("call %d's result reads %q, want %q", i+1, got, want)
		}
		if got := textOf(t, ctx, column(row, "Route")); got != "GET /api/v1/me" {
			t.Errorf("call %d's route reads %q, want GET /api/v1/me", i+1, got)
		}
		if got := textOf(t, ctx, column(row, "Client address")); got != "127.0.0.1" {
			t.Errorf("call %d's client address reads %q, want 127.0.0.1", i+1, got)
		}
	}
	const chart = `//figure//*[local-name()="svg" and @role="img"]`
	run(t, ctx, "see the chart", chromedp.WaitVisible(chart))
	if n := countNodes(t, ctx, `//figure//*[local-name()="rect" and (@class="chart__ok" or @class="chart__refused")]`); n != 2 {
		t.Errorf("the chart draws %d bars, want today's two: 2 successful and 1 refused", n)
	}
	label, err := read(ctx, chromedp.Evaluate[string](`(() => {
		const svg = document.querySelector("figure svg[role=img]");
		return svg.getAttribute("aria-labelledby").split(" ").map(id => document.getElementById(id).textContent).join(" ");
	})()`))
	if err != nil || !strings.Contains(label, "3 calls in the last 30 days: 2 successful, 1 refused.") {
		t.Errorf("the chart's text alternative is %q (err %v); want it to count the 3 calls", label, err)
	}

	today := time.Now().UTC().Format("Mon 2 Jan 2006")
	todayRow := fmt.Sprintf(`//table[contains(@class, "chart-table")]/tbody/tr[th[normalize-space()=%q]]`, today)
	run(t, ctx, "show the chart as a table", chromedp.Click(summary("Show as table")), chromedp.WaitVisible(todayRow))
	if got := textOf(t, ctx, column(todayRow, "Successful")) + "/" + textOf(t, ctx, column(todayRow, "Refused")); got != "2/1" {
		t.Errorf("today's row reads %s (successful/refused), want 2/1", got)
	}
}

// usesRows are the rows of the key page's list of calls.
const usesRows = `//table[contains(@class, "uses-table")]/tbody/tr`

// detail is the value of the key page's detail labelled label.
func detail(label string) string {
	return fmt.Sprintf(`//dl//div[dt[normalize-space()=%q]]/dd`, label)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// walkKeyPages brings the page walk through the key's own page: with a
// month of calls, with its numbers shown as a table, and never used; and
// the admin's view of another user's key. The tab is signed in as the
// admin, who owns used and unused.
func walkKeyPages(t *testing.T, ctx context.Context, base string, db *sqlstore.DB, used, unused *store.APIKey, other string, check func(page string)) {
	t.Helper()
	if _, _, err := RecordSampleUses(t.Context(), db, used, "deploy-bot/2.4 (+https://ci.example.com)", store.RecentUses); err != nil {
		t.Fatal(err)
	}
	openFromTable := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow(name)), pageReady(),
			chromedp.Click(keyRow(name)+"//a[normalize-space()="+quote(name)+"]"),
			chromedp.WaitVisible(heading(name)), pageReady())
	}
	run(t, ctx, "open a used key's page", openFromTable(used.Name), chromedp.WaitVisible(usesRows))
	check("key page, with recent use")
	run(t, ctx, "show the chart as a table", chromedp.Click(summary("Show as table")),
		chromedp.WaitVisible(`//table[contains(@class, "chart-table")]`))
	check("key page, calls per day as a table")
	run(t, ctx, "open an unused key's page", openFromTable(unused.Name), chromedp.WaitVisible(hasText("Not used yet")))
	check("key page, never used")
	run(t, ctx, "open another user's key from the inventory",
		chromedp.Navigate(base+"/admin/api-keys"), chromedp.WaitVisible(heading("Key inventory")), pageReady(),
		chromedp.Click(inventoryRow(other)+"//a[normalize-space()="+quote(other)+"]"),
		chromedp.WaitVisible(heading(other)), pageReady())
	check("admin key page")
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// The people of the admin tests: an admin, and an owner whose keys the
// admin manages.
var (
	adminAcct = Account{Name: "Ada Admin", Email: "ada@example.com", Password: "ada-password-1", Role: store.RoleAdmin}
	ownerAcct = Account{Name: "Otto Owner", Email: "otto@example.com", Password: "otto-password-1"}
)

// TestAdminDisablesAKey walks the admin's main duty with JavaScript on: from
// the user menu to the key inventory, search one of the owner's keys, flip
// its Status switch in place, and find the key refused by the API at once
// (the other key still works) and the action in the audit log, with the
// admin as actor and the owner as subject.
func TestAdminDisablesAKey(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	billing, billingKey := mustCreateKey(t, db, owner, "Billing export")
	nightly, nightlyKey := mustCreateKey(t, db, owner, "Nightly sync")

	signInAs(t, ctx, base, adminAcct)
	openAdminFromMenu(t, ctx, adminAcct.Name)

	run(t, ctx, "search the inventory for the key's name",
		chromedp.SendKeys(field("Search"), "Billing"),
		chromedp.Click(submit("Apply")),
		chromedp.WaitNotPresent(inventoryRow(nightly.Name)),
		chromedp.WaitVisible(inventoryRow(billing.Name)),
		pageReady())
	wantPath(t, ctx, "/admin/api-keys")
	if q := location(t, ctx).Query().Get("q"); q != "Billing" {
		t.Errorf("the URL carries q=%q after the search, want Billing", q)
	}
	if n := countNodes(t, ctx, `//table//tbody/tr`); n != 1 {
		t.Errorf("the search shows %d rows, want only %s\n%s", n, billing.Name, pageState(ctx))
	}
	wantValue(t, ctx, field("Search"), "Billing")

	wantAPI(t, base, billingKey, http.StatusOK)
	wantAPI(t, base, nightlyKey, http.StatusOK)

	before, history := location(t, ctx).String(), historyLen(t, ctx)
	run(t, ctx, "switch the key off in place",
		chromedp.Click(adminSwitch(billing.Name, ownerAcct.Email, "true")),
		chromedp.WaitVisible(adminSwitch(billing.Name, ownerAcct.Email, "false")),
		htmxIdle())
	wantAPI(t, base, billingKey, http.StatusUnauthorized)
	wantAPI(t, base, nightlyKey, http.StatusOK)
	if after := location(t, ctx).String(); after != before {
		t.Errorf("the switch navigated from %s to %s; want an htmx swap in place", before, after)
	}
	if got := historyLen(t, ctx); got != history {
		t.Errorf("the switch changed the history (%d → %d); want an htmx swap in place", history, got)
	}
	// An admin's disable is the admin's to undo, and the row says so.
	if got := textOf(t, ctx, column(inventoryRow(billing.Name), "Status")); got != "Disabled by an admin" {
		t.Errorf("Status column reads %q after the switch, want Disabled by an admin", got)
	}

	run(t, ctx, "open the audit log from the admin navigation",
		chromedp.Click(adminNav("Audit log")),
		chromedp.WaitVisible(heading("Audit log")),
		pageReady())
	wantPath(t, ctx, "/admin/audit")
	run(t, ctx, "filter the audit log by action",
		chromedp.SendKeys(dropdown("Action"), store.ActionKeyDisabled),
		chromedp.Click(submit("Apply")),
		chromedp.WaitNotPresent(auditRowOf(store.ActionLogin)),
		chromedp.WaitVisible(auditRowOf(store.ActionKeyDisabled)),
		pageReady())
	if got := location(t, ctx).Query().Get("action"); got != store.ActionKeyDisabled {
		t.Errorf("the URL carries action=%q, want %s", got, store.ActionKeyDisabled)
	}
	if n := countNodes(t, ctx, auditRows); n != 1 {
		t.Fatalf("the filtered audit log shows %d events, want the one key.disabled\n%s", n, pageState(ctx))
	}
	event := auditRowOf(store.ActionKeyDisabled)
	for _, c := range []struct{ column, want string }{
		{"Actor", adminAcct.Email},
		{"Subject", ownerAcct.Email},
		{"Target", billing.PublicID},
	} {
		if got := textOf(t, ctx, column(event, c.column)); got != c.want {
			t.Errorf("the key.disabled event's %s is %q, want %q", c.column, got, c.want)
		}
	}
}

// TestAdminSetsKYC has the admin set the owner's KYC status on the Users
// page while the owner is signed in elsewhere; the owner's Personal Details
// show the new status on the next load.
func TestAdminSetsKYC(t *testing.T) {
	adminTab := newTab(t, tabTimeout)
	ownerTab := newTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)

	signInAs(t, ownerTab, base, ownerAcct)
	if got := textOf(t, ownerTab, labelled("KYC status")); got != store.KYCNotStarted.Label() {
		t.Fatalf("the owner's KYC status reads %q before the change, want %q", got, store.KYCNotStarted.Label())
	}

	signInAs(t, adminTab, base, adminAcct)
	openAdminFromMenu(t, adminTab, adminAcct.Name)
	run(t, adminTab, "open Users from the admin navigation",
		chromedp.Click(adminNav("Users")),
		chromedp.WaitVisible(heading("Users")),
		pageReady())
	wantPath(t, adminTab, "/admin/users")
	run(t, adminTab, "search the owner",
		chromedp.SendKeys(field("Search"), ownerAcct.Email),
		chromedp.Click(submit("Search")),
		chromedp.WaitNotPresent(kycSelect(adminAcct.Email)),
		chromedp.WaitVisible(kycSelect(ownerAcct.Email)),
		pageReady())

	run(t, adminTab, "choose Pending", chromedp.SendKeys(kycSelect(ownerAcct.Email), "Pending"))
	wantValue(t, adminTab, kycSelect(ownerAcct.Email), string(store.KYCPending))
	run(t, adminTab, "set it",
		chromedp.Click(kycSelect(ownerAcct.Email)+`/ancestor::tr//button[normalize-space()="Set"]`),
		chromedp.WaitReady(announced("KYC status of "+ownerAcct.Name+" ("+ownerAcct.Email+") set to Pending (was "+store.KYCNotStarted.Label()+").")),
		htmxIdle())
	wantPath(t, adminTab, "/admin/users")
	wantValue(t, adminTab, kycSelect(ownerAcct.Email), string(store.KYCPending))
	if u, err := db.UserByID(t.Context(), owner.ID); err != nil || u.KYCStatus != store.KYCPending {
		t.Errorf("stored KYC status = %+v (err %v), want %s", u, err, store.KYCPending)
	}

	run(t, ownerTab, "reload Personal Details as the owner",
		chromedp.Reload(),
		chromedp.WaitVisible(heading("Personal Details")))
	if got := textOf(t, ownerTab, labelled("KYC status")); got != "Pending" {
		t.Errorf("the owner's KYC status reads %q after the admin set it, want Pending", got)
	}
	if n := countNodes(t, ownerTab, labelled("KYC status")+`//*[contains(@class, "badge")][normalize-space()="Pending"]`); n != 1 {
		t.Errorf("found %d Pending badges in the owner's KYC status, want 1", n)
	}
}

// TestAdminBulkDisableWithoutJavaScript proves the inventory's bulk action
// works as plain form posts: tick two keys, confirm on the page that lists
// them, and both stop answering while the unticked one keeps working.
func TestAdminBulkDisableWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	billing, billingKey := mustCreateKey(t, db, owner, "Billing export")
	nightly, nightlyKey := mustCreateKey(t, db, owner, "Nightly sync")
	spare, spareKey := mustCreateKey(t, db, owner, "Staging smoke test")

	signInAs(t, ctx, base, adminAcct)
	if htmx, err := read(ctx, chromedp.Evaluate[string](`typeof window.htmx`)); err != nil || htmx != "undefined" {
		t.Fatalf("htmx is %q (err %v); want scripts off, so undefined", htmx, err)
	}
	openAdminFromMenu(t, ctx, adminAcct.Name)

	run(t, ctx, "tick two keys and ask to disable them",
		chromedp.Click(keyCheckbox(billing.Name, ownerAcct.Email)),
		chromedp.Click(keyCheckbox(nightly.Name, ownerAcct.Email)),
		chromedp.Click(button("Disable selected…")),
		chromedp.WaitVisible(heading("Disable 2 keys?")))
	for _, k := range []*store.APIKey{billing, nightly} {
		if n := countNodes(t, ctx, fmt.Sprintf(`//li[.//*[normalize-space()=%q] and .//*[normalize-space()=%q]]`,
			k.Name, ownerAcct.Email)); n != 1 {
			t.Errorf("the confirmation lists %s of %s %d times, want once", k.Name, ownerAcct.Email, n)
		}
	}
	if n := countNodes(t, ctx, fmt.Sprintf(`//*[normalize-space()=%q]`, spare.Name)); n != 0 {
		t.Errorf("the confirmation lists the unticked key %s", spare.Name)
	}
	wantAPI(t, base, billingKey, http.StatusOK)

	run(t, ctx, "confirm",
		chromedp.Click(button("Disable 2 keys")),
		chromedp.WaitVisible(hasText("Disabled 2 keys.")),
		chromedp.WaitVisible(heading("Key inventory")))
	wantPath(t, ctx, "/admin/api-keys")
	for _, k := range []*store.APIKey{billing, nightly} {
		run(t, ctx, "see "+k.Name+" switched off",
			chromedp.WaitVisible(adminSwitch(k.Name, ownerAcct.Email, "false")))
	}
	run(t, ctx, "see "+spare.Name+" still on", chromedp.WaitVisible(adminSwitch(spare.Name, ownerAcct.Email, "true")))
	wantAPI(t, base, billingKey, http.StatusUnauthorized)
	wantAPI(t, base, nightlyKey, http.StatusUnauthorized)
	wantAPI(t, base, spareKey, http.StatusOK)
}

// signInAs opens the login page in tab and signs in as a, landing on
// Personal Details.
func signInAs(t *testing.T, ctx context.Context, base string, a Account) {
	t.Helper()
	run(t, ctx, "open the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, a.Email, a.Password)
	run(t, ctx, "land on Personal Details as "+a.Email, chromedp.WaitVisible(heading("Personal Details")))
}

// openAdminFromMenu opens the user menu under name and follows Admin to
// the key inventory.
func openAdminFromMenu(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, "open Admin from the user menu",
		chromedp.Click(menuOf(name)),
		chromedp.WaitVisible(menuItem("Admin")),
		chromedp.Click(menuItem("Admin")),
		chromedp.WaitVisible(heading("Key inventory")))
	wantPath(t, ctx, "/admin/api-keys")
}

// mustCreateKey creates a key for u as `keydesk keys create` would, and
// returns it with its secret.
func mustCreateKey(t *testing.T, db *sqlstore.DB, u *store.User, name string) (*store.APIKey, string) {
	t.Helper()
	k, secret, err := db.CreateKey(t.Context(), u.ID, store.NewKey{Name: name, Description: "Made by the admin tests."}, store.AuditEvent{Actor: "test", Action: store.ActionKeyCreated, SubjectID: u.ID})
	if err != nil {
		t.Fatalf("create key %q: %v", name, err)
	}
	return k, secret
}

// htmxIdle waits until htmx has finished its last request and swap, so the
// next click goes to wired-up content.
func htmxIdle() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](
			`!document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")`)(ctx, t)
		return chromedp.Void{}, err
	}
}

// location is the tab's current URL.
func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	loc, err := read(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("read location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse location %q: %v", loc, err)
	}
	return u
}

// countNodes counts the nodes matching the XPath xpath on the page as it is.
func countNodes(t *testing.T, ctx context.Context, xpath string) int {
	t.Helper()
	n, err := read(ctx, chromedp.Evaluate[int](fmt.Sprintf(
		`document.evaluate(%q, document, null, XPathResult.NUMBER_TYPE, null).numberValue`, "count("+xpath+")")))
	if err != nil {
		t.Fatalf("count %s: %v", xpath, err)
	}
	return n
}

// textOf is the visible text of sel, whitespace collapsed.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	got, err := read(ctx, chromedp.Text(sel, chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("read %s: %v\n%s", sel, err, pageState(ctx))
	}
	return strings.Join(strings.Fields(got), " ")
}

// Admin selectors, by what a user sees.

// menuItem is a link in the header's user menu.
func menuItem(text string) string { return fmt.Sprintf(`//header//a[normalize-space()=%q]`, text) }

// adminNav is a link of the admin side navigation.
func adminNav(text string) string {
	return fmt.Sprintf(`//nav[@aria-label="Admin"]//a[normalize-space()=%q]`, text)
}

// dropdown is the select whose <label> reads label.
func dropdown(label string) string {
	return fmt.Sprintf(`//select[@id=//label[normalize-space()=%q]/@for]`, label)
}

// inventoryRow is the inventory row of the key named name.
func inventoryRow(name string) string {
	return fmt.Sprintf(`//table//tbody/tr[td[normalize-space()=%q]]`, name)
}

// column is row's cell under the column headed header.
func column(row, header string) string {
	return row + fmt.Sprintf(
		`/*[count(ancestor::table/thead/tr/th[normalize-space()=%q]/preceding-sibling::th) + 1 = position()]`, header)
}

// adminSwitch is the inventory's Status switch of a key, in state checked.
func adminSwitch(name, ownerEmail, checked string) string {
	return fmt.Sprintf(`//button[@role="switch" and @aria-label=%q and @aria-checked=%q]`,
		"Enable key "+name+" of "+ownerEmail, checked)
}

// keyCheckbox is the inventory's selection checkbox of a key.
func keyCheckbox(name, ownerEmail string) string {
	return fmt.Sprintf(`//input[@type="checkbox" and @aria-label=%q]`, "Select "+name+" of "+ownerEmail)
}

// kycSelect is the KYC status select of the user with email.
func kycSelect(email string) string {
	return fmt.Sprintf(`//select[@aria-label=%q]`, "KYC status of "+email)
}

// auditRows are the rows of the audit log's events table.
const auditRows = `//table[thead/tr/th[normalize-space()="Actor"]]/tbody/tr`

// auditRowOf is an audit event row of action.
func auditRowOf(action string) string {
	return auditRows + fmt.Sprintf(`[td[normalize-space()=%q]]`, action)
}

// announced is the live region's message to screen readers.
func announced(text string) string {
	return fmt.Sprintf(`//*[@role="status" and normalize-space()=%q]`, text)
}

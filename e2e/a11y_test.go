package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// axeSource is axe-core 4.14.1 (npm axe-core@4.14.1, MPL-2.0): its
// axe.min.js, unchanged. It is test data, injected into the pages by the
// tests; the app never serves it.
const axeSource = "testdata/axe-4.14.1.min.js"

// TestAccessibility runs axe-core on every page in every state worth
// seeing, in light and in dark, and fails on any violation of impact
// serious or critical, once per distinct problem with the pages that show
// it. Lesser findings are logged. The pages are checked at a desktop width
// in both schemes, and once more at 1024px, the narrowest desktop layout,
// where wide tables scroll inside their own box. (Phone layouts are
// phone_test.go's.)
func TestAccessibility(t *testing.T) {
	src, err := os.ReadFile(axeSource)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	// Every page in three views, run by axe-core: longer than one flow.
	ctx := newTab(t, 2*tabTimeout)
	views := []struct {
		width  int64
		scheme string
	}{{1280, "light"}, {1280, "dark"}, {1024, "light"}}
	var found axeFindings
	walkPages(t, ctx, func(page string) {
		for _, v := range views {
			name := fmt.Sprintf("%s (%s, %dpx)", page, v.scheme, v.width)
			run(t, ctx, name+": set the view", chromedp.EmulateViewport(v.width, 800), colorScheme(v.scheme))
			found.add(name, runAxe(t, ctx, string(src), name))
		}
		run(t, ctx, page+": back to the first view", chromedp.EmulateViewport(views[0].width, 800), colorScheme(views[0].scheme))
	})
	for _, f := range found.list {
		if f.serious() {
			t.Errorf("axe: %s", f)
		} else {
			t.Logf("axe, not failing: %s", f)
		}
	}
}

// axeViolation is what the tests read of one axe-core violation.
type axeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []axeNode `json:"nodes"`
}

// axeNode is an element that fails a rule: its CSS selector (parts inside
// shadow roots joined by >>>), its opening tag, and what would fix it.
type axeNode struct {
	Target  string `json:"target"`
	HTML    string `json:"html"`
	Summary string `json:"summary"`
}

// axeRun runs axe-core on the whole document, all its rules, and keeps
// what the report needs of each violation.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
	nodes: v.nodes.map(n => ({
		target: n.target.map(s => [].concat(s).join(" >>> ")).join(", "),
		html: n.html,
		summary: n.failureSummary || "",
	})),
})))`

// runAxe injects axe-core into the page unless an earlier run did (an htmx
// swap keeps the document, a navigation does not), and runs it on the
// whole document.
func runAxe(t *testing.T, ctx context.Context, src, page string) []axeViolation {
	t.Helper()
	loaded, err := read(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("%s: probe axe: %v", page, err)
	}
	if !loaded {
		if _, err := read(ctx, chromedp.Evaluate[chromedp.Void](src+"\n;true")); err != nil {
			t.Fatalf("%s: inject axe-core: %v", page, err)
		}
	}
	violations, err := read(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", page, err)
	}
	return violations
}

// axeFinding is one rule failed by one element, with every view of a page
// that shows it.
type axeFinding struct {
	axeViolation
	node  axeNode
	pages []string
}

func (f *axeFinding) serious() bool { return f.Impact == "serious" || f.Impact == "critical" }

func (f *axeFinding) String() string {
	return fmt.Sprintf("%s (%s): %s\n  %s\n  element %s\n    %s\n    %s\n  in %d views: %s",
		f.ID, f.Impact, f.Help, f.HelpURL, f.node.Target, f.node.HTML,
		strings.ReplaceAll(f.node.Summary, "\n", "\n    "), len(f.pages), strings.Join(f.pages, "; "))
}

// axeFindings gathers the violations of many pages, so that a problem of
// the layout shared by every page is reported once, not once a page.
type axeFindings struct {
	list  []*axeFinding
	index map[string]*axeFinding
}

func (a *axeFindings) add(page string, violations []axeViolation) {
	if a.index == nil {
		a.index = map[string]*axeFinding{}
	}
	for _, v := range violations {
		for _, n := range v.Nodes {
			key := v.ID + "\x00" + n.HTML // axe names one element by different selectors on different pages
			f := a.index[key]
			if f == nil {
				f = &axeFinding{axeViolation: v, node: n}
				a.index[key] = f
				a.list = append(a.list, f)
			}
			f.pages = append(f.pages, page)
		}
	}
}

// colorScheme emulates the viewer's colour scheme, with reduced motion so
// no transition is half-way when the page is measured, and waits until the
// page has restyled.
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{
					{Name: "prefers-color-scheme", Value: scheme},
					{Name: "prefers-reduced-motion", Value: "reduce"},
				},
			})
			return err
		}),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](fmt.Sprintf(`matchMedia("(prefers-color-scheme: %s)").matches`, scheme))(ctx, t)
			return chromedp.Void{}, err
		},
		nextFrames(),
	)
}

// nextFrames waits two animation frames: the page has restyled and laid
// out whatever changed before.
func nextFrames() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[bool](
			`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`,
			chromedp.EvalAwaitPromise)(ctx, t)
		return chromedp.Void{}, err
	}
}

// The people of the page walk: an admin who also owns keys, and another
// user whose keys fill the admin's inventory.
var (
	walkAdmin = Account{Name: "Ada Admin", Email: "ada@example.com", Password: "ada-password-1",
		Role: store.RoleAdmin, KYC: store.KYCVerified}
	walkOwner = Account{Name: "Otto Owner", Email: "otto@example.com", Password: "otto-password-1", KYC: store.KYCPending}
)

// The key the page walk creates through the create flow, and the seeded
// key it edits and deletes.
const (
	walkNewKey  = "Mobile app (iOS)"
	walkSeedKey = "CI deploy bot"
	// walkLongName is 64 characters, the most a name may have, without a space.
	walkLongName = "ReconcilePaymentsLedgerAgainstBankStatementsEveryNightWithRetry2"
)

// walkPages serves a fresh Keydesk and brings the tab, signed out at first,
// through every page and every state of the pages that a user sees, by
// clicks: login (also with an error), sign-up, the 404 page signed out;
// then, signed in as an admin who owns keys, Personal Details (with the user
// menu open, with Change password open), API Auth Key (empty, with keys,
// the create form, its confirmation, the key shown once, an edit row, a
// delete confirmation), the admin's key inventory, users (and a disable
// confirmation in an account's row) and audit log, and
// the 404 page. At each it calls check with the page's name. The tab keeps
// whatever viewport and media the caller set.
func walkPages(t *testing.T, ctx context.Context, check func(page string)) {
	t.Helper()
	base, db := startApp(t)
	admin := mustCreateUser(t, db, walkAdmin)
	owner := mustCreateUser(t, db, walkOwner)
	mustCreateKey(t, db, owner, "Billing export")
	nightly, _ := mustCreateKey(t, db, owner, "Nightly sync")
	setKeyEnabled(t, db, owner, nightly, false)

	run(t, ctx, "open the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	check("login")
	logIn(t, ctx, walkAdmin.Email, "not-the-password")
	run(t, ctx, "fail to log in", chromedp.WaitVisible(alert("Incorrect email or password.")))
	check("login with an error")
	run(t, ctx, "open sign-up", chromedp.Navigate(base+"/signup"), chromedp.WaitVisible(button("Sign up")))
	check("sign-up")
	run(t, ctx, "open a page that does not exist, signed out",
		chromedp.Navigate(base+"/settings/no-such-page"), chromedp.WaitVisible(`//h1`))
	check("404, signed out")

	run(t, ctx, "open the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, walkAdmin.Email, walkAdmin.Password)
	// A second browser of the admin's, for a Sign out in the sessions list.
	if err := db.CreateSession(t.Context(), &store.Session{IDHash: "walk-phone", UserID: admin.ID, IP: "192.0.2.7",
		UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) Version/18.5 Mobile/15E148 Safari/604.1",
		ExpiresAt: time.Now().Add(time.Hour)}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "land on Personal Details", chromedp.WaitVisible(heading("Personal Details")), pageReady())
	check("Personal Details")
	run(t, ctx, "ask to sign the other session out",
		chromedp.Click(`//section[@id="sessions"]//a[normalize-space()="Sign out"]`),
		chromedp.WaitVisible(`//section[@id="sessions"]//button[normalize-space()="Sign out"]`), settled())
	check("Personal Details, sign-out confirmation")
	run(t, ctx, "cancel it",
		chromedp.Click(`//section[@id="sessions"]//a[normalize-space()="Cancel"]`),
		chromedp.WaitVisible(`//section[@id="sessions"]//a[normalize-space()="Sign out"]`), settled())
	run(t, ctx, "open the user menu",
		chromedp.Click(menuOf(walkAdmin.Name)), chromedp.WaitVisible(menuItem("Settings")))
	check("Personal Details, user menu open")
	run(t, ctx, "close the user menu",
		chromedp.Click(menuOf(walkAdmin.Name)), menuClosed())
	run(t, ctx, "open Change password",
		chromedp.Click(summary("Change password")), chromedp.WaitVisible(field("Current password")))
	check("Personal Details, Change password open")

	keysPage := chromedp.Steps(
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(heading("API Auth Key")), pageReady())
	run(t, ctx, "open API Auth Key", keysPage, chromedp.WaitVisible(hasText("No API Auth Keys yet")))
	check("API Auth Key, empty")

	seeded, _ := mustCreateKey(t, db, admin, walkSeedKey)
	touchKey(t, db, seeded, 5*time.Minute)
	old, _ := mustCreateKey(t, db, admin, "Legacy billing sync")
	setKeyEnabled(t, db, admin, old, false)
	// One key about to expire (the notice) and one past it (Expired, its
	// switch locked, Regenerate), both with scopes.
	mustCreateExpiringKey(t, db, admin, "Staging smoke tests", []string{"profile:read", "keys:read"}, 3*24*time.Hour)
	mustCreateExpiringKey(t, db, admin, "Old payments export", []string{"payments:read"}, -24*time.Hour)
	// The longest name a key may have, in one word, and a long description
	// with a long word in it: the table must still fit a phone.
	if _, _, err := db.CreateKey(t.Context(), admin.ID, store.NewKey{Name: walkLongName,
		Description: longDescription + " See https://wiki.example.com/platform/runbooks/payments-ledger-reconciliation-nightly."},
		store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "reload with keys", keysPage, chromedp.WaitVisible(keyRow(walkSeedKey)))
	check("API Auth Key, with keys")

	run(t, ctx, "open the create form",
		chromedp.Click(link("Create API Auth Key")), chromedp.WaitVisible(control("Key name")), settled())
	check("API Auth Key, create form")
	run(t, ctx, "send the form with a custom date left empty and no permission",
		chromedp.SendKeys(control("Key name"), "Refused key"),
		chromedp.SendKeys(control("Description"), "Has no permission."),
		chromedp.Click(`//label[normalize-space()="Custom date"]`),
		chromedp.WaitVisible(control("Expiration date")),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name="scopes"][type="checkbox"]').forEach(b => { b.checked = false })`),
		chromedp.Click(submit("Create API Auth Key")),
		chromedp.WaitVisible(`//p[@id="create-scopes-error"]`), settled())
	check("API Auth Key, create form with errors")
	run(t, ctx, "cancel, and open the form anew",
		chromedp.Click(`//section[@id="create-panel"]//a[normalize-space()="Cancel"]`),
		chromedp.WaitNotPresent(control("Key name")), settled(),
		chromedp.Click(link("Create API Auth Key")), chromedp.WaitVisible(control("Key name")), settled())
	run(t, ctx, "go on to the confirmation",
		chromedp.SendKeys(control("Key name"), walkNewKey),
		chromedp.SendKeys(control("Description"), "Signs requests from the iOS app's background refresh."),
		chromedp.Click(submit("Create API Auth Key")),
		chromedp.WaitVisible(confirmHeading), settled())
	check("API Auth Key, confirmation")
	run(t, ctx, "confirm",
		chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
		chromedp.WaitVisible(button("Copy")), settled())
	check("API Auth Key, the key shown once")
	run(t, ctx, "close the panel with Done",
		chromedp.Click(link("Done")), chromedp.WaitNotPresent(`#new-key`), chromedp.WaitVisible(keyRow(walkNewKey)), pageReady())
	check("API Auth Key, the new key marked")

	run(t, ctx, "edit a key", keysPage,
		chromedp.Click(rowAction(walkSeedKey, "Edit")), chromedp.WaitVisible(control("Key name")), settled())
	check("API Auth Key, edit row")
	run(t, ctx, "ask to delete a key", keysPage,
		chromedp.Click(rowAction(walkSeedKey, "Delete")), chromedp.WaitVisible(button("Delete key")), settled())
	check("API Auth Key, delete confirmation")

	run(t, ctx, "open the key inventory",
		chromedp.Navigate(base+"/admin/api-keys"), chromedp.WaitVisible(heading("Key inventory")), pageReady())
	check("admin key inventory")
	walkKeyPages(t, ctx, base, db, seeded, old, "Billing export", check)
	run(t, ctx, "open Users",
		chromedp.Navigate(base+"/admin/users"), chromedp.WaitVisible(heading("Users")), pageReady())
	check("admin users")
	run(t, ctx, "ask to disable an account",
		chromedp.Click(fmt.Sprintf(`//button[@aria-label=%q]`, "Disable "+walkOwner.Email)),
		chromedp.WaitVisible(button("Disable account")), settled())
	check("admin users, disable confirmation")
	run(t, ctx, "open the audit log",
		chromedp.Navigate(base+"/admin/audit"), chromedp.WaitVisible(heading("Audit log")), pageReady())
	check("admin audit log")
	run(t, ctx, "open a page that does not exist",
		chromedp.Navigate(base+"/settings/no-such-page"), chromedp.WaitVisible(`//h1`))
	check("404")
}

// menuClosed waits until the user menu is closed. (A link in a closed
// details element keeps its box, so WaitNotVisible cannot tell.)
func menuClosed() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](`!document.querySelector("details[data-menu]").open`)(ctx, t)
		return chromedp.Void{}, err
	}
}

// setKeyEnabled switches k of u on or off in the store.
func setKeyEnabled(t *testing.T, db *sqlstore.DB, u *store.User, k *store.APIKey, enabled bool) {
	t.Helper()
	action := store.ActionKeyDisabled
	if enabled {
		action = store.ActionKeyEnabled
	}
	if _, err := db.SetKeyEnabled(t.Context(), u.ID, k.PublicID, enabled,
		store.AuditEvent{Actor: "test", Action: action, SubjectID: u.ID, Target: k.PublicID}); err != nil {
		t.Fatalf("switch key %q: %v", k.Name, err)
	}
}

// mustCreateExpiringKey makes a key of u with scopes that expires in
// (negative: expired that long ago).
func mustCreateExpiringKey(t *testing.T, db *sqlstore.DB, u *store.User, name string, scopes []string, in time.Duration) *store.APIKey {
	t.Helper()
	k, _, err := db.CreateKey(t.Context(), u.ID, store.NewKey{Name: name, Description: "Made by the page walk.", Scopes: scopes,
		ExpiresAt: db.Now().Add(in)}, store.AuditEvent{Actor: "test", Action: store.ActionKeyCreated, SubjectID: u.ID})
	if err != nil {
		t.Fatalf("create key %q: %v", name, err)
	}
	return k
}

// touchKey records a use of k ago, as an API call would.
func touchKey(t *testing.T, db *sqlstore.DB, k *store.APIKey, ago time.Duration) {
	t.Helper()
	at := db.Now().Add(-ago)
	if _, err := db.TouchKey(t.Context(), k.ID, "203.0.113.24", at, at); err != nil {
		t.Fatalf("use key %q: %v", k.Name, err)
	}
}

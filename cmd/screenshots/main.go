// Command screenshots photographs Keydesk's pages in a real headless
// Chromium, for the docs and for design review: every page at desktop
// (1280px) and phone (375px) width, in light and dark, full length.
//
//	go run ./cmd/screenshots [-out docs/screenshots]
//
// It serves the app in-process on a throwaway database with a demo user and
// an admin, drives the browser through the states worth seeing (an error on
// login, validation errors on Change password, each step of an API Auth
// Key's create, edit and delete), and writes one PNG per page,
// width and colour scheme, named like profile-phone-dark.png. It also warns
// when a page is wider than the viewport, which on a phone means sideways
// scrolling.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"keydesk/e2e"
	"keydesk/store"
	"keydesk/store/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "screenshots:", err)
		}
		os.Exit(1)
	}
}

// viewport is a screen the pages are photographed on.
type viewport struct {
	name          string
	width, height int64
	scale         float64
	mobile        bool
}

var (
	viewports = []viewport{
		{name: "desktop", width: 1280, height: 800, scale: 1},
		{name: "phone", width: 375, height: 812, scale: 2, mobile: true},
	}
	schemes = []string{"light", "dark"}
)

// The accounts the pages show, with the demo mode's passwords.
var (
	demo  = e2e.Account{Name: "Dana Demo", Email: "demo@example.com", Password: "demo-password", KYC: store.KYCVerified}
	admin = e2e.Account{Name: "Ada Admin", Email: "admin@example.com", Password: "admin-password",
		Role: store.RoleAdmin, KYC: store.KYCVerified}
)

// A phone's browser, for the second session in the sessions list.
const phoneUserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 " +
	"(KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("screenshots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "docs/screenshots", "directory to write the PNG files to")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	chrome := e2e.FindChrome()
	if chrome == "" {
		return errors.New("no Chromium found (install the chromium package or set KEYDESK_CHROME)")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "keydesk-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// The accounts and keys were made weeks or months ago, as on a real
	// platform, and not all the moment before their month of calls.
	clock := new(e2e.Clock)
	base, db, stopApp, err := e2e.StartApp(ctx, filepath.Join(tmp, "keydesk.db"), sqlstore.WithClock(clock.Now))
	if err != nil {
		return err
	}
	defer stopApp()
	var demoUser, adminUser *store.User
	if err := clock.Back(500*day, func() (err error) {
		adminUser, err = e2e.CreateUser(ctx, db, admin)
		return err
	}); err != nil {
		return err
	}
	if err := clock.Back(420*day, func() (err error) {
		demoUser, err = e2e.CreateUser(ctx, db, demo)
		return err
	}); err != nil {
		return err
	}

	allocCtx, cancelAlloc := e2e.NewAllocator(ctx, chrome, tmp)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return fmt.Errorf("start %s: %w", chrome, err)
	}
	c := camera{out: *out, stdout: stdout, stderr: stderr, clock: clock}

	// Signed out.
	anon, closeTab := newTab(browser)
	defer closeTab()
	if err := c.shoot(anon, "login", navigate(base+"/login", button("Log in"))); err != nil {
		return err
	}
	if err := c.shoot(anon, "signup", navigate(base+"/signup", button("Sign up"))); err != nil {
		return err
	}
	if err := c.shoot(anon, "login-error", chromedp.Steps(
		navigate(base+"/login", button("Log in")),
		logIn(demo.Email, "not-the-password"),
		chromedp.WaitVisible(`//*[@role="alert" and normalize-space()]`),
	)); err != nil {
		return err
	}

	// The demo user, signed in on a phone first and then here, so the
	// sessions list has two rows and this browser is "This device".
	phone, closePhone := newTab(browser)
	defer closePhone()
	if err := chromedp.Do(phone,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: phoneUserAgent})
			return err
		}),
		navigate(base+"/login", button("Log in")),
		logIn(demo.Email, demo.Password),
		chromedp.WaitVisible(heading("Personal Details")),
	); err != nil {
		return fmt.Errorf("log in on the phone: %w", err)
	}
	user, closeUser := newTab(browser)
	defer closeUser()
	if err := chromedp.Do(user,
		navigate(base+"/login", button("Log in")),
		logIn(demo.Email, demo.Password),
		chromedp.WaitVisible(heading("Personal Details")),
	); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	if err := c.shoot(user, "profile", navigate(base+"/settings/profile", heading("Personal Details"))); err != nil {
		return err
	}
	if err := c.shoot(user, "profile-password-errors", chromedp.Steps(
		navigate(base+"/settings/profile", heading("Personal Details")),
		waitScripts(),
		chromedp.Click(`//summary[normalize-space()="Change password"]`),
		chromedp.WaitVisible(field("Current password")),
		chromedp.SendKeys(field("Current password"), demo.Password),
		chromedp.SendKeys(field("New password"), "short"),
		chromedp.SendKeys(field("Confirm new password"), "shorter"),
		chromedp.Click(`//button[@type="submit" and normalize-space()="Change password"]`),
		chromedp.WaitVisible(`//*[contains(@class, "field__error")]`),
	)); err != nil {
		return err
	}
	if err := c.shoot(user, "not-found", navigate(base+"/settings/no-such-page", `//h1`)); err != nil {
		return err
	}
	if err := c.shootKeys(ctx, user, base, db, demoUser, adminUser); err != nil {
		return err
	}

	// The admin.
	if err := seedPlatformKeys(ctx, db); err != nil {
		return err
	}
	adm, closeAdmin := newTab(browser)
	defer closeAdmin()
	if err := chromedp.Do(adm,
		navigate(base+"/login", button("Log in")),
		logIn(admin.Email, admin.Password),
		chromedp.WaitVisible(heading("Personal Details")),
	); err != nil {
		return fmt.Errorf("log in as admin: %w", err)
	}
	if err := c.shoot(adm, "admin-keys", navigate(base+"/admin/api-keys", heading("Key inventory"))); err != nil {
		return err
	}
	if err := c.shoot(adm, "admin-keys-search", navigate(base+"/admin/api-keys?q=demo%40&status=enabled&sort=name&dir=asc",
		heading("Key inventory"))); err != nil {
		return err
	}
	for _, f := range []struct{ name, query string }{
		{"admin-keys-expiring", "expiry=soon"}, {"admin-keys-expired", "expiry=expired"}, {"admin-keys-scope", "scope=payments%3Aread"},
	} {
		if err := c.shoot(adm, f.name, navigate(base+"/admin/api-keys?"+f.query, heading("Key inventory"))); err != nil {
			return err
		}
	}
	if err := c.shoot(adm, "admin-bulk-confirm", chromedp.Steps(
		navigate(base+"/admin/api-keys", heading("Key inventory")),
		waitScripts(),
		chromedp.Click(`(//input[@type="checkbox" and @name="id"])[1]`),
		chromedp.Click(`(//input[@type="checkbox" and @name="id"])[2]`),
		chromedp.Click(`//button[starts-with(normalize-space(), "Disable selected")]`),
		chromedp.WaitVisible(`//h1[starts-with(normalize-space(), "Disable")]`),
	)); err != nil {
		return err
	}
	if err := c.shoot(adm, "admin-users", navigate(base+"/admin/users", heading("Users"))); err != nil {
		return err
	}
	if err := c.shoot(adm, "admin-users-confirm", chromedp.Steps(
		navigate(base+"/admin/users", heading("Users")),
		waitScripts(),
		chromedp.Click(`(//button[normalize-space()="Disable…"])[1]`),
		chromedp.WaitVisible(`//h3[starts-with(normalize-space(), "Disable")]`),
		settled(),
	)); err != nil {
		return err
	}
	if err := c.shoot(adm, "admin-key-page", chromedp.Steps(
		navigate(base+"/admin/api-keys", heading("Key inventory")),
		chromedp.Click(`//table//a[normalize-space()="CI deploy (GitHub Actions)"]`),
		chromedp.WaitVisible(heading("CI deploy (GitHub Actions)")),
	)); err != nil {
		return err
	}
	if err := c.shoot(adm, "audit", navigate(base+"/admin/audit", heading("Audit log"))); err != nil {
		return err
	}
	return c.shoot(adm, "audit-expanded", chromedp.Steps(
		navigate(base+"/admin/audit", heading("Audit log")),
		chromedp.Click(`(//details[contains(@class, "audit-event")]/summary)[1]`),
		chromedp.WaitVisible(`(//details[contains(@class, "audit-event")])[1]//dl`),
	))
}

// The demo user's keys, for the API Auth Key page: realistic names and
// descriptions of several lengths, one disabled by its owner, one by an
// admin, two used lately; one made before scopes and expiry existed, one
// that expires in a few days (the notice), one expired. Each was made
// createdAgo, a lifetime of 30, 90 or 365 days before its expiry.
var demoKeys = []struct {
	name, description string
	createdAgo        time.Duration
	enabled           bool
	byAdmin           bool          // disabled by an admin, not by the owner
	usedAgo           time.Duration // 0: never used
	scopes            []string      // nil: every scope, as before v2
	expiresIn         time.Duration // 0: never; negative: expired that long ago
	userAgent         string        // of a month of calls on the key's page; "" for none
}{
	{"Billing sync (legacy)", "Old nightly job that pushed invoices to the ERP. Replaced by the billing webhook in March; " +
		"kept disabled until the finance audit closes.", 400 * day, false, false, 0, nil, 0, ""},
	{"Local development", "My laptop, for trying the API from scripts and curl.", 30*day - (3*day + 5*time.Hour), true, false, 0,
		[]string{"profile:read", "keys:read"}, 3*24*time.Hour + 5*time.Hour, ""},
	{"Zapier: new sign-ups to #growth", "Posts a message in Slack when someone signs up.", 365*day - 80*day, false, true, 0,
		[]string{"customers:read"}, 80 * 24 * time.Hour, ""},
	{"Grafana metrics exporter", "Reads usage counters every minute for the ops dashboard.", 90*day + 2*day, true, false, 50 * time.Minute,
		[]string{"payments:read"}, -2 * 24 * time.Hour, ""},
	{"CI deploy (GitHub Actions)", "Publishes release builds to staging and production from the main branch.", 45 * day, true, false, 2 * time.Minute,
		[]string{"profile:read", "payments:read", "payments:write", "webhooks:manage"}, 0, "GitHub-Actions-Runner/2.321.0 (deploy.yml)"},
}

// screenshotCalls is how many calls a key's page lists in the screenshots,
// where the store keeps 50: enough to show the list, short enough to keep
// the phone shots a few screens long.
const screenshotCalls = 8

// shootKeys photographs the API Auth Key page: empty, with keys (one about
// to expire, one expired), and each step of create (a custom date, a
// refused form, the confirmation, the key shown once, its row marked New),
// edit and delete; and a key's own page, used and unused. The key created
// here comes last, so the
// other shots show the seeded keys only.
func (c camera) shootKeys(ctx context.Context, tab context.Context, base string, db *sqlstore.DB, u, adm *store.User) error {
	page := base + "/settings/api-keys"
	if err := c.shoot(tab, "keys-empty", navigate(page, `//*[normalize-space()="No API Auth Keys yet"]`)); err != nil {
		return err
	}
	for _, k := range demoKeys {
		var expires time.Time
		if k.expiresIn != 0 {
			expires = db.Now().Add(k.expiresIn)
		}
		var key *store.APIKey
		err := c.clock.Back(k.createdAgo, func() (err error) {
			key, _, err = db.CreateKey(ctx, u.ID, store.NewKey{Name: k.name, Description: k.description, Scopes: k.scopes, ExpiresAt: expires},
				store.AuditEvent{ActorID: u.ID, Actor: u.Email, Action: store.ActionKeyCreated, IP: "192.0.2.10"})
			return err
		})
		if err != nil {
			return fmt.Errorf("seed key %q: %w", k.name, err)
		}
		if k.byAdmin {
			if _, err := db.AdminSetKeyEnabled(ctx, key.PublicID, false,
				store.AuditEvent{ActorID: adm.ID, Actor: adm.Email, Action: store.ActionKeyDisabled, Target: key.PublicID, IP: "192.0.2.1"}); err != nil {
				return fmt.Errorf("admin-disable key %q: %w", k.name, err)
			}
		} else if !k.enabled {
			if _, err := db.SetKeyEnabled(ctx, u.ID, key.PublicID, false,
				store.AuditEvent{ActorID: u.ID, Actor: u.Email, Action: store.ActionKeyDisabled, Target: key.PublicID, IP: "192.0.2.10"}); err != nil {
				return fmt.Errorf("disable key %q: %w", k.name, err)
			}
		}
		if k.usedAgo > 0 {
			at := db.Now().Add(-k.usedAgo)
			if _, err := db.TouchKey(ctx, key.ID, "203.0.113.24", at, at); err != nil {
				return fmt.Errorf("use key %q: %w", k.name, err)
			}
		}
		if k.userAgent != "" {
			if _, _, err := e2e.RecordSampleUses(ctx, db, key, k.userAgent, screenshotCalls); err != nil {
				return fmt.Errorf("record uses of key %q: %w", k.name, err)
			}
		}
	}
	const row = "CI deploy (GitHub Actions)"
	open := chromedp.Steps(navigate(page, keyRow(row)), waitScripts())
	keyPage := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(open, chromedp.Click(keyRow(name)+fmt.Sprintf(`//a[normalize-space()=%q]`, name)),
			chromedp.WaitVisible(heading(name)))
	}
	shots := []struct {
		name  string
		setup chromedp.Action[chromedp.Void]
	}{
		{"keys", open},
		{"keys-edit", chromedp.Steps(open,
			chromedp.Click(rowAction(row, "Edit")),
			chromedp.WaitVisible(control("Key name")))},
		{"keys-delete", chromedp.Steps(open,
			chromedp.Click(rowAction(row, "Delete")),
			chromedp.WaitVisible(button("Delete key")))},
		{"key-page", keyPage(row)},
		{"key-page-table", chromedp.Steps(keyPage(row), chromedp.Click(`//summary[normalize-space()="Show as table"]`),
			chromedp.WaitVisible(`//table[contains(@class, "chart-table")]`))},
		{"key-page-unused", keyPage("Local development")},
		{"keys-create", chromedp.Steps(open,
			chromedp.Click(link("Create API Auth Key")),
			chromedp.WaitVisible(control("Key name")))},
		{"keys-create-custom", chromedp.Steps(open,
			chromedp.Click(link("Create API Auth Key")),
			chromedp.WaitVisible(control("Key name")),
			settled(),
			chromedp.Click(`//label[normalize-space()="Custom date"]`),
			chromedp.WaitVisible(control("Expiration date")))},
		{"keys-create-errors", chromedp.Steps(open,
			chromedp.Click(link("Create API Auth Key")),
			chromedp.WaitVisible(control("Key name")),
			settled(),
			chromedp.SendKeys(control("Key name"), "Mobile app (iOS)"),
			chromedp.SendKeys(control("Description"), "Signs requests from the iOS app's background refresh."),
			chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name="scopes"][type="checkbox"]').forEach(b => b.checked = false)`),
			chromedp.Click(`//label[normalize-space()="Custom date"]`),
			chromedp.Click(`//button[@type="submit" and normalize-space()="Create API Auth Key"]`),
			chromedp.WaitVisible(`//*[contains(@class, "field__error")]`),
			settled())},
		{"keys-confirm", chromedp.Steps(open, fillCreateForm())},
		{"keys-created", chromedp.Steps(open, fillCreateForm(),
			chromedp.Click(`//section[.//h2[normalize-space()="Create this key?"]]//button[normalize-space()="Create API Auth Key"]`),
			chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
			chromedp.WaitVisible(button("Copy")))},
		// Done closes the panel; the new key's row stays marked.
		{"keys-new", chromedp.Steps(
			chromedp.Click(link("Done")),
			chromedp.WaitVisible(keyRow("Mobile app (iOS)")),
			waitScripts())},
		{"keys-regenerate", chromedp.Steps(open, openRegenerate(row))},
		{"keys-regenerated", chromedp.Steps(open, openRegenerate(row),
			chromedp.Click(`//label[normalize-space()="7 days"]`),
			chromedp.Click(button("Regenerate key")),
			chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
			chromedp.WaitVisible(button("Copy")))},
		{"keys-overlap", chromedp.Steps(open, chromedp.WaitVisible(button("End overlap now")))},
	}
	for _, s := range shots {
		if err := c.shoot(tab, s.name, s.setup); err != nil {
			return err
		}
	}
	return nil
}

// openRegenerate opens the Regenerate confirmation in the key's row.
func openRegenerate(row string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(rowAction(row, "Regenerate")),
		chromedp.WaitVisible(button("Regenerate key")),
		settled(),
	)
}

// fillCreateForm opens the create form, fills it and goes on to the
// confirmation step.
func fillCreateForm() chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Click(link("Create API Auth Key")),
		chromedp.WaitVisible(control("Key name")),
		settled(),
		chromedp.SendKeys(control("Key name"), "Mobile app (iOS)"),
		chromedp.SendKeys(control("Description"), "Signs requests from the iOS app's background refresh."),
		chromedp.Click(`//button[@type="submit" and normalize-space()="Create API Auth Key"]`),
		chromedp.WaitVisible(`//h2[normalize-space()="Create this key?"]`),
		settled(),
	)
}

// camera writes the screenshots.
type camera struct {
	out            string
	stdout, stderr io.Writer
	clock          *e2e.Clock
}

const day = 24 * time.Hour

// shoot brings tab into a state with setup, then photographs it on every
// viewport in every colour scheme. The state is set up once, at desktop
// width in light: a resize or a scheme change restyles the page in place.
func (c camera) shoot(tab context.Context, name string, setup chromedp.Action[chromedp.Void]) error {
	if err := chromedp.Do(tab, emulate(viewports[0], schemes[0]), setup); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, vp := range viewports {
		for _, scheme := range schemes {
			if err := chromedp.Do(tab, emulate(vp, scheme)); err != nil {
				return fmt.Errorf("%s on %s in %s: %w", name, vp.name, scheme, err)
			}
			// From the top, as a visitor first sees it (a click may have
			// scrolled, and sticky parts follow the scroll), once the restyle
			// has settled.
			if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](
				`window.scrollTo(0, 0), new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`,
				chromedp.EvalAwaitPromise)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if scheme == schemes[0] {
				c.checkOverflow(tab, name, vp)
			}
			png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
			if err != nil {
				return fmt.Errorf("%s on %s in %s: %w", name, vp.name, scheme, err)
			}
			file := filepath.Join(c.out, fmt.Sprintf("%s-%s-%s.png", name, vp.name, scheme))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, file)
		}
	}
	return nil
}

// overflowJS reports how far the page is wider than the viewport and the
// elements that stick out furthest past its right edge, and the boxes whose
// own content is wider than they are (a table in a scrolling wrapper, say),
// which hide part of the page without widening it; text clipped to nothing
// for screen readers (.visually-hidden) is no such box.
const overflowJS = `(() => {
	const vw = document.documentElement.clientWidth;
	const over = document.documentElement.scrollWidth - vw;
	const culprits = [...document.querySelectorAll("body *")]
		.map(el => ({el, right: el.getBoundingClientRect().right}))
		.filter(x => x.right > vw + 1)
		.sort((a, b) => b.right - a.right)
		.slice(0, 3)
		.map(x => describe(x.el) + " (right edge " + Math.round(x.right) + "px)");
	const clipped = [...document.querySelectorAll("body *")]
		.filter(el => !el.matches("input, textarea, select") && el.scrollWidth > el.clientWidth + 1 &&
			["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX) && el.getClientRects().length > 0)
		.filter(el => !getComputedStyle(el).textOverflow.includes("ellipsis"))
		.filter(el => getComputedStyle(el).clipPath === "none") // clipped on purpose: text for screen readers alone
		.map(el => describe(el) + " (" + el.clientWidth + "px showing " + el.scrollWidth + "px)");
	function describe(el) {
		return el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim().split(/\s+/).join(".") : "");
	}
	return {over, culprits, clipped};
})()`

// checkOverflow warns when the page, or a box in it, scrolls sideways.
func (c camera) checkOverflow(tab context.Context, name string, vp viewport) {
	res, err := chromedp.Run(tab, chromedp.Evaluate[struct {
		Over     int      `json:"over"`
		Culprits []string `json:"culprits"`
		Clipped  []string `json:"clipped"`
	}](overflowJS))
	if err != nil {
		fmt.Fprintf(c.stderr, "warning: %s on %s: overflow check failed: %v\n", name, vp.name, err)
		return
	}
	if res.Over > 0 {
		fmt.Fprintf(c.stderr, "warning: %s on %s (%dpx) is %dpx wider than the screen; furthest out: %v\n",
			name, vp.name, vp.width, res.Over, res.Culprits)
	}
	if len(res.Clipped) > 0 {
		fmt.Fprintf(c.stderr, "warning: %s on %s (%dpx): content cut off, to scroll sideways inside: %v\n",
			name, vp.name, vp.width, res.Clipped)
	}
}

// emulate sets the screen and the colour scheme.
func emulate(vp viewport, scheme string) chromedp.Action[chromedp.Void] {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(vp.scale)}
	if vp.mobile {
		opts = append(opts, chromedp.EmulateMobile)
	}
	return chromedp.Steps(
		chromedp.EmulateViewport(vp.width, vp.height, opts...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return err
		}),
	)
}

// newTab opens a tab in a browser context of its own (its own cookies).
func newTab(browser context.Context) (context.Context, context.CancelFunc) {
	return chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
}

func navigate(url, ready string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate(url), chromedp.WaitVisible(ready))
}

// waitScripts waits until htmx is loaded, so clicks go through it.
func waitScripts() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](`document.readyState === "complete" && !!window.htmx`)(ctx, t)
		return chromedp.Void{}, err
	}
}

// settled waits until htmx has finished its last swap: it wires up new
// content only as it settles, 20 ms after the swap, and a click before
// that would post the plain form underneath.
func settled() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](
			`!document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")`)(ctx, t)
		return chromedp.Void{}, err
	}
}

func logIn(email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Clear(field("Email")),
		chromedp.SendKeys(field("Email"), email),
		chromedp.SendKeys(field("Password"), password),
		chromedp.Click(button("Log in")),
	)
}

func field(label string) string {
	return fmt.Sprintf(`//input[@id=//label[normalize-space()=%q]/@for]`, label)
}

func button(text string) string { return fmt.Sprintf(`//button[normalize-space()=%q]`, text) }

func heading(text string) string { return fmt.Sprintf(`//h1[normalize-space()=%q]`, text) }

// control is the input or textarea whose <label> reads label.
func control(label string) string {
	return fmt.Sprintf(`//*[(self::input or self::textarea) and @id=//label[normalize-space()=%q]/@for]`, label)
}

func link(text string) string { return fmt.Sprintf(`//a[normalize-space()=%q]`, text) }

// keyRow is the keys table's row whose first cell names the key.
func keyRow(name string) string {
	return fmt.Sprintf(`//table//tbody/tr[*[1]//*[normalize-space()=%q]]`, name)
}

// rowAction is a link or button in the key's row, by its text.
func rowAction(name, text string) string {
	return keyRow(name) + fmt.Sprintf(`//*[(self::a or self::button) and normalize-space()=%q]`, text)
}

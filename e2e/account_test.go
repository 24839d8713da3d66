package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// tabTimeout bounds everything one test does in its tab; stepTimeout one
// user action, so a missing element fails in seconds, not at the deadline.
const (
	tabTimeout  = time.Minute
	stepTimeout = 10 * time.Second
)

// TestAccountFlow walks the account flow with JavaScript on, as a user
// would: sign in from a deep link, read Personal Details, rename through the
// in-place form, change the password, sign out from the user menu, and find
// that only the new password works.
func TestAccountFlow(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Dana Demo", Email: "dana@example.com", Password: "first-password-1", KYC: store.KYCVerified}
	user := mustCreateUser(t, db, acct)
	const newName, newPassword = "Dana Q. Demo", "second-password-2"

	run(t, ctx, "open Personal Details signed out",
		chromedp.Navigate(base+"/settings/profile"),
		chromedp.WaitVisible(button("Log in")))
	wantPath(t, ctx, "/login")

	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "land on Personal Details after login", chromedp.WaitVisible(heading("Personal Details")), pageReady())
	wantPath(t, ctx, "/settings/profile")
	checkPersonalDetails(t, ctx, acct.Name, user)

	history := historyLen(t, ctx)
	run(t, ctx, "change the name in place",
		chromedp.Clear(field("Name")),
		chromedp.SendKeys(field("Name"), newName),
		chromedp.Click(button("Save")),
		chromedp.WaitVisible(hasText("Name saved.")),
		settled())
	if got := historyLen(t, ctx); got != history {
		t.Errorf("saving the name navigated (history %d → %d); want an htmx swap in place", history, got)
	}
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(heading("Personal Details")), pageReady())
	wantValue(t, ctx, field("Name"), newName)

	run(t, ctx, "change the password",
		chromedp.Click(summary("Change password")),
		chromedp.WaitVisible(field("Current password")),
		chromedp.SendKeys(field("Current password"), acct.Password),
		chromedp.SendKeys(field("New password"), newPassword),
		chromedp.SendKeys(field("Confirm new password"), newPassword),
		chromedp.Click(submit("Change password")),
		chromedp.WaitVisible(startsWith("Password changed")),
		// Settling moves focus (and may scroll) back to "Change password":
		// let it finish before the next click, which aims at a position.
		settled())

	run(t, ctx, "log out from the user menu",
		chromedp.Click(menuOf(newName)),
		chromedp.WaitVisible(button("Log out")),
		chromedp.Click(button("Log out")),
		chromedp.WaitVisible(button("Log in")))
	wantPath(t, ctx, "/login")

	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "the old password is refused", chromedp.WaitVisible(alert("Incorrect email or password.")))
	wantPath(t, ctx, "/login")

	logIn(t, ctx, acct.Email, newPassword)
	run(t, ctx, "the new password works", chromedp.WaitVisible(heading("Personal Details")))
	wantPath(t, ctx, "/settings/profile")
}

// TestAccountWithoutJavaScript proves the plain-form fallback: with scripts
// off, login, the name and the password change are ordinary posts that
// redirect back with a notice.
func TestAccountWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Nora NoScript", Email: "nora@example.com", Password: "first-password-1", KYC: store.KYCPending}
	user := mustCreateUser(t, db, acct)
	const newName, newPassword = "Nora N. NoScript", "second-password-2"

	run(t, ctx, "open the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	if htmx, err := chromedp.Run(ctx, chromedp.Evaluate[string](`typeof window.htmx`)); err != nil || htmx != "undefined" {
		t.Fatalf("htmx is %q (err %v); want scripts off, so undefined", htmx, err)
	}
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "land on Personal Details after login", chromedp.WaitVisible(heading("Personal Details")))
	checkPersonalDetails(t, ctx, acct.Name, user)

	history := historyLen(t, ctx)
	run(t, ctx, "change the name by a plain post",
		chromedp.Clear(field("Name")),
		chromedp.SendKeys(field("Name"), newName),
		chromedp.Click(button("Save")),
		chromedp.WaitVisible(hasText("Name saved.")),
		settled())
	if got := historyLen(t, ctx); got != history+1 {
		t.Errorf("history %d → %d after saving the name; want one navigation (post, redirect back)", history, got)
	}
	wantPath(t, ctx, "/settings/profile")
	wantValue(t, ctx, field("Name"), newName)

	run(t, ctx, "change the password by a plain post",
		chromedp.Click(summary("Change password")),
		chromedp.WaitVisible(field("Current password")),
		chromedp.SendKeys(field("Current password"), acct.Password),
		chromedp.SendKeys(field("New password"), newPassword),
		chromedp.SendKeys(field("Confirm new password"), newPassword),
		chromedp.Click(submit("Change password")),
		chromedp.WaitVisible(startsWith("Password changed")))
	wantPath(t, ctx, "/settings/profile")

	run(t, ctx, "log out from the user menu",
		chromedp.Click(menuOf(newName)),
		chromedp.WaitVisible(button("Log out")),
		chromedp.Click(button("Log out")),
		chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, newPassword)
	run(t, ctx, "the new password works", chromedp.WaitVisible(heading("Personal Details")))
}

// checkPersonalDetails reads every labelled row of Personal Details.
func checkPersonalDetails(t *testing.T, ctx context.Context, name string, u *store.User) {
	t.Helper()
	wantValue(t, ctx, field("Name"), name)
	for _, row := range []struct{ label, want string }{
		{"User ID", u.PublicID},
		{"Email ID", u.Email},
		{"KALP ID", u.KALPID},
		{"KYC status", u.KYCStatus.Label()},
	} {
		got, err := read(ctx, chromedp.Text(labelled(row.label), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("read %s: %v", row.label, err)
		}
		if strings.TrimSpace(got) != row.want {
			t.Errorf("%s = %q, want %q", row.label, got, row.want)
		}
	}
	run(t, ctx, "find Password with its Change password action",
		chromedp.WaitVisible(`//*[normalize-space()="Password"]/following-sibling::*//summary[normalize-space()="Change password"]`))
}

// Selectors, by what a user sees: labels, headings and the text of
// buttons. They are XPath, which chromedp's default Search lookup runs.

// field is the input whose <label> reads label.
func field(label string) string {
	return fmt.Sprintf(`//input[@id=//label[normalize-space()=%q]/@for]`, label)
}

// labelled is the element whose aria-labelledby names an element reading label.
func labelled(label string) string {
	return fmt.Sprintf(`//*[@aria-labelledby=//*[normalize-space()=%q]/@id]`, label)
}

func button(text string) string { return fmt.Sprintf(`//button[normalize-space()=%q]`, text) }

func submit(text string) string {
	return fmt.Sprintf(`//button[@type="submit" and normalize-space()=%q]`, text)
}

func summary(text string) string { return fmt.Sprintf(`//summary[normalize-space()=%q]`, text) }

func heading(text string) string { return fmt.Sprintf(`//h1[normalize-space()=%q]`, text) }

func alert(text string) string {
	return fmt.Sprintf(`//*[@role="alert" and normalize-space()=%q]`, text)
}

// hasText is the innermost element reading exactly text.
func hasText(text string) string {
	return fmt.Sprintf(`//*[normalize-space()=%q and not(*[normalize-space()=%q])]`, text, text)
}

// shownText is hasText on the page itself, not in the live region, which
// keeps the last announcement for screen readers out of sight.
func shownText(text string) string {
	return fmt.Sprintf(`//*[normalize-space()=%q and not(*[normalize-space()=%q]) and not(@id="announcer")]`, text, text)
}

// startsWith is the innermost element whose text starts with prefix.
func startsWith(prefix string) string {
	return fmt.Sprintf(`//*[starts-with(normalize-space(), %q) and not(*[starts-with(normalize-space(), %q)])]`, prefix, prefix)
}

// menuOf is the user menu's button, which shows the user's name.
func menuOf(name string) string {
	return fmt.Sprintf(`//header//summary[.//*[normalize-space()=%q]]`, name)
}

// Steps.

// logIn fills the login form on the current page and submits it.
func logIn(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	run(t, ctx, "log in as "+email,
		chromedp.WaitVisible(field("Email")),
		chromedp.Clear(field("Email")),
		chromedp.SendKeys(field("Email"), email),
		chromedp.SendKeys(field("Password"), password),
		chromedp.Click(button("Log in")))
}

// pageReady waits until the page's scripts have run, so a click goes to
// htmx and not to the plain form underneath.
func pageReady() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](`document.readyState === "complete" && !!window.htmx`)(ctx, t)
		return chromedp.Void{}, err
	}
}

// run runs the steps of one user action, failing the test with what the
// page showed when one of them fails.
func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
}

// read runs one query within stepTimeout.
func read[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// pageState describes the page for a failure message, as far as the
// browser still answers.
func pageState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(page state unavailable: " + err.Error() + ")"
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return fmt.Sprintf("page %s shows:\n%s", loc, text)
}

func wantPath(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("read location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("parse location %q: %v", loc, err)
	}
	if u.Path != want {
		t.Fatalf("on %s, want path %s\n%s", loc, want, pageState(ctx))
	}
}

func wantValue(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	got, err := read(ctx, chromedp.Value(sel))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	if got != want {
		t.Errorf("value of %s = %q, want %q", sel, got, want)
	}
}

// historyLen is the number of entries in the tab's history: a plain post
// adds one, an htmx swap none.
func historyLen(t *testing.T, ctx context.Context) int {
	t.Helper()
	h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatalf("read history: %v", err)
	}
	return len(h.Entries)
}

func mustCreateUser(t *testing.T, db *sqlstore.DB, a Account) *store.User {
	t.Helper()
	u, err := CreateUser(t.Context(), db, a)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

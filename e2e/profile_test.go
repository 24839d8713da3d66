package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"keydesk/store"
)

// TestSignOutAnotherSession: two browsers signed in as one user; the first
// signs the second out from its sessions list, after a confirmation that
// names it and gives Cancel the focus, and the second's next request lands
// on the login page while the first stays signed in.
func TestSignOutAnotherSession(t *testing.T) {
	here, there := newTab(t, tabTimeout), newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Sam Sessions", Email: "sam@example.com", Password: "sam-password-1", KYC: store.KYCVerified}
	mustCreateUser(t, db, acct)

	run(t, there, "the other browser signs in", chromedp.Navigate(base+"/login"))
	logIn(t, there, acct.Email, acct.Password)
	run(t, there, "it lands on Personal Details", chromedp.WaitVisible(heading("Personal Details")))

	run(t, here, "this browser signs in", chromedp.Navigate(base+"/login"))
	logIn(t, here, acct.Email, acct.Password)
	run(t, here, "it lands on Personal Details", chromedp.WaitVisible(heading("Personal Details")), pageReady())
	if n := countNodes(t, here, `//section[@id="sessions"]//tbody/tr`); n != 2 {
		t.Fatalf("%d sessions listed, want 2", n)
	}
	if n := countNodes(t, here, `//section[@id="sessions"]//tbody/tr[.//*[normalize-space()="This device"]]//a[normalize-space()="Sign out"]`); n != 0 {
		t.Error("this device's row offers Sign out")
	}

	history := historyLen(t, here)
	run(t, here, "ask to sign the other session out",
		chromedp.Click(`//section[@id="sessions"]//a[normalize-space()="Sign out"]`),
		chromedp.WaitVisible(`//h3[starts-with(normalize-space(), "Sign out Headless Chrome on Linux at 127.0.0.1")]`),
		settled())
	focused, err := read(here, chromedp.Evaluate[string](`document.activeElement.textContent.trim()`))
	if err != nil || focused != "Cancel" {
		t.Errorf("focus on %q (err %v) in the confirmation; want Cancel, the safe choice", focused, err)
	}
	keys(t, here, "Escape cancels the confirmation", kb.Escape)
	run(t, here, "the row is back", chromedp.WaitNotPresent(`//section[@id="sessions"]//button[normalize-space()="Sign out"]`), settled())
	focused, err = read(here, chromedp.Evaluate[string](`document.activeElement.textContent.trim()`))
	if err != nil || focused != "Sign out" {
		t.Errorf("focus on %q (err %v) after Escape; want the row's Sign out again", focused, err)
	}
	run(t, here, "ask again",
		chromedp.Click(`//section[@id="sessions"]//a[normalize-space()="Sign out"]`),
		chromedp.WaitVisible(`//section[@id="sessions"]//button[normalize-space()="Sign out"]`),
		settled())
	run(t, here, "confirm",
		chromedp.Click(`//section[@id="sessions"]//button[normalize-space()="Sign out"]`),
		chromedp.WaitVisible(hasText("Signed out Headless Chrome on Linux (127.0.0.1).")),
		settled())
	inSessions, err := read(here, chromedp.Evaluate[bool](`!!document.activeElement.closest("#sessions")`))
	if err != nil || !inSessions {
		t.Errorf("focus left the sessions list after signing a session out (err %v)", err)
	}
	if got := historyLen(t, here); got != history {
		t.Errorf("signing out a session navigated (history %d → %d); want an htmx swap", history, got)
	}
	if n := countNodes(t, here, `//section[@id="sessions"]//tbody/tr`); n != 1 {
		t.Errorf("%d sessions listed after, want 1", n)
	}

	run(t, there, "the other browser's next request",
		chromedp.Navigate(base+"/settings/api-keys"),
		chromedp.WaitVisible(button("Log in")))
	wantPath(t, there, "/login")

	run(t, here, "this browser is still signed in",
		chromedp.Navigate(base+"/settings/api-keys"),
		chromedp.WaitVisible(heading("API Auth Key")))
}

// TestProfileRemembersWhatItShould: the saved name reaches the header's
// menu without a reload; "Name saved." goes when the user edits again or
// does something else; after a mistake in Change password the current
// password stays typed (the browser keeps it; the server never sends it),
// unless it was the mistake.
func TestProfileRemembersWhatItShould(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Rita Rename", Email: "rita@example.com", Password: "rita-password-1", KYC: store.KYCVerified}
	mustCreateUser(t, db, acct)
	const newName = "Rita R. Rename"

	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "land on Personal Details", chromedp.WaitVisible(heading("Personal Details")), pageReady())

	run(t, ctx, "save a new name",
		chromedp.Clear(field("Name")),
		chromedp.SendKeys(field("Name"), newName),
		chromedp.Click(button("Save")),
		chromedp.WaitVisible(hasText("Name saved.")),
		settled())
	if got := textOf(t, ctx, `//header//*[contains(@class, "menu__name")]`); got != newName {
		t.Errorf("the header's menu says %q, want %q without a reload", got, newName)
	}
	run(t, ctx, "the menu opens and names the user",
		chromedp.Click(menuOf(newName)),
		chromedp.WaitVisible(`//header//div[contains(@class, "menu__header")]/strong[normalize-space()="`+newName+`"]`),
		chromedp.Click(menuOf(newName)))

	run(t, ctx, "start editing again", chromedp.SendKeys(field("Name"), "!"))
	if n := countNodes(t, ctx, shownText("Name saved.")); n != 0 {
		t.Error(`"Name saved." stays while the name is edited again`)
	}
	run(t, ctx, "save, then open Change password",
		chromedp.Clear(field("Name")),
		chromedp.SendKeys(field("Name"), newName),
		chromedp.Click(button("Save")),
		chromedp.WaitVisible(hasText("Name saved.")),
		settled(),
		chromedp.Click(summary("Change password")),
		chromedp.WaitVisible(field("Current password")))

	run(t, ctx, "make a mistake in the confirmation",
		chromedp.SendKeys(field("Current password"), acct.Password),
		chromedp.SendKeys(field("New password"), "new-password-22"),
		chromedp.SendKeys(field("Confirm new password"), "new-password-23"),
		chromedp.Click(submit("Change password")),
		chromedp.WaitVisible(hasText("The two new passwords do not match.")),
		settled())
	if n := countNodes(t, ctx, shownText("Name saved.")); n != 0 {
		t.Error(`"Name saved." stays through a password change`)
	}
	wantValue(t, ctx, field("Current password"), acct.Password)

	run(t, ctx, "make a password too short",
		chromedp.SendKeys(field("New password"), "short"),
		chromedp.SendKeys(field("Confirm new password"), "short"),
		chromedp.Click(submit("Change password")),
		chromedp.WaitVisible(`//p[contains(@class, "field__error") and contains(., "at least 8")]`),
		settled())
	wantValue(t, ctx, field("Current password"), acct.Password)

	run(t, ctx, "give a wrong current password",
		chromedp.Clear(field("Current password")),
		chromedp.SendKeys(field("Current password"), "not-my-password"),
		chromedp.SendKeys(field("New password"), "new-password-22"),
		chromedp.SendKeys(field("Confirm new password"), "new-password-22"),
		chromedp.Click(submit("Change password")),
		chromedp.WaitVisible(hasText("Your current password is not correct.")),
		settled())
	wantValue(t, ctx, field("Current password"), "")

	run(t, ctx, "then the right one",
		chromedp.SendKeys(field("Current password"), acct.Password),
		chromedp.SendKeys(field("New password"), "new-password-22"),
		chromedp.SendKeys(field("Confirm new password"), "new-password-22"),
		chromedp.Click(submit("Change password")),
		chromedp.WaitVisible(startsWith("Password changed")),
		settled())
	if got := countNodes(t, ctx, fmt.Sprintf(`//input[@id="current_password" and @value]`)); got != 0 {
		t.Error("the current password field carries a value attribute")
	}
}

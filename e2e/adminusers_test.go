package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminDisablesAnAccountWithoutJavaScript: with scripts off, Disable on
// the Users page leads to a confirmation page that names the account and
// what follows; Cancel goes back with nothing changed; confirming disables
// the account, whose keys stop answering, and the Users page says so.
func TestAdminDisablesAnAccountWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	_, secret := mustCreateKey(t, db, owner, "Billing export")

	signInAs(t, ctx, base, adminAcct)
	run(t, ctx, "open Users", chromedp.Navigate(base+"/admin/users?q="+ownerAcct.Email),
		chromedp.WaitVisible(heading("Users")), chromedp.WaitVisible(kycSelect(ownerAcct.Email)))
	question := heading("Disable " + ownerAcct.Name + " (" + ownerAcct.Email + ")?")
	run(t, ctx, "ask to disable the owner", chromedp.Click(userButton("Disable", ownerAcct.Email)), chromedp.WaitVisible(question))
	run(t, ctx, "see what follows", chromedp.WaitVisible(hasText(
		"They are signed out everywhere and cannot sign in, and their 1 working key stops answering, until you enable them again.")))
	wantAPI(t, base, secret, http.StatusOK)
	run(t, ctx, "cancel", chromedp.Click(link("Cancel")), chromedp.WaitVisible(heading("Users")))
	wantPath(t, ctx, "/admin/users")
	if q := location(t, ctx).Query().Get("q"); q != ownerAcct.Email {
		t.Errorf("Cancel went back to q=%q, want the search it came from", q)
	}
	wantAPI(t, base, secret, http.StatusOK)

	run(t, ctx, "ask again", chromedp.Click(userButton("Disable", ownerAcct.Email)), chromedp.WaitVisible(question))
	run(t, ctx, "confirm", chromedp.Click(button("Disable account")), chromedp.WaitVisible(heading("Users")),
		chromedp.WaitVisible(hasText(ownerAcct.Name+" ("+ownerAcct.Email+") is disabled: signed out everywhere, and their keys stopped answering.")),
		chromedp.WaitVisible(userButton("Enable", ownerAcct.Email)))
	wantAPI(t, base, secret, http.StatusUnauthorized)
}

package e2e

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestLoginNextStaysOnThisOrigin signs in from a link whose next is
// "/%09/evil.example", the way a phishing mail would send it: Chromium drops
// the TAB and would read "//evil.example", another origin, had Keydesk
// echoed the text. The signed-in visitor must land on Personal Details, on
// this origin. A few other bypass families go through the login page that
// moves a signed-in visitor on.
func TestLoginNextStaysOnThisOrigin(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Rhea Redirect", Email: "rhea@example.com", Password: "rhea-password-1"}
	mustCreateUser(t, db, acct)
	origin, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	landsHome := func(what string) {
		t.Helper()
		u := location(t, ctx)
		if u.Scheme != origin.Scheme || u.Host != origin.Host || u.Path != "/settings/profile" {
			t.Fatalf("%s: on %s, want %s/settings/profile\n%s", what, u, base, pageState(ctx))
		}
	}

	run(t, ctx, "open the login link with a TAB in next",
		chromedp.Navigate(base+"/login?next=/%09/evil.example"),
		chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "land on Personal Details after login", chromedp.WaitVisible(heading("Personal Details")))
	landsHome("login with next=/%09/evil.example")

	for _, next := range []string{"/%09/evil.example", "/%0A/evil.example", "/%2F/evil.example", "/%5C%09%5Cevil.example",
		"%09//evil.example", "/%5Cevil.example", "%20//evil.example"} {
		run(t, ctx, "open /login?next="+next+" signed in",
			chromedp.Navigate(base+"/login?next="+next),
			chromedp.WaitVisible(heading("Personal Details")))
		landsHome("signed in, next=" + next)
	}
}

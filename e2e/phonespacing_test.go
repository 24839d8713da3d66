package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPhoneSpacing, at 375×800: on a short page the content starts right
// under the settings tabs (the grid does not share the spare height out
// between its rows), and a delete confirmation's text keeps clear of its
// red bar.
func TestPhoneSpacing(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	run(t, ctx, "become a phone", phoneScreen(), nextFrames())
	base, db := startApp(t)
	acct := Account{Name: "Pia Phone", Email: "pia@example.com", Password: "pia-password-1"}
	mustCreateUser(t, db, acct)
	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open the empty API Auth Key page",
		chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(hasText("No API Auth Keys yet")), pageReady(), nextFrames())
	gap, err := read(ctx, chromedp.Evaluate[float64](
		`document.querySelector("main h1").getBoundingClientRect().top - document.querySelector(".side-nav").getBoundingClientRect().bottom`))
	if err != nil {
		t.Fatal(err)
	}
	// The grid's own gap is 16 px; the heading's margin may add a little.
	if gap > 24 {
		t.Errorf("%.0f px between the tabs and the page's heading on a short page; want the grid's gap, about 16", gap)
	}

	u, err := db.UserByEmail(t.Context(), acct.Email)
	if err != nil {
		t.Fatal(err)
	}
	mustCreateKey(t, db, u, "CI deploy")
	run(t, ctx, "ask to delete the key",
		chromedp.Reload(), chromedp.WaitVisible(keyRow("CI deploy")), pageReady(),
		chromedp.Click(rowAction("CI deploy", "Delete")), chromedp.WaitVisible(button("Delete key")), settled(), nextFrames())
	inset, err := read(ctx, chromedp.Evaluate[float64](`(() => {
		const td = document.querySelector(".row-form--danger td");
		return document.querySelector(".row-form--danger h3").getBoundingClientRect().left - td.getBoundingClientRect().left;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if inset < 12 {
		t.Errorf("the delete confirmation's text is %.0f px from its red bar; want room (at least 12)", inset)
	}
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// TestRegenerateFlow regenerates a key with JavaScript on, in place: a
// custom date left empty is refused beside its field, then the key gets a
// new secret with a 7-day overlap; both secrets call the API, the row says
// the old one still works and when it was last used, and End overlap now
// stops it on the very next call.
func TestRegenerateFlow(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Rita Rotate", Email: "rita@example.com", Password: "rita-password-1"}
	user := mustCreateUser(t, db, acct)
	const name = "Payments webhook"
	k, old := mustCreateKey(t, db, user, name)

	signInAs(t, ctx, base, acct)
	run(t, ctx, "open API Auth Key",
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow(name)), pageReady())
	history := historyLen(t, ctx)

	openRegenerate(t, ctx, name, settled())
	if got := checkedOverlap(t, ctx); got != "24 hours" {
		t.Errorf("the overlap preselected is %q, want 24 hours", got)
	}
	if visible := dateShown(t, ctx); visible {
		t.Error("the Expiration date shows before Custom date is chosen")
	}
	run(t, ctx, "choose a custom date and leave it empty",
		chromedp.SetValue(dropdown("Expiration"), "custom"),
		chromedp.WaitVisible(control("Expiration date")),
		chromedp.Click(overlapChoice("7 days")),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitVisible(fieldError("Expiration date", "Choose the date the key expires.")),
		settled())
	if got := checkedOverlap(t, ctx); got != "7 days" {
		t.Errorf("after the refusal the overlap is %q, want the 7 days chosen", got)
	}
	if n := countNodes(t, ctx, `//h2[normalize-space()="Your new API Auth Key"]`); n != 0 {
		t.Fatal("a refused regenerate showed a key")
	}
	// The refusal replaced the table, in place, and left the create panel.
	if k, p := countNodes(t, ctx, `//*[@id="keys"]`), countNodes(t, ctx, `//*[@id="create-panel"]`); k != 1 || p != 1 {
		t.Errorf("after the refusal the page holds %d tables of keys and %d create panels; want one of each", k, p)
	}
	wantAPI(t, base, old, http.StatusOK)

	run(t, ctx, "choose 90 days and regenerate",
		chromedp.SetValue(dropdown("Expiration"), "90"),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
		chromedp.WaitVisible(startsWith("Key “"+name+"” regenerated.")),
		settled())
	fresh := shownKey(t, ctx)
	if fresh == old {
		t.Fatal("the new key is the old one")
	}
	if got := historyLen(t, ctx); got != history {
		t.Errorf("regenerating navigated (history %d → %d); want htmx swaps in place", history, got)
	}
	stored := wantKeys(t, db, user, 1)[0]
	if stored.PublicID != k.PublicID || !strings.HasSuffix(fresh, stored.Last4) || !strings.HasSuffix(old, stored.PrevLast4) {
		t.Errorf("stored after regenerate: %+v; want id %s, last4 of %s, previous last4 of %s", stored, k.PublicID, fresh, old)
	}
	if want := db.Now().Add(90 * 24 * time.Hour); stored.ExpiresAt.After(want) || stored.ExpiresAt.Before(want.Add(-time.Minute)) {
		t.Errorf("expires at %v, want 90 days from now", stored.ExpiresAt)
	}
	wantAPI(t, base, fresh, http.StatusOK)
	wantAPI(t, base, old, http.StatusOK)
	wantOverlapShown(t, ctx, name, old, "in 7 days", "Not used since regenerating")

	// The call with the old secret above is written within 50 ms; the
	// row shows it once the page is read again.
	waitOverlapUsed(t, ctx, base, name)
	history = historyLen(t, ctx)
	run(t, ctx, "end the overlap now",
		chromedp.Click(overlapRowOf(name)+`//button[normalize-space()="End overlap now"]`),
		chromedp.WaitVisible(hasText("The old key of “"+name+"” stopped working. Only its new key works now.")),
		chromedp.WaitNotPresent(overlapRowOf(name)),
		settled())
	wantAPI(t, base, old, http.StatusUnauthorized)
	wantAPI(t, base, fresh, http.StatusOK)
	if got := historyLen(t, ctx); got != history {
		t.Errorf("End overlap now navigated (history %d → %d); want an htmx swap in place", history, got)
	}
	wantNotInHistory(t, ctx, fresh)
	wantAudited(t, db, k.PublicID, store.ActionKeyRegenerated, store.ActionKeyOverlapEnd)
}

// TestRegenerateByKeyboard: Regenerate opens on Enter with focus on the
// overlap chosen, Escape cancels it and gives focus back to Regenerate,
// and the arrow keys, Tab and Enter regenerate the key with the overlap
// picked, focus landing on the new key.
func TestRegenerateByKeyboard(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Kai Keys", Email: "kai@example.com", Password: "kai-password-1"}
	user := mustCreateUser(t, db, acct)
	const name = "Mail relay"
	k, old := mustCreateKey(t, db, user, name)
	opener := "regenerate-" + k.PublicID

	signInAs(t, ctx, base, acct)
	run(t, ctx, "open API Auth Key",
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow(name)), pageReady())
	tabTo(t, ctx, "Tab to Regenerate", byID(opener), false)
	keys(t, ctx, "press Enter on Regenerate", kb.Enter)
	run(t, ctx, "see the confirmation", chromedp.WaitVisible(button("Regenerate key")), settled())
	mustFocus(t, ctx, "the confirmation opens on the overlap chosen", `el.name === "overlap" && el.value === "24h"`)
	// The ring is drawn around the whole choice, the radio's label.
	if ring, err := read(ctx, chromedp.Evaluate[string](`(el => el.matches(":focus-visible") ?
		getComputedStyle(el.closest("label")).outlineStyle : "not focus-visible")(document.activeElement)`)); err != nil || ring == "none" || ring == "not focus-visible" {
		t.Errorf("the overlap chosen has focus but shows no ring: %q (%v)", ring, err)
	}
	keys(t, ctx, "press Escape", kb.Escape)
	run(t, ctx, "the confirmation closes", chromedp.WaitNotPresent(button("Regenerate key")), settled())
	wantFocus(t, ctx, "Escape gives focus back to Regenerate", byID(opener))
	wantAPI(t, base, old, http.StatusOK)

	keys(t, ctx, "press Enter on Regenerate again", kb.Enter)
	run(t, ctx, "see the confirmation", chromedp.WaitVisible(button("Regenerate key")), settled())
	mustFocus(t, ctx, "the overlap chosen has focus", `el.name === "overlap"`)
	keys(t, ctx, "pick 7 days with the arrow key", kb.ArrowRight)
	wantFocus(t, ctx, "the arrow key moves to 7 days", `el.value === "7d" && el.checked`)
	tabTo(t, ctx, "Tab to Regenerate key", byText("Regenerate key"), false)
	keys(t, ctx, "press Enter on Regenerate key", kb.Enter)
	run(t, ctx, "see the new key",
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`), settled())
	wantFocus(t, ctx, "focus lands on the new key", byID("new-key"))
	fresh := shownKey(t, ctx)
	wantAPI(t, base, fresh, http.StatusOK)
	wantAPI(t, base, old, http.StatusOK)
	if k := wantKeys(t, db, user, 1)[0]; k.PrevUntil.Sub(db.Now()) < 6*24*time.Hour {
		t.Errorf("the old key works until %v; want the 7 days picked", k.PrevUntil)
	}
}

// TestRegenerateWithoutJavaScript regenerates by plain posts: once with
// Stop it now (the old secret is refused at once), once with an hour's
// overlap, which End overlap now, a plain post too, then ends.
func TestRegenerateWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Nico NoScript", Email: "nico@example.com", Password: "nico-password-1"}
	user := mustCreateUser(t, db, acct)
	const name = "Nightly backup"
	k, first := mustCreateKey(t, db, user, name)

	signInAs(t, ctx, base, acct)
	run(t, ctx, "open API Auth Key",
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow(name)))
	openRegenerate(t, ctx, name, chromedp.Steps())
	wantPath(t, ctx, "/settings/api-keys/"+k.PublicID+"/regenerate")
	run(t, ctx, "stop the old key now and regenerate",
		chromedp.Click(overlapChoice("Stop it now")),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
		chromedp.WaitVisible(startsWith("Key “"+name+"” regenerated. The old key stopped working.")))
	second := shownKey(t, ctx)
	wantAPI(t, base, first, http.StatusUnauthorized)
	wantAPI(t, base, second, http.StatusOK)

	run(t, ctx, "go back to the list", chromedp.Click(link("Done")), chromedp.WaitVisible(keyRow(name)))
	openRegenerate(t, ctx, name, chromedp.Steps())
	run(t, ctx, "keep the old key for an hour and regenerate",
		chromedp.Click(overlapChoice("1 hour")),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`))
	third := shownKey(t, ctx)
	wantAPI(t, base, second, http.StatusOK)
	wantAPI(t, base, third, http.StatusOK)
	run(t, ctx, "go back to the list", chromedp.Click(link("Done")), chromedp.WaitVisible(keyRow(name)))
	wantPath(t, ctx, "/settings/api-keys")
	wantOverlapShown(t, ctx, name, second, "in 1 hour", "")

	run(t, ctx, "end the overlap now by a plain post",
		chromedp.Click(overlapRowOf(name)+`//button[normalize-space()="End overlap now"]`),
		chromedp.WaitVisible(hasText("The old key of “"+name+"” stopped working. Only its new key works now.")))
	wantPath(t, ctx, "/settings/api-keys")
	if n := countNodes(t, ctx, overlapRowOf(name)); n != 0 {
		t.Error("the row still shows the old key after End overlap now")
	}
	wantAPI(t, base, second, http.StatusUnauthorized)
	wantAPI(t, base, third, http.StatusOK)
	for _, key := range []string{first, second, third} {
		wantNotInHistory(t, ctx, key)
	}
	wantAudited(t, db, k.PublicID, store.ActionKeyRegenerated, store.ActionKeyOverlapEnd)
}

// TestRegenerateAccessibility runs axe-core on each state Regenerate adds
// (the confirmation, with an error, the new key, the row in its overlap),
// in light and dark at desktop width and light on a phone, where none may
// scroll sideways either.
func TestRegenerateAccessibility(t *testing.T) {
	src, err := os.ReadFile(axeSource)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Alex Axe", Email: "alex@example.com", Password: "alex-password-1"}
	user := mustCreateUser(t, db, acct)
	const name = "Grafana exporter"
	mustCreateKey(t, db, user, name)
	mustCreateKey(t, db, user, "CI deploy")
	signInAs(t, ctx, base, acct)

	var found axeFindings
	check := func(state string) {
		t.Helper()
		for _, v := range []struct {
			scheme string
			width  int64
		}{{"light", 1280}, {"dark", 1280}} {
			page := fmt.Sprintf("%s (%s, %dpx)", state, v.scheme, v.width)
			run(t, ctx, page+": set the view", chromedp.EmulateViewport(v.width, 800), colorScheme(v.scheme))
			found.add(page, runAxe(t, ctx, string(src), page))
		}
		run(t, ctx, state+": become a phone", phoneScreen(), colorScheme("light"), nextFrames())
		found.add(state+" (phone)", runAxe(t, ctx, string(src), state+" (phone)"))
		l, err := read(ctx, chromedp.Evaluate[phoneLayout](phoneLayoutJS))
		if err != nil {
			t.Fatalf("%s: measure the layout: %v", state, err)
		}
		if l.ScrollWidth > phoneWidth {
			t.Errorf("%s: the page is %dpx wide on a %dpx phone; furthest out: %v", state, l.ScrollWidth, phoneWidth, l.Culprits)
		}
		run(t, ctx, state+": back to the desktop", chromedp.EmulateViewport(1280, 800), colorScheme("light"))
	}

	run(t, ctx, "open API Auth Key",
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow(name)), pageReady())
	openRegenerate(t, ctx, name, settled())
	check("Regenerate confirmation")
	run(t, ctx, "regenerate with a custom date left empty",
		chromedp.SetValue(dropdown("Expiration"), "custom"),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitVisible(fieldError("Expiration date", "Choose the date the key expires.")),
		settled())
	check("Regenerate confirmation with an error")
	run(t, ctx, "regenerate",
		chromedp.SetValue(dropdown("Expiration"), "30"),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
		settled())
	check("the regenerated key shown once")
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(keyRow(name)), pageReady())
	check("API Auth Key, a key in its overlap")

	for _, f := range found.list {
		if f.serious() {
			t.Errorf("axe: %s", f)
		} else {
			t.Logf("axe, not failing: %s", f)
		}
	}
}

// openRegenerate opens the key's Regenerate confirmation from its row and
// waits for it; then for wait (settled, with scripts on).
func openRegenerate(t *testing.T, ctx context.Context, name string, wait chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, "open Regenerate for "+name,
		chromedp.Click(rowAction(name, "Regenerate")),
		chromedp.WaitVisible(fmt.Sprintf(`//tr[.//h3[normalize-space()=%q]]`, "Regenerate "+name+"?")),
		chromedp.WaitVisible(`//fieldset[legend[normalize-space()="Keep the old key working for"]]`),
		chromedp.WaitVisible(dropdown("Expiration")),
		chromedp.WaitVisible(button("Regenerate key")),
		wait)
}

// overlapChoice is the radio button of an overlap, by its label.
func overlapChoice(label string) string {
	return fmt.Sprintf(`//fieldset[legend[normalize-space()="Keep the old key working for"]]//label[normalize-space()=%q]`, label)
}

// fieldError is the error shown under the control labelled label.
func fieldError(label, msg string) string {
	return fmt.Sprintf(`//*[@id=//label[normalize-space()=%q]/@for]/following-sibling::p[contains(@class, "field__error") and normalize-space()=%q]`, label, msg)
}

// checkedOverlap is the label of the overlap chosen.
func checkedOverlap(t *testing.T, ctx context.Context) string {
	t.Helper()
	got, err := read(ctx, chromedp.Evaluate[string](
		`(document.querySelector('input[name="overlap"]:checked')?.closest("label")?.textContent || "").trim()`))
	if err != nil {
		t.Fatalf("read the overlap chosen: %v", err)
	}
	return got
}

// dateShown reports whether the Expiration date field is on screen.
func dateShown(t *testing.T, ctx context.Context) bool {
	t.Helper()
	shown, err := read(ctx, chromedp.Evaluate[bool](`document.getElementById("regen-expires-on").getClientRects().length > 0`))
	if err != nil {
		t.Fatalf("probe the Expiration date: %v", err)
	}
	return shown
}

// overlapRowOf is the row under the key's that tells of its old secret.
func overlapRowOf(name string) string {
	return keyRow(name) + `/following-sibling::tr[1][contains(concat(" ", @class, " "), " overlap-row ")]`
}

// wantOverlapShown checks the row under the key's: the old secret still
// works, stops when (the exact time on hover), and was last used as
// lastUse says ("" to skip).
func wantOverlapShown(t *testing.T, ctx context.Context, name, old, stops, lastUse string) {
	t.Helper()
	got := strings.Join(strings.Fields(textOf(t, ctx, overlapRowOf(name))), " ")
	for _, want := range []string{"Old key kdk_…" + old[len(old)-4:] + " still works", "Stops " + stops, lastUse, "End overlap now"} {
		if !strings.Contains(got, want) {
			t.Errorf("the overlap of %s reads %q; want %q in it", name, got, want)
		}
	}
	title, err := read(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue?.getAttribute("title") || ""`,
		overlapRowOf(name)+`//span[starts-with(normalize-space(), "Stops")]/time`)))
	if err != nil || title == "" {
		t.Errorf("the end of the overlap has no exact time on hover (%q, %v)", title, err)
	}
}

// waitOverlapUsed reloads the page until the row shows the old secret's
// last use (key uses are written in batches).
func waitOverlapUsed(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		run(t, ctx, "reload", chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow(name)), pageReady())
		got := strings.Join(strings.Fields(textOf(t, ctx, overlapRowOf(name))), " ")
		if strings.Contains(got, "Last used just now") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the row never showed the old key's use: %q", got)
		}
		run(t, ctx, "wait a moment", nextFrames())
	}
}

// wantAudited wants an event of each action on the key.
func wantAudited(t *testing.T, db *sqlstore.DB, keyID string, actions ...string) {
	t.Helper()
	for _, a := range actions {
		page, err := db.AuditLog(t.Context(), store.AuditFilter{Action: a, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 0 || page.Events[0].Target != keyID {
			t.Errorf("no %s event on %s: %+v", a, keyID, page.Events)
		}
	}
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// A long description, to be clamped to two lines in the key table.
const longDescription = "Reconciles the payments ledger against the bank's statement export every night at 02:00 UTC, " +
	"flags mismatches to the finance channel, and files a ticket for anything over 100 EUR. " +
	"Owned by the platform team; rotate with the quarterly checklist."

// rowLook is what a key's row shows: whether it is muted, its background
// and edge, and the words beside its switch.
type rowLook struct {
	Muted      bool   `json:"muted"`
	Background string `json:"background"`
	Edge       string `json:"edge"`
	Words      string `json:"words"`
	WordsShown bool   `json:"wordsShown"`
}

func lookOfRow(t *testing.T, ctx context.Context, id string) rowLook {
	t.Helper()
	l, err := read(ctx, chromedp.Evaluate[rowLook](fmt.Sprintf(`(() => {
		const row = document.getElementById(%q);
		const words = row.querySelector('td[data-label="Status"] .switch__note, td[data-label="Status"] .switch__text');
		const s = getComputedStyle(row);
		const box = words.getBoundingClientRect();
		return {muted: row.classList.contains("key-row--off"), background: s.backgroundColor, edge: s.boxShadow,
			words: words.textContent.trim(), wordsShown: box.width > 0 && box.height > 0 && getComputedStyle(words).visibility === "visible"};
	})()`, id)))
	if err != nil {
		t.Fatalf("look at row %s: %v", id, err)
	}
	return l
}

// A key that does not work does not look like one that does: its row is
// muted (another background, a bar at its edge) and says why in words
// beside the switch (not by colour alone); switching a key off in place
// mutes its row at once. A long description shows two lines, and its Show
// more, reached by Tab and opened with Enter, shows it whole.
func TestKeyTableShowsWhatWorks(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Tia Table", Email: "tia@example.com", Password: "tia-password-1", KYC: store.KYCVerified}
	u := mustCreateUser(t, db, acct)
	working, _ := mustCreateKey(t, db, u, "Working key")
	retired, _ := mustCreateKey(t, db, u, "Retired key")
	setKeyEnabled(t, db, u, retired, false)
	leaked, _ := mustCreateKey(t, db, u, "Leaked key")
	if _, err := db.AdminSetKeyEnabled(t.Context(), leaked.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	expired := mustCreateExpiringKey(t, db, u, "Expired key", nil, -time.Hour)
	described, _, err := db.CreateKey(t.Context(), u.ID, store.NewKey{Name: "Nightly reconciliation", Description: longDescription}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}

	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open API Auth Key", chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow("Working key")), pageReady())

	on := lookOfRow(t, ctx, "row-"+working.PublicID)
	if on.Muted || on.Words != "Enabled" || !on.WordsShown {
		t.Errorf("the working key's row: %+v", on)
	}
	for k, words := range map[*store.APIKey]string{retired: "Disabled", leaked: "Disabled by an admin", expired: "Expired"} {
		off := lookOfRow(t, ctx, "row-"+k.PublicID)
		if !off.Muted || off.Background == on.Background || off.Edge == "none" || off.Edge == on.Edge {
			t.Errorf("%s looks like a working key: %+v, beside %+v", k.Name, off, on)
		}
		if off.Words != words || !off.WordsShown {
			t.Errorf("%s says %q (shown %v) beside its switch, want %q", k.Name, off.Words, off.WordsShown, words)
		}
	}

	run(t, ctx, "switch the working key off", chromedp.Click(fmt.Sprintf(`//button[@aria-label=%q]`, "Enable key Working key")),
		chromedp.WaitVisible(keyRow("Working key")+`[contains(@class, "key-row--off")]`), settled())
	if now := lookOfRow(t, ctx, "row-"+working.PublicID); now.Words != "Disabled" || now.Background == on.Background {
		t.Errorf("switched off in place, the row reads %+v", now)
	}

	// The description: two lines, the rest behind Show more.
	type clamp struct {
		Lines    float64 `json:"lines"`
		Clipped  bool    `json:"clipped"`
		Open     bool    `json:"open"`
		Toggle   string  `json:"toggle"`
		HasTitle bool    `json:"hasTitle"`
	}
	measure := fmt.Sprintf(`(() => {
		const d = document.getElementById("desc-%s"), text = d.querySelector(".key-desc__text");
		const s = getComputedStyle(text);
		const toggle = [...d.querySelectorAll(".key-desc__toggle > span")].find(e => e.offsetParent !== null);
		return {lines: text.clientHeight / parseFloat(s.lineHeight), clipped: text.scrollHeight > text.clientHeight + 1,
			open: d.open, toggle: toggle ? toggle.textContent : "", hasTitle: d.querySelector("summary").title === %q};
	})()`, described.PublicID, longDescription)
	before, err := read(ctx, chromedp.Evaluate[clamp](measure))
	if err != nil {
		t.Fatal(err)
	}
	if before.Lines > 2.05 || !before.Clipped || before.Open || before.Toggle != "Show more" || !before.HasTitle {
		t.Errorf("the long description, closed: %+v", before)
	}
	run(t, ctx, "focus the key's name", chromedp.Focus(fmt.Sprintf(`//a[normalize-space()=%q]`, "Nightly reconciliation")))
	tabTo(t, ctx, "Tab to the description's Show more", `el.matches("#desc-`+described.PublicID+` > summary")`, false)
	keys(t, ctx, "open it with Enter", kb.Enter)
	after, err := read(ctx, chromedp.Evaluate[clamp](measure))
	if err != nil {
		t.Fatal(err)
	}
	if !after.Open || after.Clipped || after.Lines < 3 || after.Toggle != "Show less" {
		t.Errorf("the long description, opened: %+v", after)
	}
	text, err := read(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector("#desc-%s .key-desc__text").innerText`, described.PublicID)))
	if err != nil || strings.Join(strings.Fields(text), " ") != longDescription {
		t.Errorf("the opened description reads %q (%v)", text, err)
	}
}

// The empty table says what a key is for and offers the way on: its
// Create API Auth Key opens the create form, and it shows the first call to
// make and where the API is described.
func TestKeyTableEmptyStateOpensCreateForm(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Nia New", Email: "nia@example.com", Password: "nia-password-1", KYC: store.KYCVerified}
	mustCreateUser(t, db, acct)
	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	empty := `//div[contains(@class, "keys-empty")]`
	run(t, ctx, "open API Auth Key", chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(hasText("No API Auth Keys yet")), pageReady(),
		chromedp.WaitVisible(empty+`//a[normalize-space()="OpenAPI document" and @href="/api/openapi.json"]`),
		chromedp.WaitVisible(empty+fmt.Sprintf(`//code[contains(., %q)]`, base+"/api/v1/me")))
	run(t, ctx, "press the empty table's Create API Auth Key",
		chromedp.Click(empty+`//a[normalize-space()="Create API Auth Key"]`),
		chromedp.WaitVisible(control("Key name")), settled(),
		chromedp.WaitNotVisible(`#create-open-empty`))
	mustFocus(t, ctx, "the form takes focus", `el.matches("#create-name")`)
	run(t, ctx, "cancel", chromedp.Click(`//section[@id="create-panel"]//a[normalize-space()="Cancel"]`),
		chromedp.WaitNotPresent(control("Key name")), settled(), chromedp.WaitVisible(`#create-open-empty`))
}

// Long names and descriptions fit: at 1280 px the table fits its box
// with the name column given room (not squeezed to a sliver), and on a
// phone nothing in a row reaches past its card, not even a 64-character
// name of one word (the card clips what overflows, so the page test alone
// would not see it). The widest cells are there: a date of two-digit day
// among them, whatever the day the test runs.
func TestKeyTableFitsLongNames(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	clock := new(Clock)
	base, db := startApp(t, sqlstore.WithClock(clock.Now))
	acct := Account{Name: "Lou Long", Email: "lou@example.com", Password: "lou-password-1", KYC: store.KYCVerified}
	u := mustCreateUser(t, db, acct)
	for _, made := range []time.Time{
		time.Date(2026, time.May, 28, 12, 0, 0, 0, time.UTC),
		time.Date(2026, time.November, 28, 12, 0, 0, 0, time.UTC),
	} {
		if err := clock.Back(time.Since(made), func() error {
			_, _, err := db.CreateKey(t.Context(), u.ID, store.NewKey{Name: "Made " + made.Format("2 January")}, store.AuditEvent{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []store.NewKey{
		{Name: walkLongName, Description: longDescription},
		{Name: "Nightly reconciliation of the payments ledger against the bank", Description: strings.Repeat("x", 120)},
		{Name: "CI deploy", Description: "Short."},
	} {
		if _, _, err := db.CreateKey(t.Context(), u.ID, k, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreateExpiringKey(t, db, u, "Expired key", []string{"profile:read"}, -time.Hour)
	// The widest cells: a state badge that wraps, four scope badges, a
	// recent Last Used.
	wide := mustCreateExpiringKey(t, db, u, "Zapier: new sign-ups to #growth",
		[]string{"profile:read", "payments:read", "payments:write", "webhooks:manage"}, 80*24*time.Hour)
	if _, err := db.AdminSetKeyEnabled(t.Context(), wide.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	touchKey(t, db, wide, 2*time.Minute)
	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open API Auth Key", chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(keyRow("CI deploy")), pageReady())

	type fit struct {
		WrapScrolls bool     `json:"wrapScrolls"`
		NameWidth   float64  `json:"nameWidth"`
		Outside     []string `json:"outside"`
	}
	const measure = `(() => {
		const wrap = document.querySelector("#keys .table-wrap"), card = document.getElementById("keys").getBoundingClientRect();
		const out = [];
		for (const el of document.querySelectorAll("#keys tbody tr *")) {
			const r = el.getBoundingClientRect();
			if (r.width > 0 && (r.right > card.right + 1 || r.left < card.left - 1)) out.push(el.tagName + "." + el.className + " " + Math.round(r.right));
		}
		// Text can run past a box that stays in place: measure the text itself.
		const walk = document.createTreeWalker(document.querySelector("#keys tbody"), NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const range = document.createRange();
			range.selectNodeContents(n);
			for (const r of range.getClientRects()) {
				if (r.width > 0 && r.right > card.right + 1) { out.push("text " + JSON.stringify(n.textContent.slice(0, 20)) + " " + Math.round(r.right)); break; }
			}
		}
		return {wrapScrolls: wrap.scrollWidth > wrap.clientWidth + 1,
			nameWidth: Math.min(...[...document.querySelectorAll("#keys tbody th.key-name")].map(e => e.getBoundingClientRect().width)),
			outside: out.slice(0, 5)};
	})()`
	run(t, ctx, "at 1280 px", chromedp.EmulateViewport(1280, 800), nextFrames())
	desk, err := read(ctx, chromedp.Evaluate[fit](measure))
	if err != nil {
		t.Fatal(err)
	}
	if desk.WrapScrolls || desk.NameWidth < 13*16 || len(desk.Outside) > 0 {
		t.Errorf("at 1280 px: %+v", desk)
	}
	run(t, ctx, "become a phone", phoneScreen(), nextFrames())
	phone, err := read(ctx, chromedp.Evaluate[fit](measure))
	if err != nil {
		t.Fatal(err)
	}
	if len(phone.Outside) > 0 {
		t.Errorf("on a phone, parts of rows reach past the card: %v", phone.Outside)
	}
}

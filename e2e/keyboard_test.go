package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"keydesk/store"
)

// TestKeyboardOnly does every task of the account with the keyboard alone,
// as a person without a mouse would: Tab, Shift+Tab, Enter, Space and
// Escape, never a click. It signs in, opens the user menu, creates a key
// (cancelling once at the confirmation), copies it, switches it off and on,
// edits and deletes it, changes the password and signs out. After each step
// it checks where focus is: in each form or confirmation that opens, back
// on the control that opened it when that closes, on the switch after a
// flip; and that the focused control shows it has focus.
func TestKeyboardOnly(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	// The test's window need not be the one with the system's focus;
	// the page must behave as if it were, as it is for its user.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled,
		emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("emulate a focused page: %v", err)
	}
	base, db := startApp(t)
	acct := Account{Name: "Kai Keyboard", Email: "kai@example.com", Password: "kai-password-1", KYC: store.KYCVerified}
	user := mustCreateUser(t, db, acct)
	grantClipboard(t, ctx, base)
	const name, desc = "Deploy bot", "Ships the releases."
	const newName, newPassword = "Deploy bot (prod)", "kai-password-2"

	// Sign in.
	run(t, ctx, "open the login page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	mustFocus(t, ctx, "the Email field has focus on arrival", byID("email"))
	keys(t, ctx, "type the email", acct.Email)
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab from Email reaches Password", byID("password"))
	keys(t, ctx, "type the password and press Enter", acct.Password+kb.Enter)
	run(t, ctx, "land on Personal Details", chromedp.WaitVisible(heading("Personal Details")), pageReady())

	// The user menu.
	tabTo(t, ctx, "Tab to the user menu", `el.matches("header summary")`, false)
	wantFocusVisible(t, ctx, "the user menu's button")
	keys(t, ctx, "open the user menu with Enter", kb.Enter)
	run(t, ctx, "see the menu open", poll(`document.querySelector("details[data-menu]").open`))
	keys(t, ctx, "Tab into the menu", kb.Tab)
	mustFocus(t, ctx, "Tab from the menu's button reaches Settings", `el.matches("header a") && `+byText("Settings"))
	wantFocusVisible(t, ctx, "Settings in the user menu")
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab from Settings reaches Log out", `el.matches("header button") && `+byText("Log out"))
	wantFocusVisible(t, ctx, "Log out in the user menu")
	run(t, ctx, "Shift+Tab", shiftTab())
	mustFocus(t, ctx, "Shift+Tab from Log out goes back to Settings", `el.matches("header a") && `+byText("Settings"))
	keys(t, ctx, "close the menu with Escape", kb.Escape)
	run(t, ctx, "see the menu closed", poll(`!document.querySelector("details[data-menu]").open`))
	mustFocus(t, ctx, "Escape returns focus to the menu's button", `el.matches("header summary")`)

	// API Auth Key: create, cancelling once at the confirmation.
	tabTo(t, ctx, "Tab to API Auth Key in the side navigation",
		`el.matches("nav[aria-label=Settings] a") && `+byText("API Auth Key"), false)
	keys(t, ctx, "follow it with Enter", kb.Enter)
	run(t, ctx, "land on API Auth Key",
		chromedp.WaitVisible(heading("API Auth Key")), chromedp.WaitVisible(hasText("No API Auth Keys yet")), pageReady())

	tabTo(t, ctx, "Tab to Create API Auth Key", byID("create-open"), false)
	wantFocusVisible(t, ctx, "Create API Auth Key")
	fillCreateForm(t, ctx, name, desc)
	wantFocusVisible(t, ctx, "the confirmation's Create API Auth Key")
	keys(t, ctx, "cancel the confirmation with Escape", kb.Escape)
	run(t, ctx, "see the confirmation gone", chromedp.WaitNotPresent(confirmHeading), settled())
	mustFocus(t, ctx, "focus returns to Create API Auth Key", byID("create-open"))
	wantKeys(t, db, user, 0)

	fillCreateForm(t, ctx, name, desc)
	keys(t, ctx, "confirm with Enter", kb.Enter)
	run(t, ctx, "see the new key",
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`), chromedp.WaitVisible(keyRow(name)), settled())
	mustFocus(t, ctx, "the new key has focus", byID("new-key"))
	wantFocusVisible(t, ctx, "the new key")
	key := shownKey(t, ctx)
	wantKeys(t, db, user, 1)

	// Copy.
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab from the key reaches Copy", `el.matches("button") && `+byText("Copy"))
	wantFocusVisible(t, ctx, "Copy")
	hasAPI, err := read(ctx, chromedp.Evaluate[bool](`!!(navigator.clipboard && window.isSecureContext)`))
	if err != nil {
		t.Fatalf("probe the Clipboard API: %v", err)
	}
	keys(t, ctx, "press Copy with Enter", kb.Enter)
	if hasAPI {
		mustFocus(t, ctx, "Copy says Copied and keeps focus", `el.matches("button") && `+byText("Copied"))
		got, err := read(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil || got != key {
			t.Errorf("the clipboard holds %q (err %v), want the key", got, err)
		}
	} else {
		t.Log("no Clipboard API here: checking the selection fallback")
		sel, err := read(ctx, chromedp.Poll[string](`window.getSelection().toString().trim() || false`))
		if err != nil || sel != key {
			t.Errorf("selection after Copy = %q (err %v), want the key", sel, err)
		}
	}

	// Status: Space flips the switch, and focus stays on it.
	keySwitch := `el.getAttribute("role") === "switch" && ` + byLabel("Enable key "+name)
	tabTo(t, ctx, "Tab to the key's Status switch", keySwitch, false)
	wantFocusVisible(t, ctx, "the Status switch")
	if got := focusedAttr(t, ctx, "aria-checked"); got != "true" {
		t.Fatalf("the new key's switch has aria-checked=%q, want true", got)
	}
	keys(t, ctx, "switch the key off with Space", " ")
	mustFocus(t, ctx, "the switch reads off and keeps focus", keySwitch+` && el.getAttribute("aria-checked") === "false"`)
	run(t, ctx, "let the swap settle", settled())
	if k := wantKeys(t, db, user, 1)[0]; k.Enabled {
		t.Error("the switch reads off, the store has the key enabled")
	}
	keys(t, ctx, "switch it back on with Space", " ")
	mustFocus(t, ctx, "the switch reads on and keeps focus", keySwitch+` && el.getAttribute("aria-checked") === "true"`)
	run(t, ctx, "let the swap settle", settled())
	if k := wantKeys(t, db, user, 1)[0]; !k.Enabled {
		t.Error("the switch reads on, the store has the key disabled")
	}

	// Edit: Escape cancels, Enter saves; focus goes back to the row's Edit.
	tabTo(t, ctx, "Tab to the key's Edit", byLabel("Edit "+name), false)
	wantFocusVisible(t, ctx, "Edit")
	keys(t, ctx, "open Edit with Enter", kb.Enter)
	mustFocus(t, ctx, "focus moves into the Key name field", byID("edit-name"))
	run(t, ctx, "let the swap settle", settled())
	keys(t, ctx, "cancel with Escape", kb.Escape)
	run(t, ctx, "see the edit row gone", chromedp.WaitNotPresent(`#edit-name`), settled())
	mustFocus(t, ctx, "focus returns to the row's Edit", byLabel("Edit "+name))
	keys(t, ctx, "open Edit again with Enter", kb.Enter)
	mustFocus(t, ctx, "focus moves into the Key name field", byID("edit-name"))
	run(t, ctx, "let the swap settle", settled())
	run(t, ctx, "select the name", chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	keys(t, ctx, "type the new name and save with Enter", newName+kb.Enter)
	run(t, ctx, "see the key renamed", chromedp.WaitVisible(keyRow(newName)), chromedp.WaitNotPresent(`#edit-name`), settled())
	mustFocus(t, ctx, "focus returns to the renamed row's Edit", byLabel("Edit "+newName))
	if k := wantKeys(t, db, user, 1)[0]; k.Name != newName {
		t.Errorf("stored name after the edit: %q, want %q", k.Name, newName)
	}

	// Delete: the confirmation opens on Cancel, so a second Enter deletes
	// nothing; Escape cancels too; Shift+Tab reaches Delete key, which
	// Enter confirms.
	cancelFocused := `el.matches("a[data-cancel]") && ` + byText("Cancel")
	tabTo(t, ctx, "Tab to the key's Delete", byLabel("Delete "+newName), false)
	keys(t, ctx, "ask to delete with Enter", kb.Enter)
	mustFocus(t, ctx, "focus moves to Cancel, the safe choice", cancelFocused)
	run(t, ctx, "let the swap settle", settled())
	wantFocusVisible(t, ctx, "Cancel")
	keys(t, ctx, "press Enter again", kb.Enter)
	run(t, ctx, "see the confirmation gone", chromedp.WaitNotPresent(button("Delete key")), settled())
	mustFocus(t, ctx, "focus returns to the row's Delete", byLabel("Delete "+newName))
	wantKeys(t, db, user, 1)
	keys(t, ctx, "ask again with Enter", kb.Enter)
	mustFocus(t, ctx, "focus moves to Cancel", cancelFocused)
	run(t, ctx, "let the swap settle", settled())
	keys(t, ctx, "cancel with Escape", kb.Escape)
	run(t, ctx, "see the confirmation gone", chromedp.WaitNotPresent(button("Delete key")), settled())
	mustFocus(t, ctx, "focus returns to the row's Delete", byLabel("Delete "+newName))
	wantKeys(t, db, user, 1)
	keys(t, ctx, "ask a third time with Enter", kb.Enter)
	mustFocus(t, ctx, "focus moves to Cancel", cancelFocused)
	run(t, ctx, "let the swap settle", settled())
	run(t, ctx, "Shift+Tab to Delete key", shiftTab())
	mustFocus(t, ctx, "Shift+Tab from Cancel reaches Delete key", `el.matches("button") && `+byText("Delete key"))
	wantFocusVisible(t, ctx, "Delete key")
	keys(t, ctx, "delete with Enter", kb.Enter)
	run(t, ctx, "see the key gone", chromedp.WaitNotPresent(keyRow(newName)), settled())
	wantKeys(t, db, user, 0)
	wantFocus(t, ctx, "focus stays in the page after the delete, not lost to the body", `!!el.closest("main")`)

	// Change password on Personal Details.
	tabTo(t, ctx, "Shift+Tab back to Personal Details in the side navigation",
		`el.matches("nav[aria-label=Settings] a") && `+byText("Personal Details"), true)
	keys(t, ctx, "follow it with Enter", kb.Enter)
	run(t, ctx, "land on Personal Details", chromedp.WaitVisible(heading("Personal Details")), pageReady())
	const disclosure = `document.querySelector("details.disclosure")`
	openPassword := func(what string) {
		t.Helper()
		tabTo(t, ctx, "Tab to Change password", `el.matches("summary") && `+byText("Change password"), false)
		wantFocusVisible(t, ctx, "Change password")
		keys(t, ctx, what, kb.Enter)
		run(t, ctx, "see the password form", poll(disclosure+`.open`), chromedp.WaitVisible(field("Current password")))
		if !wantFocus(t, ctx, "focus moves into the password form (its summary hides once open)", byID("current_password")) {
			keys(t, ctx, "Tab on, to continue", kb.Tab)
			mustFocus(t, ctx, "Tab reaches Current password", byID("current_password"))
		}
	}
	openPassword("open Change password with Enter")
	keys(t, ctx, "close it with Escape", kb.Escape)
	run(t, ctx, "see the form closed", poll(`!`+disclosure+`.open`))
	mustFocus(t, ctx, "focus returns to Change password", `el.matches("summary") && `+byText("Change password"))
	openPassword("open it again with Enter")
	keys(t, ctx, "type the current password", acct.Password)
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab reaches New password", byID("new_password"))
	keys(t, ctx, "type the new password", newPassword)
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab reaches Confirm new password", byID("confirm_password"))
	keys(t, ctx, "confirm it and submit with Enter", newPassword+kb.Enter)
	run(t, ctx, "see the password changed", chromedp.WaitVisible(startsWith("Password changed")), settled())
	wantFocus(t, ctx, "focus stays in the Password section after the change, not lost to the body",
		`!!el.closest("#password-section")`)

	// Sign out from the user menu, and back in with the new password.
	tabTo(t, ctx, "Shift+Tab back to the user menu", `el.matches("header summary")`, true)
	keys(t, ctx, "open it with Enter", kb.Enter)
	run(t, ctx, "see the menu open", poll(`document.querySelector("details[data-menu]").open`))
	tabTo(t, ctx, "Tab to Log out", `el.matches("header button") && `+byText("Log out"), false)
	keys(t, ctx, "log out with Enter", kb.Enter)
	run(t, ctx, "land on the login page", chromedp.WaitVisible(button("Log in")))
	wantPath(t, ctx, "/login")
	mustFocus(t, ctx, "the Email field has focus on arrival", byID("email"))
	keys(t, ctx, "type the email", acct.Email)
	keys(t, ctx, "Tab", kb.Tab)
	keys(t, ctx, "type the new password and press Enter", newPassword+kb.Enter)
	run(t, ctx, "the new password works", chromedp.WaitVisible(heading("Personal Details")))
}

// fillCreateForm opens the create form from the focused Create API Auth
// Key, fills it and submits it, all by keyboard, and leaves focus on the
// confirmation's Create API Auth Key.
func fillCreateForm(t *testing.T, ctx context.Context, name, desc string) {
	t.Helper()
	keys(t, ctx, "open the create form with Enter", kb.Enter)
	mustFocus(t, ctx, "focus moves into the Key name field", byID("create-name"))
	run(t, ctx, "let the swap settle", settled())
	keys(t, ctx, "type the name", name)
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab reaches Description", byID("create-description"))
	keys(t, ctx, "type the description", desc)
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab reaches Expiration, on its chosen option", byID("create-expires-30"))
	wantFocusVisible(t, ctx, "the Expiration option")
	keys(t, ctx, "Tab", kb.Tab)
	mustFocus(t, ctx, "Tab reaches the first permission", byID("create-scope-0"))
	wantFocusVisible(t, ctx, "the first permission")
	tabTo(t, ctx, "Tab on to the form's Create API Auth Key", `el.type === "submit" && `+byText("Create API Auth Key"), false)
	keys(t, ctx, "submit with Enter", kb.Enter)
	run(t, ctx, "see the confirmation", chromedp.WaitVisible(confirmHeading), settled())
	mustFocus(t, ctx, "focus moves to the confirmation's Create API Auth Key",
		`!!el.closest("#create-panel") && el.value === "confirm"`)
}

// Conditions on the focused element, el, in JavaScript.

func byID(id string) string { return fmt.Sprintf(`el.id === %q`, id) }

func byText(text string) string {
	return fmt.Sprintf(`el.textContent.trim().replace(/\s+/g, " ") === %q`, text)
}

func byLabel(label string) string { return fmt.Sprintf(`el.getAttribute("aria-label") === %q`, label) }

// focusedJS tests cond on the focused element; the body does not count.
func focusedJS(cond string) string {
	return fmt.Sprintf(`(el => !!el && el !== document.body && (%s))(document.activeElement)`, cond)
}

// describeFocus names the focused element for a failure message.
const describeFocus = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body) return "nothing (the body has focus)";
	const text = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 60);
	const label = el.getAttribute("aria-label");
	return "<" + el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + ">" +
		(label ? " aria-label=" + JSON.stringify(label) : "") + (text ? " " + JSON.stringify(text) : "");
})()`

// keys presses keys, one after the other, on whatever has focus.
func keys(t *testing.T, ctx context.Context, what, pressed string) {
	t.Helper()
	run(t, ctx, what, chromedp.KeyEvent(pressed))
}

// shiftTab presses Shift+Tab.
func shiftTab() chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
}

// poll waits until the expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](expr)(ctx, t)
		return chromedp.Void{}, err
	}
}

// focusSettle bounds the wait for focus to move once the page has settled:
// the app moves it at once, in the same task as the swap's settle, so a
// second is ample and a failing check costs little.
const focusSettle = time.Second

// wantFocus waits, within focusSettle, until the focused element meets
// cond, and reports an error naming what has focus if it does not. Use it
// once the page has settled.
func wantFocus(t *testing.T, ctx context.Context, what, cond string) bool {
	t.Helper()
	return waitFocus(t, ctx, what, cond, focusSettle)
}

// mustFocus waits, within stepTimeout (a request may be on its way), until
// the focused element meets cond, for a step the rest of the test builds
// on.
func mustFocus(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	if !waitFocus(t, ctx, what, cond, stepTimeout) {
		t.FailNow()
	}
}

func waitFocus(t *testing.T, ctx context.Context, what, cond string, timeout time.Duration) bool {
	t.Helper()
	if _, err := read(ctx, chromedp.Poll[bool](focusedJS(cond), chromedp.WithPollingTimeout(timeout))); err != nil {
		has, _ := read(ctx, chromedp.Evaluate[string](describeFocus))
		t.Errorf("%s: focus is on %s (%v)", what, has, err)
		return false
	}
	return true
}

// tabTo presses Tab, or Shift+Tab when back, until the focused element
// meets cond, as a person looking for a control would; the page must get
// there within 40 presses.
func tabTo(t *testing.T, ctx context.Context, what, cond string, back bool) {
	t.Helper()
	press := chromedp.KeyEvent(kb.Tab)
	if back {
		press = shiftTab()
	}
	var path []string
	for range 40 {
		run(t, ctx, what, press)
		ok, err := read(ctx, chromedp.Evaluate[bool](focusedJS(cond)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		has, _ := read(ctx, chromedp.Evaluate[string](describeFocus))
		path = append(path, has)
	}
	t.Fatalf("%s: not reached in 40 presses; focus went through %v", what, path)
}

// focusedAttr is an attribute of the focused element.
func focusedAttr(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	v, err := read(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.activeElement.getAttribute(%q) || ""`, name)))
	if err != nil {
		t.Fatalf("read %s of the focused element: %v", name, err)
	}
	return v
}

// wantFocusVisible checks that the focused element, reached by keyboard,
// matches :focus-visible and is drawn with a focus indicator: an outline,
// or a box-shadow that it lacks without focus.
func wantFocusVisible(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	got, err := read(ctx, chromedp.Evaluate[struct {
		Visible      bool   `json:"visible"`
		Outline      string `json:"outline"`
		OutlineWidth string `json:"outlineWidth"`
		Shadow       string `json:"shadow"`
		BaseShadow   string `json:"baseShadow"`
	}](`(() => {
		// A choice's radio or checkbox shows its ring around the whole
		// choice, its label.
		const el = document.activeElement;
		const shown = (el.matches("input[type=radio], input[type=checkbox]") && el.closest("label.choice")) || el;
		const s = getComputedStyle(shown);
		const base = [...document.querySelectorAll(shown.tagName)].find(o => o !== shown && o.className === shown.className);
		return {visible: el.matches(":focus-visible"), outline: s.outlineStyle, outlineWidth: s.outlineWidth,
			shadow: s.boxShadow, baseShadow: base ? getComputedStyle(base).boxShadow : "none"};
	})()`))
	if err != nil {
		t.Fatalf("%s: read the focus style: %v", what, err)
	}
	outline := got.Outline != "none" && got.OutlineWidth != "0px"
	ring := got.Shadow != "none" && got.Shadow != got.BaseShadow
	if !got.Visible || !(outline || ring) {
		t.Errorf("%s has focus but shows no focus indicator (:focus-visible %v, outline %s %s, box-shadow %q)",
			what, got.Visible, got.Outline, got.OutlineWidth, got.Shadow)
	}
}

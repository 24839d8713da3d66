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

// TestEachActionAnnouncesItsOwnResult reads the live region (#announcer),
// once each step has settled, through a sequence of in-page actions, each
// of which must announce its own result, not the one before's: disable
// and enable a key, save an edit, delete, create and regenerate one, save
// the name on Personal Details, and the admin's changes to an account.
func TestEachActionAnnouncesItsOwnResult(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	const name, renamed = "Billing export", "Billing export (prod)"
	mustCreateKey(t, db, owner, name)
	spare, _ := mustCreateKey(t, db, owner, "Nightly sync")

	signInAs(t, ctx, base, ownerAcct)
	run(t, ctx, "open API Auth Key", chromedp.Navigate(base+"/settings/api-keys"),
		chromedp.WaitVisible(heading("API Auth Key")), pageReady())
	wantAnnounced(t, ctx, "nothing is announced on arrival", "")

	run(t, ctx, "switch the key off", chromedp.Click(statusSwitch(name, "true")),
		chromedp.WaitVisible(statusSwitch(name, "false")), settled())
	wantAnnounced(t, ctx, "after the first toggle", "Key “"+name+"” disabled. It stops working at once.")

	run(t, ctx, "switch it back on", chromedp.Click(statusSwitch(name, "false")),
		chromedp.WaitVisible(statusSwitch(name, "true")), settled())
	wantAnnounced(t, ctx, "after the second toggle", "Key “"+name+"” enabled.")

	run(t, ctx, "switch the other key off", chromedp.Click(statusSwitch(spare.Name, "true")),
		chromedp.WaitVisible(statusSwitch(spare.Name, "false")), settled())
	wantAnnounced(t, ctx, "after toggling another key", "Key “"+spare.Name+"” disabled. It stops working at once.")

	run(t, ctx, "open Edit", chromedp.Click(rowAction(name, "Edit")), chromedp.WaitVisible(`#edit-name`), settled())
	run(t, ctx, "rename and save",
		chromedp.Clear(control("Key name")),
		chromedp.SendKeys(control("Key name"), renamed),
		chromedp.Click(submit("Save changes")),
		chromedp.WaitVisible(keyRow(renamed)), settled())
	wantAnnounced(t, ctx, "after the edit", "Key “"+renamed+"” saved.")

	run(t, ctx, "ask to delete the other key", chromedp.Click(rowAction(spare.Name, "Delete")),
		chromedp.WaitVisible(button("Delete key")), settled())
	run(t, ctx, "delete it", chromedp.Click(button("Delete key")),
		chromedp.WaitNotPresent(keyRow(spare.Name)), settled())
	wantAnnounced(t, ctx, "after the delete", "Key “"+spare.Name+"” deleted.")

	openCreateForm(t, ctx, "CI deploy", "Ships the releases.", settled())
	run(t, ctx, "create it", chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`#new-key`), settled())
	wantAnnounced(t, ctx, "after the create", "Key created.")

	run(t, ctx, "open Regenerate", chromedp.Click(rowAction(renamed, "Regenerate")),
		chromedp.WaitVisible(button("Regenerate key")), settled())
	run(t, ctx, "regenerate, stopping the old key now",
		chromedp.Click(`//label[normalize-space()="Stop it now"]`),
		chromedp.Click(button("Regenerate key")),
		chromedp.WaitNotPresent(button("Regenerate key")), settled())
	wantAnnounced(t, ctx, "after the regenerate", "Key “"+renamed+"” regenerated. The old key stopped working.")

	run(t, ctx, "open Personal Details", chromedp.Click(sideNav("Personal Details")),
		chromedp.WaitVisible(heading("Personal Details")), pageReady())
	run(t, ctx, "save a new name",
		chromedp.Clear(field("Name")),
		chromedp.SendKeys(field("Name"), "Otto O. Owner"),
		chromedp.Click(button("Save")),
		chromedp.WaitVisible(hasText("Name saved.")), settled())
	wantAnnounced(t, ctx, "after saving the name", "Name saved.")

	// The admin's Users page: the question itself announces nothing; the
	// confirmed change announces itself.
	admin := newTab(t, tabTimeout)
	signInAs(t, admin, base, adminAcct)
	openUsers(t, admin, base, ownerAcct.Email)
	run(t, admin, "ask to disable the owner", chromedp.Click(userButton("Disable", ownerAcct.Email)),
		chromedp.WaitVisible(button("Disable account")), settled())
	wantAnnounced(t, admin, "after the question", "")
	run(t, admin, "confirm", chromedp.Click(button("Disable account")),
		chromedp.WaitVisible(userButton("Enable", ownerAcct.Email)), settled())
	wantAnnounced(t, admin, "after disabling", "Otto O. Owner ("+ownerAcct.Email+") is disabled: signed out everywhere, and their keys stopped answering.")
	run(t, admin, "ask to enable", chromedp.Click(userButton("Enable", ownerAcct.Email)),
		chromedp.WaitVisible(button("Enable account")), settled())
	run(t, admin, "confirm", chromedp.Click(button("Enable account")),
		chromedp.WaitVisible(userButton("Disable", ownerAcct.Email)), settled())
	wantAnnounced(t, admin, "after enabling", "Otto O. Owner ("+ownerAcct.Email+") is enabled.")
	run(t, admin, "set KYC to Pending", chromedp.SendKeys(kycSelect(ownerAcct.Email), "Pending"),
		chromedp.Click(userButton("Set KYC status of", ownerAcct.Email)), settled())
	wantAnnounced(t, admin, "after setting KYC",
		"KYC status of Otto O. Owner ("+ownerAcct.Email+") set to Pending (was "+store.KYCNotStarted.Label()+").")
	run(t, admin, "set KYC to Pending again", chromedp.Click(userButton("Set KYC status of", ownerAcct.Email)), settled())
	wantAnnounced(t, admin, "after setting the same status", "KYC status of Otto O. Owner ("+ownerAcct.Email+") is already Pending.")

	run(t, admin, "open the key inventory", chromedp.Navigate(base+"/admin/api-keys"),
		chromedp.WaitVisible(heading("Key inventory")), pageReady())
	run(t, admin, "switch the owner's key off", chromedp.Click(adminSwitch(renamed, ownerAcct.Email, "true")),
		chromedp.WaitVisible(adminSwitch(renamed, ownerAcct.Email, "false")), settled())
	wantAnnounced(t, admin, "after the inventory's switch", "Key “"+renamed+"” disabled.")
	run(t, admin, "and on again", chromedp.Click(adminSwitch(renamed, ownerAcct.Email, "false")),
		chromedp.WaitVisible(adminSwitch(renamed, ownerAcct.Email, "true")), settled())
	wantAnnounced(t, admin, "after switching it back", "Key “"+renamed+"” enabled.")
}

// TestFocusLandsOnTheSafeChoice checks document.activeElement after each
// step: every confirmation opens on Cancel, so a second Enter changes
// nothing; Cancel and the confirmed change put focus back on the control
// that asked; Done on the shown-once key and KYC "Set" never leave focus
// on the body.
func TestFocusLandsOnTheSafeChoice(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled,
		emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("emulate a focused page: %v", err)
	}
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	k, _ := mustCreateKey(t, db, owner, "Billing export")

	signInAs(t, ctx, base, adminAcct)

	// The key's delete confirmation, on the admin's own keys page.
	run(t, ctx, "open API Auth Key", chromedp.Navigate(base+"/settings/api-keys"),
		chromedp.WaitVisible(heading("API Auth Key")), pageReady())
	openCreateForm(t, ctx, "CI deploy", "Ships the releases.", settled())
	run(t, ctx, "confirm", chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`#new-key`), settled())
	mustFocus(t, ctx, "the new key has focus", byID("new-key"))
	run(t, ctx, "press Done", chromedp.Click(link("Done")), chromedp.WaitNotPresent(`#new-key`),
		chromedp.WaitVisible(keyRow("CI deploy")), pageReady())
	mustFocus(t, ctx, "after Done, the new key's row has focus",
		`el.matches("a.key-name__title") && `+byText("CI deploy")+` && !!el.closest("tr.key-row--new")`)

	run(t, ctx, "open the delete confirmation", chromedp.Click(rowAction("CI deploy", "Delete")),
		chromedp.WaitVisible(button("Delete key")), settled())
	mustFocus(t, ctx, "the delete confirmation opens on Cancel", `el.matches("a[data-cancel]") && `+byText("Cancel"))
	keys(t, ctx, "press Enter on it", kb.Enter)
	run(t, ctx, "see the confirmation gone", chromedp.WaitNotPresent(button("Delete key")), settled())
	if n := countNodes(t, ctx, keyRow("CI deploy")); n != 1 {
		t.Fatalf("Enter on the focused choice of the delete confirmation deleted the key")
	}
	wantFocus(t, ctx, "focus returns to the row's Delete", byLabel("Delete CI deploy"))

	// The Users page.
	openUsers(t, ctx, base, ownerAcct.Email)
	for _, step := range []struct{ ask, confirm, then string }{
		{"Disable", "Disable account", "Enable"},
		{"Enable", "Enable account", "Disable"},
		{"Make admin", "Make admin", "Revoke admin"},
		{"Revoke admin", "Revoke admin", "Make admin"},
	} {
		asker := userButton(step.ask, ownerAcct.Email)
		run(t, ctx, "ask to "+step.ask, chromedp.Click(asker), chromedp.WaitVisible(button(step.confirm)), settled())
		mustFocus(t, ctx, step.ask+": the confirmation opens on Cancel", `el.matches("a[data-cancel]") && `+byText("Cancel"))
		keys(t, ctx, "Escape", kb.Escape)
		run(t, ctx, "see the question gone", chromedp.WaitNotPresent(button(step.confirm)), settled())
		wantFocus(t, ctx, step.ask+": after Cancel, focus is back on "+step.ask, byLabel(step.ask+" "+ownerAcct.Email))
		run(t, ctx, "ask again", chromedp.Click(asker), chromedp.WaitVisible(button(step.confirm)), settled())
		run(t, ctx, "confirm", chromedp.Click(button(step.confirm)),
			chromedp.WaitVisible(userButton(step.then, ownerAcct.Email)), settled())
		wantFocus(t, ctx, step.ask+": after the change, focus is on "+step.then, byLabel(step.then+" "+ownerAcct.Email))
	}

	run(t, ctx, "choose Rejected", chromedp.SendKeys(kycSelect(ownerAcct.Email), "Rejected"))
	run(t, ctx, "press Set", chromedp.Click(userButton("Set KYC status of", ownerAcct.Email)), settled())
	wantFocus(t, ctx, "after Set, focus stays on Set", byLabel("Set KYC status of "+ownerAcct.Email))

	// The inventory's bulk disable confirmation.
	run(t, ctx, "open the inventory", chromedp.Navigate(base+"/admin/api-keys"),
		chromedp.WaitVisible(heading("Key inventory")), pageReady())
	run(t, ctx, "tick a key and ask to disable it",
		chromedp.Click(keyCheckbox(k.Name, ownerAcct.Email)),
		chromedp.Click(`//button[starts-with(normalize-space(), "Disable selected")]`),
		chromedp.WaitVisible(heading("Disable 1 key?")), pageReady())
	mustFocus(t, ctx, "the bulk confirmation opens on Cancel", `el.matches("a") && `+byText("Cancel"))
}

// wantAnnounced checks the live region's text once the page has settled.
// A repeated message is emptied first and put back a moment later, so the
// check waits a little for it.
func wantAnnounced(t *testing.T, ctx context.Context, what, want string) {
	t.Helper()
	expr := fmt.Sprintf(`document.getElementById("announcer").textContent.trim() === %q`, want)
	if _, err := read(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(time.Second))); err != nil {
		got, _ := read(ctx, chromedp.Evaluate[string](`document.getElementById("announcer").textContent.trim()`))
		t.Errorf("%s: the live region reads %q, want %q", what, got, want)
	}
}

// openUsers opens the admin's Users page searched for email.
func openUsers(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	run(t, ctx, "open Users", chromedp.Navigate(base+"/admin/users?q="+email),
		chromedp.WaitVisible(heading("Users")), chromedp.WaitVisible(kycSelect(email)), pageReady())
}

// userButton is a button of the Users page by the action it names and the
// account's email, as its accessible name reads ("Disable otto@…").
func userButton(action, email string) string {
	return fmt.Sprintf(`//button[@aria-label=%q]`, action+" "+email)
}

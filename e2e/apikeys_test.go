package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// keyPattern is the whole of a key, as the product contract fixes it.
var keyPattern = regexp.MustCompile(`^kdk_[0-9A-Za-z]{36}$`)

// TestAPIKeyFlow walks an API Auth Key's life with JavaScript on, as a user
// would, and checks each step where it matters: on the page, in the store
// and against the JSON API. Create is cancelled once (nothing is made),
// then confirmed; the key shown once calls the API; the Status switch
// stops and restarts it at once; Edit renames it; Delete ends it.
func TestAPIKeyFlow(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Kim Keys", Email: "kim@example.com", Password: "kim-password-1", KYC: store.KYCVerified}
	user := mustCreateUser(t, db, acct)
	const name, desc = "CI deploy bot", "Pushes releases from the build pipeline."
	const newName = "CI deploy bot (prod)"
	grantClipboard(t, ctx, base)

	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open API Auth Key from the side navigation",
		chromedp.WaitVisible(heading("Personal Details")),
		pageReady(),
		chromedp.Click(sideNav("API Auth Key")),
		chromedp.WaitVisible(heading("API Auth Key")),
		pageReady())
	wantPath(t, ctx, "/settings/api-keys")
	run(t, ctx, "see the empty state", chromedp.WaitVisible(hasText("No API Auth Keys yet")))

	history := historyLen(t, ctx)
	openCreateForm(t, ctx, name, desc, settled())
	run(t, ctx, "cancel at the confirmation step",
		chromedp.Click(confirmButton("Cancel")),
		chromedp.WaitNotPresent(confirmHeading),
		chromedp.WaitVisible(hasText("No API Auth Keys yet")),
		settled())
	wantKeys(t, db, user, 0)

	openCreateForm(t, ctx, name, desc, settled())
	run(t, ctx, "confirm",
		chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
		chromedp.WaitVisible(keyRow(name)),
		settled())
	key := shownKey(t, ctx)
	if got := historyLen(t, ctx); got != history {
		t.Errorf("cancelling and creating the key navigated (history %d → %d); want htmx swaps in place", history, got)
	}
	run(t, ctx, "see the warning and the Copy button",
		chromedp.WaitVisible(`//*[@role="alert" and contains(normalize-space(), "cannot be shown again")]`),
		chromedp.WaitVisible(button("Copy")))
	stored := wantKeys(t, db, user, 1)[0]
	if !strings.HasSuffix(key, stored.Last4) || stored.Name != name || stored.Description != desc || !stored.Enabled {
		t.Errorf("stored key = %+v; want %q, %q, enabled, last4 of %s", stored, name, desc, key)
	}
	checkCopy(t, ctx, key)

	me := wantAPI(t, base, key, http.StatusOK)
	if me.Name != acct.Name || me.Email != acct.Email || me.Key.Name != name || me.Key.ID != stored.PublicID {
		t.Errorf("GET /api/v1/me = %+v; want %s <%s> with key %s %q", me, acct.Name, acct.Email, stored.PublicID, name)
	}

	run(t, ctx, "switch the key off",
		chromedp.Click(statusSwitch(name, "true")),
		chromedp.WaitVisible(statusSwitch(name, "false")),
		settled())
	wantAPI(t, base, key, http.StatusUnauthorized)
	if k := wantKeys(t, db, user, 1)[0]; k.Enabled {
		t.Error("the switch shows the key off, the store has it enabled")
	}
	run(t, ctx, "switch the key back on",
		chromedp.Click(statusSwitch(name, "false")),
		chromedp.WaitVisible(statusSwitch(name, "true")),
		settled())
	wantAPI(t, base, key, http.StatusOK)

	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(keyRow(name)), pageReady())
	html, err := read(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	if strings.Contains(html, key) || strings.Contains(html, key[4:]) {
		t.Errorf("the page after a reload still holds the key %s", key)
	}
	if got := cellText(t, ctx, name, "API Auth Key"); got != "kdk_…"+key[len(key)-4:] {
		t.Errorf("API Auth Key column = %q, want kdk_…%s", got, key[len(key)-4:])
	}
	if got := cellText(t, ctx, name, "Last Used"); got == "" || got == "Never" {
		t.Errorf("Last Used = %q after an API call; want a time", got)
	}
	if got := cellText(t, ctx, name, "Status"); got != "Enabled" {
		t.Errorf("Status column reads %q, want Enabled", got)
	}
	history = historyLen(t, ctx)

	run(t, ctx, "rename the key",
		chromedp.Click(rowAction(name, "Edit")),
		chromedp.WaitVisible(control("Key name")),
		settled(),
		chromedp.Clear(control("Key name")),
		chromedp.SendKeys(control("Key name"), newName),
		chromedp.Click(submit("Save changes")),
		chromedp.WaitVisible(keyRow(newName)),
		chromedp.WaitNotPresent(control("Key name")),
		settled())
	if k := wantKeys(t, db, user, 1)[0]; k.Name != newName || k.Description != desc {
		t.Errorf("stored after edit: %q, %q; want %q, %q", k.Name, k.Description, newName, desc)
	}
	if me := wantAPI(t, base, key, http.StatusOK); me.Key.Name != newName {
		t.Errorf("API sees key name %q after the edit, want %q", me.Key.Name, newName)
	}

	run(t, ctx, "delete the key",
		chromedp.Click(rowAction(newName, "Delete")),
		chromedp.WaitVisible(fmt.Sprintf(`//tr[.//h3[normalize-space()=%q]]`, "Delete "+newName+"?")),
		settled(),
		chromedp.Click(button("Delete key")),
		chromedp.WaitNotPresent(keyRow(newName)),
		chromedp.WaitVisible(hasText("No API Auth Keys yet")))
	wantKeys(t, db, user, 0)
	wantAPI(t, base, key, http.StatusUnauthorized)
	if got := historyLen(t, ctx); got != history {
		t.Errorf("edit and delete navigated (history %d → %d); want htmx swaps in place", history, got)
	}
	wantNotInHistory(t, ctx, key)
}

// TestAPIKeysWithoutJavaScript proves the plain-form fallback of every key
// action: with scripts off, create (cancelled once, then confirmed),
// Status, Edit and Delete are ordinary posts, and each takes effect.
func TestAPIKeysWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Nico NoScript", Email: "nico@example.com", Password: "nico-password-1"}
	user := mustCreateUser(t, db, acct)
	const name, desc = "Nightly backup", "Copies the reports to cold storage\nevery night at 02:00."
	const newName = "Nightly backup (v2)"

	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open API Auth Key from the side navigation",
		chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Click(sideNav("API Auth Key")),
		chromedp.WaitVisible(heading("API Auth Key")),
		chromedp.WaitVisible(hasText("No API Auth Keys yet")))
	if htmx, err := read(ctx, chromedp.Evaluate[string](`typeof window.htmx`)); err != nil || htmx != "undefined" {
		t.Fatalf("htmx is %q (err %v); want scripts off, so undefined", htmx, err)
	}

	openCreateForm(t, ctx, name, desc, chromedp.Steps())
	run(t, ctx, "cancel at the confirmation step",
		chromedp.Click(confirmButton("Cancel")),
		chromedp.WaitVisible(hasText("No API Auth Keys yet")))
	wantPath(t, ctx, "/settings/api-keys")
	wantKeys(t, db, user, 0)

	openCreateForm(t, ctx, name, desc, chromedp.Steps())
	run(t, ctx, "confirm",
		chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`))
	key := shownKey(t, ctx)
	// Without JavaScript the Copy button cannot work, so it stays hidden.
	if n, err := read(ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll("button")].filter(b => b.textContent.trim() === "Copy" && b.offsetParent !== null).length`)); err != nil || n != 0 {
		t.Errorf("%d visible Copy buttons (err %v) with scripts off; want none", n, err)
	}
	stored := wantKeys(t, db, user, 1)[0]
	if !strings.HasSuffix(key, stored.Last4) || lf(stored.Description) != desc {
		t.Errorf("stored key = %+v; want last4 of %s and description %q", stored, key, desc)
	}
	if me := wantAPI(t, base, key, http.StatusOK); me.Email != acct.Email {
		t.Errorf("GET /api/v1/me email = %q, want %q", me.Email, acct.Email)
	}

	run(t, ctx, "go back to the list", chromedp.Click(link("Done")), chromedp.WaitVisible(keyRow(name)))
	run(t, ctx, "switch the key off by a plain post",
		chromedp.Click(statusSwitch(name, "true")),
		chromedp.WaitVisible(startsWith("Key “"+name+"” disabled.")),
		chromedp.WaitVisible(statusSwitch(name, "false")))
	wantPath(t, ctx, "/settings/api-keys")
	wantAPI(t, base, key, http.StatusUnauthorized)
	run(t, ctx, "switch the key back on by a plain post",
		chromedp.Click(statusSwitch(name, "false")),
		chromedp.WaitVisible(hasText("Key “"+name+"” enabled.")),
		chromedp.WaitVisible(statusSwitch(name, "true")))
	wantAPI(t, base, key, http.StatusOK)

	run(t, ctx, "rename the key by a plain post",
		chromedp.Click(rowAction(name, "Edit")),
		chromedp.WaitVisible(control("Key name")),
		chromedp.Clear(control("Key name")),
		chromedp.SendKeys(control("Key name"), newName),
		chromedp.Click(submit("Save changes")),
		chromedp.WaitVisible(hasText("Key “"+newName+"” saved.")),
		chromedp.WaitVisible(keyRow(newName)))
	if k := wantKeys(t, db, user, 1)[0]; k.Name != newName || lf(k.Description) != desc {
		t.Errorf("stored after edit: %q, %q; want %q, %q", k.Name, k.Description, newName, desc)
	}

	run(t, ctx, "delete the key by a plain post",
		chromedp.Click(rowAction(newName, "Delete")),
		chromedp.WaitVisible(fmt.Sprintf(`//tr[.//h3[normalize-space()=%q]]`, "Delete "+newName+"?")),
		chromedp.Click(button("Delete key")),
		chromedp.WaitVisible(hasText("Key “"+newName+"” deleted.")),
		chromedp.WaitVisible(hasText("No API Auth Keys yet")))
	wantPath(t, ctx, "/settings/api-keys")
	wantKeys(t, db, user, 0)
	wantAPI(t, base, key, http.StatusUnauthorized)
	wantNotInHistory(t, ctx, key)
}

// openCreateForm opens the create form from the page header, fills it and
// submits it, and waits for the confirmation step with its two buttons;
// after each step, for wait (settled, with scripts on).
func openCreateForm(t *testing.T, ctx context.Context, name, desc string, wait chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, "open the create form and go on to the confirmation",
		chromedp.Click(link("Create API Auth Key")),
		chromedp.WaitVisible(control("Key name")),
		wait,
		chromedp.SendKeys(control("Key name"), name),
		chromedp.SendKeys(control("Description"), desc),
		chromedp.Click(submit("Create API Auth Key")),
		chromedp.WaitVisible(confirmHeading),
		chromedp.WaitVisible(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(confirmButton("Cancel")),
		chromedp.WaitVisible(fmt.Sprintf(`//dt[normalize-space()="Key name"]/following-sibling::dd[normalize-space()=%q]`, name)),
		wait)
}

// shownKey reads the key shown once and checks its form.
func shownKey(t *testing.T, ctx context.Context) string {
	t.Helper()
	key, err := read(ctx, chromedp.Text(chromedp.CSS("#new-key"), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("read the new key: %v\n%s", err, pageState(ctx))
	}
	key = strings.TrimSpace(key)
	if !keyPattern.MatchString(key) {
		t.Fatalf("the key shown is %q; want it to match %s", key, keyPattern)
	}
	return key
}

// grantClipboard lets the test's pages at origin use the Clipboard API
// without asking, as a user who allowed it would.
func grantClipboard(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	id := chromedp.FromContext(ctx).BrowserContextID
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    cdpbrowser.PermissionSettingGranted, Origin: origin, BrowserContextID: id,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
}

// checkCopy clicks Copy. With the Clipboard API the button must say
// "Copied" and the clipboard hold the key; without it the key must end up
// selected, ready for Ctrl+C.
func checkCopy(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	hasAPI, err := read(ctx, chromedp.Evaluate[bool](`!!(navigator.clipboard && window.isSecureContext)`))
	if err != nil {
		t.Fatalf("probe the Clipboard API: %v", err)
	}
	run(t, ctx, "click Copy", chromedp.Click(button("Copy")))
	if !hasAPI {
		t.Log("no Clipboard API here: checking the selection fallback")
		sel, err := read(ctx, chromedp.Poll[string](`window.getSelection().toString().trim() || false`,
			chromedp.WithPollingTimeout(stepTimeout)))
		if err != nil || sel != key {
			t.Errorf("selection after Copy = %q (err %v), want the key", sel, err)
		}
		return
	}
	run(t, ctx, "see Copied", chromedp.WaitVisible(button("Copied")))
	got, err := read(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the clipboard: %v", err)
	}
	if got != key {
		t.Errorf("clipboard holds %q, want the key %s", got, key)
	}
	t.Log("Copy: the button said Copied and the clipboard holds the key")
}

// meAnswer is what the tests read of GET /api/v1/me.
type meAnswer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Key   struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"key"`
	Error string `json:"error"`
}

// wantAPI calls GET /api/v1/me with key as a script would, and wants
// status; a refusal must be invalid_token with a WWW-Authenticate header.
func wantAPI(t *testing.T, base, key string, status int) meAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/me: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read /api/v1/me: %v", err)
	}
	var me meAnswer
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatalf("GET /api/v1/me answered %d %q: %v", res.StatusCode, body, err)
	}
	if res.StatusCode != status {
		t.Fatalf("GET /api/v1/me answered %d %s, want %d", res.StatusCode, body, status)
	}
	if status == http.StatusUnauthorized &&
		(me.Error != "invalid_token" || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer")) {
		t.Errorf("refusal = %s with WWW-Authenticate %q; want invalid_token, Bearer",
			body, res.Header.Get("WWW-Authenticate"))
	}
	return me
}

// wantKeys reads the user's keys from the store and wants n of them.
func wantKeys(t *testing.T, db *sqlstore.DB, u *store.User, n int) []*store.APIKey {
	t.Helper()
	keys, err := db.KeysForUser(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("read the keys: %v", err)
	}
	if len(keys) != n {
		t.Fatalf("the store holds %d keys, want %d", len(keys), n)
	}
	return keys
}

// lf undoes the CRLF line breaks a browser sends for a textarea in a plain
// form post (htmx sends the textarea's value, with LF).
func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// wantNotInHistory checks no URL the tab visited carries the key.
func wantNotInHistory(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	h, err := read(ctx, chromedp.NavigationEntries())
	if err != nil {
		t.Fatalf("read history: %v", err)
	}
	for _, e := range h.Entries {
		if strings.Contains(e.URL, key) {
			t.Errorf("history entry %s carries the key", e.URL)
		}
	}
}

// cellText is the text of column's cell in the row of the key name.
func cellText(t *testing.T, ctx context.Context, name, column string) string {
	t.Helper()
	got, err := read(ctx, chromedp.Text(cell(name, column), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("read %s of %s: %v", column, name, err)
	}
	return strings.Join(strings.Fields(got), " ")
}

// settled waits until htmx has finished its last swap. htmx wires up new
// content only when it settles, 20 ms after the swap, so a click that
// comes sooner (no person is that fast, a test is) submits the plain form
// underneath. Only for pages with scripts on.
func settled() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](
			`!document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")`)(ctx, t)
		return chromedp.Void{}, err
	}
}

// More selectors, by what a user sees.

const confirmHeading = `//h2[normalize-space()="Create this key?"]`

// confirmButton is a button of the create confirmation step.
func confirmButton(text string) string {
	return fmt.Sprintf(`//section[.%s]//button[normalize-space()=%q]`, confirmHeading, text)
}

// control is the input or textarea whose <label> reads label.
func control(label string) string {
	return fmt.Sprintf(`//*[(self::input or self::textarea) and @id=//label[normalize-space()=%q]/@for]`, label)
}

func link(text string) string { return fmt.Sprintf(`//a[normalize-space()=%q]`, text) }

func sideNav(text string) string {
	return fmt.Sprintf(`//nav[@aria-label="Settings"]//a[normalize-space()=%q]`, text)
}

// keyRow is the table row whose first cell names the key.
func keyRow(name string) string {
	return fmt.Sprintf(`//table//tbody/tr[*[1]//*[normalize-space()=%q]]`, name)
}

// cell is the key's cell under the column headed column.
func cell(name, column string) string {
	return keyRow(name) + fmt.Sprintf(
		`/*[count(ancestor::table/thead/tr/th[normalize-space()=%q]/preceding-sibling::th) + 1 = position()]`, column)
}

// rowAction is a link or button in the key's row, by its text.
func rowAction(name, text string) string {
	return keyRow(name) + fmt.Sprintf(`//*[(self::a or self::button) and normalize-space()=%q]`, text)
}

// statusSwitch is the key's Status switch, in state checked.
func statusSwitch(name, checked string) string {
	return fmt.Sprintf(`//button[@role="switch" and @aria-label=%q and @aria-checked=%q]`, "Enable key "+name, checked)
}

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"keydesk/store"
)

// TestCreateWithExpiryAndScopes creates a key with a custom expiry date
// and a scope left out, with JavaScript on: the date field appears only
// once Custom date is chosen, the confirmation states the date and the
// scopes, Edit details brings the form back as it was, and the key shown
// once comes with a curl example to copy; its row is marked New, also
// after Done closes the panel.
func TestCreateWithExpiryAndScopes(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Esme Expiry", Email: "esme@example.com", Password: "esme-password-1"}
	user := mustCreateUser(t, db, acct)
	grantClipboard(t, ctx, base)
	const name, desc = "Payments reporter", "Reads yesterday's payments for the finance report."
	date := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 45)

	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open API Auth Key", chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(heading("API Auth Key")), pageReady())
	history := historyLen(t, ctx)
	fillTerms(t, ctx, name, desc, date, "payments:write", settled())
	run(t, ctx, "go on to the confirmation", chromedp.Click(submit("Create API Auth Key")),
		chromedp.WaitVisible(confirmHeading), settled())
	wantConfirmation(t, ctx, date, "payments:write")

	run(t, ctx, "go back with Edit details",
		chromedp.Click(confirmButton("Edit details")),
		chromedp.WaitVisible(control("Key name")), chromedp.WaitNotPresent(confirmHeading), settled())
	wantFormKept(t, ctx, name, desc, date, "payments:write")
	run(t, ctx, "on to the confirmation again", chromedp.Click(submit("Create API Auth Key")),
		chromedp.WaitVisible(confirmHeading), settled())
	wantConfirmation(t, ctx, date, "payments:write")
	wantKeys(t, db, user, 0)

	run(t, ctx, "create",
		chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`),
		chromedp.WaitVisible(keyRow(name)), settled())
	if got := historyLen(t, ctx); got != history {
		t.Errorf("the create flow navigated (history %d → %d); want htmx swaps in place", history, got)
	}
	key := shownKey(t, ctx)
	k := wantCreated(t, db, user, key, date, "payments:write")
	command := wantUsage(t, ctx, base, key)
	run(t, ctx, "copy the command", chromedp.Click(button("Copy command")))
	if hasClipboard(t, ctx) {
		run(t, ctx, "see Copied", chromedp.WaitVisible(button("Copied")))
		got, err := read(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil || got != command {
			t.Errorf("the clipboard holds %q (err %v), want the command %q", got, err, command)
		}
		run(t, ctx, "the button reads Copy command again", chromedp.WaitVisible(button("Copy command")))
	}
	wantNewRow(t, ctx, name)
	if got := cellText(t, ctx, name, "Expires"); got != "in 45 days" && got != "in 44 days" {
		t.Errorf("Expires reads %q, want in 44 or 45 days", got)
	}

	run(t, ctx, "close the panel with Done", chromedp.Click(link("Done")),
		chromedp.WaitNotPresent(`#new-key`), chromedp.WaitVisible(keyRow(name)), pageReady())
	wantNewRow(t, ctx, name)
	wantNoKeyOnPage(t, ctx, key)
	wantNotInHistory(t, ctx, key)
	if me := wantAPI(t, base, key, http.StatusOK); me.Key.ID != k.PublicID {
		t.Errorf("the API answered for key %s, want %s", me.Key.ID, k.PublicID)
	}
}

// TestCreateWithExpiryAndScopesWithoutJavaScript is the same create as
// plain form posts: the CSS alone shows the date field for Custom date.
func TestCreateWithExpiryAndScopesWithoutJavaScript(t *testing.T) {
	ctx := newNoScriptTab(t, tabTimeout)
	base, db := startApp(t)
	acct := Account{Name: "Nico NoScript", Email: "nico@example.com", Password: "nico-password-1"}
	user := mustCreateUser(t, db, acct)
	const name, desc = "Webhook registrar", "Registers the shop's webhooks at deploy time."
	date := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 45)

	run(t, ctx, "sign in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(button("Log in")))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "open API Auth Key", chromedp.WaitVisible(heading("Personal Details")),
		chromedp.Navigate(base+"/settings/api-keys"), chromedp.WaitVisible(heading("API Auth Key")))
	fillTerms(t, ctx, name, desc, date, "customers:read", chromedp.Steps())
	run(t, ctx, "go on to the confirmation", chromedp.Click(submit("Create API Auth Key")), chromedp.WaitVisible(confirmHeading))
	wantConfirmation(t, ctx, date, "customers:read")
	run(t, ctx, "go back with Edit details", chromedp.Click(confirmButton("Edit details")), chromedp.WaitVisible(control("Key name")))
	wantFormKept(t, ctx, name, desc, date, "customers:read")
	run(t, ctx, "on to the confirmation again", chromedp.Click(submit("Create API Auth Key")), chromedp.WaitVisible(confirmHeading))
	run(t, ctx, "create", chromedp.Click(confirmButton("Create API Auth Key")),
		chromedp.WaitVisible(`//h2[normalize-space()="Your new API Auth Key"]`))
	wantPath(t, ctx, "/settings/api-keys")
	key := shownKey(t, ctx)
	wantCreated(t, db, user, key, date, "customers:read")
	wantUsage(t, ctx, base, key)
	if n, err := read(ctx, chromedp.Evaluate[int](
		`[...document.querySelectorAll("button[data-copy]")].filter(b => b.offsetParent !== null).length`)); err != nil || n != 0 {
		t.Errorf("%d visible Copy buttons (err %v) with scripts off; want none", n, err)
	}
	wantNewRow(t, ctx, name)
	run(t, ctx, "close the panel with Done", chromedp.Click(link("Done")),
		chromedp.WaitNotPresent(`#new-key`), chromedp.WaitVisible(keyRow(name)))
	wantNewRow(t, ctx, name)
	wantNoKeyOnPage(t, ctx, key)
	wantNotInHistory(t, ctx, key)
	wantAPI(t, base, key, http.StatusOK)

	// A refusal: no scope at all, and a custom date left empty.
	run(t, ctx, "open the form again", chromedp.Click(link("Create API Auth Key")), chromedp.WaitVisible(control("Key name")))
	run(t, ctx, "fill it with no scope and no date",
		chromedp.SendKeys(control("Key name"), "Nothing allowed"),
		chromedp.SendKeys(control("Description"), "Should be refused."),
		chromedp.Click(`//label[normalize-space()="Custom date"]`),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name="scopes"][type="checkbox"]').forEach(b => { b.checked = false })`),
		chromedp.Click(submit("Create API Auth Key")),
		chromedp.WaitVisible(`//p[@id="create-scopes-error" and normalize-space()="Choose at least one permission."]`),
		chromedp.WaitVisible(`//p[@id="create-expires-on-error" and normalize-space()="Choose the date the key expires."]`))
	wantKeys(t, db, user, 1)
}

// fillTerms opens the create form, fills name and description, checks the
// date field is hidden until Custom date is chosen, chooses it with date,
// and unticks the scope left out; after each step, for wait.
func fillTerms(t *testing.T, ctx context.Context, name, desc string, date time.Time, leftOut string, wait chromedp.Action[chromedp.Void]) {
	t.Helper()
	run(t, ctx, "open the create form",
		chromedp.Click(link("Create API Auth Key")), chromedp.WaitVisible(control("Key name")), wait,
		chromedp.SendKeys(control("Key name"), name),
		chromedp.SendKeys(control("Description"), desc))
	checked, err := read(ctx, chromedp.Evaluate[string](`document.querySelector('input[name="expires_in"]:checked').value`))
	if err != nil || checked != "30" {
		t.Errorf("Expiration preselects %q (err %v), want 30", checked, err)
	}
	run(t, ctx, "the date field waits for Custom date", chromedp.WaitNotVisible(control("Expiration date")))
	run(t, ctx, "choose Custom date and a date",
		chromedp.Click(`//label[normalize-space()="Custom date"]`),
		chromedp.WaitVisible(control("Expiration date")),
		// Typing into a date field follows the browser's locale; the
		// value is what any locale submits.
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("create-expires-on").value = %q`, date.Format(time.DateOnly))),
		chromedp.Click(fmt.Sprintf(`//input[@type="checkbox" and @value=%q]`, leftOut)))
}

// wantConfirmation checks the confirmation states the expiry date and
// every default scope but leftOut.
func wantConfirmation(t *testing.T, ctx context.Context, date time.Time, leftOut string) {
	t.Helper()
	run(t, ctx, "see the expiry in the confirmation", chromedp.WaitVisible(fmt.Sprintf(
		`//section[.%s]//dt[normalize-space()="Expires"]/following-sibling::dd/time[@datetime=%q]`, confirmHeading, date.Format(time.RFC3339))))
	got := summaryScopes(t, ctx)
	if want := defaultScopesBut(t, leftOut); !slices.Equal(got, want) {
		t.Errorf("the confirmation lists %v, want %v", got, want)
	}
}

// wantFormKept checks the form came back with every input as typed.
func wantFormKept(t *testing.T, ctx context.Context, name, desc string, date time.Time, leftOut string) {
	t.Helper()
	got, err := read(ctx, chromedp.Evaluate[string](`[
		document.getElementById("create-name").value, document.getElementById("create-description").value,
		document.querySelector('input[name="expires_in"]:checked').value, document.getElementById("create-expires-on").value,
		[...document.querySelectorAll('input[name="scopes"][type="checkbox"]:checked')].map(b => b.value).join(",")].join("|")`))
	if err != nil {
		t.Fatalf("read the form: %v", err)
	}
	want := strings.Join([]string{name, desc, "custom", date.Format(time.DateOnly), strings.Join(defaultScopesBut(t, leftOut), ",")}, "|")
	if lf(got) != want {
		t.Errorf("Edit details brought back\n %q\nwant\n %q", got, want)
	}
}

// wantCreated checks the store holds the key as chosen.
func wantCreated(t *testing.T, db interface {
	KeysForUser(context.Context, int64) ([]*store.APIKey, error)
}, u *store.User, key string, date time.Time, leftOut string) *store.APIKey {
	t.Helper()
	keys, err := db.KeysForUser(t.Context(), u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("%d keys (err %v), want 1", len(keys), err)
	}
	k := keys[0]
	if !strings.HasSuffix(key, k.Last4) || !k.ExpiresAt.Equal(date) || !slices.Equal(k.Scopes, defaultScopesBut(t, leftOut)) {
		t.Errorf("stored %v expiring %v with %v; want %v and %v", k.Last4, k.ExpiresAt, k.Scopes, date, defaultScopesBut(t, leftOut))
	}
	return k
}

// wantUsage checks the shown-once panel's example calls this server with
// the new key, and returns it.
func wantUsage(t *testing.T, ctx context.Context, base, key string) string {
	t.Helper()
	got, err := read(ctx, chromedp.Text(chromedp.CSS("#usage-example"), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("read the usage example: %v", err)
	}
	want := `curl -H "Authorization: Bearer ` + key + `" ` + base + `/api/v1/me`
	if got = strings.TrimSpace(got); got != want {
		t.Errorf("usage example %q, want %q", got, want)
	}
	run(t, ctx, "see the expiry in the panel", chromedp.WaitVisible(
		`//section[.//h2[normalize-space()="Your new API Auth Key"]]//dt[normalize-space()="Expires"]/following-sibling::dd/time`))
	return want
}

// wantNewRow checks the key's row is marked New.
func wantNewRow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run(t, ctx, "see the row marked New", chromedp.WaitVisible(keyRow(name)+`[contains(@class, "key-row--new")]//span[normalize-space()="New"]`))
}

func wantNoKeyOnPage(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	html, err := read(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	if strings.Contains(html, key[4:]) {
		t.Error("the page still holds the key after the panel closed")
	}
}

func summaryScopes(t *testing.T, ctx context.Context) []string {
	t.Helper()
	got, err := read(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#create-panel .scope-summary code")].map(c => c.textContent.trim())`))
	if err != nil {
		t.Fatalf("read the scopes: %v", err)
	}
	return got
}

// defaultScopesBut are the demo policy's default scopes without one.
func defaultScopesBut(t *testing.T, leftOut string) []string {
	t.Helper()
	p, err := DemoPolicy()
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(p.DefaultScopes(), func(s string) bool { return s == leftOut })
}

func hasClipboard(t *testing.T, ctx context.Context) bool {
	t.Helper()
	ok, err := read(ctx, chromedp.Evaluate[bool](`!!(navigator.clipboard && window.isSecureContext)`))
	if err != nil {
		t.Fatalf("probe the Clipboard API: %v", err)
	}
	if !ok {
		t.Log("no Clipboard API here: Copy command selects the command instead")
	}
	return ok
}

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"keydesk/store"
)

// TestOwnerCannotEnableAdminDisabledKey: the owner of a key an admin
// disabled sees its switch locked, and a screen reader hears why; pressing
// it sends nothing and the key stays off.
func TestOwnerCannotEnableAdminDisabledKey(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	base, db := startApp(t)
	admin := mustCreateUser(t, db, adminAcct)
	owner := mustCreateUser(t, db, ownerAcct)
	leaked, leakedKey := mustCreateKey(t, db, owner, "Leaked deploy key")
	if _, err := db.AdminSetKeyEnabled(t.Context(), leaked.PublicID, false,
		store.AuditEvent{Actor: admin.Email, ActorID: admin.ID, Action: store.ActionKeyDisabled}); err != nil {
		t.Fatal(err)
	}

	signInAs(t, ctx, base, ownerAcct)
	run(t, ctx, "open the API Auth Key page",
		chromedp.Navigate(base+"/settings/api-keys"),
		chromedp.WaitVisible(statusSwitch(leaked.Name, "false")),
		pageReady())
	if got := textOf(t, ctx, cell(leaked.Name, "Status")); got != "Disabled by an admin" {
		t.Errorf("the Status cell reads %q, want Disabled by an admin", got)
	}

	// What assistive technology gets: the switch, named for the key, off,
	// disabled, and described by the reason.
	ax := axNode(t, ctx, "switch-"+leaked.PublicID)
	if got := axString(ax.Role); got != "switch" {
		t.Errorf("role %q, want switch", got)
	}
	if got := axString(ax.Name); got != "Enable key "+leaked.Name {
		t.Errorf("accessible name %q", got)
	}
	if got := axString(ax.Description); got != "Disabled by an admin" {
		t.Errorf("accessible description %q, want Disabled by an admin", got)
	}
	disabled := false
	for _, p := range ax.Properties {
		if p.Name == accessibility.PropertyNameDisabled && axString(p.Value) == "true" {
			disabled = true
		}
	}
	if !disabled {
		t.Errorf("the switch is operable to assistive technology: %+v", ax.Properties)
	}

	// Pressing it sends nothing: htmx counts its requests from here.
	if _, err := read(ctx, chromedp.Evaluate[bool](
		`(window.__requests = 0, document.body.addEventListener("htmx:beforeRequest", () => window.__requests++), true)`)); err != nil {
		t.Fatalf("count htmx requests: %v", err)
	}
	run(t, ctx, "press the locked switch",
		chromedp.Click(statusSwitch(leaked.Name, "false")),
		htmxIdle())
	if n, err := read(ctx, chromedp.Evaluate[int](`window.__requests`)); err != nil || n != 0 {
		t.Errorf("pressing the locked switch sent %d requests (%v)", n, err)
	}
	run(t, ctx, "the switch is still off", chromedp.WaitVisible(statusSwitch(leaked.Name, "false")))
	wantAPI(t, base, leakedKey, http.StatusUnauthorized)
}

// axNode is the accessibility node of the element with this id.
func axNode(t *testing.T, ctx context.Context, id string) *accessibility.Node {
	t.Helper()
	idJSON, _ := json.Marshal(id)
	el, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: "document.getElementById(" + string(idJSON) + ")"})
	if err != nil || el.Result == nil || el.Result.ObjectID == "" {
		t.Fatalf("find #%s: %v\n%s", id, err, pageState(ctx))
	}
	only := false
	tree, err := chromedp.Call(ctx, accessibility.GetPartialAXTree,
		accessibility.GetPartialAXTreeParams{ObjectID: el.Result.ObjectID, FetchRelatives: &only})
	if err != nil || len(tree.Nodes) == 0 {
		t.Fatalf("accessibility node of #%s: %v", id, err)
	}
	return tree.Nodes[0]
}

// axString is an accessibility value as text ("" when absent).
func axString(v *accessibility.Value) string {
	if v == nil || len(v.Value) == 0 {
		return ""
	}
	var s any
	if err := json.Unmarshal(v.Value, &s); err != nil {
		return string(v.Value)
	}
	switch x := s.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return string(v.Value)
}

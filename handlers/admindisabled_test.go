package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keydesk/store"
)

// rowHTML is the table row with this id in body, or "" when there is none.
func rowHTML(body, id string) string {
	i := strings.Index(body, `<tr id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</tr>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

// switchTag is the opening tag of the switch button with this id in html.
func switchTag(t *testing.T, html, id string) string {
	t.Helper()
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no switch %s in %s", id, html)
	}
	start := strings.LastIndex(html[:i], "<button")
	end := strings.Index(html[i:], ">")
	return html[start : i+end+1]
}

// ownerEvents counts the owner's own audit events on a key, by action.
func ownerEvents(t *testing.T, f *adminFixture, keyID string) map[string]int {
	t.Helper()
	page, err := f.ts.db.AuditLog(context.Background(), store.AuditFilter{Actor: f.owner.Email, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range page.Events {
		if e.Target == keyID {
			out[e.Action]++
		}
	}
	return out
}

// A key an admin disabled stays disabled for its owner until an admin
// enables it: the owner's switch is shown locked, with the reason tied to
// it, and an enable posted anyway (htmx or plain) is refused with a clear
// message and changes nothing. The owner's disable is harmless; the admin's
// enable gives the switch back.
func TestAdminDisabledKeyIsLockedForOwner(t *testing.T) {
	f := newAdminFixture(t)
	one, bulk := f.keys[0].PublicID, f.keys[2].PublicID
	htmx := map[string]string{"HX-Request": "true"}
	assertStatus(t, f.admin.do("POST", "/admin/api-keys/"+one+"/status", url.Values{"enabled": {"false"}}, htmx), http.StatusOK)
	assertStatus(t, f.admin.post("/admin/api-keys/disable",
		url.Values{"id": {bulk}, "confirm": {"yes"}, "return": {"/admin/api-keys"}}), http.StatusSeeOther)

	page := f.user.get("/settings/api-keys")
	assertStatus(t, page, http.StatusOK)
	for _, id := range []string{one, bulk} {
		row := rowHTML(page.body, "row-"+id)
		tag := switchTag(t, row, "switch-"+id)
		for _, want := range []string{" disabled", `aria-checked="false"`, `aria-describedby="switch-` + id + `-note"`} {
			if !strings.Contains(tag, want) {
				t.Errorf("owner's switch of %s lacks %q: %s", id, want, tag)
			}
		}
		if !strings.Contains(row, `id="switch-`+id+`-note"`) || !strings.Contains(row, "Disabled by an admin") {
			t.Errorf("owner's row of %s does not say an admin disabled it: %s", id, row)
		}
	}
	if tag := switchTag(t, rowHTML(page.body, "row-"+f.keys[1].PublicID), "switch-"+f.keys[1].PublicID); strings.Contains(tag, " disabled") {
		t.Errorf("a key the admin left alone is locked: %s", tag)
	}

	before := ownerEvents(t, f, one)
	enable := url.Values{"enabled": {"true"}}
	res := f.user.do("POST", "/settings/api-keys/"+one+"/status", enable, htmx)
	assertStatus(t, res, http.StatusUnprocessableEntity)
	assertContains(t, res, `role="alert"`, "An admin disabled this key, so only an admin can enable it again.")
	assertLacks(t, res, "<html", "enabled.</p>")
	res = f.user.post("/settings/api-keys/"+one+"/status", enable)
	assertStatus(t, res, http.StatusUnprocessableEntity)
	assertContains(t, res, "<html", "An admin disabled this key, so only an admin can enable it again.")
	if f.api(t, 0) != http.StatusUnauthorized || f.api(t, 2) != http.StatusUnauthorized {
		t.Error("the owner's refused enable brought a key back")
	}
	if after := ownerEvents(t, f, one); after[store.ActionKeyEnabled] != before[store.ActionKeyEnabled] {
		t.Errorf("a refused enable was recorded as done: %v", after)
	}

	// Disabling it again is harmless, and it stays the admin's.
	assertStatus(t, f.user.post("/settings/api-keys/"+one+"/status", url.Values{"enabled": {"false"}}), http.StatusSeeOther)
	assertStatus(t, f.user.post("/settings/api-keys/"+one+"/status", enable), http.StatusUnprocessableEntity)
	if f.api(t, 0) != http.StatusUnauthorized {
		t.Error("the owner's disable then enable brought the key back")
	}

	// The admin's enable clears it: the owner has the switch again.
	res = f.admin.do("POST", "/admin/api-keys/"+one+"/status", enable, htmx)
	assertStatus(t, res, http.StatusOK)
	assertLacks(t, res, "Disabled by an admin")
	if f.api(t, 0) != http.StatusOK {
		t.Error("the admin's enable did not take effect")
	}
	page = f.user.get("/settings/api-keys")
	if tag := switchTag(t, rowHTML(page.body, "row-"+one), "switch-"+one); strings.Contains(tag, " disabled") {
		t.Errorf("the owner's switch is still locked after the admin's enable: %s", tag)
	}
	assertStatus(t, f.user.do("POST", "/settings/api-keys/"+one+"/status", url.Values{"enabled": {"false"}}, htmx), http.StatusOK)
	assertStatus(t, f.user.do("POST", "/settings/api-keys/"+one+"/status", enable, htmx), http.StatusOK)
	if f.api(t, 0) != http.StatusOK {
		t.Error("the owner's own disable and enable did not take effect")
	}
}

// In the admin inventory, a key an admin disabled says so, and an enabled
// key whose owner is disabled shows as not working, never as a green
// Enabled; the admin can still flip both.
func TestInventoryShowsKeysThatDoNotWork(t *testing.T) {
	f := newAdminFixture(t)
	one := f.keys[0].PublicID
	assertStatus(t, f.admin.post("/admin/api-keys/"+one+"/status", url.Values{"enabled": {"false"}}), http.StatusSeeOther)
	page := f.admin.get("/admin/api-keys")
	row := rowHTML(page.body, "inv-"+one)
	if !strings.Contains(row, "Disabled by an admin") || strings.Contains(switchTag(t, row, "admin-switch-"+one), " disabled") {
		t.Errorf("an admin-disabled key in the inventory: %s", row)
	}

	res := f.admin.post("/admin/users/"+f.owner.PublicID+"/disabled", url.Values{"disabled": {"true"}, "confirm": {"yes"}, "return": {"/admin/users"}})
	assertStatus(t, res, http.StatusSeeOther)
	page = f.admin.get("/admin/api-keys")
	for _, k := range f.keys[1:] {
		row := rowHTML(page.body, "inv-"+k.PublicID)
		tag := switchTag(t, row, "admin-switch-"+k.PublicID)
		if !strings.Contains(row, `id="admin-switch-`+k.PublicID+`-note"`) || !strings.Contains(row, ">Owner disabled</span>") {
			t.Errorf("an enabled key of a disabled owner does not say it does not work: %s", row)
		}
		if strings.Contains(row, ">Enabled<") || !strings.Contains(tag, "switch--not-working") ||
			!strings.Contains(tag, `aria-describedby="admin-switch-`+k.PublicID+`-note"`) || strings.Contains(tag, " disabled") {
			t.Errorf("an enabled key of a disabled owner shows as Enabled, or cannot be flipped: %s", row)
		}
	}
}

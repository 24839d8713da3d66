package handlers

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"keydesk/store"
)

// adminFixture is an admin, a user with keys, and both signed in.
type adminFixture struct {
	ts          *testServer
	admin, user *client
	owner       *store.User
	keys        []*store.APIKey
	secrets     []string
}

func newAdminFixture(t *testing.T) *adminFixture {
	ts := newTestServer(t)
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	owner := ts.createUser(t, "Uma User", "uma@example.com", "uma-password", store.RoleUser)
	f := &adminFixture{ts: ts, admin: ts.client(t), user: ts.client(t), owner: owner}
	for _, name := range []string{"Deploy bot", "=HYPERLINK(\"http://evil\")", "Analytics"} {
		k, secret, err := ts.db.CreateKey(context.Background(), owner.ID, store.NewKey{Name: name, Description: "d"}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		f.keys, f.secrets = append(f.keys, k), append(f.secrets, secret)
	}
	f.admin.login("admin@example.com", "admin-password")
	f.user.login("uma@example.com", "uma-password")
	return f
}

func (f *adminFixture) api(t *testing.T, i int) int {
	return f.ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"X-API-Key": f.secrets[i]}).StatusCode
}

func TestAdminIsNotFoundToOthers(t *testing.T) {
	f := newAdminFixture(t)
	id := f.keys[0].PublicID
	for _, r := range []struct{ method, path string }{
		{"GET", "/admin"}, {"GET", "/admin/api-keys"}, {"GET", "/admin/api-keys/export"}, {"GET", "/admin/users"},
		{"GET", "/admin/audit"}, {"POST", "/admin/api-keys/" + id + "/status"}, {"POST", "/admin/api-keys/disable"},
		{"POST", "/admin/users/" + f.owner.PublicID + "/kyc"}, {"POST", "/admin/users/" + f.owner.PublicID + "/disabled"},
		{"POST", "/admin/users/" + f.owner.PublicID + "/role"},
	} {
		res := f.user.do(r.method, r.path, url.Values{"enabled": {"false"}, "id": {id}, "confirm": {"yes"},
			"status": {"rejected"}, "disabled": {"true"}, "role": {"admin"}}, nil)
		assertStatus(t, res, http.StatusNotFound)
	}
	if f.api(t, 0) != 200 {
		t.Error("a user's admin request changed a key")
	}
	if u, _ := f.ts.db.UserByID(context.Background(), f.owner.ID); u.IsAdmin() || u.KYCStatus != store.KYCVerified {
		t.Errorf("a user's admin request changed their account: %+v", u)
	}
	assertLacks(t, f.user.get("/settings/profile"), ">Admin<")
}

func TestAdminInventory(t *testing.T) {
	f := newAdminFixture(t)
	last4 := f.secrets[2][len(f.secrets[2])-4:]
	runs := []struct {
		name   string
		path   string
		want   []string
		forbid []string
	}{
		{"every key with its owner", "/admin/api-keys", []string{"Deploy bot", "Analytics", "Uma User", "uma@example.com",
			"kdk_…" + last4, "Never", "Key inventory"}, nil},
		{"search by key name prefix", "/admin/api-keys?q=deploy", []string{"Deploy bot"}, []string{"Analytics"}},
		{"search by owner email prefix", "/admin/api-keys?q=UMA@", []string{"Deploy bot", "Analytics"}, nil},
		{"search by last 4", "/admin/api-keys?q=" + last4, []string{"Analytics"}, []string{"Deploy bot"}},
		{"no match", "/admin/api-keys?q=zzz", []string{"No keys match these filters."}, []string{"Deploy bot"}},
		{"filters are kept in the form", "/admin/api-keys?q=dep&status=enabled&risk=never_used&sort=name&dir=desc",
			[]string{`value="dep"`, `<option value="enabled" selected>`, `<option value="never_used" selected>`,
				`<input type="hidden" name="sort" value="name">`, `<input type="hidden" name="dir" value="desc">`,
				`aria-sort="descending"`,
				`href="/admin/api-keys/export?dir=desc&amp;q=dep&amp;risk=never_used&amp;sort=name&amp;status=enabled"`}, nil},
		{"status filter", "/admin/api-keys?status=disabled", []string{"No keys match"}, []string{"Deploy bot"}},
		{"risk: owner disabled", "/admin/api-keys?risk=owner_disabled", []string{"No keys match"}, nil},
		{"unknown filter values fall back", "/admin/api-keys?status=bogus&sort=bogus", []string{"Deploy bot"}, nil},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			res := f.admin.get(r.path)
			assertStatus(t, res, http.StatusOK)
			assertContains(t, res, r.want...)
			assertLacks(t, res, r.forbid...)
			for _, s := range f.secrets {
				assertLacks(t, res, s)
			}
		})
	}
	assertStatus(t, f.admin.get("/admin/api-keys?after=forged"), http.StatusBadRequest)

	t.Run("paging keeps the filters", func(t *testing.T) {
		var owners []*store.User
		for i := range 3 {
			owners = append(owners, f.ts.createUser(t, "Owner", fmt.Sprintf("owner%d@example.com", i), "owner-password", store.RoleUser))
		}
		for i := range 60 {
			if _, _, err := f.ts.db.CreateKey(context.Background(), owners[i%3].ID, store.NewKey{Name: fmt.Sprintf("bulk %02d", i), Description: "d"}, store.AuditEvent{}); err != nil {
				t.Fatal(err)
			}
		}
		first := f.admin.get("/admin/api-keys?q=bulk&sort=name")
		assertContains(t, first, "bulk 00", "bulk 49", `rel="next"`, "60 keys")
		assertLacks(t, first, "bulk 50", `rel="prev"`)
		start := strings.Index(first.body, `href="/admin/api-keys?after=`)
		if start < 0 {
			t.Fatal("no next link")
		}
		next := first.body[start+len(`href="`):]
		next = strings.ReplaceAll(next[:strings.IndexByte(next, '"')], "&amp;", "&")
		if !strings.Contains(next, "q=bulk") || !strings.Contains(next, "sort=name") {
			t.Errorf("next link %q lost the filters", next)
		}
		second := f.admin.get(next)
		assertContains(t, second, "bulk 50", "bulk 59", `rel="prev"`, "60 keys")
		assertLacks(t, second, "bulk 49", `rel="next"`)
	})
}

func TestAdminDisablesAnyKey(t *testing.T) {
	f := newAdminFixture(t)
	id := f.keys[0].PublicID
	res := f.admin.do("POST", "/admin/api-keys/"+id+"/status", url.Values{"enabled": {"false"}, "return": {"/admin/api-keys?q=dep"}},
		map[string]string{"HX-Request": "true"})
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, `id="inv-`+id+`"`, `aria-checked="false"`)
	assertLacks(t, res, "<html")
	if f.api(t, 0) != 401 || f.api(t, 1) != 200 {
		t.Error("the admin's disable did not stop exactly that key at once")
	}
	res = f.admin.post("/admin/api-keys/"+id+"/status", url.Values{"enabled": {"true"}, "return": {"/admin/api-keys?q=dep"}})
	assertStatus(t, res, http.StatusSeeOther)
	if got := res.Header.Get("Location"); got != "/admin/api-keys?q=dep" {
		t.Errorf("back to %q", got)
	}
	if f.api(t, 0) != 200 {
		t.Error("enable did not take effect")
	}
	res = f.admin.post("/admin/api-keys/"+id+"/status", url.Values{"enabled": {"true"}, "return": {"https://evil.example/"}})
	if got := res.Header.Get("Location"); got != "/admin/api-keys" {
		t.Errorf("an outside return sent the admin to %q", got)
	}
	assertStatus(t, f.admin.post("/admin/api-keys/key_missing/status", url.Values{"enabled": {"false"}}), http.StatusNotFound)

	events, _ := f.ts.db.AuditLog(context.Background(), store.AuditFilter{Actor: "admin@example.com", Action: store.ActionKeyDisabled})
	if len(events.Events) != 1 || events.Events[0].Subject != "uma@example.com" || events.Events[0].Target != id {
		t.Errorf("admin audit events %+v", events.Events)
	}
	log := f.admin.get("/admin/audit?actor=admin@example.com&action=key.disabled")
	assertContains(t, log, "key.disabled", "uma@example.com", id)
}

func TestAdminBulkDisable(t *testing.T) {
	f := newAdminFixture(t)
	ids := url.Values{"id": {f.keys[0].PublicID, f.keys[2].PublicID}, "return": {"/admin/api-keys"}}
	ask := f.admin.post("/admin/api-keys/disable", ids)
	assertStatus(t, ask, http.StatusOK)
	assertContains(t, ask, "Disable 2 keys?", "Deploy bot", "Analytics", `value="yes"`)
	if f.api(t, 0) != 200 {
		t.Fatal("asking disabled a key")
	}
	ids.Set("confirm", "yes")
	done := f.admin.post("/admin/api-keys/disable", ids)
	assertStatus(t, done, http.StatusSeeOther)
	assertContains(t, f.admin.get("/admin/api-keys"), "Disabled 2 keys.")
	if f.api(t, 0) != 401 || f.api(t, 2) != 401 || f.api(t, 1) != 200 {
		t.Error("bulk disable hit the wrong keys")
	}
	none := f.admin.post("/admin/api-keys/disable", url.Values{"return": {"/admin/api-keys"}})
	assertStatus(t, none, http.StatusSeeOther)
}

func TestAdminExportCSV(t *testing.T) {
	f := newAdminFixture(t)
	res := f.admin.get("/admin/api-keys/export?q=uma@")
	assertStatus(t, res, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	records, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != 4 || records[0][0] != "owner_name" {
		t.Fatalf("records %v", records)
	}
	for _, rec := range records[1:] {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Errorf("cell %q would run as a formula", cell)
			}
		}
	}
	assertContains(t, res, `'=HYPERLINK`)
	for _, s := range f.secrets {
		assertLacks(t, res, s)
	}
	if got := safeCells("=1+1", "+x", "-x", "@x", "\tx", "ok", ""); strings.Join(got, ",") != "'=1+1,'+x,'-x,'@x,'\tx,ok," {
		t.Errorf("safeCells = %q", got)
	}
}

func TestAdminUsers(t *testing.T) {
	f := newAdminFixture(t)
	uid := f.owner.PublicID
	list := f.admin.get("/admin/users?q=uma")
	assertStatus(t, list, http.StatusOK)
	admin, _ := f.ts.db.UserByEmail(context.Background(), "admin@example.com")
	assertContains(t, list, "Uma User", "uma@example.com", uid)
	assertLacks(t, list, `id="user-`+admin.PublicID+`"`)

	t.Run("KYC status, which the user then sees", func(t *testing.T) {
		res := f.admin.do("POST", "/admin/users/"+uid+"/kyc", url.Values{"status": {"rejected"}}, map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, `<option value="rejected" selected>`)
		assertContains(t, f.user.get("/settings/profile"), "Rejected")
		assertStatus(t, f.admin.post("/admin/users/"+uid+"/kyc", url.Values{"status": {"bogus"}}), http.StatusSeeOther)
		if u, _ := f.ts.db.UserByID(context.Background(), f.owner.ID); u.KYCStatus != store.KYCRejected {
			t.Errorf("a bogus status changed KYC to %q", u.KYCStatus)
		}
	})

	t.Run("disable ends sessions and keys; enable restores each key's status", func(t *testing.T) {
		f.user.post("/settings/api-keys/"+f.keys[1].PublicID+"/status", url.Values{"enabled": {"false"}})
		res := f.admin.post("/admin/users/"+uid+"/disabled", url.Values{"disabled": {"true"}, "confirm": {"yes"}, "return": {"/admin/users?q=uma"}})
		assertStatus(t, res, http.StatusSeeOther)
		assertStatus(t, f.user.get("/settings/profile"), http.StatusSeeOther)
		if f.api(t, 0) != 401 || f.api(t, 2) != 401 {
			t.Error("a disabled user's keys still answer")
		}
		f.admin.post("/admin/users/"+uid+"/disabled", url.Values{"disabled": {"false"}, "confirm": {"yes"}})
		if f.api(t, 0) != 200 || f.api(t, 2) != 200 || f.api(t, 1) != 401 {
			t.Error("enabling the user did not restore each key's own status")
		}
		f.user.login("uma@example.com", "uma-password")
	})

	t.Run("admin role, and never the last admin", func(t *testing.T) {
		res := f.admin.do("POST", "/admin/users/"+admin.PublicID+"/role", url.Values{"role": {"user"}, "confirm": {"yes"}}, map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusUnprocessableEntity)
		assertContains(t, res, "at least one active admin")
		res = f.admin.do("POST", "/admin/users/"+admin.PublicID+"/disabled", url.Values{"disabled": {"true"}, "confirm": {"yes"}}, map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusUnprocessableEntity)
		assertStatus(t, f.admin.get("/admin/users"), http.StatusOK)

		assertStatus(t, f.admin.post("/admin/users/"+uid+"/role", url.Values{"role": {"admin"}, "confirm": {"yes"}}), http.StatusSeeOther)
		assertStatus(t, f.user.get("/admin/users"), http.StatusOK)
		assertStatus(t, f.user.post("/admin/users/"+admin.PublicID+"/role", url.Values{"role": {"user"}, "confirm": {"yes"}}), http.StatusSeeOther)
		assertStatus(t, f.admin.get("/admin/users"), http.StatusNotFound)
	})
	assertStatus(t, f.admin.post("/admin/users/usr_missing/kyc", url.Values{"status": {"pending"}}), http.StatusNotFound)
}

func TestAdminAuditFilters(t *testing.T) {
	f := newAdminFixture(t)
	f.admin.post("/admin/api-keys/"+f.keys[0].PublicID+"/status", url.Values{"enabled": {"false"}})
	for _, tc := range []struct {
		query  string
		status int
		want   []string
		forbid []string
	}{
		// The actor field says what it takes: a whole email, or cli.
		{"", 200, []string{"user.login", "key.disabled", "Events", `aria-describedby="actor-hint"`,
			`id="actor-hint">Actor: who acted, by their whole email; <code>cli</code> is the <code>keydesk</code> command.`}, nil},
		{"?action=key.disabled", 200, []string{"key.disabled", "uma@example.com"}, []string{"<code>user.login</code>"}},
		{"?actor=UMA@example.com", 200, []string{"<code>user.login</code>"}, []string{"<code>key.disabled</code>"}},
		{"?from=2000-01-01&until=2000-01-02", 200, []string{"No events match."}, nil},
		{"?from=yesterday", 422, []string{"Enter the From date as YYYY-MM-DD."}, nil},
		// A cursor this store did not write is refused, not read as "from the top".
		{"?after=forged", 400, []string{"Bad request"}, []string{"user.login"}},
		{"?after=bm9wZQ", 400, []string{"Bad request"}, []string{"user.login"}}, // base64 of "nope"
	} {
		res := f.admin.get("/admin/audit" + tc.query)
		assertStatus(t, res, tc.status)
		assertContains(t, res, tc.want...)
		assertLacks(t, res, tc.forbid...)
	}
}

func TestAnnounceHeaderIsASCIIJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest("POST", "/", nil), rec)
	announce(c, "Key “Zoë 😀\x00” disabled.")
	h := rec.Header().Get("HX-Trigger-After-Settle")
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			t.Fatalf("non-ASCII byte in %q", h)
		}
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(h), &got); err != nil || got["keydesk:announce"] != "Key “Zoë 😀\x00” disabled." {
		t.Errorf("HX-Trigger-After-Settle %q decodes to %v, %v", h, got, err)
	}
}

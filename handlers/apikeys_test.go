package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"keydesk/store"
)

var fullKey = regexp.MustCompile(`kdk_[0-9A-Za-z]{36}`)

// createKeyThroughPage runs the whole create flow as a plain form post and
// returns the key the page showed.
func createKeyThroughPage(t *testing.T, c *client, name, desc string) string {
	t.Helper()
	form := url.Values{"name": {name}, "description": {desc}}
	confirm := c.post("/settings/api-keys", form)
	assertStatus(t, confirm, http.StatusOK)
	form.Set("action", "confirm")
	res := c.post("/settings/api-keys", form)
	assertStatus(t, res, http.StatusOK)
	key := fullKey.FindString(res.body)
	if key == "" {
		t.Fatalf("no key shown:\n%s", res.body)
	}
	return key
}

func TestKeyPage(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")

	empty := c.get("/settings/api-keys")
	assertStatus(t, empty, http.StatusOK)
	assertContains(t, empty, "No API Auth Keys yet", "Create API Auth Key", `aria-current="page"`)

	t.Run("the form, then a confirmation, and Cancel creates nothing", func(t *testing.T) {
		form := c.get("/settings/api-keys/new")
		assertContains(t, form, `name="name"`, `name="description"`, ">Key name</label>", ">Description</label>")
		confirm := c.post("/settings/api-keys", url.Values{"name": {"CI deploys"}, "description": {"GitHub Actions"}})
		assertStatus(t, confirm, http.StatusOK)
		assertContains(t, confirm, "Create this key?", `value="confirm"`, `value="cancel"`, ">Create API Auth Key</button>", ">Cancel</button>")
		assertLacks(t, confirm, "kdk_")
		cancel := c.post("/settings/api-keys", url.Values{"name": {"CI deploys"}, "description": {"GitHub Actions"}, "action": {"cancel"}})
		assertStatus(t, cancel, http.StatusSeeOther)
		keys, _ := ts.db.KeysForUser(context.Background(), 1)
		if len(keys) != 0 {
			t.Fatalf("cancel created %d keys", len(keys))
		}
	})

	var key string
	t.Run("confirming shows the key once, with Copy, status and date", func(t *testing.T) {
		form := url.Values{"name": {"CI deploys"}, "description": {"GitHub Actions"}, "action": {"confirm"}}
		res := c.post("/settings/api-keys", form)
		assertStatus(t, res, http.StatusOK)
		key = fullKey.FindString(res.body)
		if store.ParseKey(key) != nil {
			t.Fatalf("no valid key on the page: %q", key)
		}
		assertContains(t, res, "cannot be shown again", "data-copy", ">Copy</button>", "Enabled", "Date Created", `hx-history="false"`)
		if res.Header.Get("Cache-Control") != "no-store" {
			t.Error("the page with the key may be cached")
		}
		page := c.get("/settings/api-keys")
		assertLacks(t, page, key)
		if strings.Contains(ts.logs.String(), key) {
			t.Error("the new key reached the log")
		}
		assertContains(t, page, "CI deploys", "kdk_…"+key[len(key)-4:], "Never",
			"<th scope=\"col\">Key Name</th><th scope=\"col\">Last Used</th><th scope=\"col\">Status</th><th scope=\"col\">API Auth Key</th><th scope=\"col\">Date Created</th><th scope=\"col\">Expires</th><th scope=\"col\">Manage</th>")
	})

	t.Run("with htmx the key arrives in the panel and the table out of band", func(t *testing.T) {
		res := c.do("POST", "/settings/api-keys", url.Values{"name": {"Staging"}, "description": {"staging box"}, "action": {"confirm"}},
			map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, `id="create-panel"`, `hx-swap-oob="true"`, "Staging", "Key created.")
		assertLacks(t, res, "<html")
		if fullKey.FindString(res.body) == "" {
			t.Error("no key in the fragment")
		}
	})

	refusals := []struct {
		name   string
		form   url.Values
		field  string
		msg    string
		status int
	}{
		{"no name", url.Values{"name": {""}, "description": {"d"}}, "create-name", "Enter a name for the key.", 422},
		{"65 characters", url.Values{"name": {strings.Repeat("n", 65)}, "description": {"d"}}, "create-name", "Use at most 64 characters.", 422},
		{"taken name, other case", url.Values{"name": {"ci DEPLOYS"}, "description": {"d"}}, "create-name", "You already have a key with this name.", 422},
		{"no description", url.Values{"name": {"n"}, "description": {" "}}, "create-description", "Describe what the key is for.", 422},
		{"501-character description", url.Values{"name": {"n"}, "description": {strings.Repeat("d", 501)}}, "create-description", "Use at most 500 characters.", 422},
		{"taken name at confirm", url.Values{"name": {"CI deploys"}, "description": {"d"}, "action": {"confirm"}}, "create-name", "You already have a key with this name.", 422},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			before, _ := ts.db.KeysForUser(context.Background(), 1)
			for _, htmx := range []bool{false, true} {
				h := map[string]string{}
				if htmx {
					h["HX-Request"] = "true"
				}
				res := c.do("POST", "/settings/api-keys", tc.form, h)
				assertStatus(t, res, tc.status)
				assertContains(t, res, `id="`+tc.field+`-error"`, tc.msg)
				if v := tc.form.Get("name"); v != "" {
					assertContains(t, res, `value="`+v+`"`)
				}
			}
			after, _ := ts.db.KeysForUser(context.Background(), 1)
			if len(after) != len(before) {
				t.Error("a refused create changed the keys")
			}
		})
	}
}

func TestKeyActions(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	ts.createUser(t, "Bob", "bob@example.com", "bob-password", store.RoleUser)
	uma, bob := ts.client(t), ts.client(t)
	uma.login("uma@example.com", "uma-password")
	bob.login("bob@example.com", "bob-password")
	secret := createKeyThroughPage(t, uma, "Deploy", "deploys")
	other := createKeyThroughPage(t, uma, "Other", "other key")
	keys, _ := ts.db.KeysForUser(context.Background(), 1)
	id := keys[1].PublicID // Deploy: the older of the two
	api := func(key string) int {
		return ts.client(t).do("GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + key}).StatusCode
	}
	if api(secret) != 200 || api(other) != 200 {
		t.Fatal("fresh keys do not work")
	}

	t.Run("another user's key id is 404 for every action and changes nothing", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/settings/api-keys/" + id + "/edit"},
			{"GET", "/settings/api-keys/" + id + "/delete"},
			{"POST", "/settings/api-keys/" + id + "/status"},
			{"POST", "/settings/api-keys/" + id + "/edit"},
			{"POST", "/settings/api-keys/" + id + "/delete"},
		} {
			for _, htmx := range []bool{false, true} {
				h := map[string]string{}
				if htmx {
					h["HX-Request"] = "true"
				}
				res := bob.do(r.method, r.path, url.Values{"enabled": {"false"}, "name": {"pwned"}, "description": {"x"}}, h)
				assertStatus(t, res, http.StatusNotFound)
				assertLacks(t, res, "Deploy")
			}
		}
		if api(secret) != 200 {
			t.Error("bob's requests changed uma's key")
		}
		k, _ := ts.db.KeyForUser(context.Background(), 1, id)
		if k.Name != "Deploy" || !k.Enabled {
			t.Errorf("uma's key changed: %+v", k)
		}
		assertStatus(t, uma.get("/settings/api-keys/key_doesnotexist/edit"), http.StatusNotFound)
	})

	t.Run("the switch disables and enables at once", func(t *testing.T) {
		res := uma.do("POST", "/settings/api-keys/"+id+"/status", url.Values{"enabled": {"false"}}, map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, `id="switch-`+id+`"`, `aria-checked="false"`, "Key “Deploy” disabled.")
		if api(secret) != 401 || api(other) != 200 {
			t.Error("disable did not take effect on the very next call, or hit the other key")
		}
		res = uma.post("/settings/api-keys/"+id+"/status", url.Values{"enabled": {"true"}})
		assertStatus(t, res, http.StatusSeeOther)
		assertContains(t, uma.get("/settings/api-keys"), "Key “Deploy” enabled.")
		if api(secret) != 200 {
			t.Error("enable did not take effect")
		}
	})

	t.Run("edit: form in the row, validation, save", func(t *testing.T) {
		form := uma.do("GET", "/settings/api-keys/"+id+"/edit", nil, map[string]string{"HX-Request": "true"})
		assertStatus(t, form, http.StatusOK)
		assertContains(t, form, "Edit Deploy", `value="Deploy"`, ">deploys</textarea>")
		bad := uma.post("/settings/api-keys/"+id+"/edit", url.Values{"name": {"Other"}, "description": {"changed"}})
		assertStatus(t, bad, http.StatusUnprocessableEntity)
		assertContains(t, bad, "You already have a key with this name.", `value="Other"`, ">changed</textarea>")
		same := uma.do("POST", "/settings/api-keys/"+id+"/edit", url.Values{"name": {"deploy"}, "description": {"renamed in place"}},
			map[string]string{"HX-Request": "true"})
		assertStatus(t, same, http.StatusOK)
		assertContains(t, same, "Key “deploy” saved.", "renamed in place")
		if api(secret) != 200 {
			t.Error("editing broke the key")
		}
	})

	t.Run("delete asks first, then the key stops working", func(t *testing.T) {
		ask := uma.get("/settings/api-keys/" + id + "/delete")
		assertStatus(t, ask, http.StatusOK)
		assertContains(t, ask, "Delete deploy?", "cannot be undone", ">Delete key</button>")
		if api(secret) != 200 {
			t.Error("asking deleted the key")
		}
		res := uma.do("POST", "/settings/api-keys/"+id+"/delete", nil, map[string]string{"HX-Request": "true"})
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, "Key “deploy” deleted.")
		assertLacks(t, res, `id="row-`+id+`"`)
		if api(secret) != 401 || api(other) != 200 {
			t.Error("delete did not take effect, or hit the other key")
		}
		assertStatus(t, uma.post("/settings/api-keys/"+id+"/delete", nil), http.StatusNotFound)
	})

	t.Run("every action is audited, never with the key", func(t *testing.T) {
		auditPage, _ := ts.db.AuditLog(context.Background(), store.AuditFilter{Limit: 100})
		events := auditPage.Events
		seen := map[string]int{}
		for _, e := range events {
			seen[e.Action]++
			for _, field := range []string{e.Actor, e.Target, e.Detail, e.UserAgent} {
				if strings.Contains(field, secret) || strings.Contains(field, other) {
					t.Errorf("an audit event holds a key: %+v", e)
				}
			}
			if strings.HasPrefix(e.Action, "key.") && (e.Actor != "uma@example.com" || e.IP == "" || !strings.HasPrefix(e.Target, "key_")) {
				t.Errorf("key event without actor, IP or target: %+v", e)
			}
		}
		for action, want := range map[string]int{store.ActionKeyCreated: 2, store.ActionKeyDisabled: 1,
			store.ActionKeyEnabled: 1, store.ActionKeyEdited: 1, store.ActionKeyDeleted: 1} {
			if seen[action] != want {
				t.Errorf("%d %s events, want %d", seen[action], action, want)
			}
		}
	})

	t.Run("mutations are POST only", func(t *testing.T) {
		for _, p := range []string{"/settings/api-keys/" + id + "/status"} {
			assertStatus(t, uma.get(p), http.StatusMethodNotAllowed)
		}
	})
}

func TestFiftyOneKeys(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	for i := range store.MaxKeysPerUser {
		if _, _, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: fmt.Sprintf("key %02d", i), Description: "d"}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	for _, action := range []string{"", "confirm"} {
		res := c.post("/settings/api-keys", url.Values{"name": {"the 51st"}, "description": {"d"}, "action": {action}})
		assertStatus(t, res, http.StatusUnprocessableEntity)
		assertContains(t, res, "You have 50 keys, the most an account can hold.")
	}
	keys, _ := ts.db.KeysForUser(context.Background(), u.ID)
	if len(keys) != store.MaxKeysPerUser {
		t.Errorf("%d keys", len(keys))
	}
}

func TestCompression(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	gz := map[string]string{"Accept-Encoding": "gzip"}
	for _, path := range []string{"/settings/profile", "/settings/api-keys", "/static/app.css", "/static/htmx-2.0.11.min.js"} {
		res := c.do("GET", path, nil, gz)
		assertStatus(t, res, http.StatusOK)
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s is not compressed", path)
		}
	}
	// The answer that shows a key is never compressed (BREACH).
	res := c.do("POST", "/settings/api-keys", url.Values{"name": {"k"}, "description": {"d"}, "action": {"confirm"}}, gz)
	assertStatus(t, res, http.StatusOK)
	if res.Header.Get("Content-Encoding") != "" || fullKey.FindString(res.body) == "" {
		t.Error("the page showing a new key was compressed")
	}
}

func TestDescriptionLineBreaksCountOnce(t *testing.T) {
	ts := newTestServer(t)
	u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	c := ts.client(t)
	c.login("uma@example.com", "uma-password")
	desc := strings.Repeat("a", 250) + "\r\n" + strings.Repeat("b", 249) // 500 characters once "\r\n" is one break
	createKeyThroughPage(t, c, "multi-line", desc)
	keys, _ := ts.db.KeysForUser(context.Background(), u.ID)
	if len(keys) != 1 || keys[0].Description != strings.ReplaceAll(desc, "\r\n", "\n") {
		t.Fatalf("stored %q", keys[0].Description)
	}
}

// TestRacingCreates: creates that all pass the handler's own checks (the
// name is free, the account has room) before any of them has written leave
// it to the store, through its unique index and its counted limit, and its
// answer must reach the form: one create wins, every other is the form
// again with the reason beside it (422), never a 5xx, and the store holds
// what the answers say. Writes are held (holdWrites) until every create
// waits to write, so each has made its checks before the first one lands.
func TestRacingCreates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing int                // keys the account holds before the race
		keyName  func(i int) string // the name the i-th create asks for
		refusal  string
	}{
		{"one name", 0, func(int) string { return "Deploy" }, msgNameTaken},
		{"the last place", store.MaxKeysPerUser - 1, func(i int) string { return fmt.Sprintf("racer %d", i) }, msgKeyLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			u := ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
			for i := range tc.existing {
				if _, _, err := ts.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: fmt.Sprintf("key %02d", i), Description: "d"}, store.AuditEvent{}); err != nil {
					t.Fatal(err)
				}
			}
			c := ts.client(t)
			c.login("uma@example.com", "uma-password")

			const racers = 8
			release := ts.holdWrites(t, "api_keys")
			answers := make(chan sent, racers)
			for i := range racers {
				form := url.Values{"name": {tc.keyName(i)}, "description": {"d"}, "action": {"confirm"}}
				go func() { answers <- c.send(http.MethodPost, "/settings/api-keys", form) }()
			}
			waitFor(t, "every create to wait to write", func() bool { return ts.writesWaiting(t) == racers })
			release()
			won := 0
			for range racers {
				res := <-answers
				switch {
				case res.err != nil:
					t.Errorf("a create: %v", res.err)
				case res.StatusCode == http.StatusOK && fullKey.MatchString(res.body):
					won++
				case res.StatusCode == http.StatusUnprocessableEntity && strings.Contains(res.body, tc.refusal):
				default:
					t.Errorf("a create answered %d, want 200 with the key or 422 with %q\n%.600s", res.StatusCode, tc.refusal, res.body)
				}
			}
			if won != 1 {
				t.Errorf("%d creates won, want 1", won)
			}
			keys, err := ts.db.KeysForUser(context.Background(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != tc.existing+1 {
				t.Errorf("%d keys stored, want %d", len(keys), tc.existing+1)
			}
		})
	}
}

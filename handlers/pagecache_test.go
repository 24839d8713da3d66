package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/engine"
)

// The pages the cache reuses, each viewed once before every step below so
// that the step's view would be the copy.
var reusedPages = []string{"/settings/api-keys", "/admin/api-keys", "/admin/audit"}

// A page viewed again is the copy kept of it (a write underneath the store,
// which no count sees, does not show) until something it shows changes;
// then the next view shows the change, whichever way it was made: through
// the store, by the API's Last Used, in the audit log alone, or through
// another instance on the same database. A hard reload (Cache-Control:
// no-cache) always renders anew.
func TestPageCopiesShowEveryChange(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	ts.createUser(t, "Ada Admin", "ada@example.com", "ada-password-1", store.RoleAdmin)
	dana := ts.createUser(t, "Dana Demo", "dana@example.com", "dana-password-1", store.RoleUser)
	k, _, err := ts.db.CreateKey(ctx, dana.ID, store.NewKey{Name: "ci-deploy", Description: "Deploys from CI"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	admin, owner := ts.client(t), ts.client(t)
	admin.login("ada@example.com", "ada-password-1")
	owner.login("dana@example.com", "dana-password-1")
	view := func(path string) response {
		t.Helper()
		c := owner
		if path != "/settings/api-keys" {
			c = admin
		}
		res := c.get(path)
		assertStatus(t, res, http.StatusOK)
		return res
	}
	viewAll := func() {
		t.Helper()
		for _, p := range reusedPages {
			view(p)
		}
	}

	// Underneath the store: the copies stand; a hard reload reads anew.
	viewAll()
	if _, err := ts.raw(t).Exec(ts.db.Rebind(`UPDATE api_keys SET name = 'renamed-underneath' WHERE id = ?`), k.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range reusedPages[:2] {
		assertLacks(t, view(p), "renamed-underneath")
		c := owner
		if p != "/settings/api-keys" {
			c = admin
		}
		assertContains(t, c.do(http.MethodGet, p, nil, map[string]string{"Cache-Control": "no-cache"}), "renamed-underneath")
	}

	other, err := engine.Open(ctx, ts.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	steps := []struct {
		what   string
		change func() error
		shows  map[string]string // page -> what it must show after
	}{
		{"the owner renames the key on the page", func() error {
			res := owner.post("/settings/api-keys/"+k.PublicID+"/edit", url.Values{"name": {"renamed-1"}, "description": {"Deploys from CI"}})
			if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusOK {
				t.Errorf("edit: status %d", res.StatusCode)
			}
			return nil
		}, map[string]string{"/settings/api-keys": "renamed-1", "/admin/api-keys": "renamed-1", "/admin/audit": "renamed-1"}},
		{"the key's first call (Last Used)", func() error {
			_, err := ts.db.TouchKey(ctx, k.ID, "198.51.100.7", ts.db.Now(), ts.db.Now().Add(-time.Minute))
			return err
		}, map[string]string{"/settings/api-keys": "198.51.100.7"}},
		{"an event in the log alone", func() error {
			return ts.db.RecordAudit(ctx, store.AuditEvent{Actor: dana.PublicID, Action: store.ActionLoginFailed, Target: "someone-else@example.com"})
		}, map[string]string{"/admin/audit": "someone-else@example.com"}},
		{"another instance renames the key", func() error {
			name := "renamed-elsewhere"
			_, err := other.UpdateKey(ctx, dana.ID, k.PublicID, store.KeyUpdate{Name: &name}, store.AuditEvent{})
			return err
		}, map[string]string{"/settings/api-keys": "renamed-elsewhere", "/admin/api-keys": "renamed-elsewhere"}},
		{"another instance renames the owner", func() error {
			name := "Dana Renamed"
			_, err := other.UpdateUser(ctx, dana.ID, store.UserUpdate{Name: &name}, store.AuditEvent{})
			return err
		}, map[string]string{"/settings/api-keys": "Dana Renamed", "/admin/api-keys": "Dana Renamed"}},
	}
	for _, s := range steps {
		viewAll()
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		for p, want := range s.shows {
			if res := view(p); !bytes.Contains([]byte(res.body), []byte(want)) {
				t.Errorf("after %s, %s does not show %q", s.what, p, want)
			}
		}
	}
}

// A copy stops being shown when the clock alone changes what it says: the
// moment a key expires, and, for the relative times and a Last Used after
// the first, within pageMaxAge.
func TestPageCopiesFollowTheClock(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	dana := ts.createUser(t, "Dana Demo", "dana@example.com", "dana-password-1", store.RoleUser)
	k, _, err := ts.db.CreateKey(ctx, dana.ID, store.NewKey{Name: "short-lived", Description: "Expires soon",
		ExpiresAt: ts.db.Now().Add(3 * time.Second)}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.TouchKey(ctx, k.ID, "198.51.100.7", ts.db.Now(), ts.db.Now()); err != nil {
		t.Fatal(err)
	}
	owner := ts.client(t)
	owner.login("dana@example.com", "dana-password-1")

	before := owner.get("/settings/api-keys")
	assertContains(t, before, "just now")
	assertLacks(t, before, "Expired")
	ts.clock.Advance(4 * time.Second) // past the expiry, well within pageMaxAge
	assertContains(t, owner.get("/settings/api-keys"), "Expired")

	ts.clock.Advance(time.Minute)
	assertContains(t, owner.get("/settings/api-keys"), "1 minute ago")

	// A later use, which the store does not count, within pageMaxAge.
	if wrote, err := ts.db.TouchKey(ctx, k.ID, "198.51.100.9", ts.db.Now(), ts.db.Now().Add(-30*time.Second)); err != nil || !wrote {
		t.Fatalf("a later use: wrote %v, %v", wrote, err)
	}
	ts.clock.Advance(pageMaxAge)
	assertContains(t, owner.get("/settings/api-keys"), "198.51.100.9")
}

// Each viewer is shown only copies of their own pages: another account's
// view of the same address is its own.
func TestPageCopiesAreTheViewersOwn(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	for _, u := range []struct{ name, email, key string }{
		{"Dana Demo", "dana@example.com", "dana-key"}, {"Eve Other", "eve@example.com", "eve-key"},
	} {
		usr := ts.createUser(t, u.name, u.email, "shared-password-1", store.RoleAdmin)
		if _, _, err := ts.db.CreateKey(ctx, usr.ID, store.NewKey{Name: u.key, Description: "Mine"}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	dana, eve := ts.client(t), ts.client(t)
	dana.login("dana@example.com", "shared-password-1")
	eve.login("eve@example.com", "shared-password-1")
	for range 2 {
		assertContains(t, dana.get("/settings/api-keys"), "dana-key")
		res := eve.get("/settings/api-keys")
		assertContains(t, res, "eve-key")
		assertLacks(t, res, "dana-key", "Dana Demo")
		assertContains(t, dana.get("/admin/api-keys"), "dana@example.com")
		// The inventory lists both, but the header is the viewer's own.
		assertContains(t, eve.get("/admin/api-keys"), `Eve Other`)
	}
}

// A notice to show once is shown, on the page it was meant for, though a
// copy of that page stands (the action that set it changed nothing), and
// is gone from the next view.
func TestFlashShowsThroughACopyOnce(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Ada Admin", "ada@example.com", "ada-password-1", store.RoleAdmin)
	admin := ts.client(t)
	admin.login("ada@example.com", "ada-password-1")
	const notice = "Select the keys to disable first."
	assertLacks(t, admin.get("/admin/api-keys"), notice)
	res := admin.post("/admin/api-keys/disable", url.Values{"return": {"/admin/api-keys"}})
	assertStatus(t, res, http.StatusSeeOther)
	assertContains(t, admin.get("/admin/api-keys"), notice)
	assertLacks(t, admin.get("/admin/api-keys"), notice)
}

// A copy is the page as rendered, to a client that takes gzip and to one
// that does not. (A new key's secret is shown only by its POST, which
// routes.go never hands to the cache, so no copy can hold it; the copies
// here are of the page after a key was created through it.)
func TestPageCopyServesEveryEncoding(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Dana Demo", "dana@example.com", "dana-password-1", store.RoleUser)
	owner := ts.client(t)
	owner.login("dana@example.com", "dana-password-1")
	createKeyThroughPage(t, owner, "ci-deploy", "Deploys from CI")

	get := func(encoding string) (string, string) {
		t.Helper()
		res := owner.do(http.MethodGet, "/settings/api-keys", nil, map[string]string{"Accept-Encoding": encoding})
		assertStatus(t, res, http.StatusOK)
		body := []byte(res.body)
		if res.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		return string(body), res.Header.Get("Content-Encoding")
	}
	first, enc := get("gzip")
	if enc != "gzip" {
		t.Errorf("a first view for gzip: Content-Encoding %q", enc)
	}
	for _, encoding := range []string{"gzip", "identity", "gzip", "identity"} {
		body, enc := get(encoding)
		if (encoding == "gzip") != (enc == "gzip") {
			t.Errorf("asked for %s: Content-Encoding %q", encoding, enc)
		}
		if body != first {
			t.Errorf("asked for %s, the page differs from the first view", encoding)
		}
	}
	if !bytes.Contains([]byte(first), []byte("ci-deploy")) {
		t.Errorf("the page does not list the key:\n%s", first)
	}
}

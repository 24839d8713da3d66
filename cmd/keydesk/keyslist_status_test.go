package main

import (
	"context"
	"strings"
	"testing"

	"keydesk/store"
)

// keys list says why a key does not work: a key an admin disabled (which
// only an admin can enable) and an enabled key of a disabled owner are not
// shown as plainly disabled or enabled.
func TestKeysListSaysWhyAKeyDoesNotWork(t *testing.T) {
	ctx := context.Background()
	f := newAdminFixture(t)
	amy := f.user(t, "amy@example.com", store.RoleUser)
	zed := f.user(t, "zed@example.com", store.RoleUser)
	locked, _ := f.key(t, amy, "leaked")
	own, _ := f.key(t, amy, "retired")
	fine, _ := f.key(t, amy, "ci")
	orphan, _ := f.key(t, zed, "zed ci")
	if _, err := f.db.AdminSetKeyEnabled(ctx, locked.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetKeyEnabled(ctx, amy.ID, own.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetUserDisabled(ctx, zed.ID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "", "keys", "list", "--db", f.path)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		locked.PublicID: "disabled by admin", own.PublicID: "disabled", fine.PublicID: "enabled", orphan.PublicID: "owner disabled",
	} {
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, id) {
				line = l
			}
		}
		if !strings.Contains(line, "  "+want+"  ") {
			t.Errorf("%s: want status %q in %q\n%s", id, want, line, out)
		}
	}
}

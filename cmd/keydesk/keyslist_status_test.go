package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// keys list says why a key does not work, as store.EffectiveState decides:
// a key an admin disabled (which only an admin can enable), an expired key
// and any key of a disabled owner are not shown as plainly disabled or
// enabled, with or without --email.
func TestKeysListSaysWhyAKeyDoesNotWork(t *testing.T) {
	ctx := context.Background()
	f := newAdminFixture(t)
	amy := f.user(t, "amy@example.com", store.RoleUser)
	zed := f.user(t, "zed@example.com", store.RoleUser)
	locked, _ := f.key(t, amy, "leaked")
	own, _ := f.key(t, amy, "retired")
	fine, _ := f.key(t, amy, "ci")
	orphan, _ := f.key(t, zed, "zed ci")
	zedOff, _ := f.key(t, zed, "zed retired")
	old, _, err := f.db.CreateKey(ctx, amy.ID, store.NewKey{Name: "old", ExpiresAt: time.Now().Add(-time.Hour)}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetKeyEnabled(ctx, zed.ID, zedOff.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.AdminSetKeyEnabled(ctx, locked.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetKeyEnabled(ctx, amy.ID, own.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetUserDisabled(ctx, zed.ID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	all, _, err := runCmd(t, "", "keys", "list", "--db", f.path)
	if err != nil {
		t.Fatal(err)
	}
	amys, _, err := runCmd(t, "", "keys", "list", "--email", amy.Email, "--db", f.path)
	if err != nil {
		t.Fatal(err)
	}
	zeds, _, err := runCmd(t, "", "keys", "list", "--email", zed.Email, "--db", f.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, want, own string
	}{
		{locked.PublicID, "disabled by admin", amys}, {own.PublicID, "disabled", amys}, {fine.PublicID, "enabled", amys},
		{old.PublicID, "expired", amys}, {orphan.PublicID, "owner disabled", zeds}, {zedOff.PublicID, "owner disabled", zeds},
	} {
		for _, out := range []string{all, tc.own} {
			assertKeysListStatus(t, out, tc.id, tc.want)
		}
	}
}

func assertKeysListStatus(t *testing.T, out, id, want string) {
	t.Helper()
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

package storetest

import (
	"context"
	"strings"
	"testing"

	"keydesk/store"
)

func testAllKeys(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	if rows, err := db.AllKeys(ctx); err != nil || len(rows) != 0 {
		t.Fatalf("an empty store: %d rows, %v", len(rows), err)
	}
	zed := mustCreateUser(t, db, "Zed", "Zed@example.com")
	amy := mustCreateUser(t, db, "Amy", "amy@example.com")
	mustCreateUser(t, db, "Kim", "keyless@example.com")
	create := func(u *store.User, name string) (*store.APIKey, string) {
		t.Helper()
		k, secret, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: name, Description: "about " + name}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		return k, secret
	}
	zedKey, _ := create(zed, "zed")
	amyOld, _ := create(amy, "old")
	amyNew, _ := create(amy, "new")
	if _, err := db.SetKeyEnabled(ctx, amy.ID, amyOld.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserDisabled(ctx, zed.ID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}

	rows, err := db.AllKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key           *store.APIKey
		owner         *store.User
		enabled       bool
		ownerDisabled bool
	}{
		{amyNew, amy, true, false},
		{amyOld, amy, false, false},
		{zedKey, zed, true, true},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Key.PublicID != w.key.PublicID || r.Key.Name != w.key.Name || r.Key.Description != w.key.Description ||
			r.Key.Last4 != w.key.Last4 || r.Key.UserID != w.owner.ID || !r.Key.CreatedAt.Equal(w.key.CreatedAt) {
			t.Errorf("row %d: key %+v, want %+v", i, r.Key, *w.key)
		}
		if r.Key.Enabled != w.enabled || r.OwnerDisabled != w.ownerDisabled {
			t.Errorf("row %d: enabled %v, owner disabled %v; want %v, %v", i, r.Key.Enabled, r.OwnerDisabled, w.enabled, w.ownerDisabled)
		}
		if r.OwnerID != w.owner.ID || r.OwnerName != w.owner.Name || r.OwnerEmail != w.owner.Email {
			t.Errorf("row %d: owner %d %q %q, want %+v", i, r.OwnerID, r.OwnerName, r.OwnerEmail, w.owner)
		}
		if !r.Key.LastUsedAt.IsZero() || !strings.HasPrefix(r.Key.Masked(), store.KeyPrefix) {
			t.Errorf("row %d: last used %v, masked %q", i, r.Key.LastUsedAt, r.Key.Masked())
		}
	}
}

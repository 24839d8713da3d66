package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// An admin cannot enable an expired key either: from the instant of its
// expiry the admin's enable is ErrExpired, changes nothing and records no
// event, whether the key was disabled by the admin, by its owner or never;
// the admin may still disable it. Its owner's regeneration brings it back,
// and then the admin's enable works again.
func testAdminCannotEnableExpiredKey(t *testing.T, open Opener) {
	ctx := context.Background()
	clock := newMovableClock()
	db := open(t, sqlstore.WithClock(clock.Now))
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	admin := mustCreateUser(t, db, "Ada", "admin@example.com")
	byAdmin := func(action string) store.AuditEvent {
		return store.AuditEvent{Actor: admin.Email, ActorID: admin.ID, Action: action}
	}
	start := clock.Now()
	expires := start.Add(time.Hour)
	mustKey := func(name string) *store.APIKey {
		t.Helper()
		k, _, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: name, ExpiresAt: expires}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	byTheAdmin, byTheOwner, stillOn := mustKey("admin's"), mustKey("owner's"), mustKey("never disabled")
	if _, err := db.AdminSetKeyEnabled(ctx, byTheAdmin.PublicID, false, byAdmin(store.ActionKeyDisabled)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, byTheOwner.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}

	// A millisecond before the expiry, the admin's enable still works.
	clock.Set(expires.Add(-time.Millisecond))
	if k, err := db.AdminSetKeyEnabled(ctx, byTheOwner.PublicID, true, byAdmin(store.ActionKeyEnabled)); err != nil || !k.Enabled {
		t.Fatalf("enable a key a millisecond before its expiry: %+v, %v", k, err)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, byTheOwner.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}

	clock.Set(expires)
	for _, c := range []struct {
		key             *store.APIKey
		enabled, locked bool // as the refused enable must leave it
	}{
		{byTheAdmin, false, true},
		{byTheOwner, false, false},
		{stillOn, true, false},
	} {
		before := keyEvents(t, db, c.key.PublicID)[store.ActionKeyEnabled]
		k, err := db.AdminSetKeyEnabled(ctx, c.key.PublicID, true, byAdmin(store.ActionKeyEnabled))
		if !errors.Is(err, store.ErrExpired) || k != nil {
			t.Errorf("%s: the admin's enable at the instant of expiry = %+v, %v; want ErrExpired", c.key.Name, k, err)
		}
		got, err := db.KeyForUser(ctx, uma.ID, c.key.PublicID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Enabled != c.enabled || got.DisabledByAdmin != c.locked {
			t.Errorf("%s: after the refused enable, enabled %t, disabled by admin %t; want %t, %t",
				c.key.Name, got.Enabled, got.DisabledByAdmin, c.enabled, c.locked)
		}
		if after := keyEvents(t, db, c.key.PublicID)[store.ActionKeyEnabled]; after != before {
			t.Errorf("%s: the refused enable recorded %d key.enabled events", c.key.Name, after-before)
		}
	}

	// Disabling an expired key is allowed; it is then the admin's.
	if k, err := db.AdminSetKeyEnabled(ctx, stillOn.PublicID, false, byAdmin(store.ActionKeyDisabled)); err != nil ||
		k.Enabled || !k.DisabledByAdmin {
		t.Errorf("the admin's disable of an expired key = %+v, %v", k, err)
	}
	if _, err := db.AdminSetKeyEnabled(ctx, "key_missing", true, byAdmin(store.ActionKeyEnabled)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("enable a missing key: %v, want ErrNotFound", err)
	}

	// The owner's regeneration brings the key back, still the admin's to
	// enable; the admin's enable then works.
	if _, _, err := db.RegenerateKey(ctx, uma.ID, byTheAdmin.PublicID, 0, clock.Now().Add(30*24*time.Hour), store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if k, err := db.AdminSetKeyEnabled(ctx, byTheAdmin.PublicID, true, byAdmin(store.ActionKeyEnabled)); err != nil ||
		!k.Enabled || k.DisabledByAdmin {
		t.Errorf("the admin's enable of the regenerated key = %+v, %v", k, err)
	}
}

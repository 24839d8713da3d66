package storetest

import (
	"context"
	"errors"
	"testing"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// keyEvents counts the audit events on one key by action.
func keyEvents(t *testing.T, db *sqlstore.DB, keyID string) map[string]int {
	t.Helper()
	page, err := db.AuditLog(context.Background(), store.AuditFilter{Limit: 200})
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
// enables it: the owner's enable is refused and changes nothing, the
// owner's disable is harmless, and the admin's enable clears the mark.
func testAdminDisabledKeyStaysDisabledForOwner(t *testing.T, open Opener) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		disable func(db *sqlstore.DB, keyID string, ev store.AuditEvent) error
	}{
		{"one key", func(db *sqlstore.DB, keyID string, ev store.AuditEvent) error {
			_, err := db.AdminSetKeyEnabled(ctx, keyID, false, ev)
			return err
		}},
		{"bulk", func(db *sqlstore.DB, keyID string, ev store.AuditEvent) error {
			n, err := db.AdminDisableKeys(ctx, []string{keyID}, ev)
			if err == nil && n != 1 {
				t.Errorf("bulk disable changed %d keys, want 1", n)
			}
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := open(t)
			uma := mustCreateUser(t, db, "Uma", "uma@example.com")
			admin := mustCreateUser(t, db, "Ada", "admin@example.com")
			k, secret, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
			if err != nil {
				t.Fatal(err)
			}
			byAdmin := func(action string) store.AuditEvent {
				return store.AuditEvent{Actor: admin.Email, ActorID: admin.ID, Action: action}
			}
			byOwner := func(action string) store.AuditEvent {
				return store.AuditEvent{Actor: uma.Email, ActorID: uma.ID, Action: action}
			}
			if err := c.disable(db, k.PublicID, byAdmin(store.ActionKeyDisabled)); err != nil {
				t.Fatal(err)
			}
			assertKey := func(when string, enabled, byAdmin bool) {
				t.Helper()
				got, err := db.KeyForUser(ctx, uma.ID, k.PublicID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Enabled != enabled || got.DisabledByAdmin != byAdmin {
					t.Errorf("%s: enabled %t, disabled by admin %t; want %t, %t",
						when, got.Enabled, got.DisabledByAdmin, enabled, byAdmin)
				}
				_, _, err = db.AuthenticateKey(ctx, store.HashKey(secret))
				if works := err == nil; works != enabled {
					t.Errorf("%s: the key authenticates: %t, want %t (%v)", when, works, enabled, err)
				}
			}
			assertKey("after the admin's disable", false, true)

			// The owner's enable is refused, records nothing, changes nothing.
			before := keyEvents(t, db, k.PublicID)
			if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, byOwner(store.ActionKeyEnabled)); !errors.Is(err, store.ErrDisabledByAdmin) {
				t.Errorf("owner's enable: %v, want store.ErrDisabledByAdmin", err)
			}
			assertKey("after the owner's enable", false, true)
			if after := keyEvents(t, db, k.PublicID); after[store.ActionKeyEnabled] != before[store.ActionKeyEnabled] {
				t.Errorf("the refused enable was recorded: %v", after)
			}

			// The owner disabling it again is harmless: still the admin's.
			if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, byOwner(store.ActionKeyDisabled)); err != nil {
				t.Errorf("owner's disable: %v", err)
			}
			assertKey("after the owner's disable", false, true)
			if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, byOwner(store.ActionKeyEnabled)); !errors.Is(err, store.ErrDisabledByAdmin) {
				t.Errorf("owner's enable after their disable: %v, want store.ErrDisabledByAdmin", err)
			}

			// Someone else's key is still not found, not "disabled by an admin".
			bob := mustCreateUser(t, db, "Bob", "bob@example.com")
			if _, err := db.SetKeyEnabled(ctx, bob.ID, k.PublicID, true, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("another user's enable: %v, want store.ErrNotFound", err)
			}

			// The admin's enable clears the mark; the owner has the switch again.
			if _, err := db.AdminSetKeyEnabled(ctx, k.PublicID, true, byAdmin(store.ActionKeyEnabled)); err != nil {
				t.Fatal(err)
			}
			assertKey("after the admin's enable", true, false)
			if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, byOwner(store.ActionKeyDisabled)); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, byOwner(store.ActionKeyEnabled)); err != nil {
				t.Errorf("owner's enable after the admin's enable: %v", err)
			}
			assertKey("after the owner's own disable and enable", true, false)
			if ev := keyEvents(t, db, k.PublicID); ev[store.ActionKeyDisabled] != 3 || ev[store.ActionKeyEnabled] != 2 {
				t.Errorf("audit events on the key: %v; want 3 disables (admin, owner, owner) and 2 enables", ev)
			}
		})
	}
}

// An admin's bulk disable takes over a key its owner had disabled, so the
// owner cannot enable it behind the admin's back.
func testBulkDisableTakesOverOwnerDisabledKey(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	k, _, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.AdminDisableKeys(ctx, []string{k.PublicID}, store.AuditEvent{Action: store.ActionKeyDisabled}); err != nil || n != 1 {
		t.Errorf("bulk disable = %d, %v; want 1", n, err)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, store.AuditEvent{}); !errors.Is(err, store.ErrDisabledByAdmin) {
		t.Errorf("owner's enable: %v, want store.ErrDisabledByAdmin", err)
	}
	page, err := db.KeyInventory(ctx, store.InventoryFilter{IDs: []string{k.PublicID}})
	if err != nil || len(page.Rows) != 1 || !page.Rows[0].Key.DisabledByAdmin {
		t.Errorf("inventory row: %+v, %v; want it disabled by an admin", page.Rows, err)
	}
}

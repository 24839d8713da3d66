package storetest

import (
	"context"
	"errors"
	"testing"

	"keydesk/store"
)

// TestCanonicalEmailsAreUniqueUnderOneIndex: each look-alike spelling of
// an address is the same account, for creating and for finding it.
func testCanonicalEmailsAreUniqueUnderOneIndex(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	kim := mustCreateUser(t, db, "Kim", "kim@example.com")
	arger := mustCreateUser(t, db, "Ärger", "Ärger@example.com")
	for _, tc := range []struct {
		email string
		id    int64
	}{
		{"\u212Aim@example.com", kim.ID}, // the Kelvin sign
		{"ｋｉｍ@example.com", kim.ID},      // fullwidth
		{"ärger@example.com", arger.ID},
		{"A\u0308RGER@example.com", arger.ID}, // decomposed
	} {
		if _, err := db.CreateUser(ctx, store.NewUser{Name: "Twin", Email: tc.email, PasswordHash: "h"}, store.AuditEvent{}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(%q): %v, want store.ErrConflict", tc.email, err)
		}
		if u, err := db.UserByEmail(ctx, tc.email); err != nil || u.ID != tc.id {
			t.Errorf("UserByEmail(%q) = %+v, %v; want user %d", tc.email, u, err, tc.id)
		}
	}
	if arger.Email != "ärger@example.com" {
		t.Errorf("stored as %q", arger.Email)
	}

	// The admin searches compare emails in canonical form too.
	if _, _, err := db.CreateKey(ctx, arger.ID, store.NewKey{Name: "deploy", Description: ""}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"ÄRG", "Ärger@", "ärger@example.com"} {
		users, err := db.Users(ctx, store.UserFilter{Query: q})
		if err != nil || len(users.Rows) != 1 || users.Rows[0].ID != arger.ID {
			t.Errorf("Users(%q) = %+v, %v; want Ärger alone", q, users.Rows, err)
		}
		keys, err := db.KeyInventory(ctx, store.InventoryFilter{Query: q, Sort: store.SortCreated})
		if err != nil || len(keys.Rows) != 1 || keys.Rows[0].OwnerID != arger.ID {
			t.Errorf("KeyInventory(%q) = %+v, %v; want Ärger's key alone", q, keys.Rows, err)
		}
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"keydesk/store"
)

func testKeyLifecycle(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")

	k, secret, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "CI deploys", Description: "GitHub Actions"}, store.AuditEvent{Actor: "uma", Action: store.ActionKeyCreated})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.ParseKey(secret); err != nil || k.Last4 != secret[len(secret)-4:] || !k.Enabled || !k.LastUsedAt.IsZero() {
		t.Fatalf("created %+v with %q: %v", k, secret, err)
	}
	var stored int
	peek(t, db, `SELECT count(*) FROM api_keys WHERE hash = ? AND hash <> ?`, store.HashKey(secret), secret).Scan(&stored)
	if stored != 1 {
		t.Error("the key's hash is not what is stored")
	}
	peek(t, db, `SELECT count(*) FROM api_keys WHERE hash = ? OR public_id = ? OR name = ? OR description = ?`,
		secret, secret, secret, secret).Scan(&stored)
	if stored != 0 {
		t.Error("the key is stored in clear")
	}

	if _, _, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "ci DEPLOYS", Description: ""}, store.AuditEvent{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("same name, other case: %v, want store.ErrConflict", err)
	}
	if _, _, err := db.CreateKey(ctx, bob.ID, store.NewKey{Name: "CI deploys", Description: ""}, store.AuditEvent{}); err != nil {
		t.Errorf("another user may use the same name: %v", err)
	}

	gotKey, gotUser, err := db.AuthenticateKey(ctx, store.HashKey(secret))
	if err != nil || gotKey.ID != k.ID || gotUser.ID != uma.ID {
		t.Fatalf("AuthenticateKey = %v, %v, %v", gotKey, gotUser, err)
	}

	// Another user's id is not found, for every action, and changes nothing.
	if _, err := db.KeyForUser(ctx, bob.ID, k.PublicID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob reads uma's key: %v", err)
	}
	if _, err := db.SetKeyEnabled(ctx, bob.ID, k.PublicID, false, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob disables uma's key: %v", err)
	}
	name := "stolen"
	if _, err := db.UpdateKey(ctx, bob.ID, k.PublicID, store.KeyUpdate{Name: &name}, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob renames uma's key: %v", err)
	}
	if err := db.DeleteKey(ctx, bob.ID, k.PublicID, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob deletes uma's key: %v", err)
	}
	if still, _ := db.KeyForUser(ctx, uma.ID, k.PublicID); still == nil || still.Name != "CI deploys" || !still.Enabled {
		t.Errorf("uma's key changed: %+v", still)
	}

	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AuthenticateKey(ctx, store.HashKey(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a disabled key authenticates: %v", err)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserDisabled(ctx, uma.ID, true, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AuthenticateKey(ctx, store.HashKey(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a disabled user's key authenticates: %v", err)
	}
	if err := db.SetUserDisabled(ctx, uma.ID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}

	desc := "new description"
	upd, err := db.UpdateKey(ctx, uma.ID, k.PublicID, store.KeyUpdate{Description: &desc}, store.AuditEvent{})
	if err != nil || upd.Name != "CI deploys" || upd.Description != desc {
		t.Errorf("UpdateKey = %+v, %v", upd, err)
	}
	if err := db.DeleteKey(ctx, uma.ID, k.PublicID, store.AuditEvent{Actor: "uma", Action: store.ActionKeyDeleted}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AuthenticateKey(ctx, store.HashKey(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a deleted key authenticates: %v", err)
	}
	auditPage, _ := db.AuditLog(ctx, store.AuditFilter{Limit: 10})
	events := auditPage.Events
	if events[0].Action != store.ActionKeyDeleted || events[0].Target != k.PublicID {
		t.Errorf("newest event %+v", events[0])
	}
}

func testKeyLimit(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	for i := range store.MaxKeysPerUser {
		if _, _, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: fmt.Sprintf("key %d", i), Description: ""}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: "one too many", Description: ""}, store.AuditEvent{}); !errors.Is(err, store.ErrLimit) {
		t.Errorf("51st key: %v, want store.ErrLimit", err)
	}
	keys, _ := db.KeysForUser(ctx, u.ID)
	if len(keys) != store.MaxKeysPerUser {
		t.Errorf("%d keys", len(keys))
	}
}

func testTouchKeyWritesOncePerWindow(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	k, _, _ := db.CreateKey(ctx, u.ID, store.NewKey{Name: "k", Description: ""}, store.AuditEvent{})
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		at    time.Time
		wrote bool
	}{
		{t0, true},
		{t0.Add(10 * time.Second), false},
		{t0.Add(29 * time.Second), false},
		{t0.Add(31 * time.Second), true},
	} {
		wrote, err := db.TouchKey(ctx, k.ID, "192.0.2.1", tc.at, tc.at.Add(-30*time.Second))
		if err != nil || wrote != tc.wrote {
			t.Errorf("touch %d: wrote=%v, %v; want %v", i, wrote, err, tc.wrote)
		}
	}
	got, _ := db.KeyForUser(ctx, u.ID, k.PublicID)
	if !got.LastUsedAt.Equal(t0.Add(31*time.Second)) || got.LastUsedIP != "192.0.2.1" {
		t.Errorf("last used %v from %q", got.LastUsedAt, got.LastUsedIP)
	}
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// Every method that reads a key or a user answers the same row, field for
// field: the times to the millisecond, a key's last use and its owner's
// flags included.
func testReadsAgree(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := open(t, sqlstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	u, err := db.CreateUser(ctx, store.NewUser{Name: "Uma", Email: "uma@example.com", PasswordHash: "h",
		Role: store.RoleAdmin, KYCStatus: store.KYCPending}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	k, first, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: "CI deploys", Description: "GitHub Actions",
		Scopes: []string{store.ScopeProfileRead, "deploy:write"}, ExpiresAt: now.Add(30 * 24 * time.Hour)}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	// A regeneration fills the previous secret's fields too.
	_, secret, err := db.RegenerateKey(ctx, u.ID, k.PublicID, time.Hour, now.Add(90*24*time.Hour), store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	used := now.Add(-time.Hour)
	if _, _, err := db.AuthenticateKey(ctx, store.HashKey(secret)); err != nil {
		t.Fatal(err)
	}
	keys, err := db.KeysForUser(ctx, u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("KeysForUser = %v, %v", keys, err)
	}
	if _, err := db.TouchKey(ctx, keys[0].ID, "192.0.2.7", used, used); err != nil {
		t.Fatal(err)
	}
	want, err := db.KeyForUser(ctx, u.ID, keys[0].PublicID)
	if err != nil {
		t.Fatal(err)
	}
	if !want.LastUsedAt.Equal(used) || want.LastUsedIP != "192.0.2.7" || want.Name != "CI deploys" ||
		want.Description != "GitHub Actions" || !want.Enabled || want.DisabledByAdmin || !want.CreatedAt.Equal(now) ||
		!slices.Equal(want.Scopes, []string{store.ScopeProfileRead, "deploy:write"}) ||
		!want.ExpiresAt.Equal(now.Add(90*24*time.Hour)) || want.PrevLast4 != first[len(first)-4:] ||
		!want.PrevUntil.Equal(now.Add(time.Hour)) {
		t.Fatalf("KeyForUser = %+v", want)
	}

	keys, _ = db.KeysForUser(ctx, u.ID)
	authKey, authUser, err := db.AuthenticateKey(ctx, store.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := db.KeyInventory(ctx, store.InventoryFilter{})
	if err != nil || len(inv.Rows) != 1 {
		t.Fatalf("KeyInventory = %+v, %v", inv, err)
	}
	all, err := db.AllKeys(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("AllKeys = %+v, %v", all, err)
	}
	for name, got := range map[string]store.APIKey{
		"KeysForUser": *keys[0], "AuthenticateKey": *authKey, "KeyInventory": inv.Rows[0].Key, "AllKeys": all[0].Key,
	} {
		if !reflect.DeepEqual(got, *want) {
			t.Errorf("%s:\n got  %+v\n want %+v", name, got, *want)
		}
	}
	// A listing reads the same key but for what no list shows, left empty.
	listing, err := db.KeyInventory(ctx, store.InventoryFilter{Listing: true})
	if err != nil || len(listing.Rows) != 1 {
		t.Fatalf("KeyInventory, a listing = %+v, %v", listing, err)
	}
	brief := *want
	brief.Description, brief.LastUsedIP, brief.UpdatedAt = "", "", time.Time{}
	brief.PrevLast4, brief.PrevUntil, brief.PrevLastUsedAt = "", time.Time{}, time.Time{}
	if got := listing.Rows[0].Key; !reflect.DeepEqual(got, brief) {
		t.Errorf("KeyInventory, a listing:\n got  %+v\n want %+v", got, brief)
	}
	for name, r := range map[string]store.InventoryRow{"KeyInventory": inv.Rows[0], "AllKeys": all[0], "KeyInventory, a listing": listing.Rows[0]} {
		if r.OwnerID != u.ID || r.OwnerName != u.Name || r.OwnerEmail != u.Email || r.OwnerDisabled {
			t.Errorf("%s: owner %d %q %q %v, want %+v", name, r.OwnerID, r.OwnerName, r.OwnerEmail, r.OwnerDisabled, u)
		}
	}

	byID, err := db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	byEmail, _ := db.UserByEmail(ctx, u.Email)
	byPublic, _ := db.UserByPublicID(ctx, u.PublicID)
	users, err := db.Users(ctx, store.UserFilter{})
	if err != nil || len(users.Rows) != 1 || users.Rows[0].Keys != 1 {
		t.Fatalf("Users = %+v, %v", users, err)
	}
	if err := db.CreateSession(ctx, &store.Session{IDHash: "s", UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	_, sessionUser, err := db.SessionWithUser(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*store.User{
		"CreateUser": u, "UserByEmail": byEmail, "UserByPublicID": byPublic, "Users": &users.Rows[0].User, "AuthenticateKey": authUser,
		"SessionWithUser": sessionUser,
	} {
		if got == nil || *got != *byID {
			t.Errorf("%s:\n got  %+v\n want %+v", name, got, byID)
		}
	}
	if byID.Role != store.RoleAdmin || byID.KYCStatus != store.KYCPending || byID.Disabled || !byID.CreatedAt.Equal(now) {
		t.Errorf("UserByID = %+v", byID)
	}
}

// Every paged list takes back only its own kind of cursor: a cursor made up
// or written by another list is store.ErrBadCursor, never a wrong page.
func testListsRefuseOtherCursors(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	for i := range 3 {
		mustCreateUser(t, db, "U", fmt.Sprintf("u%d@example.com", i))
	}
	users, err := db.Users(ctx, store.UserFilter{Limit: 1})
	if err != nil || users.Next == "" {
		t.Fatalf("Users = %+v, %v", users, err)
	}
	for i := range 3 {
		if err := db.RecordAudit(ctx, store.AuditEvent{Actor: "cli", Action: store.ActionUserCreated, Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	events, err := db.AuditLog(ctx, store.AuditFilter{Limit: 1})
	if err != nil || events.Next == "" {
		t.Fatalf("AuditLog = %+v, %v", events, err)
	}
	for _, c := range []string{"nonsense", users.Next} {
		if _, err := db.AuditLog(ctx, store.AuditFilter{After: c}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("AuditLog after %q: %v, want ErrBadCursor", c, err)
		}
	}
	if _, err := db.Users(ctx, store.UserFilter{After: events.Next}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("Users after an audit cursor: %v, want ErrBadCursor", err)
	}
	if _, err := db.KeyInventory(ctx, store.InventoryFilter{Sort: store.SortName, After: events.Next}); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("KeyInventory by name after an audit cursor: %v, want ErrBadCursor", err)
	}
}

// A read whose context's deadline passes under it reports the deadline
// (context.DeadlineExceeded, which the HTTP layer answers with 503, "try
// again"), whatever it was doing at that moment: waiting for a connection,
// opening one, or running its statement. Deadlines land at random points
// of reads, whose cut-short connections the next reads open anew.
func testReadsCutShortReportTheDeadline(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	const warm = 20
	start := time.Now()
	for range warm {
		if _, err := db.UserByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(start) / warm
	wrong := map[string]int{}
	for i := range 400 {
		ctx, cancel := context.WithTimeout(context.Background(), took*time.Duration(i%50)/10)
		_, err := db.UserByID(ctx, u.ID)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			wrong[err.Error()]++
		}
	}
	for msg, n := range wrong {
		t.Errorf("%d reads cut short by their deadline failed with %s, want context.DeadlineExceeded", n, msg)
	}
}

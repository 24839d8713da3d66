package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// unholdable are strings that reach the store from requests (a key id in a
// URL, an email typed at login, a search, a User-Agent) and that
// PostgreSQL's text cannot hold: a NUL, bytes that are not UTF-8.
var unholdable = []string{"\x00", "uma\x00@example.com", "CI\x00", "\xff", "CI\xff", "uma@example.com\xc3"}

// Text no engine stores as it is is never an error: a lookup, a change or
// a search with it finds nothing (nothing Keydesk checks may hold it) and
// changes nothing, and free text with it (a User-Agent, an address from a
// proxy's header) is stored.
func testUnholdableText(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := open(t, sqlstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	u, err := db.CreateUser(ctx, store.NewUser{Name: "Uma", Email: "uma@example.com", PasswordHash: "h", Role: store.RoleAdmin},
		store.AuditEvent{Actor: "uma@example.com", Action: store.ActionUserCreated, Target: "uma@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: "CI", Description: "ci"}, store.AuditEvent{Actor: "uma@example.com", Action: store.ActionKeyCreated})
	if err != nil {
		t.Fatal(err)
	}
	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", what, err)
		}
	}
	for _, s := range unholdable {
		q := fmt.Sprintf("%q", s)
		notFound("UserByEmail "+q, second(db.UserByEmail(ctx, s)))
		notFound("UserByPublicID "+q, second(db.UserByPublicID(ctx, s)))
		notFound("KeyForUser "+q, second(db.KeyForUser(ctx, u.ID, s)))
		notFound("SetKeyEnabled "+q, second(db.SetKeyEnabled(ctx, u.ID, s, false, store.AuditEvent{})))
		name := "renamed"
		notFound("UpdateKey "+q, second(db.UpdateKey(ctx, u.ID, s, store.KeyUpdate{Name: &name}, store.AuditEvent{})))
		notFound("DeleteKey "+q, db.DeleteKey(ctx, u.ID, s, store.AuditEvent{}))
		notFound("AdminSetKeyEnabled "+q, second(db.AdminSetKeyEnabled(ctx, s, false, store.AuditEvent{})))
		if n, err := db.AdminDisableKeys(ctx, []string{s}, store.AuditEvent{}); err != nil || n != 0 {
			t.Errorf("AdminDisableKeys %s = %d, %v; want 0, nil", q, n, err)
		}
		for what, f := range map[string]store.InventoryFilter{"query": {Query: s}, "ids": {IDs: []string{s}}} {
			if page, err := db.KeyInventory(ctx, f); err != nil || len(page.Rows) != 0 {
				t.Errorf("KeyInventory by %s %s = %d rows, %v; want none", what, q, len(page.Rows), err)
			}
		}
		if page, err := db.Users(ctx, store.UserFilter{Query: s}); err != nil || len(page.Rows) != 0 {
			t.Errorf("Users %s = %d rows, %v; want none", q, len(page.Rows), err)
		}
		for what, f := range map[string]store.AuditFilter{"actor": {Actor: s}, "action": {Action: s}} {
			if page, err := db.AuditLog(ctx, f); err != nil || len(page.Events) != 0 {
				t.Errorf("AuditLog by %s %s = %d events, %v; want none", what, q, len(page.Events), err)
			}
		}
		if _, err := db.ClaimLoginAttempt(ctx, s, s, s, store.LoginLimits{Window: time.Minute, Account: 100, IP: 100, Device: 100}); err != nil {
			t.Errorf("ClaimLoginAttempt %s: %v", q, err)
		}
	}
	if got, err := db.KeyForUser(ctx, u.ID, k.PublicID); err != nil || !got.Enabled || got.Name != "CI" {
		t.Errorf("the key after: %+v, %v; want it as it was", got, err)
	}

	agent, ip := "Mozilla/5.0 \xff\x00(X11)", "192.0.2.1\xff"
	if err := db.CreateSession(ctx, &store.Session{IDHash: "a", UserID: u.ID, IP: ip, UserAgent: agent, ExpiresAt: now.Add(time.Hour)},
		store.AuditEvent{Actor: "uma@example.com", Action: store.ActionLogin, IP: ip, UserAgent: agent}); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(ctx, "a", ip, agent); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordAudit(ctx, store.AuditEvent{Actor: "uma@example.com", Action: store.ActionLogout, IP: ip, UserAgent: agent,
		Target: agent, Detail: agent}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TouchKey(ctx, k.ID, ip, now, now); err != nil {
		t.Fatal(err)
	}
	// A batch of recent use holds such text too: refused, it would lose a
	// second of every key's uses.
	b := store.NewUseBatch(10)
	b.Add(store.KeyUse{KeyID: k.ID, At: now, ClientIP: ip, UserAgent: agent, Route: "GET /api/v1/me\x00", Result: store.UseOK})
	if err := db.RecordKeyUses(ctx, b); err != nil {
		t.Fatalf("RecordKeyUses with such a User-Agent: %v", err)
	}
	if uses, err := db.RecentKeyUses(ctx, k.ID); err != nil || len(uses) != 1 || !strings.HasPrefix(uses[0].UserAgent, "Mozilla/5.0 ") {
		t.Errorf("RecentKeyUses = %+v, %v; want the use with its User-Agent", uses, err)
	}
	active, err := db.ActiveSessions(ctx, u.ID, now.Add(-time.Hour))
	if err != nil || len(active) != 1 || !strings.HasPrefix(active[0].UserAgent, "Mozilla/5.0 ") || !strings.HasSuffix(active[0].UserAgent, "(X11)") {
		t.Errorf("ActiveSessions = %+v, %v; want the session with its User-Agent", active, err)
	}
}

// second is the error of a two-valued call.
func second[T any](_ T, err error) error { return err }

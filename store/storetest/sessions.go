package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// testDeleteOneSessionOfItsUser: a user ends one of their sessions, and
// only theirs; the audit event is written with it, and not when nothing
// was ended.
func testDeleteOneSessionOfItsUser(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := open(t, sqlstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	vic := mustCreateUser(t, db, "Vic", "vic@example.com")
	for _, s := range []struct {
		id   string
		user int64
	}{{"uma-1", uma.ID}, {"uma-2", uma.ID}, {"vic-1", vic.ID}} {
		if err := db.CreateSession(ctx, &store.Session{IDHash: s.id, UserID: s.user, ExpiresAt: now.Add(time.Hour)}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	audits := func() int {
		var n int
		if err := peek(t, db, `SELECT COUNT(*) FROM audit_events WHERE action = ?`, store.ActionSessionRevoked).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ev := store.AuditEvent{Action: store.ActionSessionRevoked, ActorID: uma.ID, Actor: uma.Email, SubjectID: uma.ID}

	if err := db.DeleteUserSession(ctx, uma.ID, "vic-1", ev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ending another user's session: %v; want ErrNotFound", err)
	}
	if _, err := db.Session(ctx, "vic-1"); err != nil {
		t.Errorf("another user's session was ended: %v", err)
	}
	if err := db.DeleteUserSession(ctx, uma.ID, "none", ev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ending a session that does not exist: %v; want ErrNotFound", err)
	}
	if n := audits(); n != 0 {
		t.Errorf("%d audit events for sessions not ended; want 0", n)
	}

	if err := db.DeleteUserSession(ctx, uma.ID, "uma-2", ev); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "uma-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("uma-2 still there: %v", err)
	}
	active, err := db.ActiveSessions(ctx, uma.ID, now.Add(-time.Hour))
	if err != nil || len(active) != 1 || active[0].IDHash != "uma-1" {
		t.Errorf("Uma's sessions after: %+v, %v; want uma-1 alone", active, err)
	}
	if n := audits(); n != 1 {
		t.Errorf("%d audit events; want 1", n)
	}
	if err := db.DeleteUserSession(ctx, uma.ID, "uma-2", ev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ending it twice: %v; want ErrNotFound", err)
	}
}

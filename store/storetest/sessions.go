package storetest

import (
	"context"
	"errors"
	"reflect"
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

// testSessionWithUser: the session and its user in one read, each the
// same, field for field, as Session and UserByID read them; a disabled
// account is still answered (the caller refuses it), and a session that
// does not exist, or whose account is gone, is ErrNotFound.
func testSessionWithUser(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := open(t, sqlstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	write, _ := db.Pools()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := write.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	vic := mustCreateUser(t, db, "Vic", "vic@example.com")
	for _, s := range []*store.Session{
		{IDHash: "uma-1", UserID: uma.ID, Data: []byte{0, 1, 2}, IP: "192.0.2.1", UserAgent: "curl/8",
			CreatedAt: now.Add(-time.Hour), LastSeenAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)},
		{IDHash: "vic-1", UserID: vic.ID, ExpiresAt: now.Add(-time.Second)},
	} {
		if err := db.CreateSession(ctx, s, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	agree := func(idHash string, owner int64) {
		t.Helper()
		s, u, err := db.SessionWithUser(ctx, idHash)
		if err != nil {
			t.Fatalf("SessionWithUser(%q): %v", idHash, err)
		}
		wantS, err := db.Session(ctx, idHash)
		if err != nil {
			t.Fatal(err)
		}
		wantU, err := db.UserByID(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, wantS) {
			t.Errorf("SessionWithUser(%q), the session:\n got  %+v\n want %+v", idHash, s, wantS)
		}
		if *u != *wantU {
			t.Errorf("SessionWithUser(%q), the user:\n got  %+v\n want %+v", idHash, u, wantU)
		}
	}
	agree("uma-1", uma.ID)
	agree("vic-1", vic.ID) // expired, which is the caller's to judge
	if s, u, _ := db.SessionWithUser(ctx, "uma-1"); string(s.Data) != "\x00\x01\x02" || s.IP != "192.0.2.1" ||
		!s.LastSeenAt.Equal(now.Add(-time.Minute)) || u.Email != "uma@example.com" {
		t.Errorf("SessionWithUser(uma-1) = %+v, %+v", s, u)
	}

	exec(`UPDATE users SET disabled = ? WHERE id = ?`, true, uma.ID)
	if _, u, err := db.SessionWithUser(ctx, "uma-1"); err != nil || !u.Disabled || u.ID != uma.ID {
		t.Errorf("the session of a disabled account: %+v, %v; want the account, disabled", u, err)
	}
	agree("uma-1", uma.ID)

	if _, _, err := db.SessionWithUser(ctx, "none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a session that does not exist: %v; want ErrNotFound", err)
	}
	exec(`DELETE FROM users WHERE id = ?`, vic.ID)
	if _, _, err := db.SessionWithUser(ctx, "vic-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the session of a deleted account: %v; want ErrNotFound", err)
	}
}

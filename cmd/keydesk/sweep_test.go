package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlite"
)

// TestSessionSweeper: expired sessions are deleted when the server starts
// and again every interval while it runs, live ones are kept, and the
// sweeper stops with its context. serve's own interval is pinned too: an
// hour, as its comment promises.
func TestSessionSweeper(t *testing.T) {
	if sweepEvery <= 0 || sweepEvery > time.Hour {
		t.Errorf("serve sweeps sessions every %v, want at most an hour", sweepEvery)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keydesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, err := db.CreateUser(ctx, store.NewUser{Name: "Uma", Email: "uma@example.com",
		PasswordHash: store.HashPassword("uma-password"), Role: store.RoleUser}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	addSession := func(idHash string, expiresAt time.Time) {
		t.Helper()
		if err := db.CreateSession(ctx, &store.Session{IDHash: idHash, UserID: u.ID, ExpiresAt: expiresAt}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(idHash string) bool {
		t.Helper()
		_, err := db.Session(ctx, idHash)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	// waitGone polls: the sweeper runs on its own goroutine and says
	// nothing when it has swept.
	waitGone := func(idHash, when string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); exists(idHash); {
			if time.Now().After(deadline) {
				t.Fatalf("the expired session %s was not swept %s", idHash, when)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sweep := func(every time.Duration) (stop func()) {
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			sweep(ctx, db, logger, every)
		}()
		return func() { cancel(); <-done }
	}
	addSession("live", db.Now().Add(time.Hour))

	t.Run("at start", func(t *testing.T) {
		addSession("expired-before-start", db.Now().Add(-time.Minute))
		stop := sweep(24 * time.Hour) // no tick comes during the test
		defer stop()
		waitGone("expired-before-start", "at start")
	})

	t.Run("every interval", func(t *testing.T) {
		stop := sweep(20 * time.Millisecond)
		defer stop()
		addSession("expired-first", db.Now().Add(-time.Minute))
		waitGone("expired-first", "on a tick")
		// One that expires after that sweep goes at a later one: the
		// sweeper keeps running at its interval, not just once.
		addSession("expired-later", db.Now().Add(-time.Minute))
		waitGone("expired-later", "on a later tick")
	})

	if !exists("live") {
		t.Error("the sweeper deleted a live session")
	}
}

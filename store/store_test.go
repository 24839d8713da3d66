package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// openTestDB opens a fresh database file in a temp dir.
func openTestDB(t *testing.T, opts ...Option) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keydesk.db")
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func mustCreateUser(t *testing.T, db *DB, name, email string) *User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), NewUser{Name: name, Email: email, PasswordHash: "x"}, AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMigrationsApplyOnceAndReopen(t *testing.T) {
	db, path := openTestDB(t)
	mustCreateUser(t, db, "Uma", "uma@example.com")
	db.Close()

	again, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.UserByEmail(context.Background(), "uma@example.com"); err != nil {
		t.Fatalf("data lost on reopen: %v", err)
	}
	var versions int
	if err := again.read.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	files, _ := migrations.ReadDir("migrations")
	if versions != len(files) {
		t.Errorf("%d migrations recorded, want %d", versions, len(files))
	}
	var mode string
	if err := again.read.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	var fk int
	if err := again.write.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d (%v), want 1", fk, err)
	}
}

func TestCreateUser(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, NewUser{Name: "Uma", Email: " Uma@Example.com ", PasswordHash: "h"},
		AuditEvent{Actor: "test", Action: ActionUserCreated})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PublicID, "usr_") || len(u.PublicID) != 20 {
		t.Errorf("public id %q", u.PublicID)
	}
	if !strings.HasPrefix(u.KALPID, "tkalp") || u.KYCStatus != KYCNotStarted || u.Role != RoleUser || u.Disabled {
		t.Errorf("defaults: %+v", u)
	}
	if u.Email != "uma@example.com" {
		t.Errorf("email stored as %q, want its canonical form", u.Email)
	}

	for _, email := range []string{"uma@example.com", "UMA@EXAMPLE.COM", "ｕｍａ@example.com"} {
		got, err := db.UserByEmail(ctx, email)
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByEmail(%q) = %v, %v", email, got, err)
		}
		_, err = db.CreateUser(ctx, NewUser{Name: "Dup", Email: email, PasswordHash: "h"}, AuditEvent{})
		if !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate %q: %v, want ErrConflict", email, err)
		}
	}
	if _, err := db.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown email: %v, want ErrNotFound", err)
	}
	auditPage, _ := db.AuditLog(ctx, AuditFilter{Limit: 10})
	events := auditPage.Events
	if len(events) != 1 || events[0].SubjectID != u.ID || events[0].Action != ActionUserCreated {
		t.Errorf("audit: %+v", events)
	}
}

func TestUpdateUserLeavesUnsetFields(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	kyc := KYCPending
	got, err := db.UpdateUser(ctx, u.ID, UserUpdate{KYCStatus: &kyc}, AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Uma" || got.KYCStatus != KYCPending {
		t.Errorf("after KYC update: %+v", got)
	}
	name := "Uma Two"
	if got, err = db.UpdateUser(ctx, u.ID, UserUpdate{Name: &name}, AuditEvent{}); err != nil || got.Name != name || got.KYCStatus != KYCPending {
		t.Errorf("after name update: %+v, %v", got, err)
	}
	if _, err := db.UpdateUser(ctx, 9999, UserUpdate{Name: &name}, AuditEvent{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent user: %v", err)
	}
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db, _ := openTestDB(t, WithClock(func() time.Time { return now }))
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	for _, id := range []string{"a", "b", "c"} {
		if err := db.CreateSession(ctx, &Session{IDHash: id, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateSession(ctx, &Session{IDHash: "a", UserID: u.ID}, AuditEvent{}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := db.TouchSession(ctx, "a", "192.0.2.1", "curl/8"); err != nil {
		t.Fatal(err)
	}
	s, err := db.Session(ctx, "a")
	if err != nil || s.IP != "192.0.2.1" || s.UserAgent != "curl/8" || !s.LastSeenAt.Equal(now) {
		t.Errorf("session a: %+v, %v", s, err)
	}
	n, err := db.DeleteOtherSessions(ctx, u.ID, "a", AuditEvent{})
	if err != nil || n != 2 {
		t.Errorf("DeleteOtherSessions = %d, %v; want 2", n, err)
	}
	active, _ := db.ActiveSessions(ctx, u.ID, now.Add(-time.Hour))
	if len(active) != 1 || active[0].IDHash != "a" {
		t.Errorf("active after: %+v", active)
	}
	if err := db.SetPassword(ctx, u.ID, "new", "", AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
}

func TestTwoProcessesShareOneFile(t *testing.T) {
	// Two DB values on one file stand for two Keydesk instances: writes from
	// both interleave without "database is locked", and they agree on secrets.
	_, path := openTestDB(t)
	ctx := context.Background()
	var dbs []*DB
	for range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := dbs[i%2]
			_, err := db.CreateUser(ctx, NewUser{Name: "U", Email: fmt.Sprintf("u%d@example.com", i), PasswordHash: "h"},
				AuditEvent{Actor: "test", Action: ActionUserCreated})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	var secrets [2][]byte
	for i, db := range dbs {
		s, err := db.Secret(ctx, "session_key", func() []byte { return []byte(fmt.Sprintf("key-from-%d", i)) })
		if err != nil {
			t.Fatal(err)
		}
		secrets[i] = s
	}
	if string(secrets[0]) != string(secrets[1]) || string(secrets[0]) != "key-from-0" {
		t.Errorf("instances disagree on the secret: %q vs %q", secrets[0], secrets[1])
	}
}

func TestLoginAttemptsWindow(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db, _ := openTestDB(t, WithClock(clock))
	ctx := context.Background()
	lim := LoginLimits{Window: time.Minute, Account: 3, IP: 10, Device: 2}
	for range 3 {
		if _, err := db.ClaimLoginAttempt(ctx, "Uma@Example.com", "192.0.2.1", "", lim); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com ", "192.0.2.9", "", lim); !errors.Is(err, ErrLimited) {
		t.Errorf("fourth attempt at the account: %v, want ErrLimited", err)
	}
	acct, ip, err := db.LoginFailures(ctx, "uma@example.com", "192.0.2.1", now.Add(-time.Minute))
	if err != nil || acct != 3 || ip != 3 {
		t.Errorf("counts %d, %d, %v; want 3, 3 (a refused attempt counts nothing)", acct, ip, err)
	}
	acct, ip, _ = db.LoginFailures(ctx, "other@example.com", "192.0.2.2", now.Add(-time.Minute))
	if acct != 0 || ip != 0 {
		t.Errorf("other subjects counted: %d, %d", acct, ip)
	}
	var stored int
	db.read.QueryRow("SELECT count(*) FROM login_failures WHERE subject LIKE '%uma%'").Scan(&stored)
	if stored != 0 {
		t.Error("the typed email is stored in clear")
	}

	// A trusted device is counted on its own, past the account's limit.
	for range 2 {
		if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com", "192.0.2.1", "tok", lim); err != nil {
			t.Fatalf("trusted device refused: %v", err)
		}
	}
	if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com", "192.0.2.1", "tok", lim); !errors.Is(err, ErrLimited) {
		t.Errorf("third attempt from the device: %v, want ErrLimited", err)
	}
	db.read.QueryRow("SELECT count(*) FROM login_failures WHERE subject = 'tok'").Scan(&stored)
	if stored != 0 {
		t.Error("the device token is stored in clear")
	}

	// A released attempt is not counted; the window forgets the rest.
	a, err := db.ClaimLoginAttempt(ctx, "ann@example.com", "192.0.2.3", "", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ReleaseLoginAttempt(ctx, a); err != nil {
		t.Fatal(err)
	}
	if acct, ip, _ = db.LoginFailures(ctx, "ann@example.com", "192.0.2.3", now.Add(-time.Minute)); acct != 0 || ip != 0 {
		t.Errorf("after release: %d, %d; want 0, 0", acct, ip)
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Millisecond)
	mu.Unlock()
	if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com", "192.0.2.1", "", lim); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// A success forgets the account's failures and its own count against the
// address, and nothing of another account's or the address's other
// failures.
func TestLoginSucceededClearsOnlyItsOwn(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	lim := LoginLimits{Window: time.Hour, Account: 10, IP: 100, Device: 10}
	for _, email := range []string{"uma@example.com", "uma@example.com", "bob@example.com", "bob@example.com"} {
		if _, err := db.ClaimLoginAttempt(ctx, email, "192.0.2.1", "", lim); err != nil {
			t.Fatal(err)
		}
	}
	a, err := db.ClaimLoginAttempt(ctx, "UMA@example.com", "192.0.2.1", "", lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.LoginSucceeded(ctx, a); err != nil {
		t.Fatal(err)
	}
	since := db.Now().Add(-time.Hour)
	uma, ip, _ := db.LoginFailures(ctx, "uma@example.com", "192.0.2.1", since)
	bob, _, _ := db.LoginFailures(ctx, "bob@example.com", "192.0.2.1", since)
	if uma != 0 || bob != 2 || ip != 4 {
		t.Errorf("after Uma's success: uma %d, bob %d, address %d; want 0, 2, 4", uma, bob, ip)
	}
}

// Parallel claims never take more attempts than the limit.
func TestClaimIsAtomic(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	lim := LoginLimits{Window: time.Hour, Account: 5, IP: 100, Device: 5}
	var wg sync.WaitGroup
	var granted atomic.Int64
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.ClaimLoginAttempt(ctx, "uma@example.com", fmt.Sprintf("192.0.2.%d", i), "", lim)
			if err == nil {
				granted.Add(1)
			} else if !errors.Is(err, ErrLimited) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := granted.Load(); n != 5 {
		t.Errorf("%d of 40 parallel attempts granted; want 5", n)
	}
}

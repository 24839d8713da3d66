package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

func testCreateUser(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, store.NewUser{Name: "Uma", Email: " Uma@Example.com ", PasswordHash: "h"},
		store.AuditEvent{Actor: "test", Action: store.ActionUserCreated})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PublicID, "usr_") || len(u.PublicID) != 20 {
		t.Errorf("public id %q", u.PublicID)
	}
	if !strings.HasPrefix(u.KALPID, "tkalp") || u.KYCStatus != store.KYCNotStarted || u.Role != store.RoleUser || u.Disabled {
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
		_, err = db.CreateUser(ctx, store.NewUser{Name: "Dup", Email: email, PasswordHash: "h"}, store.AuditEvent{})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate %q: %v, want store.ErrConflict", email, err)
		}
	}
	if _, err := db.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown email: %v, want store.ErrNotFound", err)
	}
	auditPage, _ := db.AuditLog(ctx, store.AuditFilter{Limit: 10})
	events := auditPage.Events
	if len(events) != 1 || events[0].SubjectID != u.ID || events[0].Action != store.ActionUserCreated {
		t.Errorf("audit: %+v", events)
	}
}

func testUpdateUserLeavesUnsetFields(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	kyc := store.KYCPending
	got, err := db.UpdateUser(ctx, u.ID, store.UserUpdate{KYCStatus: &kyc}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Uma" || got.KYCStatus != store.KYCPending {
		t.Errorf("after KYC update: %+v", got)
	}
	name := "Uma Two"
	if got, err = db.UpdateUser(ctx, u.ID, store.UserUpdate{Name: &name}, store.AuditEvent{}); err != nil || got.Name != name || got.KYCStatus != store.KYCPending {
		t.Errorf("after name update: %+v, %v", got, err)
	}
	if _, err := db.UpdateUser(ctx, 9999, store.UserUpdate{Name: &name}, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("absent user: %v", err)
	}
}

func testSessions(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := open(t, sqlstore.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	for _, id := range []string{"a", "b", "c"} {
		if err := db.CreateSession(ctx, &store.Session{IDHash: id, UserID: u.ID, ExpiresAt: now.Add(time.Hour)}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateSession(ctx, &store.Session{IDHash: "a", UserID: u.ID}, store.AuditEvent{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := db.TouchSession(ctx, "a", "192.0.2.1", "curl/8"); err != nil {
		t.Fatal(err)
	}
	s, err := db.Session(ctx, "a")
	if err != nil || s.IP != "192.0.2.1" || s.UserAgent != "curl/8" || !s.LastSeenAt.Equal(now) {
		t.Errorf("session a: %+v, %v", s, err)
	}
	n, err := db.DeleteOtherSessions(ctx, u.ID, "a", store.AuditEvent{})
	if err != nil || n != 2 {
		t.Errorf("DeleteOtherSessions = %d, %v; want 2", n, err)
	}
	active, _ := db.ActiveSessions(ctx, u.ID, now.Add(-time.Hour))
	if len(active) != 1 || active[0].IDHash != "a" {
		t.Errorf("active after: %+v", active)
	}
	if err := db.SetPassword(ctx, u.ID, "new", "", store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Session(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session survived a password change: %v", err)
	}
}

func testLoginAttemptsWindow(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db := open(t, sqlstore.WithClock(clock))
	ctx := context.Background()
	lim := store.LoginLimits{Window: time.Minute, Account: 3, IP: 10, Device: 2}
	for range 3 {
		if _, err := db.ClaimLoginAttempt(ctx, "Uma@Example.com", "192.0.2.1", "", lim); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com ", "192.0.2.9", "", lim); !errors.Is(err, store.ErrLimited) {
		t.Errorf("fourth attempt at the account: %v, want store.ErrLimited", err)
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
	peek(t, db, "SELECT count(*) FROM login_failures WHERE subject LIKE '%uma%'").Scan(&stored)
	if stored != 0 {
		t.Error("the typed email is stored in clear")
	}

	// A trusted device is counted on its own, past the account's limit.
	for range 2 {
		if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com", "192.0.2.1", "tok", lim); err != nil {
			t.Fatalf("trusted device refused: %v", err)
		}
	}
	if _, err := db.ClaimLoginAttempt(ctx, "uma@example.com", "192.0.2.1", "tok", lim); !errors.Is(err, store.ErrLimited) {
		t.Errorf("third attempt from the device: %v, want store.ErrLimited", err)
	}
	peek(t, db, "SELECT count(*) FROM login_failures WHERE subject = 'tok'").Scan(&stored)
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
func testLoginSucceededClearsOnlyItsOwn(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	lim := store.LoginLimits{Window: time.Hour, Account: 10, IP: 100, Device: 10}
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
func testClaimIsAtomic(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	lim := store.LoginLimits{Window: time.Hour, Account: 5, IP: 100, Device: 5}
	var wg sync.WaitGroup
	var granted atomic.Int64
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.ClaimLoginAttempt(ctx, "uma@example.com", fmt.Sprintf("192.0.2.%d", i), "", lim)
			if err == nil {
				granted.Add(1)
			} else if !errors.Is(err, store.ErrLimited) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := granted.Load(); n != 5 {
		t.Errorf("%d of 40 parallel attempts granted; want 5", n)
	}
}

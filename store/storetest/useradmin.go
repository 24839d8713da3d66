package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

func testUsersPagesAndSearch(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	for i := range 120 {
		mustCreateUser(t, db, fmt.Sprintf("Person %03d", i), fmt.Sprintf("P%03d@example.com", i))
	}
	seen := 0
	f := store.UserFilter{}
	prev := ""
	for {
		page, err := db.Users(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			if store.NormalizeEmail(r.Email) <= prev {
				t.Fatalf("%s after %s", r.Email, prev)
			}
			prev = store.NormalizeEmail(r.Email)
			seen++
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	if seen != 120 {
		t.Errorf("%d users paged, want 120", seen)
	}
	for q, want := range map[string]int{"p01": 10, "PERSON 11": 10, "p119@": 1, "nobody": 0} {
		page, err := db.Users(ctx, store.UserFilter{Query: q})
		if err != nil || len(page.Rows) != want {
			t.Errorf("search %q: %d rows, %v; want %d", q, len(page.Rows), err, want)
		}
	}
}

func testLastAdminStays(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	a, _ := db.CreateUser(ctx, store.NewUser{Name: "A", Email: "a@example.com", PasswordHash: "x", Role: store.RoleAdmin}, store.AuditEvent{})
	b, _ := db.CreateUser(ctx, store.NewUser{Name: "B", Email: "b@example.com", PasswordHash: "x", Role: store.RoleAdmin}, store.AuditEvent{})
	if err := db.SetUserRole(ctx, b.ID, store.RoleUser, store.AuditEvent{}); err != nil {
		t.Fatalf("demoting one of two admins: %v", err)
	}
	if err := db.SetUserRole(ctx, a.ID, store.RoleUser, store.AuditEvent{}); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("demoting the last admin: %v", err)
	}
	if err := db.SetUserDisabled(ctx, a.ID, true, store.AuditEvent{}); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("disabling the last admin: %v", err)
	}
	if u, _ := db.UserByID(ctx, a.ID); !u.IsAdmin() || u.Disabled {
		t.Errorf("the last admin changed: %+v", u)
	}
	if err := db.SetUserRole(ctx, b.ID, store.RoleAdmin, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserDisabled(ctx, a.ID, true, store.AuditEvent{}); err != nil {
		t.Errorf("disabling one of two admins: %v", err)
	}
	if err := db.SetUserRole(ctx, b.ID, store.RoleUser, store.AuditEvent{}); !errors.Is(err, store.ErrLastAdmin) {
		t.Errorf("a disabled admin does not count: %v", err)
	}
}

func testAuditLogFilters(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	clock := now
	db := open(t, sqlstore.WithClock(func() time.Time { return clock }))
	ctx := context.Background()
	for i := range 120 {
		clock = now.Add(time.Duration(i) * time.Hour)
		actor := "Admin@example.com"
		if i%2 == 0 {
			actor = "cli"
		}
		action := store.ActionKeyDisabled
		if i%3 == 0 {
			action = store.ActionKeyEnabled
		}
		if err := db.RecordAudit(ctx, store.AuditEvent{Actor: actor, Action: action, Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	all := func(f store.AuditFilter) []store.AuditEvent {
		var out []store.AuditEvent
		for {
			page, err := db.AuditLog(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Events...)
			if page.Next == "" {
				return out
			}
			f.After = page.Next
		}
	}
	events := all(store.AuditFilter{})
	if len(events) != 120 || events[0].Target != "119" || events[119].Target != "0" {
		t.Fatalf("%d events, first %s, last %s", len(events), events[0].Target, events[len(events)-1].Target)
	}
	for name, tc := range map[string]struct {
		f    store.AuditFilter
		want int
	}{
		"actor, any case":   {store.AuditFilter{Actor: "admin@EXAMPLE.com"}, 60},
		"action":            {store.AuditFilter{Action: store.ActionKeyEnabled}, 40},
		"both":              {store.AuditFilter{Actor: "cli", Action: store.ActionKeyEnabled}, 20},
		"a day":             {store.AuditFilter{From: now.Add(24 * time.Hour), Until: now.Add(48 * time.Hour)}, 24},
		"from a date on":    {store.AuditFilter{From: now.Add(100 * time.Hour)}, 20},
		"nothing before it": {store.AuditFilter{Until: now}, 0},
	} {
		if got := len(all(tc.f)); got != tc.want {
			t.Errorf("%s: %d events, want %d", name, got, tc.want)
		}
	}
}

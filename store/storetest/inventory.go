package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// SeedInventory inserts users and keys straight into the database, fast:
// keys are spread over users, a tenth disabled, a third never used.
func SeedInventory(tb testing.TB, db *sqlstore.DB, users, keys int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	write, _ := db.Pools()
	tx, err := write.BeginTx(ctx, db.Dialect().TxOptions)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	insUser, err := tx.PrepareContext(ctx, db.Rebind(`INSERT INTO users (public_id, name, email, password_hash, kalp_id, disabled, created_at, updated_at)
		VALUES (?, ?, ?, 'x', ?, ?, ?, ?)`))
	if err != nil {
		tb.Fatal(err)
	}
	for i := range users {
		if _, err := insUser.ExecContext(ctx, fmt.Sprintf("usr_%016d", i), fmt.Sprintf("User %d", i),
			fmt.Sprintf("user%05d@example.com", i), fmt.Sprintf("tkalp%036d", i), i%100 == 99, now.UnixMilli(), now.UnixMilli()); err != nil {
			tb.Fatal(err)
		}
	}
	insKey, err := tx.PrepareContext(ctx, db.Rebind(`INSERT INTO api_keys (public_id, user_id, name, name_sort, description, hash, last4, enabled,
		created_at, updated_at, last_used_at) SELECT ?, id, ?, ?, '', ?, ?, ?, ?, ?, ? FROM users WHERE public_id = ?`))
	if err != nil {
		tb.Fatal(err)
	}
	for i := range keys {
		created := now.Add(-time.Duration(i) * time.Minute)
		var used any
		if i%3 != 0 {
			used = created.Add(time.Duration(i%200) * time.Hour).UnixMilli()
		}
		name := fmt.Sprintf("service %d key", i)
		if _, err := insKey.ExecContext(ctx, fmt.Sprintf("key_%016d", i), name, store.NaturalSortKey(name),
			fmt.Sprintf("hash%060d", i), fmt.Sprintf("%04d", i%10000), i%10 != 9, created.UnixMilli(), created.UnixMilli(),
			used, fmt.Sprintf("usr_%016d", i%users)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := write.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

func testKeyInventory(t *testing.T, open Opener) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db := open(t, sqlstore.WithClock(func() time.Time { return now }))
	SeedInventory(t, db, 20, 500, now)
	ctx := context.Background()

	t.Run("keyset pages cover every key once, in order, forward and back, for every sort", func(t *testing.T) {
		for _, sort := range []string{store.SortCreated, store.SortName, store.SortLastUsed} {
			for _, asc := range []bool{false, true} {
				for _, status := range []string{"", store.StatusEnabled} {
					walkBothWays(t, db, store.InventoryFilter{Sort: sort, Asc: asc, Status: status})
				}
			}
		}
	})

	count := func(f store.InventoryFilter) int {
		t.Helper()
		n := 0
		for {
			page, err := db.KeyInventory(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Rows)
			if page.Next == "" {
				return n
			}
			f.After = page.Next
		}
	}
	for _, tc := range []struct {
		name string
		f    store.InventoryFilter
		want int
	}{
		{"disabled", store.InventoryFilter{Status: store.StatusDisabled}, 50},
		{"enabled", store.InventoryFilter{Status: store.StatusEnabled}, 450},
		{"never used", store.InventoryFilter{Risk: store.RiskNeverUsed}, 167},
		{"owner disabled: none of 20 users is", store.InventoryFilter{Risk: store.RiskOwnerDisabled}, 0},
		{"name, any case", store.InventoryFilter{Query: "SERVICE 12"}, 11}, // 12, 120–129
		{"mid-word in a name", store.InventoryFilter{Query: "ice 42"}, 11}, // 42, 420–429
		{"owner name", store.InventoryFilter{Query: "user 3"}, 25},
		{"owner name, mid-word", store.InventoryFilter{Query: "ser 1"}, 275},         // User 1, User 10–19
		{"short: from the start of a name", store.InventoryFilter{Query: "se"}, 500}, // every "service …"
		{"short: not mid-word", store.InventoryFilter{Query: "rv"}, 0},
		{"short: from the start of an owner name", store.InventoryFilter{Query: "U"}, 500},
		{"owner email prefix", store.InventoryFilter{Query: "user00003@"}, 25},
		{"last 4", store.InventoryFilter{Query: "0042"}, 1},
		{"search and status together", store.InventoryFilter{Query: "service 9", Status: store.StatusDisabled}, 2}, // 9 and 99
		{"nothing", store.InventoryFilter{Query: "zzz"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.f); got != tc.want {
				t.Errorf("%d keys, want %d", got, tc.want)
			}
		})
	}

	t.Run("stale: unused for 90 days", func(t *testing.T) {
		page, err := db.KeyInventory(ctx, store.InventoryFilter{Risk: store.RiskStale, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			last := r.Key.LastUsedAt
			if last.IsZero() {
				last = r.Key.CreatedAt
			}
			if now.Sub(last) < store.StaleAfter {
				t.Errorf("%s used %v ago is not stale", r.Key.PublicID, now.Sub(last))
			}
		}
	})

	t.Run("a forged cursor is refused", func(t *testing.T) {
		for _, c := range []string{"nope!", "MTIz", store.EncodeCursor("abc", 5)} {
			if _, err := db.KeyInventory(ctx, store.InventoryFilter{After: c}); !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("cursor %q: %v", c, err)
			}
		}
	})
}

// walkBothWays pages through f's keys to the end and back to the start:
// forward, every key once, in order, each page but the first with a Prev;
// back from the last page by Prev, the same pages in reverse, the first
// one without a Prev.
func walkBothWays(t *testing.T, db *sqlstore.DB, f store.InventoryFilter) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("sort=%s asc=%v status=%q", f.Sort, f.Asc, f.Status)
	var forward [][]string
	seen := map[string]bool{}
	var prev *store.InventoryRow
	var last store.InventoryPage
	for {
		page, err := db.KeyInventory(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range page.Rows {
			r := page.Rows[i]
			if seen[r.Key.PublicID] {
				t.Fatalf("%s: %s twice", name, r.Key.PublicID)
			}
			seen[r.Key.PublicID] = true
			if prev != nil && !inOrder(f.Sort, f.Asc, prev, &r) {
				t.Fatalf("%s: %s (%q) before %s (%q)", name, prev.Key.PublicID, prev.Key.Name, r.Key.PublicID, r.Key.Name)
			}
			prev = &r
			ids = append(ids, r.Key.PublicID)
		}
		if (len(forward) == 0) != (page.Prev == "") {
			t.Fatalf("%s: page %d has Prev %q", name, len(forward)+1, page.Prev)
		}
		forward = append(forward, ids)
		last = page
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	total := 0
	for _, p := range forward {
		total += len(p)
	}
	want, err := db.KeyInventory(ctx, store.InventoryFilter{Status: f.Status, Count: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	if total != want.Total || len(forward) != (total+store.InventoryPageSize-1)/store.InventoryPageSize {
		t.Fatalf("%s: %d keys on %d pages, want %d", name, total, len(forward), want.Total)
	}
	f.After = ""
	page := last
	for i := len(forward) - 2; i >= 0; i-- {
		if page.Prev == "" {
			t.Fatalf("%s: page %d has no Prev", name, i+2)
		}
		f.Before = page.Prev
		var err error
		if page, err = db.KeyInventory(ctx, f); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range page.Rows {
			ids = append(ids, r.Key.PublicID)
		}
		if !slices.Equal(ids, forward[i]) {
			t.Fatalf("%s: back on page %d: %v, forward it was %v", name, i+1, ids, forward[i])
		}
		if (i == 0) != (page.Prev == "") || page.Next == "" {
			t.Fatalf("%s: back on page %d: Prev %q, Next %q", name, i+1, page.Prev, page.Next)
		}
	}
}

func inOrder(sort string, asc bool, a, b *store.InventoryRow) bool {
	var less, equal bool
	switch sort {
	case store.SortName:
		x, y := store.NaturalSortKey(a.Key.Name), store.NaturalSortKey(b.Key.Name)
		less, equal = x < y, x == y
	case store.SortLastUsed:
		x, y := a.Key.LastUsedAt.UnixMilli(), b.Key.LastUsedAt.UnixMilli()
		if a.Key.LastUsedAt.IsZero() {
			x = 0
		}
		if b.Key.LastUsedAt.IsZero() {
			y = 0
		}
		less, equal = x < y, x == y
	default:
		less, equal = a.Key.CreatedAt.Before(b.Key.CreatedAt), a.Key.CreatedAt.Equal(b.Key.CreatedAt)
	}
	if equal {
		less = a.Key.ID < b.Key.ID
	}
	return less == asc
}

func testAdminKeyActions(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	k1, _, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "one", Description: ""}, store.AuditEvent{})
	k2, _, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "two", Description: ""}, store.AuditEvent{})
	admin := mustCreateUser(t, db, "Ada", "admin@example.com")
	ev := store.AuditEvent{Actor: "admin@example.com", ActorID: admin.ID, Action: store.ActionKeyDisabled}
	if _, err := db.AdminSetKeyEnabled(ctx, k1.PublicID, false, ev); err != nil {
		t.Fatal(err)
	}
	n, err := db.AdminDisableKeys(ctx, []string{k1.PublicID, k2.PublicID, "key_missing"}, ev)
	if err != nil || n != 1 {
		t.Errorf("bulk disable = %d, %v; want 1 (one was disabled already, one is missing)", n, err)
	}
	auditPage, _ := db.AuditLog(ctx, store.AuditFilter{Limit: 10})
	events := auditPage.Events
	for _, e := range events[:2] {
		if e.Actor != "admin@example.com" || e.SubjectID != uma.ID || e.Action != store.ActionKeyDisabled {
			t.Errorf("event %+v", e)
		}
	}
	if _, err := db.AdminSetKeyEnabled(ctx, "key_missing", true, ev); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
}

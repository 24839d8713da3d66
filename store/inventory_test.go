package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// seedInventory inserts users and keys straight into the database, fast:
// keys are spread over users, a tenth disabled, a third never used.
func seedInventory(tb testing.TB, db *DB, users, keys int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		insUser, err := tx.PrepareContext(ctx, `INSERT INTO users (public_id, name, email, password_hash, kalp_id, disabled, created_at, updated_at)
			VALUES (?, ?, ?, 'x', ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		for i := range users {
			if _, err := insUser.ExecContext(ctx, fmt.Sprintf("usr_%016d", i), fmt.Sprintf("User %d", i),
				fmt.Sprintf("user%05d@example.com", i), fmt.Sprintf("tkalp%036d", i), i%100 == 99, millis(now), millis(now)); err != nil {
				return err
			}
		}
		insKey, err := tx.PrepareContext(ctx, `INSERT INTO api_keys (public_id, user_id, name, description, hash, last4, enabled,
			created_at, updated_at, last_used_at) SELECT ?, id, ?, '', ?, ?, ?, ?, ?, ? FROM users WHERE public_id = ?`)
		if err != nil {
			return err
		}
		for i := range keys {
			created := now.Add(-time.Duration(i) * time.Minute)
			var used any
			if i%3 != 0 {
				used = millis(created.Add(time.Duration(i%200) * time.Hour))
			}
			if _, err := insKey.ExecContext(ctx, fmt.Sprintf("key_%016d", i), fmt.Sprintf("service %d key", i),
				fmt.Sprintf("hash%060d", i), fmt.Sprintf("%04d", i%10000), i%10 != 9, millis(created), millis(created),
				used, fmt.Sprintf("usr_%016d", i%users)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

func TestKeyInventory(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db, _ := openTestDB(t, WithClock(func() time.Time { return now }))
	seedInventory(t, db, 20, 500, now)
	ctx := context.Background()

	t.Run("keyset pages cover every key once, in order, for every sort", func(t *testing.T) {
		for _, sort := range []string{SortCreated, SortName, SortLastUsed} {
			for _, asc := range []bool{false, true} {
				seen := map[string]bool{}
				f := InventoryFilter{Sort: sort, Asc: asc}
				var prev *InventoryRow
				pages := 0
				for {
					page, err := db.KeyInventory(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					pages++
					for i := range page.Rows {
						r := page.Rows[i]
						if seen[r.Key.PublicID] {
							t.Fatalf("%s asc=%v: %s twice", sort, asc, r.Key.PublicID)
						}
						seen[r.Key.PublicID] = true
						if prev != nil && !inOrder(sort, asc, prev, &r) {
							t.Fatalf("%s asc=%v: %s before %s", sort, asc, prev.Key.PublicID, r.Key.PublicID)
						}
						prev = &r
					}
					if page.Next == "" {
						break
					}
					f.After = page.Next
				}
				if len(seen) != 500 || pages != 10 {
					t.Errorf("%s asc=%v: %d keys on %d pages, want 500 on 10", sort, asc, len(seen), pages)
				}
			}
		}
	})

	count := func(f InventoryFilter) int {
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
		f    InventoryFilter
		want int
	}{
		{"disabled", InventoryFilter{Status: StatusDisabled}, 50},
		{"enabled", InventoryFilter{Status: StatusEnabled}, 450},
		{"never used", InventoryFilter{Risk: RiskNeverUsed}, 167},
		{"owner disabled: none of 20 users is", InventoryFilter{Risk: RiskOwnerDisabled}, 0},
		{"name prefix, any case", InventoryFilter{Query: "SERVICE 12"}, 11}, // 12, 120–129
		{"owner email prefix", InventoryFilter{Query: "user00003@"}, 25},
		{"last 4", InventoryFilter{Query: "0042"}, 1},
		{"search and status together", InventoryFilter{Query: "service 9", Status: StatusDisabled}, 2}, // 9 and 99
		{"nothing", InventoryFilter{Query: "zzz"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.f); got != tc.want {
				t.Errorf("%d keys, want %d", got, tc.want)
			}
		})
	}

	t.Run("stale: unused for 90 days", func(t *testing.T) {
		page, err := db.KeyInventory(ctx, InventoryFilter{Risk: RiskStale, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Rows {
			last := r.Key.LastUsedAt
			if last.IsZero() {
				last = r.Key.CreatedAt
			}
			if now.Sub(last) < StaleAfter {
				t.Errorf("%s used %v ago is not stale", r.Key.PublicID, now.Sub(last))
			}
		}
	})

	t.Run("a forged cursor is refused", func(t *testing.T) {
		for _, c := range []string{"nope!", "MTIz", encodeCursor("abc", 5)} {
			if _, err := db.KeyInventory(ctx, InventoryFilter{After: c}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("cursor %q: %v", c, err)
			}
		}
	})
}

func inOrder(sort string, asc bool, a, b *InventoryRow) bool {
	var less, equal bool
	switch sort {
	case SortName:
		x, y := lowerASCII(a.Key.Name), lowerASCII(b.Key.Name)
		less, equal = x < y, x == y
	case SortLastUsed:
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

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestAdminKeyActions(t *testing.T) {
	db, _ := openTestDB(t)
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	k1, _, _ := db.CreateKey(ctx, uma.ID, "one", "", AuditEvent{})
	k2, _, _ := db.CreateKey(ctx, uma.ID, "two", "", AuditEvent{})
	admin := mustCreateUser(t, db, "Ada", "admin@example.com")
	ev := AuditEvent{Actor: "admin@example.com", ActorID: admin.ID, Action: ActionKeyDisabled}
	if _, err := db.AdminSetKeyEnabled(ctx, k1.PublicID, false, ev); err != nil {
		t.Fatal(err)
	}
	n, err := db.AdminDisableKeys(ctx, []string{k1.PublicID, k2.PublicID, "key_missing"}, ev)
	if err != nil || n != 1 {
		t.Errorf("bulk disable = %d, %v; want 1 (one was disabled already, one is missing)", n, err)
	}
	auditPage, _ := db.AuditLog(ctx, AuditFilter{Limit: 10})
	events := auditPage.Events
	for _, e := range events[:2] {
		if e.Actor != "admin@example.com" || e.SubjectID != uma.ID || e.Action != ActionKeyDisabled {
			t.Errorf("event %+v", e)
		}
	}
	if _, err := db.AdminSetKeyEnabled(ctx, "key_missing", true, ev); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
}

func BenchmarkKeyInventory(b *testing.B) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, size := range []struct {
		name        string
		users, keys int
	}{{"1k", 100, 1_000}, {"100k", 10_000, 100_000}} {
		db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), WithClock(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		seedInventory(b, db, size.users, size.keys, now)
		ctx := context.Background()
		// A cursor 90% of the way down, as a deep page.
		deep := InventoryFilter{}
		for range size.keys * 9 / 10 / InventoryPageSize {
			page, err := db.KeyInventory(ctx, deep)
			if err != nil {
				b.Fatal(err)
			}
			deep.After = page.Next
		}
		for _, q := range []struct {
			name string
			f    InventoryFilter
		}{
			{"first", InventoryFilter{}},
			{"deep", deep},
			{"search", InventoryFilter{Query: "user00042@"}},
			{"disabled_by_name", InventoryFilter{Status: StatusDisabled, Sort: SortName, Asc: true}},
			{"never_used", InventoryFilter{Risk: RiskNeverUsed}},
		} {
			b.Run(size.name+"/"+q.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := db.KeyInventory(ctx, q.f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		db.Close()
	}
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
	"keydesk/store/storetest"
)

// TestContract runs the store's contract on a fresh SQLite file per test.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts ...sqlstore.Option) *sqlstore.DB {
		db, _ := openTestDB(t, opts...)
		return db
	})
}

// openTestDB opens a fresh database file in a temp dir.
func openTestDB(t testing.TB, opts ...sqlstore.Option) (*sqlstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keydesk.db")
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// openWithDialect opens a fresh database file on SQLite with d's hooks.
func openWithDialect(t testing.TB, d sqlstore.Dialect, opts ...sqlstore.Option) *sqlstore.DB {
	t.Helper()
	db, err := open(context.Background(), filepath.Join(t.TempDir(), "keydesk.db"), d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustCreateUser(t *testing.T, db *sqlstore.DB, name, email string) *store.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), store.NewUser{Name: name, Email: email, PasswordHash: "x"}, store.AuditEvent{})
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
	if err := reader(again).QueryRow("SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	files, _ := migrations.ReadDir("migrations")
	if versions != len(files) {
		t.Errorf("%d migrations recorded, want %d", versions, len(files))
	}
	var mode string
	if err := reader(again).QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	var fk int
	if err := writer(again).QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d (%v), want 1", fk, err)
	}
}

func TestTwoProcessesShareOneFile(t *testing.T) {
	// Two DB values on one file stand for two Keydesk instances: writes from
	// both interleave without "database is locked", and they agree on secrets.
	_, path := openTestDB(t)
	ctx := context.Background()
	var dbs []*sqlstore.DB
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
			_, err := db.CreateUser(ctx, store.NewUser{Name: "U", Email: fmt.Sprintf("u%d@example.com", i), PasswordHash: "h"},
				store.AuditEvent{Actor: "test", Action: store.ActionUserCreated})
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

func BenchmarkKeyInventory(b *testing.B) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, size := range []struct {
		name        string
		users, keys int
	}{{"1k", 100, 1_000}, {"100k", 10_000, 100_000}} {
		path := filepath.Join(b.TempDir(), "bench.db")
		seededInventory(b, path, size.name, size.users, size.keys, now)
		// Opened again, as the server opens the seeded file: the seed's
		// ANALYZE took samples of the search tables' FTS5 shadow tables,
		// which Open drops (see analyze); kept, they have FTS5 prepare its
		// lookup statement again for every trigram in every segment.
		db, err := Open(context.Background(), path, sqlstore.WithClock(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		// A cursor 90% of the way down, as a deep page.
		deep := store.InventoryFilter{}
		for range size.keys * 9 / 10 / store.InventoryPageSize {
			page, err := db.KeyInventory(ctx, deep)
			if err != nil {
				b.Fatal(err)
			}
			deep.After = page.Next
		}
		for _, q := range []struct {
			name string
			f    store.InventoryFilter
		}{
			{"first", store.InventoryFilter{}},
			{"deep", deep},
			{"search", store.InventoryFilter{Query: "user00042@"}},
			// As the admin page asks: a listing's columns, counted.
			{"search_page", store.InventoryFilter{Query: "user00042@", Count: store.CountCap, Listing: true}},
			{"search_page_mid", store.InventoryFilter{Query: "ser00042@exa", Count: store.CountCap, Listing: true}},
			{"search_page_name", store.InventoryFilter{Query: "User 00042", Count: store.CountCap, Listing: true}},
			{"search_page_key", store.InventoryFilter{Query: "ploy 990", Count: store.CountCap, Listing: true}},
			{"disabled_by_name", store.InventoryFilter{Status: store.StatusDisabled, Sort: store.SortName, Asc: true}},
			{"never_used", store.InventoryFilter{Risk: store.RiskNeverUsed}},
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

// benchSeedDir, when set, is a directory where BenchmarkKeyInventory keeps
// its seeded databases between runs (seeding 100k keys takes minutes):
// each run works on a copy of the file, as seeded and closed.
const benchSeedDir = "KEYDESK_BENCH_SEED_DIR"

// seededInventory leaves at path a closed database seeded with
// storetest.SeedInventory: a copy of the one kept in $KEYDESK_BENCH_SEED_DIR
// under name, which is seeded first when missing.
func seededInventory(b *testing.B, path, name string, users, keys int, now time.Time) {
	b.Helper()
	seed := func(path string) {
		db, err := Open(context.Background(), path, sqlstore.WithClock(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		storetest.SeedInventory(b, db, users, keys, now)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	dir := os.Getenv(benchSeedDir)
	if dir == "" {
		seed(path)
		return
	}
	kept := filepath.Join(dir, "inventory-"+name+".db")
	if _, err := os.Stat(kept); errors.Is(err, fs.ErrNotExist) {
		tmp := kept + ".seeding"
		os.Remove(tmp)
		seed(tmp)
		if err := os.Rename(tmp, kept); err != nil {
			b.Fatal(err)
		}
		os.Remove(tmp + "-epoch") // the cache's epoch (see openEpoch), not data
	} else if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(kept)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, dbFileMode); err != nil {
		b.Fatal(err)
	}
}

func reader(db *sqlstore.DB) *sql.DB { _, r := db.Pools(); return r }

func writer(db *sqlstore.DB) *sql.DB { w, _ := db.Pools(); return w }

// TestShared runs the cross-instance promises on two stores opened on one
// SQLite file, as two processes on one host would.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t testing.TB) (*sqlstore.DB, *sqlstore.DB) {
		a, path := openTestDB(t)
		b, err := Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return a, b
	})
}

// BenchmarkRecordKeyUses is a second's batch of recent use on SQLite
// (storetest.BenchRecordKeyUses).
func BenchmarkRecordKeyUses(b *testing.B) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db, _ := openTestDB(b, sqlstore.WithClock(func() time.Time { return now }))
	storetest.BenchRecordKeyUses(b, db)
}

package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/pgtest"
	"keydesk/store/sqlstore"
	"keydesk/store/storetest"
)

// The inventory's search reads the keys it finds, not the table: on 5,000
// keys, a search that matches 10 reads a few dozen rows of api_keys. An OR
// of the search's alternatives had PostgreSQL walk every key in the page's
// order and test each, 5,000 rows here and 100,000 in a 100k inventory.
// The rows read are PostgreSQL's own counts (pg_stat_user_tables), on the
// one connection the store has.
func TestInventorySearchReadsWhatItFinds(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db, pool := storeOnOneConnection(t, now)
	storetest.SeedInventory(t, db, 500, 5_000, now)

	rowsRead := func() int64 { return tableRowsRead(t, pool, "api_keys") }
	for _, tc := range []struct {
		q    string
		rows int
	}{
		{"user00042@", 10}, // an owner's email: 10 of the 5,000 keys
		{"service 4242 ", 1},
		{"ice 4242 k", 1},    // mid-word
		{"User 421", 10},     // an owner's name
		{"ser00042@exa", 10}, // mid-email
		{"nothing matches", 0},
		{"Us", 50}, // short: from the start, a page of them
		{"se", 50}, // short: a page of key names
	} {
		before := rowsRead()
		page, err := db.KeyInventory(ctx, store.InventoryFilter{Query: tc.q})
		if err != nil {
			t.Fatal(err)
		}
		read := rowsRead() - before
		if len(page.Rows) != tc.rows {
			t.Errorf("q=%q: %d rows, want %d", tc.q, len(page.Rows), tc.rows)
		}
		t.Logf("q=%q: %d rows of api_keys read", tc.q, read)
		if read > 100 {
			t.Errorf("q=%q read %d rows of api_keys to find %d; want a few dozen at most", tc.q, read, tc.rows)
		}
	}
}

// A search shorter than a trigram counts its matches (up to
// store.ShortCountCap) from the index of lower-case key names alone, never
// from the keys' rows: in 100,000 keys, counting "ba" read 10,000 rows of
// api_keys by a sequential scan to find its 1,001. Here one key in five of
// 20,000 is a "backup …", spread through the table as a real inventory's
// names are, and VACUUM sets the visibility map as autovacuum would.
func TestShortSearchCountReadsTheIndexAlone(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db, pool := storeOnOneConnection(t, now)
	storetest.SeedInventory(t, db, 2_000, 20_000, now)
	// The throw-away server commits asynchronously, and VACUUM marks a
	// page all-visible only once its rows' commits are flushed: this one
	// commits synchronously.
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SET LOCAL synchronous_commit = on`,
		`UPDATE api_keys SET name = 'backup ' || id WHERE id % 5 = 0`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.ExecContext(ctx, `VACUUM ANALYZE api_keys`); err != nil {
		t.Fatal(err)
	}

	f := store.InventoryFilter{Query: "ba"}
	before := tableRowsRead(t, pool, "api_keys")
	if _, err := db.KeyInventory(ctx, f); err != nil {
		t.Fatal(err)
	}
	pageOnly := tableRowsRead(t, pool, "api_keys") - before
	f.Count = store.CountCap
	before = tableRowsRead(t, pool, "api_keys")
	page, err := db.KeyInventory(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	counted := tableRowsRead(t, pool, "api_keys") - before - pageOnly
	if page.Total != store.ShortCountCap || !page.TotalCapped || len(page.Rows) != store.InventoryPageSize {
		t.Fatalf("q=ba: %d rows, total %d; want %d rows and a total past %d", len(page.Rows), page.Total,
			store.InventoryPageSize, store.ShortCountCap)
	}
	t.Logf("q=ba: the page read %d rows of api_keys, the count %d more", pageOnly, counted)
	if counted > 50 {
		t.Errorf("counting q=ba read %d rows of api_keys besides the page's; want the index alone (a few at most)", counted)
	}
}

// BenchmarkKeyInventory is SQLite's (store/sqlite) on PostgreSQL: one page
// of the inventory, on 1,000 and on 100,000 keys.
func BenchmarkKeyInventory(b *testing.B) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, size := range []struct {
		name        string
		users, keys int
	}{{"1k", 100, 1_000}, {"100k", 10_000, 100_000}} {
		db, err := Open(context.Background(), pgtest.Database(b), PoolConfig{}, sqlstore.WithClock(func() time.Time { return now }))
		if err != nil {
			b.Fatal(err)
		}
		storetest.SeedInventory(b, db, size.users, size.keys, now)
		ctx := context.Background()
		deep := store.InventoryFilter{} // a cursor 90% of the way down
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
			{"search_broad", store.InventoryFilter{Query: "user0"}},
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

// BenchmarkRecordKeyUses is a second's batch of recent use on PostgreSQL
// (storetest.BenchRecordKeyUses), written set-wise (Dialect.Batch).
func BenchmarkRecordKeyUses(b *testing.B) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	db, err := Open(context.Background(), pgtest.Database(b), PoolConfig{}, sqlstore.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchRecordKeyUses(b, db)
}

// storeOnOneConnection is a store on a database of its own with one
// connection, whose reads PostgreSQL's counts (tableRowsRead) then tell
// apart, at the clock's time now.
func storeOnOneConnection(t *testing.T, now time.Time) (*sqlstore.DB, *sql.DB) {
	t.Helper()
	pool, err := OpenPool(context.Background(), pgtest.Database(t), PoolConfig{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	if err := Migrate(context.Background(), pool, time.Now); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.New(pool, pool, Dialect(), sqlstore.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return db, pool
}

// tableRowsRead is how many rows of table the server has read, by scans and
// by index lookups. A backend hands its counts over when it goes idle, at
// most once a second unless told to, so the count is flushed first.
func tableRowsRead(t *testing.T, pool *sql.DB, table string) int64 {
	t.Helper()
	ctx := t.Context()
	if _, err := pool.ExecContext(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := pool.QueryRowContext(ctx, `SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
		FROM pg_stat_user_tables WHERE relname = $1`, table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

package postgres

import (
	"context"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/pgtest"
	"keydesk/store/sqlstore"
)

// A key's history reads that key's events, not the log: among 20,000
// events, the 60 of one key cost a page of index lookups. Without the
// (target, at, id) index PostgreSQL walks the log newest first and tests
// every event. The rows read are PostgreSQL's own counts, as in
// TestInventorySearchReadsWhatItFinds.
func TestKeyHistoryReadsItsEvents(t *testing.T) {
	ctx := context.Background()
	pool, err := OpenPool(ctx, pgtest.Database(t), PoolConfig{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := Migrate(ctx, pool, time.Now); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.New(pool, pool, Dialect())
	if err != nil {
		t.Fatal(err)
	}
	// 20,000 events over 1,000 keys, then 60 of key_target spread among them.
	if _, err := pool.ExecContext(ctx, `INSERT INTO audit_events (at, actor, action, target, facts)
		SELECT 1700000000000 + i, 'cli', 'key.disabled', 'key_' || lpad((i % 1000)::text, 16, '0'), '{}'
		FROM generate_series(1, 20000) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.ExecContext(ctx, `INSERT INTO audit_events (at, actor, action, target, facts)
		SELECT 1700000000000 + i * 300, 'cli', 'key.enabled', 'key_target', '{}' FROM generate_series(1, 60) AS i`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.ExecContext(ctx, `ANALYZE audit_events`); err != nil {
		t.Fatal(err)
	}
	rowsRead := func() int64 { return tableRowsRead(t, pool, "audit_events") }
	f := store.AuditFilter{Key: "key_target"}
	seen := 0
	for {
		before := rowsRead()
		page, err := db.AuditLog(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		read := rowsRead() - before
		t.Logf("a page of %d events read %d rows of audit_events", len(page.Events), read)
		if read > 2*int64(store.InventoryPageSize) {
			t.Errorf("a page of the key's history read %d rows of audit_events; want about a page", read)
		}
		seen += len(page.Events)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	if seen != 60 {
		t.Errorf("the history holds %d events, want 60", seen)
	}
}

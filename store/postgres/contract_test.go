package postgres

import (
	"context"
	"testing"

	"keydesk/store/pgtest"
	"keydesk/store/sqlstore"
	"keydesk/store/storetest"
)

// TestContract runs the store's contract, the same suite SQLite runs, on a
// fresh PostgreSQL database per test.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts ...sqlstore.Option) *sqlstore.DB {
		t.Helper()
		db, err := Open(context.Background(), pgtest.Database(t), PoolConfig{}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

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

// TestShared runs the cross-instance promises on two stores opened on one
// PostgreSQL database, as two instances would.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t testing.TB) (*sqlstore.DB, *sqlstore.DB) {
		t.Helper()
		url := pgtest.Database(t)
		var dbs [2]*sqlstore.DB
		for i := range dbs {
			db, err := Open(context.Background(), url, PoolConfig{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		return dbs[0], dbs[1]
	})
}

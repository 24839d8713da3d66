package sqlstore

import (
	"context"
	"database/sql"
)

// TxForTest runs fn in db.tx, on the raw *sql.Tx, so that the external
// tests can cut a transaction short at chosen points.
func (db *DB) TxForTest(ctx context.Context, fn func(*sql.Tx) error) error {
	return db.tx(ctx, func(t *txn) error { return fn(t.tx) })
}

// FindKeyQuery is the key lookup's statement, for the test of its plan.
var FindKeyQuery = findKeyQuery

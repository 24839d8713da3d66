package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"keydesk/store/sqlite"
	"keydesk/store/sqlstore"
)

// errSerialization stands for an engine's serialization failure (40001),
// which SQLite's single writer never has.
var errSerialization = errors.New("could not serialize access")

// openRetrying is a SQLite store whose dialect says ErrRetry for
// errSerialization, as PostgreSQL's does for 40001 and 40P01.
func openRetrying(t *testing.T) *sqlstore.DB {
	t.Helper()
	base := openTestDB(t)
	d := sqlite.Dialect
	d.Translate = func(err error) error {
		if errors.Is(err, errSerialization) {
			return fmt.Errorf("%w: %w", sqlstore.ErrRetry, err)
		}
		return sqlite.Dialect.Translate(err)
	}
	write, read := base.Pools()
	db, err := sqlstore.New(write, read, d)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// A transaction the engine gives up to stay serializable runs again, from
// the start, and only the attempt that commits leaves its writes; one that
// keeps failing gives up after a few attempts with ErrRetry, writing nothing.
func TestTxRetriesSerializationFailures(t *testing.T) {
	db := openRetrying(t)
	ctx := context.Background()
	_, read := db.Pools()
	count := func() int {
		var n int
		if err := read.QueryRow(`SELECT count(*) FROM app_secrets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	attempts := 0
	err := db.TxForTest(ctx, func(tx *sql.Tx) error {
		attempts++
		if _, err := tx.Exec(`INSERT INTO app_secrets (name, value, created_at) VALUES (?, 'v', 0)`,
			fmt.Sprintf("attempt-%d", attempts)); err != nil {
			return err
		}
		if attempts < 3 {
			return errSerialization
		}
		return nil
	})
	if err != nil || attempts != 3 {
		t.Fatalf("tx = %v after %d attempts; want nil after 3", err, attempts)
	}
	if n := count(); n != 1 {
		t.Errorf("%d rows written, want 1: the failed attempts' writes must roll back", n)
	}

	attempts = 0
	err = db.TxForTest(ctx, func(tx *sql.Tx) error {
		attempts++
		return errSerialization
	})
	if !errors.Is(err, sqlstore.ErrRetry) || attempts < 2 || attempts > 20 {
		t.Errorf("always failing: tx = %v after %d attempts; want ErrRetry after a few", err, attempts)
	}
}

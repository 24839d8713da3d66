package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlite"
	"keydesk/store/sqlstore"
)

// openTestDB opens a fresh SQLite store: tx is the same for every engine,
// and SQLite is the one that needs no server.
func openTestDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keydesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A transaction whose context ends under it reports the context's error
// (which callers answer with 503), whichever statement notices first, and
// writes nothing.
func TestTxCutShortReportsContextError(t *testing.T) {
	db := openTestDB(t)
	u, err := db.CreateUser(context.Background(), store.NewUser{Name: "Ann", Email: "ann@example.com", PasswordHash: "x"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	rename := func(tx *sql.Tx, ctx context.Context) error {
		_, err := tx.ExecContext(ctx, "UPDATE users SET name = 'Cut' WHERE id = ?", u.ID)
		return err
	}
	for _, c := range []struct {
		name string
		fn   func(ctx context.Context, cancel func(), tx *sql.Tx) error
	}{
		{"a statement after the cancel", func(ctx context.Context, cancel func(), tx *sql.Tx) error {
			cancel()
			return rename(tx, ctx)
		}},
		{"a statement after database/sql rolled back", func(ctx context.Context, cancel func(), tx *sql.Tx) error {
			cancel()
			// database/sql rolls back in its own goroutine; wait for it, so
			// the statement meets ErrTxDone as a slower request does.
			deadline := time.Now().Add(10 * time.Second)
			for {
				err := rename(tx, context.Background())
				if errors.Is(err, sql.ErrTxDone) || time.Now().After(deadline) {
					return err
				}
				runtime.Gosched()
			}
		}},
		{"the commit after the cancel", func(ctx context.Context, cancel func(), tx *sql.Tx) error {
			if err := rename(tx, ctx); err != nil {
				return err
			}
			cancel()
			return nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := db.TxForTest(ctx, func(tx *sql.Tx) error { return c.fn(ctx, cancel, tx) })
			if !errors.Is(err, context.Canceled) {
				t.Errorf("tx = %v, want context.Canceled", err)
			}
			got, err := db.UserByID(context.Background(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Ann" {
				t.Errorf("the cut-short transaction wrote: name %q", got.Name)
			}
		})
	}
}

// A domain error inside a transaction stays itself even when the context
// has ended by then: only the errors a cut causes become the context's.
func TestTxKeepsDomainErrors(t *testing.T) {
	db := openTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.TxForTest(ctx, func(*sql.Tx) error {
		cancel()
		return store.ErrLimit
	})
	if !errors.Is(err, store.ErrLimit) {
		t.Errorf("tx = %v, want ErrLimit", err)
	}
}

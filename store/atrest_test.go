package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// assertOwnerOnly checks that the database and its -wal and -shm files are
// there and readable by their owner only.
func assertOwnerOnly(t *testing.T, path, when string) {
	t.Helper()
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", when, err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: %s has mode %04o, want 0600", when, filepath.Base(name), got)
		}
	}
}

// The database holds the session signing keys and the password hashes:
// its files are the owner's only, whatever the umask, in a directory that
// may exist already, and a database an older Keydesk left 0644 is
// tightened when opened. Not parallel: the umask belongs to the process.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	old := syscall.Umask(0) // the most permissive umask: nothing masks 0644 to 0600
	t.Cleanup(func() { syscall.Umask(old) })
	ctx := context.Background()

	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keydesk.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		assertOwnerOnly(t, path, "after Open")
		mustCreateUser(t, db, "Ann", "ann@example.com")
		assertOwnerOnly(t, path, "after a write")

		// A second process (the CLI beside a server) opening the same file
		// keeps the modes.
		cli, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		mustCreateUser(t, cli, "Bob", "bob@example.com")
		cli.Close()
		assertOwnerOnly(t, path, "after a second process wrote")
	})

	t.Run("existing world-readable files", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keydesk.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		mustCreateUser(t, db, "Ann", "ann@example.com")
		// Loosen the files as an older Keydesk created them, while they
		// are open, so -wal and -shm exist.
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(name, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		again, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		db.Close()
		assertOwnerOnly(t, path, "after reopening")
	})
}

// The writer syncs every commit to disk (FULL), so a power cut cannot undo
// a disabled key; readers commit nothing and keep NORMAL.
func TestWriterSyncsEveryCommit(t *testing.T) {
	db, _ := openTestDB(t)
	for _, c := range []struct {
		pool *sql.DB
		name string
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{db.write, "writer", 2}, {db.read, "reader", 1}} {
		var got int
		if err := c.pool.QueryRow("PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: synchronous = %d, want %d", c.name, got, c.want)
		}
	}
}

// A transaction whose context ends under it reports the context's error
// (which callers answer with 503), whichever statement notices first, and
// writes nothing.
func TestTxCutShortReportsContextError(t *testing.T) {
	db, _ := openTestDB(t)
	u := mustCreateUser(t, db, "Ann", "ann@example.com")
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
			err := db.tx(ctx, func(tx *sql.Tx) error { return c.fn(ctx, cancel, tx) })
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
	db, _ := openTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.tx(ctx, func(*sql.Tx) error {
		cancel()
		return ErrLimit
	})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("tx = %v, want ErrLimit", err)
	}
}

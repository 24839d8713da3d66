package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
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
	}{{writer(db), "writer", 2}, {reader(db), "reader", 1}} {
		var got int
		if err := c.pool.QueryRow("PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: synchronous = %d, want %d", c.name, got, c.want)
		}
	}
}

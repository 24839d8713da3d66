package engine

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"keydesk/store/pgtest"
	"keydesk/store/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A PostgreSQL URL, in any case of its scheme, opens the PostgreSQL store;
// anything else is a SQLite file path.
func TestOpenPicksTheEngineByTheDSN(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keydesk.db")
	url := pgtest.Database(t)
	for _, tc := range []struct{ dsn, want string }{
		{path, "sqlite"},
		{url, "postgres"},
		{"POSTGRES" + url[len("postgres"):], "postgres"},
		{"postgresql" + url[len("postgres"):], "postgres"},
	} {
		db, err := Open(ctx, tc.dsn)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.dsn, err)
		}
		if got := db.Dialect().Name; got != tc.want {
			t.Errorf("Open(%q) is on %q, want %s", tc.dsn, got, tc.want)
		}
		db.Close()
	}
}

// A PostgreSQL URL that nothing answers is an error, never a SQLite file
// made under a path that looks like the URL.
func TestUnreachablePostgresIsAnError(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if db, err := Open(ctx, "postgres://keydesk@127.0.0.1:1/keydesk?connect_timeout=2"); err == nil {
		db.Close()
		t.Fatal("opened a PostgreSQL URL with no server behind it")
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("a PostgreSQL URL left %v behind", entries)
	}
}

// OpenWith hands the pool's settings to a PostgreSQL store, and a SQLite
// store opens with them as without.
func TestOpenWithTakesThePoolSettings(t *testing.T) {
	ctx := context.Background()
	pool := postgres.PoolConfig{MaxOpenConns: 2, StatementTimeout: 2 * time.Second}
	db, err := OpenWith(ctx, pgtest.Database(t), pool)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write, _ := db.Pools()
	var timeout string
	if err := write.QueryRowContext(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if max := write.Stats().MaxOpenConnections; max != 2 || timeout != "2s" {
		t.Errorf("MaxOpenConnections %d, statement_timeout %q; want 2 and 2s", max, timeout)
	}
	lite, err := OpenWith(ctx, filepath.Join(t.TempDir(), "keydesk.db"), pool)
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()
}

package pgtest_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"keydesk/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Each test's database is its own: a table made in one is not in another,
// and the database is gone once its test ends.
func TestDatabaseIsPrivateToItsTest(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("first", func(t *testing.T) {
		first = pgtest.Database(t)
		db := open(t, first)
		if _, err := db.ExecContext(ctx, "CREATE TABLE marker (n int)"); err != nil {
			t.Fatal(err)
		}
		var version int
		if err := db.QueryRowContext(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
			t.Fatal(err)
		}
		if version < 150000 {
			t.Errorf("server version %d, want PostgreSQL 15 or later", version)
		}
	})
	t.Run("second", func(t *testing.T) {
		second := pgtest.Database(t)
		if second == first {
			t.Fatalf("both tests got %s", second)
		}
		var n int
		err := open(t, second).QueryRowContext(ctx,
			"SELECT count(*) FROM information_schema.tables WHERE table_name = 'marker'").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Error("a table made in another test's database is visible")
		}
		// The first test's database was dropped when it ended.
		if err := open(t, first).PingContext(ctx); err == nil {
			t.Error("the first test's database still exists after the test")
		}
	})
}

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The tests' server runs with fsync off; a Durable one, as the benchmark
// starts, keeps PostgreSQL's defaults, and Stop removes its files.
func TestDurableServer(t *testing.T) {
	ctx := context.Background()
	show := func(url, setting string) string {
		t.Helper()
		var v string
		if err := open(t, url).QueryRowContext(ctx, "SHOW "+setting).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := show(pgtest.Database(t), "fsync"); got != "off" {
		t.Errorf("the tests' server: fsync = %s, want off", got)
	}
	if os.Getenv(pgtest.EnvURL) != "" {
		t.Skipf("%s names the server; no other is started", pgtest.EnvURL)
	}
	srv, err := pgtest.StartWith(ctx, pgtest.Options{Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		if got := show(srv.URL, setting); got != "on" {
			t.Errorf("a durable server: %s = %s, want on", setting, got)
		}
	}
	dir := filepath.Dir(show(srv.URL, "data_directory"))
	stopped = true
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there after Stop: %v", dir, err)
	}
}

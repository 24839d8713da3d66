package pgtest_test

import (
	"context"
	"database/sql"
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

package postgres

import (
	"context"
	"database/sql"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"keydesk/store/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openDB opens a plain pool on url, closed when the test ends.
func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migratedDB is a fresh test database with every migration applied.
func migratedDB(t *testing.T) *sql.DB {
	t.Helper()
	db := openDB(t, pgtest.Database(t))
	if err := Migrate(context.Background(), db, time.Now); err != nil {
		t.Fatal(err)
	}
	return db
}

// embeddedVersions lists the versions of the embedded migrations, in order.
func embeddedVersions(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, n := range names {
		versions = append(versions, strings.TrimSuffix(path.Base(n), ".sql"))
	}
	sort.Strings(versions)
	return versions
}

// appliedVersions lists schema_migrations, with how often each appears.
func appliedVersions(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.Query("SELECT version FROM schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got[v]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// On an empty database every embedded migration applies and is recorded
// with the clock's time; a second run changes nothing.
func TestMigrateEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, pgtest.Database(t))
	first := time.UnixMilli(1_700_000_000_123)
	if err := Migrate(ctx, db, func() time.Time { return first }); err != nil {
		t.Fatal(err)
	}
	want := embeddedVersions(t)
	if len(want) == 0 {
		t.Fatal("no migrations embedded")
	}
	check := func() {
		t.Helper()
		got := appliedVersions(t, db)
		if len(got) != len(want) {
			t.Errorf("schema_migrations has %v, want %v", got, want)
		}
		for _, v := range want {
			if got[v] != 1 {
				t.Errorf("version %s recorded %d times, want once", v, got[v])
			}
		}
		var stamps []int64
		rows, err := db.Query("SELECT DISTINCT applied_at FROM schema_migrations")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var at int64
			if err := rows.Scan(&at); err != nil {
				t.Fatal(err)
			}
			stamps = append(stamps, at)
		}
		if len(stamps) != 1 || stamps[0] != first.UnixMilli() {
			t.Errorf("applied_at = %v, want only %d", stamps, first.UnixMilli())
		}
	}
	check()

	later := first.Add(time.Hour)
	if err := Migrate(ctx, db, func() time.Time { return later }); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	check()
}

// Instances that start at the same moment on an empty database all migrate
// it without error, and each version is applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	const instances = 4
	url := pgtest.Database(t)
	dbs := make([]*sql.DB, instances)
	for i := range dbs {
		dbs[i] = openDB(t, url)
		// Each instance has its connection open before the start, so they
		// reach the server together rather than in the order they dial.
		if err := dbs[i].Ping(); err != nil {
			t.Fatal(err)
		}
	}
	start := make(chan struct{})
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = Migrate(context.Background(), db, time.Now)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	got := appliedVersions(t, dbs[0])
	want := embeddedVersions(t)
	if len(got) != len(want) {
		t.Errorf("schema_migrations has %v, want %v", got, want)
	}
	for _, v := range want {
		if got[v] != 1 {
			t.Errorf("version %s recorded %d times, want once", v, got[v])
		}
	}
}

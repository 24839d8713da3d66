package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"modernc.org/sqlite"

	"keydesk/store"
	"keydesk/store/sqlstore"
	"keydesk/store/storetest"
)

// compiles counts, by table, the columns read by the statements compiled on
// the readers of one database file. SQLite asks a connection's authorizer
// about each column a statement reads every time it compiles one: when it
// is prepared, and when SQLite prepares it again on its own because a newly
// bound argument could change its plan.
type compiles struct {
	mu    sync.Mutex
	reads map[string]int // "table" and "table.column"
}

// take is what was counted since the last take.
func (c *compiles) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.reads
	c.reads = map[string]int{}
	return r
}

// watchCompiles has every reader connection opened on path from now on
// report to the compiles it returns. (The hook stays registered for the rest
// of the test binary, and acts on that file alone.)
func watchCompiles(path string) *compiles {
	c := &compiles{reads: map[string]int{}}
	sqlite.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
		if !strings.Contains(dsn, path) || !strings.Contains(dsn, "query_only") {
			return nil
		}
		return conn.(sqlite.AuthorizerRegisterer).RegisterAuthorizer(func(action sqlite.AuthorizerActionCode, table, column, _, _ string) sqlite.AuthorizerReturnCode {
			if action == sqlite.AuthRead {
				c.mu.Lock()
				c.reads[table]++
				c.reads[table+"."+column]++
				c.mu.Unlock()
			}
			return sqlite.AuthorizerOK
		})
	})
	return c
}

// growInventory adds users owners with keys keys each, as a real inventory
// grows: a user or a key at a time, each write its own transaction, and so
// (before FTS5 merges them) its own segment of the search indexes.
func growInventory(t *testing.T, db *sqlstore.DB, users, keys int) {
	t.Helper()
	for u := range users {
		owner := mustCreateUser(t, db, fmt.Sprintf("Test User %02d", u), fmt.Sprintf("user%02d@example.com", u))
		for k := range keys {
			if _, _, err := db.CreateKey(context.Background(), owner.ID, store.NewKey{Name: fmt.Sprintf("ci-deploy %d", u*keys+k)}, store.AuditEvent{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The search tables' FTS5 indexes stay in a few segments as the inventory
// grows a row at a time (migration 0012): a search looks up each of its
// trigrams in every segment, and with FTS5's default merging 200 keys made
// one at a time left 10 segments of key names.
func TestSearchIndexesStayInFewSegments(t *testing.T) {
	db, _ := openTestDB(t)
	growInventory(t, db, 20, 10)
	write, _ := db.Pools()
	for _, table := range []string{"search_key_names", "search_owners"} {
		var segments int
		if err := write.QueryRow(`SELECT count(DISTINCT segid) FROM ` + table + `_idx`).Scan(&segments); err != nil {
			t.Fatal(err)
		}
		if segments > searchSegmentsKept {
			t.Errorf("%s holds %d segments after 20 users and 200 keys written one at a time, want at most %d", table, segments, searchSegmentsKept)
		}
	}
}

// A search runs what it compiled before. Each repeated run compiles none of
// the store's own statements while no argument can change their plan (the
// page's and the count's limits are in their text, and the statements stay
// prepared), on analysed tables too for a substring search (analyze drops
// the samples of api_keys_last4, which made the bound last 4 a value the
// plan depended on: the page and count were prepared again on every run),
// and FTS5's lookup statement, which it runs once per trigram and
// segment with new arguments, a few times at most: SQLite prepares a
// statement again when an argument its plan depends on changes, and FTS5's
// did on every lookup while ANALYZE's samples of its shadow tables were
// kept (analyze drops them): 120 times for a search of 7 characters in 200
// keys, and hundreds more in a few thousand (docs/BENCHMARKS.md).
func TestSearchCompilesItsStatementsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keydesk.db")
	c := watchCompiles(path)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close() // should the test stop before analysedAgain closes it
	growInventory(t, db, 20, 10)
	queries := []string{"user07@", "ploy 1", "User 07", "ci"}
	search := func(q string) map[string]int {
		t.Helper()
		for range 2 { // the first run prepares
			c.take()
			page, err := db.KeyInventory(ctx, store.InventoryFilter{Query: q, Count: store.CountCap})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Rows) == 0 {
				t.Fatalf("search %q found nothing", q)
			}
		}
		return c.take()
	}

	// The tables as first analysed, empty: no samples.
	for _, q := range queries {
		if got := search(q); got["api_keys"]+got["users"] > 0 {
			t.Errorf("search %q, run again, compiled statements of its own again (columns read: %v)", q, got)
		}
	}

	db = analysedAgain(t, db, path)
	write, _ := db.Pools()
	var kept, search4 int
	if err := write.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE tbl = 'api_keys'), count(*) FILTER (WHERE tbl LIKE 'search\_%' ESCAPE '\')
		FROM sqlite_stat4`).Scan(&kept, &search4); err != nil {
		t.Fatal(err)
	}
	if kept == 0 {
		t.Fatal("ANALYZE took no samples of api_keys: the test shows nothing")
	}
	if search4 > 0 {
		t.Errorf("sqlite_stat4 keeps %d samples of the search tables after the store opened", search4)
	}
	for _, q := range queries {
		got := search(q)
		// A search shorter than a trigram reads prefix ranges, which the
		// samples size: SQLite plans it again for each value, as meant.
		substring := utf8.RuneCountInString(q) >= store.MinSubstring
		if n := got["api_keys"] + got["users"]; substring && n > 0 {
			t.Errorf("search %q, run again on analysed tables, compiled statements of its own again (columns read: %v)", q, got)
		}
		lookups := got["search_key_names_idx.pgno"] + got["search_owners_idx.pgno"] // one per compile
		trigrams := max(0, utf8.RuneCountInString(q)-2)
		if lookups > 8*trigrams {
			t.Errorf("search %q (%d trigrams), run again, compiled FTS5's lookup statement %d times", q, trigrams, lookups)
		}
	}
}

// ftsRuns counts the runs of full-text searches made through
// countingFTSDialect: test_fts_run, wrapped round each MATCH's argument,
// is called once each time a statement runs its search.
var (
	ftsRuns         atomic.Int64
	registerFTSRuns sync.Once
)

// countingFTSDialect is SQLite's, each full-text search counted in ftsRuns.
func countingFTSDialect(t *testing.T) sqlstore.Dialect {
	registerFTSRuns.Do(func() {
		err := sqlite.RegisterScalarFunction("test_fts_run", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			ftsRuns.Add(1)
			return args[0], nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	counted := func(query string, args []any) (string, []any) {
		if !strings.Contains(query, "MATCH ?") {
			t.Fatalf("no MATCH in %q", query)
		}
		return strings.ReplaceAll(query, "MATCH ?", "MATCH test_fts_run(?)"), args
	}
	d := Dialect
	c, m := d.Contains, *d.Contains.Matches
	d.Contains.KeyNames = func(q string) (string, []any) { return counted(c.KeyNames(q)) }
	d.Contains.Owners = func(q, email string) (string, []any) { return counted(c.Owners(q, email)) }
	m.KeyNames = func(q string) (string, []any) { return counted(c.Matches.KeyNames(q)) }
	m.Owners = func(q, email string) (string, []any) { return counted(c.Matches.Owners(q, email)) }
	d.Contains.Matches = &m
	return d
}

// A counted search runs each of its two full-text searches (key names,
// owners) once a request while it finds few: the page and the count take
// the ids it found as a list (sqlstore's listMatches), where each ran the
// search again, and at 100k keys the searches were most of a request. One
// that finds more than a list holds is run in the page and in the count as
// before. The results are the same either way (storetest's search and
// count tests, on both engines).
func TestSearchRunsItsFullTextSearchesOnce(t *testing.T) {
	d := countingFTSDialect(t)
	db := openWithDialect(t, d)
	now := db.Now()
	storetest.SeedInventory(t, db, 20, 600, now) // "service 0 key" … "service 599 key", user00000@ … user00019@
	ctx := context.Background()
	for _, tc := range []struct {
		q           string
		total, runs int
	}{
		{"service 1", 111, 2}, // 1, 10–19, 100–199; no owner
		{"user00003@", 30, 2}, // one owner's keys; no key name
		{"ser 1", 330, 2},     // User 1 and User 10–19's keys
		// Every key's name: the list of key ids is read, found too long,
		// and the page and the count search the names again.
		{"service", 600, 4},
	} {
		for _, listing := range []bool{false, true} {
			before := ftsRuns.Load()
			page, err := db.KeyInventory(ctx, store.InventoryFilter{Query: tc.q, Count: store.CountCap, Listing: listing})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != tc.total {
				t.Errorf("search %q: %d keys, want %d", tc.q, page.Total, tc.total)
			}
			if runs := ftsRuns.Load() - before; runs != int64(tc.runs) {
				t.Errorf("search %q, counted: %d full-text searches run, want %d", tc.q, runs, tc.runs)
			}
		}
	}
}

// A search index left in more segments than merging keeps (by a bulk
// load, say) is merged into one when the store opens, and answers the same searches
// after. Here FTS5's merging is turned off while the rows are written, so
// that each write leaves a segment of its own.
func TestOpenCompactsTheSearchIndexes(t *testing.T) {
	db, path := openTestDB(t)
	write, _ := db.Pools()
	for _, table := range searchTables {
		for _, setting := range []string{"('automerge', 0)", "('crisismerge', 1000)"} {
			if _, err := write.Exec(`INSERT INTO ` + table + ` (` + table + `, rank) VALUES ` + setting); err != nil {
				t.Fatal(err)
			}
		}
	}
	growInventory(t, db, 10, 10)
	segments := func(w interface {
		QueryRow(string, ...any) *sql.Row
	}, table string) int {
		t.Helper()
		var n int
		if err := w.QueryRow(`SELECT count(DISTINCT segid) FROM ` + table + `_idx`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, table := range searchTables {
		if n := segments(write, table); n <= searchSegmentsKept {
			t.Fatalf("%s holds %d segments after 100 keys written one at a time: the test needs more than %d", table, n, searchSegmentsKept)
		}
	}
	before, err := db.KeyInventory(context.Background(), store.InventoryFilter{Query: "ploy 4"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write, _ = db.Pools()
	for _, table := range searchTables {
		if n := segments(write, table); n != 1 {
			t.Errorf("%s holds %d segments after the store opened, want 1", table, n)
		}
	}
	after, err := db.KeyInventory(context.Background(), store.InventoryFilter{Query: "ploy 4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Rows) != len(before.Rows) || len(after.Rows) != 11 {
		t.Errorf("a search found %d keys after the merge, %d before; want 11 both times", len(after.Rows), len(before.Rows))
	}
}

// Package sqlite opens Keydesk's store on a SQLite file, through the
// pure-Go modernc.org/sqlite driver: the connection setup, the file modes,
// SQLite's migrations and its error codes. The SQL the application runs is
// sqlstore's, shared with every engine.
//
// A store keeps two pools on one file: a single writer connection whose
// transactions start with BEGIN IMMEDIATE, so writers queue on the Go side
// instead of failing with SQLITE_BUSY, and a pool of readers that WAL lets
// run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// Dialect is SQLite's: "?" placeholders as written, transactions begun
// IMMEDIATE by the writer's DSN, substring search by FTS5 trigram tables,
// broad searches read by walking the page's order.
var Dialect = sqlstore.Dialect{Name: "sqlite", Translate: translate, Unindexed: unindexed, Contains: sqlstore.Contains{
	KeyNames: func(q string) (string, []any) {
		ids, args := keyNameIDs(q)
		return `k.id IN (` + ids + `)`, args
	},
	Owners: func(q, email string) (string, []any) {
		ids, args := ownerIDs(q, email)
		return `k.user_id IN (` + ids + `)`, args
	},
	Matches: &sqlstore.Matches{KeyNames: keyNameIDs, Owners: ownerIDs, In: idIn},
}}

// keyNameIDs is a query of the ids of the keys whose name holds q.
func keyNameIDs(q string) (string, []any) {
	return `SELECT rowid FROM search_key_names WHERE search_key_names MATCH ?`, []any{ftsPhrase(q)}
}

// ownerIDs is a query of the ids of the users whose name holds q or whose
// email holds email. When email is q in lower case, as it is for any q in
// ASCII, that is one phrase in either column: the trigram tokenizer folds
// ASCII case, and FTS5 then looks each trigram up once, where two phrases
// looked it up twice (once a segment each).
func ownerIDs(q, email string) (string, []any) {
	if email == strings.ToLower(q) && isASCII(q) {
		return `SELECT rowid FROM search_owners WHERE search_owners MATCH ?`, []any{ftsPhrase(q)}
	}
	return `SELECT rowid FROM search_owners WHERE search_owners MATCH ?`,
		[]any{"name : " + ftsPhrase(q) + " OR email : " + ftsPhrase(email)}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// idIn is the condition that expr is one of ids, bound as one JSON array
// that json_each reads: one text for any list, which a table-valued
// function's argument is not a value the plan depends on.
func idIn(expr string, ids []int64) (string, []any) {
	list := make([]byte, 0, 2+8*len(ids))
	list = append(list, '[')
	for i, id := range ids {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, id, 10)
	}
	list = append(list, ']')
	return expr + ` IN (SELECT value FROM json_each(?))`, []any{string(list)}
}

// unindexed is expr behind a unary plus, which SQLite does not match to
// any index, and which changes neither its value nor how it compares.
func unindexed(expr string) string { return "+" + expr }

// ftsPhrase is s as an FTS5 string, which matches s itself wherever it
// occurs (with the trigram tokenizer, in any case): inside double quotes,
// every character but the quote, doubled, is literal, so no operator,
// column filter, prefix star or parenthesis the user typed has effect. A
// NUL, which would end the query's text, becomes U+001A as on PostgreSQL
// (no name or email holds a control character, so either matches nothing).
func ftsPhrase(s string) string {
	return `"` + strings.NewReplacer(`"`, `""`, "\x00", "\x1a").Replace(s) + `"`
}

// Open opens (creating it if needed) the SQLite database at path and applies
// any migration it has not seen yet. The file and its -wal and -shm
// companions are readable by their owner only (0600): they hold the session
// signing keys and the password hashes.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	return open(ctx, path, Dialect, opts...)
}

// open is Open with the dialect given, for tests that watch the SQL.
func open(ctx context.Context, path string, d sqlstore.Dialect, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if err := ownerOnly(path, true); err != nil {
		return nil, err
	}
	if err := enableWAL(ctx, path); err != nil {
		return nil, err
	}
	write, err := openPool(path, true, 1)
	if err != nil {
		return nil, err
	}
	read, err := openPool(path, false, max(4, runtime.NumCPU()))
	if err != nil {
		write.Close()
		return nil, err
	}
	closeBoth := func() { read.Close(); write.Close() }
	if err := migrate(ctx, write); err != nil {
		closeBoth()
		return nil, err
	}
	// Statistics for the planner (see analyze).
	if err := analyze(ctx, write); err != nil {
		closeBoth()
		return nil, fmt.Errorf("open store: optimize: %w", translate(err))
	}
	if err := compactSearch(ctx, write); err != nil {
		closeBoth()
		return nil, fmt.Errorf("open store: compact the search indexes: %w", translate(err))
	}
	// The migrations opened the WAL, so -wal and -shm exist now. SQLite
	// gives them the main file's mode already; this tightens files an
	// older Keydesk left 0644, and any a server made before this one.
	if err := ownerOnly(path, false); err != nil {
		closeBoth()
		return nil, err
	}
	epoch, pages, err := openEpoch(path)
	if err != nil {
		closeBoth()
		return nil, err
	}
	if epoch != nil {
		opts = append([]sqlstore.Option{sqlstore.WithEpoch(epoch), sqlstore.WithPageEpoch(pages)}, opts...)
	}
	db, err := sqlstore.New(write, read, d, opts...)
	if err != nil {
		closeBoth()
		if epoch != nil {
			epoch.Close()
			pages.Close()
		}
		return nil, err
	}
	return db, nil
}

// dbFileMode is the mode of the database and its -wal and -shm files.
const dbFileMode fs.FileMode = 0o600

// ownerOnly makes the database file (created empty when create is set and
// it is missing) and whichever of its -wal and -shm files exist mode 0600.
// Creating the main file ourselves matters: SQLite creates -wal and -shm
// later, with the main file's mode, so they follow it. Chmod, unlike the
// mode given at creation, does not depend on the umask, and it tightens a
// database an older Keydesk created 0644. Another process (the CLI beside a
// server) doing the same at once is harmless: both set the same mode.
func ownerOnly(path string, create bool) error {
	if create {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, dbFileMode)
		if err != nil {
			return fmt.Errorf("open store: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("open store: %w", err)
		}
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if errors.Is(err, fs.ErrNotExist) && name != path {
			continue
		}
		if err == nil && fi.Mode().Perm() != dbFileMode {
			err = os.Chmod(name, dbFileMode)
		}
		if err != nil {
			return fmt.Errorf("open store: restrict %s to its owner: %w", filepath.Base(name), err)
		}
	}
	return nil
}

// openPool opens one connection pool. Only _pragma parameters reach
// modernc's driver; each runs on every new connection.
//
// The writer runs synchronous(FULL): in WAL mode NORMAL survives a killed
// process but may lose the last commits to a power cut or an OS crash, and a
// lost commit here can be a disabled key coming back enabled. FULL costs an
// fsync of the log per commit, and writes are rare in Keydesk (key and
// account changes, and Last Used at most every 30 seconds a key). Readers
// commit nothing (at most the checkpoint of the last connection to close,
// which NORMAL syncs as well), so they keep NORMAL.
func openPool(path string, writer bool, conns int) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Add("_pragma", "synchronous(FULL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "query_only(1)")
	}
	pool, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxIdleTime(0)
	return pool, nil
}

// enableWAL puts the database in WAL mode, which the file keeps. Switching
// a new file to WAL takes an exclusive lock that SQLite does not wait for
// (busy_timeout does not cover it), so two processes opening one empty file
// at the same moment could see one fail with SQLITE_BUSY. It is done here,
// once, on a connection of its own, and retried until it holds, before any
// pool opens; the pools then find the file in WAL already.
func enableWAL(ctx context.Context, path string) error {
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var mode string
		err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil && mode == "wal" {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("journal mode is %q", mode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("open store: enable WAL: %w", err)
		case <-time.After(wait):
		}
	}
}

// translate maps SQLite's error codes to the store's, for sqlstore.
func translate(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case sqlite3.SQLITE_INTERRUPT:
			return fmt.Errorf("%w: %w", sqlstore.ErrInterrupted, err)
		}
	}
	return err
}

// searchTables are the FTS5 trigram indexes of the inventory's search.
var searchTables = []string{"search_key_names", "search_owners"}

// searchSegmentsKept is how many segments a search index holds at most
// while rows come one at a time, FTS5 merging as it goes (migration 0012).
const searchSegmentsKept = 3

// compactSearch merges a search index into one segment when it holds more
// than searchSegmentsKept. A search looks up each of its trigrams in every
// segment, and follows each large one's lists; a bulk load (a copy between
// stores, an import) leaves several large ones. At 100,000 keys, five
// segments of key names made a search's match 0.8 ms, one segment 0.28 ms;
// merging them took 0.2 s. It runs as the store opens, so a server started
// after a bulk load searches one segment, and an index merging as it goes
// is left as it is: the merge rewrites the whole index, which every open
// (every CLI command too) would otherwise pay.
func compactSearch(ctx context.Context, write *sql.DB) error {
	for _, table := range searchTables {
		var segments int
		if err := write.QueryRowContext(ctx, `SELECT count(DISTINCT segid) FROM `+table+`_idx`).Scan(&segments); err != nil {
			return err
		}
		if segments <= searchSegmentsKept {
			continue
		}
		if _, err := write.ExecContext(ctx, `INSERT INTO `+table+` (`+table+`) VALUES ('optimize')`); err != nil {
			return err
		}
	}
	return nil
}

// analyze gathers statistics for the planner, which SQLite does only when
// asked: without them it guesses, and may read a search's whole index range
// and sort it where walking the page's order and stopping at 50 costs a few
// hundred rows. optimize analyses only the tables that need it (0x10000:
// those never analysed too), each bounded by analysis_limit, as SQLite
// advises doing when a connection opens.
//
// It then drops the samples (sqlite_stat4) that only cost: SQLite
// compiles a statement again each time an argument is bound anew whose
// value its plan was weighed on against the samples, and a plan that is
// the same whatever the value gains nothing from them. The samples kept
// are those of the indexes that serve the inventory's and the audit log's
// ranges and orders, where the planner sizes a range by its bounds. Those
// dropped, keeping the row counts (sqlite_stat1, so optimize does not take
// the tables for never analysed):
//
//   - the search tables' FTS5 shadow tables: FTS5 looks up each trigram of
//     a search in each of its segments through one statement, and with
//     samples of search_*_idx compiled it again for every trigram in every
//     segment (docs/BENCHMARKS.md), where it has one plan, by the primary
//     key;
//   - every unique index (a key by its secret's hash, its previous hash or
//     its public id, a session by its id, a user by email), which a value
//     matches once at most, and the indexes of a user's keys and sessions
//     (api_keys_user_created, sessions_user): with their samples, a key
//     not in the verified-key cache, a session and a user's key list each
//     compiled their statement again for every key, session and user;
//   - api_keys_last4: an exact last 4 is one key or a few, which the row
//     counts tell the planner as well; with its samples the inventory's
//     cached page and count statements were compiled again on every search
//     (at 1k keys, 43% of a search's time).
//
// Both happen in one transaction, so no other connection loads the
// samples between the two.
func analyze(ctx context.Context, write *sql.DB) error {
	tx, err := write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "PRAGMA analysis_limit = 0; PRAGMA optimize = 0x10002"); err != nil {
		return err
	}
	var samples int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat4'`).Scan(&samples); err != nil {
		return err
	}
	if samples > 0 {
		// ANALYZE sqlite_schema has this connection load the statistics
		// as they are now; the others load them when they next open.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_stat4
			WHERE tbl LIKE 'search\_%' ESCAPE '\'
			   OR idx IN ('api_keys_last4', 'api_keys_user_created', 'sessions_user')
			   OR idx IN (SELECT i.name FROM sqlite_schema AS t, pragma_index_list(t.name) AS i
			              WHERE t.type = 'table' AND i."unique");
			ANALYZE sqlite_schema`); err != nil {
			return err
		}
	}
	return tx.Commit()
}

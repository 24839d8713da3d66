// Package sqlstore implements Keydesk's store over database/sql. The SQL
// is written once, with "?" placeholders, and shared by every engine; what
// truly differs between engines (placeholders, driver error codes, how a
// write transaction begins) is a small Dialect that the engine's package
// (store/sqlite, and store/postgres to come) hands to New with its pools.
//
// Callers never see driver errors: they get store.ErrNotFound,
// store.ErrConflict and the other domain errors, the context's error when a
// request ended under a statement, or a wrapped error that the HTTP layer
// answers with a 5xx.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"keydesk/store"
)

// Dialect is what the shared SQL needs to know about an engine.
type Dialect struct {
	Name string // "sqlite" or "postgres"
	// Rebind turns "?" placeholders into the engine's ("$1", …); nil is
	// the identity, as for SQLite.
	Rebind func(query string) string
	// Translate maps the engine's driver errors to the store's: a unique
	// violation to store.ErrConflict (wrapped), a serialization failure or
	// deadlock to ErrRetry, an interrupted statement to ErrInterrupted.
	// Anything else it returns as it is.
	Translate func(error) error
	// TxOptions begin every write transaction: nil for SQLite, whose
	// writer pool begins IMMEDIATE through its DSN; Serializable for
	// PostgreSQL.
	TxOptions *sql.TxOptions
	// ByteOrder follows a text expression that is range-compared or
	// sorted, so that it compares byte by byte whatever the database's
	// collation: the prefix searches (name >= q AND name < q+U+10FFFF)
	// and the cursors depend on it. "" for SQLite, whose BINARY default
	// already does; ` COLLATE "C"` for PostgreSQL.
	ByteOrder string
	// Text turns a string argument into one the engine's text can hold:
	// nil for SQLite, whose text holds any bytes; PostgreSQL's holds
	// neither NUL nor bytes that are not UTF-8, and refuses the whole
	// statement over one. Every statement's string arguments go through
	// it, so that text from a request (a key id in a URL, a search, a
	// User-Agent) is never a driver error.
	Text func(string) string
	// Contains is the engine's substring search, by its trigram indexes.
	Contains Contains
	// Unindexed wraps an expression so that no index serves a condition
	// on it, for a search's alternative that matches many keys: the page
	// is then read by walking the page's order until it is full, where
	// SQLite, whose planner does not weigh the LIMIT, reads every match by
	// the alternative's index and sorts them all. nil when the engine's
	// planner weighs the LIMIT (PostgreSQL).
	Unindexed func(expr string) string
	// PlanEachTime, put before a statement's arguments, has the engine
	// plan that statement for the arguments it is given, every time; nil
	// when it always does (SQLite). PostgreSQL's pgx otherwise prepares
	// each statement once, and after five runs the server may settle on a
	// generic plan that cannot know that ILIKE '%q%' is selective, and
	// walks the whole table. Only searches take it.
	PlanEachTime any
	// Batch, when set, has a batch of recent use written in three
	// statements that take their rows as arrays, for an engine where each
	// statement is a round trip (PostgreSQL); nil: a statement a use and a
	// tally, each prepared once (SQLite).
	Batch *BatchSQL
}

// BatchSQL is the engine's SQL for RecordKeyUses's set-wise writes, with
// "?" placeholders, each bound to a Go slice ([]int64, []string) or an int.
type BatchSQL struct {
	// InsertUses adds the uses, one row per index of its six arrays:
	// key_id, at, client_ip, user_agent, route, result.
	InsertUses string
	// TrimUses keeps the newest uses (by at, then id) of each of its
	// keys, as many as its second argument, and deletes the others.
	TrimUses string
	// AddTallies adds its four arrays (key_id, day, ok, refused) to the
	// day tallies stored, or stores them.
	AddTallies string
}

// Contains makes the conditions of a substring search of the inventory:
// SQL on api_keys AS k, with "?" placeholders, and their arguments. q is
// the query as typed (store.MinSubstring characters or more), email the
// same in canonical form (store.NormalizeEmail), which owner emails are
// stored in. What the user typed is only ever an argument, its LIKE
// wildcards or full-text syntax escaped to mean themselves.
type Contains struct {
	KeyNames func(q string) (string, []any)        // keys whose name holds q, in any case
	Owners   func(q, email string) (string, []any) // keys whose owner's name holds q, or email holds email
	// Matches, when set, has a search read the ids that KeyNames and
	// Owners find once a request, and the page and the count take them as
	// a list while they are few: on an engine whose full-text search costs
	// most of a search (SQLite's FTS5, which starts each trigram's lookup
	// in each of its segments), each query running it again ran it twice
	// a request. nil: the page and the count each run the conditions.
	Matches *Matches
}

// Matches are a Contains's conditions as queries of the ids they find, and
// how a condition takes a list of ids: see Contains.Matches.
type Matches struct {
	KeyNames func(q string) (string, []any)        // SELECT of the ids of the keys KeyNames finds
	Owners   func(q, email string) (string, []any) // SELECT of the ids of the users whose keys Owners finds
	// In is the condition that expr is one of ids, one statement's text
	// whatever the ids (so that it stays prepared), and its arguments.
	In func(expr string, ids []int64) (string, []any)
}

// Errors a Dialect's Translate answers for tx to act on.
var (
	// ErrRetry: the engine gave up the transaction to keep it serializable
	// (PostgreSQL's 40001 and 40P01). Nothing was written; tx runs it again.
	ErrRetry = errors.New("transaction must be retried")
	// ErrInterrupted: the engine stopped a statement because its context
	// ended (SQLite's SQLITE_INTERRUPT).
	ErrInterrupted = errors.New("statement interrupted")
)

// txAttempts is how many times tx runs a transaction that ErrRetry ends.
// Serialization failures come from concurrent writers on the same rows;
// each round lets at least one of them commit, and a random, growing pause
// spreads the rest out; past the last the caller gets a 5xx.
const txAttempts = 20

// DB is the store. It is safe for concurrent use by many goroutines, and
// several processes may share one database.
type DB struct {
	write *sql.DB
	read  *sql.DB
	stmts *stmtCache // the reads' prepared statements
	d     Dialect
	now   func() time.Time

	*store.Hasher

	rebound  sync.Map // query text as written -> as the engine takes it
	authStmt *sql.Stmt

	epoch Epoch     // nil: no cache
	keys  *keyCache // FindKey's answers, while epoch stands
	pages Epoch     // every change pages show (see Changes); nil: none counted
}

// Option changes how New builds a DB.
type Option func(*DB)

// WithClock makes the store take the time from now, for tests that move it.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// New builds the store on an engine's two pools, already migrated: write
// for every write transaction, read for reads (they may be one pool). It
// prepares the statements of the hottest paths. Close closes both pools.
func New(write, read *sql.DB, d Dialect, opts ...Option) (*DB, error) {
	db := &DB{write: write, read: read, d: d, now: time.Now, Hasher: store.NewHasher(), stmts: newStmtCache(read)}
	for _, opt := range opts {
		opt(db)
	}
	var err error
	if db.authStmt, err = db.read.Prepare(db.sql(findKeyQuery)); err != nil {
		return nil, fmt.Errorf("open store: prepare: %w", err)
	}
	if err := db.fillNameSorts(context.Background()); err != nil {
		db.authStmt.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stmts.close()
	if db.authStmt != nil {
		db.authStmt.Close()
	}
	if db.epoch != nil {
		db.epoch.Close()
	}
	if db.pages != nil {
		db.pages.Close()
	}
	if db.read == db.write {
		return db.write.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// Dialect is the engine the store runs on.
func (db *DB) Dialect() Dialect { return db.d }

// Pools are the store's writer and reader pools, for tools that move or
// inspect rows as they are stored (and tests that check what is not
// stored). Queries on them take the engine's placeholders: see Rebind.
func (db *DB) Pools() (write, read *sql.DB) { return db.write, db.read }

// Rebind turns a query written with "?" placeholders into the engine's.
func (db *DB) Rebind(query string) string { return db.sql(query) }

// byteOrder is the text expression expr compared byte by byte.
func (db *DB) byteOrder(expr string) string { return expr + db.d.ByteOrder }

// Ping reports whether the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// Now is the store's clock, in UTC and truncated to the millisecond that the
// database keeps.
func (db *DB) Now() time.Time {
	return db.now().UTC().Truncate(time.Millisecond)
}

// sql is query with the engine's placeholders. Each text is rebound once
// and kept: the queries are constants (or built from a few fixed pieces),
// so the cache stays as small as the code.
func (db *DB) sql(query string) string {
	if db.d.Rebind == nil {
		return query
	}
	if q, ok := db.rebound.Load(query); ok {
		return q.(string)
	}
	q := db.d.Rebind(query)
	db.rebound.Store(query, q)
	return q
}

// args is args with each string made one the engine can hold
// (Dialect.Text); args itself when nothing changes, as almost always.
func (db *DB) args(args []any) []any {
	if db.d.Text == nil {
		return args
	}
	var out []any
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			continue
		}
		if t := db.d.Text(s); t != s {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = t
		}
	}
	if out == nil {
		return args
	}
	return out
}

// text is s as the engine's text can hold it (Dialect.Text), for a string
// passed inside an array, which args does not reach.
func (db *DB) text(s string) string {
	if db.d.Text == nil {
		return s
	}
	return db.d.Text(s)
}

// queryRow and query run a read on the reader pool, through a statement
// prepared once (stmtCache).
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	q := db.sql(query)
	stmt, err := db.stmts.get(ctx, q)
	if err != nil || stmt == nil {
		// A statement that fails to prepare fails the same way here, and
		// the Row carries its error.
		return db.read.QueryRowContext(ctx, q, db.args(args)...)
	}
	return stmt.QueryRowContext(ctx, db.args(args)...)
}

func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q := db.sql(query)
	stmt, err := db.stmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	if stmt == nil {
		return db.read.QueryContext(ctx, q, db.args(args)...)
	}
	return stmt.QueryContext(ctx, db.args(args)...)
}

// planned is args led by the dialect's PlanEachTime, if it has one: for a
// statement whose best plan depends on its arguments (a search).
func (db *DB) planned(args []any) []any {
	if db.d.PlanEachTime == nil {
		return args
	}
	return append([]any{db.d.PlanEachTime}, args...)
}

// txn is a write transaction whose statements are written with "?".
type txn struct {
	tx    *sql.Tx
	db    *DB
	shown bool                 // it wrote something a page shows (see quietTx)
	stmts map[string]*sql.Stmt // prepared for the transaction (ExecRepeated)
}

// QueryRow runs a statement that returns at most one row.
func (t *txn) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.sql(query), t.db.args(args)...)
}

// Query runs a statement that returns rows.
func (t *txn) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.sql(query), t.db.args(args)...)
}

// Exec runs a statement that returns no rows.
func (t *txn) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.sql(query), t.db.args(args)...)
}

// ExecRepeated is Exec for a statement the transaction runs many times,
// once a key of a batch, say: it is prepared on its first run and reused
// until the transaction ends (which closes it). Unprepared, SQLite parses
// and plans a statement on every run; a batch of recent use ran its insert
// once for every call of the second before, and parsing it cost more than
// running it.
func (t *txn) ExecRepeated(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := t.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, t.db.args(args)...)
}

// QueryRowRepeated is QueryRow as ExecRepeated is Exec. A statement that
// cannot be prepared runs unprepared, to answer the same error.
func (t *txn) QueryRowRepeated(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := t.prepared(ctx, query)
	if err != nil {
		return t.QueryRow(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, t.db.args(args)...)
}

func (t *txn) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if stmt, ok := t.stmts[query]; ok {
		return stmt, nil
	}
	stmt, err := t.tx.PrepareContext(ctx, t.db.sql(query))
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = stmt
	return stmt, nil
}

// tx runs fn in a write transaction, committing if it returns nil. A
// transaction the engine ends with ErrRetry runs again, from the start, a
// few times: fn must therefore do nothing outside the transaction that it
// cannot do twice.
//
// tx counts the write as a change of keys or accounts (see Epoch), before
// it begins and after it ends, so that no instance's cache answers from
// rows it may have changed. Writes that cannot change what FindKey
// answers (sessions, sign-in attempts, Last Used, recent use) use
// quietTx instead and leave FindKey's cache as it is.
func (db *DB) tx(ctx context.Context, fn func(*txn) error) error {
	if err := db.bump(ctx); err != nil {
		return err
	}
	err := db.retry(ctx, true, fn)
	// The second bump is counted whether or not the transaction
	// committed (a failed one changed nothing, and an extra count only
	// costs a cache refill). If it cannot be counted, the commit stands
	// and the cache's age bound is what remains.
	_ = db.bump(ctx)
	return err
}

// quietTx is tx for writes that FindKey's cache does not hold. One that
// writes what a page shows (an audit event, Last Used) marks its txn shown,
// and is counted among the changes pages are cached under once it commits.
func (db *DB) quietTx(ctx context.Context, fn func(*txn) error) error {
	return db.retry(ctx, false, fn)
}

// retry runs fn in a transaction, again while the engine says ErrRetry;
// counted says the epoch counts it already.
func (db *DB) retry(ctx context.Context, counted bool, fn func(*txn) error) error {
	var err error
	for attempt := range txAttempts {
		if err = db.txOnce(ctx, counted, fn); !errors.Is(err, ErrRetry) {
			return err
		}
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 5)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return err
}

func (db *DB) txOnce(ctx context.Context, counted bool, fn func(*txn) error) error {
	tx, err := db.write.BeginTx(ctx, db.d.TxOptions)
	if err != nil {
		return db.txError(ctx, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	t := &txn{tx: tx, db: db}
	if err := fn(t); err != nil {
		return db.txError(ctx, err)
	}
	if err := tx.Commit(); err != nil {
		return db.txError(ctx, err)
	}
	if t.shown && !counted {
		db.countShown(ctx)
	}
	return nil
}

// txError translates an error from inside a transaction. When ctx has
// ended, database/sql rolls the transaction back by itself: a statement or
// the commit that comes after says only ErrTxDone, and one running at that
// moment is interrupted. Nothing was written either way; the context's error
// says why, so callers answer 503 (try again), not 500.
func (db *DB) txError(ctx context.Context, err error) error {
	err = db.translate(err)
	if ctxErr := ctx.Err(); ctxErr != nil && cutShort(err) {
		return ctxErr
	}
	return err
}

// cutShort reports whether err is how a statement fails when its
// transaction's context ends under it.
//
// A connection the driver gave up on (driver.ErrBadConn) counts too: pgx
// closes the connection a cancelled statement ran on, and the next use of
// it in the transaction says only that.
func cutShort(err error) bool {
	return errors.Is(err, sql.ErrTxDone) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInterrupted) ||
		errors.Is(err, driver.ErrBadConn)
}

// translate maps driver errors to the store's own, in this one place.
func (db *DB) translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if db.d.Translate != nil {
		return db.d.Translate(err)
	}
	return err
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// noRows is a read's error with no row made the store's ErrNotFound. Other
// driver errors are translated by tx, for writes; a failed read is a 5xx.
func noRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

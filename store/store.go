// Package store holds Keydesk's domain types (users, sessions, audit events),
// their errors, and every SQL statement the application runs.
//
// The default backend is SQLite through the pure-Go modernc.org/sqlite
// driver. A DB keeps two pools on one file: a single writer connection whose
// transactions start with BEGIN IMMEDIATE, so writers queue on the Go side
// instead of failing with SQLITE_BUSY, and a pool of readers that WAL lets run
// beside the writer. Callers never see driver errors: they get ErrNotFound,
// ErrConflict or a wrapped error that the HTTP layer answers with a 5xx.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors the store returns; compare with errors.Is.
var (
	// ErrNotFound: no row matched, or it belongs to someone else.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (an email, say) is taken.
	ErrConflict = errors.New("conflict")
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store. It is safe for concurrent use by many goroutines, and
// several processes may open the same file at once.
type DB struct {
	write *sql.DB
	read  *sql.DB
	now   func() time.Time

	hashes *hashQueue

	authStmt *sql.Stmt
}

// Option changes how Open builds a DB.
type Option func(*DB)

// WithClock makes the store take the time from now, for tests that move it.
func WithClock(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// Open opens (creating it if needed) the SQLite database at path and applies
// any migration it has not seen yet. The file and its -wal and -shm
// companions are readable by their owner only (0600): they hold the session
// signing keys and the password hashes.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	if err := ownerOnly(path, true); err != nil {
		return nil, err
	}
	db := &DB{now: time.Now, hashes: newHashQueue()}
	for _, opt := range opts {
		opt(db)
	}

	if err := enableWAL(ctx, path); err != nil {
		return nil, err
	}
	var err error
	if db.write, err = openPool(path, true, 1); err != nil {
		return nil, err
	}
	if db.read, err = openPool(path, false, max(4, runtime.NumCPU())); err != nil {
		db.write.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// The migrations opened the WAL, so -wal and -shm exist now. SQLite
	// gives them the main file's mode already; this tightens files an
	// older Keydesk left 0644, and any a server made before this one.
	if err := ownerOnly(path, false); err != nil {
		db.Close()
		return nil, err
	}
	if db.authStmt, err = db.read.PrepareContext(ctx, authenticateKeyQuery); err != nil {
		db.Close()
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

// Close closes both pools. With WAL, the last connection to close
// checkpoints the log into the main file.
func (db *DB) Close() error {
	if db.authStmt != nil {
		db.authStmt.Close()
	}
	return errors.Join(db.read.Close(), db.write.Close())
}

// SQL is the writer pool, for tools that move whole databases (keydesk db
// copy): the copier reads and writes every table in one transaction of its
// own. Its transactions begin IMMEDIATE, except read-only ones. Nothing
// else should write through it, since it bypasses the store's rules.
func (db *DB) SQL() *sql.DB { return db.write }

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

// migrate applies, in order and each in its own transaction, the embedded
// migrations that schema_migrations does not list yet. Running it from two
// processes at once is safe: the writer's BEGIN IMMEDIATE serialises them and
// the second finds the version recorded.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		body, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			var seen int
			if err := tx.QueryRowContext(ctx,
				"SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&seen); err != nil {
				return err
			}
			if seen > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			if err := db.goHalf(ctx, tx, version); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx,
				"INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, db.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return nil
}

// goHalf finishes, in the migration's own transaction, a migration that SQL
// cannot do alone.
func (db *DB) goHalf(ctx context.Context, tx *sql.Tx, version string) error {
	switch version {
	case "0005_canonical_emails":
		return db.canonicaliseStoredEmails(ctx, tx)
	}
	return nil
}

// tx runs fn in a write transaction, committing if it returns nil.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return txError(ctx, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return txError(ctx, err)
	}
	if err := tx.Commit(); err != nil {
		return txError(ctx, err)
	}
	return nil
}

// txError translates an error from inside a transaction. When ctx has
// ended, database/sql rolls the transaction back by itself: a statement or
// the commit that comes after says only ErrTxDone, and one running at that
// moment is interrupted. Nothing was written either way; the context's error
// says why, so callers answer 503 (try again), not 500.
func txError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && cutShort(err) {
		return ctxErr
	}
	return translate(err)
}

// cutShort reports whether err is how a statement fails when its
// transaction's context ends under it.
func cutShort(err error) bool {
	if errors.Is(err, sql.ErrTxDone) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_INTERRUPT
}

// translate maps driver errors to the store's own, in this one place.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	return err
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

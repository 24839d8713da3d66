// Package postgres holds what Keydesk's PostgreSQL store needs beside the SQL
// it shares with SQLite: the schema as PostgreSQL DDL (migrations/, under the
// same version names as store/migrations), Migrate, which applies it safely
// while several instances start at once, the dialect's pieces (Rebind for
// placeholders, Translate for error codes, ErrRetry, TxOptions) and OpenPool,
// which opens a configured database/sql pool through pgx and refuses a
// server older than PostgreSQL 15.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockKey names the advisory lock that serialises migrations across
// every instance on one database. Any constant works as long as nothing else
// on the database uses it; this one spells "keydesk!" in ASCII.
const migrateLockKey int64 = 0x6b65796465736b21

// Migrate applies, in order and each in its own transaction, the embedded
// migrations that schema_migrations does not list yet, recording each with
// the time from now in Unix milliseconds.
//
// Instances that start at the same moment all call it. Each transaction first
// takes pg_advisory_xact_lock, so they run one at a time; the lock is released
// by the commit or rollback, so a crashed instance never leaves it held. The
// version check runs under the lock, so a later instance finds the version
// recorded and skips it. Creating schema_migrations itself is under the lock
// too, since two concurrent CREATE TABLE IF NOT EXISTS can both pass the
// existence check and one then fail on the catalog's unique index.
//
// On a pool from OpenPool, the wait for the lock counts toward the
// statement timeout: an instance that waits longer than that for another's
// migration fails to start rather than hanging, and may simply be restarted.
func Migrate(ctx context.Context, db *sql.DB, now func() time.Time) error {
	return migrate(ctx, db, now, migrations)
}

// migrate applies the migrations/*.sql of fsys; tests give it a part of the
// embedded set.
func migrate(ctx context.Context, db *sql.DB, now func() time.Time, fsys fs.FS) error {
	err := lockedTx(ctx, db, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    TEXT   PRIMARY KEY,
			applied_at BIGINT NOT NULL
		)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(path.Base(name), ".sql")
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
		if err := lockedTx(ctx, db, func(tx *sql.Tx) error {
			return applyOnce(ctx, tx, version, string(body), now)
		}); err != nil {
			return fmt.Errorf("migrate %s: %w", version, err)
		}
	}
	return nil
}

// applyOnce runs one migration's SQL and records its version, unless the
// version is recorded already.
func applyOnce(ctx context.Context, tx *sql.Tx, version, body string, now func() time.Time) error {
	var seen bool
	if err := tx.QueryRowContext(ctx,
		"SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", version).Scan(&seen); err != nil {
		return err
	}
	if seen {
		return nil
	}
	// Without arguments pgx sends the text by the simple query protocol,
	// which runs a file of several statements as one.
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", version, now().UnixMilli())
	return err
}

// lockedTx runs fn in a transaction that holds the migration lock, and
// commits if fn returns nil.
func lockedTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"keydesk/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies, in order and each in its own transaction on the writer,
// the embedded migrations that schema_migrations does not list yet. Running
// it from two processes at once is safe: the writer's BEGIN IMMEDIATE
// serialises them and the second finds the version recorded.
func migrate(ctx context.Context, write *sql.DB) error {
	if _, err := write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
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
		if err := migrateOne(ctx, write, version, string(body)); err != nil {
			return fmt.Errorf("migrate %s: %w", version, translate(err))
		}
	}
	return nil
}

// migrateOne applies one migration and records it, unless it is recorded
// already, in one transaction.
func migrateOne(ctx context.Context, write *sql.DB, version, body string) error {
	tx, err := write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var seen int
	if err := tx.QueryRowContext(ctx,
		"SELECT count(*) FROM schema_migrations WHERE version = ?", version).Scan(&seen); err != nil {
		return err
	}
	if seen > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if err := goHalf(ctx, tx, version); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// goHalf finishes, in the migration's own transaction, a migration that SQL
// cannot do alone.
func goHalf(ctx context.Context, tx *sql.Tx, version string) error {
	switch version {
	case "0005_canonical_emails":
		return canonicaliseStoredEmails(ctx, tx)
	}
	return nil
}

// canonicaliseStoredEmails is the Go half of migration 0005: it stores in
// canonical form every email that the SQL half left (anything but printable
// ASCII), oldest account first.
//
// Two rows can share a canonical form: "Ärger@…" and "ärger@…" were distinct
// under SQLite's ASCII-only lower(). The row that already holds the
// canonical form keeps it, or else the oldest takes it; every other row
// keeps its email exactly as stored and an ActionEmailKept event names it in
// the audit log, for an admin to decide. Such a row cannot sign in by email:
// before this migration it could not either, since its stored form matched
// no lower-cased lookup. Nothing is merged and nothing is deleted.
func canonicaliseStoredEmails(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, public_id, email FROM users WHERE email GLOB '*[^!-~]*' ORDER BY id`)
	if err != nil {
		return fmt.Errorf("canonical emails: %w", err)
	}
	type row struct {
		id              int64
		publicID, email string
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.publicID, &r.email); err != nil {
			rows.Close()
			return fmt.Errorf("canonical emails: %w", err)
		}
		if store.NormalizeEmail(r.email) != r.email {
			todo = append(todo, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("canonical emails: %w", err)
	}
	for _, r := range todo {
		canon := store.NormalizeEmail(r.email)
		var holder string
		err := tx.QueryRowContext(ctx, `SELECT public_id FROM users WHERE email = ?`, canon).Scan(&holder)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ? WHERE id = ?`, canon, r.id); err != nil {
				return fmt.Errorf("canonical emails: %w", err)
			}
		case err != nil:
			return fmt.Errorf("canonical emails: %w", err)
		default:
			detail := fmt.Sprintf("email %s kept as it was: its canonical form %s belongs to %s", r.email, canon, holder)
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (at, actor, action, subject_id, target, detail)
				VALUES (?, 'migration', ?, ?, ?, ?)`, time.Now().UnixMilli(), store.ActionEmailKept, r.id, r.publicID, detail); err != nil {
				return fmt.Errorf("canonical emails: %w", err)
			}
		}
	}
	return nil
}

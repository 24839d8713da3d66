package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"
)

// Failed sign-ins are counted per account and per client IP, in rows shared
// by every instance on the database. The account is kept as a hash of the
// normalised email as typed: someone who types a password into the email
// field must not find it stored.
const (
	scopeAccount = "account"
	scopeIP      = "ip"
)

func accountSubject(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// LoginFailures counts the failures since since against the account named
// by email (known or not) and against ip.
func (db *DB) LoginFailures(ctx context.Context, email, ip string, since time.Time) (account, fromIP int, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM login_failures WHERE scope = ? AND subject = ? AND failed_at >= ?),
		(SELECT count(*) FROM login_failures WHERE scope = ? AND subject = ? AND failed_at >= ?)`,
		scopeAccount, accountSubject(email), millis(since),
		scopeIP, ip, millis(since)).Scan(&account, &fromIP)
	if err != nil {
		return 0, 0, fmt.Errorf("login failures: %w", err)
	}
	return account, fromIP, nil
}

// RecordLoginFailure counts one failed sign-in against the account and the
// IP, and records ev with it. Rows older than forgetBefore for the same
// subjects are dropped on the way, which keeps the table as small as the
// window.
func (db *DB) RecordLoginFailure(ctx context.Context, email, ip string, forgetBefore time.Time, ev AuditEvent) error {
	now := millis(db.Now())
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for _, f := range []struct{ scope, subject string }{{scopeAccount, accountSubject(email)}, {scopeIP, ip}} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ? AND failed_at < ?`,
				f.scope, f.subject, millis(forgetBefore)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (scope, subject, failed_at) VALUES (?, ?, ?)`,
				f.scope, f.subject, now); err != nil {
				return err
			}
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets the failures counted against an account, after
// its owner proves the password. The IP's count stays: one good password
// must not buy an address more guesses at other accounts.
func (db *DB) ClearLoginFailures(ctx context.Context, email string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ?`,
			scopeAccount, accountSubject(email))
		return err
	})
	if err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

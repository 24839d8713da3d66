package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Sign-in attempts are counted per account, per client IP and per trusted
// device, in rows shared by every instance on the database. An attempt is
// counted before its password is checked, in the same write transaction that
// reads the count, so N parallel guesses cost at most the limit; a success,
// or a check that never ran, takes its rows back out. The account is kept as
// a hash of the normalised email as typed, and a device as a hash of its
// token: someone who types a password into the email field must not find it
// stored, and a copy of the table must not hold a usable device token.
const (
	scopeAccount = "account"
	scopeIP      = "ip"
	scopeDevice  = "device"
)

// ErrLimited is what a claim answers when a subject has used its attempts
// for the window. Nothing was counted.
var ErrLimited = errors.New("too many attempts")

// LoginLimits is how many attempts each subject gets per Window.
type LoginLimits struct {
	Window  time.Duration
	Account int // attempts without a trusted device, per account
	IP      int // attempts without a trusted device, per client address
	Device  int // attempts with a trusted device, per device
}

// LoginAttempt is one counted attempt, to settle once its password is
// checked.
type LoginAttempt struct {
	email  string
	device string
	rows   []int64
}

func accountSubject(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

func deviceSubject(token string) string {
	sum := sha256.Sum256([]byte("device\x00" + token))
	return hex.EncodeToString(sum[:])
}

type limitedSubject struct {
	scope, subject string
	limit          int
}

// ClaimLoginAttempt counts one sign-in attempt for email from ip before its
// password is checked, or answers ErrLimited. device is the token of a
// trusted device cookie that names this account, or "": a trusted device's
// attempts count against that device only, so that strangers who exhaust
// the account's and the address's attempts do not lock its owner out; the
// others count against the account and the address.
func (db *DB) ClaimLoginAttempt(ctx context.Context, email, ip, device string, lim LoginLimits) (*LoginAttempt, error) {
	subjects := []limitedSubject{{scopeAccount, accountSubject(email), lim.Account}, {scopeIP, ip, lim.IP}}
	if device != "" {
		subjects = []limitedSubject{{scopeDevice, deviceSubject(device), lim.Device}}
	}
	a := &LoginAttempt{email: email, device: device}
	var err error
	a.rows, err = db.claim(ctx, subjects, lim.Window)
	if err != nil {
		return nil, fmt.Errorf("claim login attempt: %w", err)
	}
	return a, nil
}

// ClaimAddressAttempt counts one attempt from ip against the same per
// address budget that sign-ins use, or answers ErrLimited. Sign-up spends
// it: each sign-up tells whether an email has an account, so finding out
// costs what a guessed password costs.
func (db *DB) ClaimAddressAttempt(ctx context.Context, ip string, limit int, window time.Duration) error {
	if _, err := db.claim(ctx, []limitedSubject{{scopeIP, ip, limit}}, window); err != nil {
		return fmt.Errorf("claim address attempt: %w", err)
	}
	return nil
}

// claim checks every subject's count in the window and, only if all are
// under their limit, counts one attempt against each, in one transaction:
// the single writer runs claims one at a time, so two cannot both take the
// last attempt. Rows older than the window for these subjects are dropped on
// the way, which keeps the table as small as the window.
func (db *DB) claim(ctx context.Context, subjects []limitedSubject, window time.Duration) ([]int64, error) {
	now := db.Now()
	since := millis(now.Add(-window))
	var rows []int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for _, s := range subjects {
			if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ? AND failed_at < ?`,
				s.scope, s.subject, since); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM login_failures WHERE scope = ? AND subject = ?`,
				s.scope, s.subject).Scan(&n); err != nil {
				return err
			}
			if n >= s.limit {
				return ErrLimited
			}
		}
		for _, s := range subjects {
			res, err := tx.ExecContext(ctx, `INSERT INTO login_failures (scope, subject, failed_at) VALUES (?, ?, ?)`,
				s.scope, s.subject, millis(now))
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			rows = append(rows, id)
		}
		return nil
	})
	return rows, err
}

// LoginSucceeded settles an attempt whose password was right: it forgets
// the account's failures and the device's, and this attempt's count against
// the address. The address's other failures stay: one good password must
// not buy an address more guesses at other accounts.
func (db *DB) LoginSucceeded(ctx context.Context, a *LoginAttempt) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := deleteRows(ctx, tx, a.rows); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ?`,
			scopeAccount, accountSubject(a.email)); err != nil {
			return err
		}
		if a.device == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ?`,
			scopeDevice, deviceSubject(a.device))
		return err
	})
	if err != nil {
		return fmt.Errorf("login succeeded: %w", err)
	}
	return nil
}

// ReleaseLoginAttempt takes back an attempt whose password was never
// checked (the hash queue was full, or the request ended while it waited):
// no guess was made, so none is counted.
func (db *DB) ReleaseLoginAttempt(ctx context.Context, a *LoginAttempt) error {
	err := db.tx(ctx, func(tx *sql.Tx) error { return deleteRows(ctx, tx, a.rows) })
	if err != nil {
		return fmt.Errorf("release login attempt: %w", err)
	}
	return nil
}

func deleteRows(ctx context.Context, tx *sql.Tx, rows []int64) error {
	for _, id := range rows {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE rowid = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// LoginFailures counts the attempts since since against the account named
// by email (known or not) and against ip that are still counted: failures,
// and attempts whose check is under way.
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

// ClearLoginFailures forgets the failures counted against an account.
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

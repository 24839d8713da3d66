package sqlstore

import (
	"context"
	"fmt"
	"time"

	"keydesk/store"
)

// ClaimLoginAttempt counts one sign-in attempt for email from ip before its
// password is checked, or answers ErrLimited; store.LoginSubjects says
// against what.
func (db *DB) ClaimLoginAttempt(ctx context.Context, email, ip, device string, lim store.LoginLimits) (*store.LoginAttempt, error) {
	a := &store.LoginAttempt{Email: email, Device: device}
	var err error
	a.Rows, err = db.claim(ctx, store.LoginSubjects(email, ip, device, lim), lim.Window)
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
	if _, err := db.claim(ctx, []store.LimitedSubject{{Scope: store.ScopeIP, Subject: ip, Limit: limit}}, window); err != nil {
		return fmt.Errorf("claim address attempt: %w", err)
	}
	return nil
}

// claim checks every subject's count in the window and, only if all are
// under their limit, counts one attempt against each, in one transaction:
// the single writer runs claims one at a time, so two cannot both take the
// last attempt. Rows older than the window for these subjects are dropped on
// the way, which keeps the table as small as the window.
func (db *DB) claim(ctx context.Context, subjects []store.LimitedSubject, window time.Duration) ([]int64, error) {
	now := db.Now()
	since := millis(now.Add(-window))
	var rows []int64
	err := db.quietTx(ctx, func(tx *txn) error {
		for _, s := range subjects {
			if _, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ? AND failed_at < ?`,
				s.Scope, s.Subject, since); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM login_failures WHERE scope = ? AND subject = ?`,
				s.Scope, s.Subject).Scan(&n); err != nil {
				return err
			}
			if n >= s.Limit {
				return store.ErrLimited
			}
		}
		for _, s := range subjects {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO login_failures (scope, subject, failed_at) VALUES (?, ?, ?) RETURNING id`,
				s.Scope, s.Subject, millis(now)).Scan(&id); err != nil {
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
func (db *DB) LoginSucceeded(ctx context.Context, a *store.LoginAttempt) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		if err := deleteRows(ctx, tx, a.Rows); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ?`,
			store.ScopeAccount, store.AccountSubject(a.Email)); err != nil {
			return err
		}
		if a.Device == "" {
			return nil
		}
		_, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ?`,
			store.ScopeDevice, store.DeviceSubject(a.Device))
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
func (db *DB) ReleaseLoginAttempt(ctx context.Context, a *store.LoginAttempt) error {
	err := db.quietTx(ctx, func(tx *txn) error { return deleteRows(ctx, tx, a.Rows) })
	if err != nil {
		return fmt.Errorf("release login attempt: %w", err)
	}
	return nil
}

func deleteRows(ctx context.Context, tx *txn, rows []int64) error {
	for _, id := range rows {
		if _, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE id = ?`, id); err != nil {
			return err
		}
	}
	return nil
}

// LoginFailures counts the attempts since since against the account named
// by email (known or not) and against ip that are still counted: failures,
// and attempts whose check is under way.
func (db *DB) LoginFailures(ctx context.Context, email, ip string, since time.Time) (account, fromIP int, err error) {
	err = db.queryRow(ctx, `SELECT
		(SELECT count(*) FROM login_failures WHERE scope = ? AND subject = ? AND failed_at >= ?),
		(SELECT count(*) FROM login_failures WHERE scope = ? AND subject = ? AND failed_at >= ?)`,
		store.ScopeAccount, store.AccountSubject(email), millis(since),
		store.ScopeIP, ip, millis(since)).Scan(&account, &fromIP)
	if err != nil {
		return 0, 0, fmt.Errorf("login failures: %w", err)
	}
	return account, fromIP, nil
}

// ClearLoginFailures forgets the failures counted against an account.
func (db *DB) ClearLoginFailures(ctx context.Context, email string) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE scope = ? AND subject = ?`,
			store.ScopeAccount, store.AccountSubject(email))
		return err
	})
	if err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"keydesk/store"
)

// CreateKey makes a new key for the user and returns it with the key in
// full, the only time it exists outside the caller's hands. A name the user
// already has, in any case, is ErrConflict; a user at MaxKeysPerUser gets
// ErrLimit. ev is recorded with the key's id as its target.
func (db *DB) CreateKey(ctx context.Context, userID int64, name, description string, ev store.AuditEvent) (*store.APIKey, string, error) {
	secret := store.GenerateKey()
	now := millis(db.Now())
	var k *store.APIKey
	err := db.tx(ctx, func(tx *txn) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE user_id = ?`, userID).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxKeysPerUser {
			return store.ErrLimit
		}
		var err error
		k, err = scanKey(tx.QueryRow(ctx, `
			INSERT INTO api_keys (public_id, user_id, name, description, hash, last4, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+keyColumns,
			store.NewKeyPublicID(), userID, name, description, store.HashKey(secret), secret[len(secret)-4:], now, now))
		if err != nil {
			return err
		}
		ev.Target = k.PublicID
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return nil, "", fmt.Errorf("create key: %w", err)
	}
	return k, secret, nil
}

// KeysForUser lists the user's keys, newest first.
func (db *DB) KeysForUser(ctx context.Context, userID int64) ([]*store.APIKey, error) {
	rows, err := db.query(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("keys for user: %w", err)
	}
	defer rows.Close()
	var out []*store.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("keys for user: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys for user: %w", err)
	}
	return out, nil
}

// KeyForUser finds one of the user's keys by its public id. Another user's
// key is ErrNotFound, as if it did not exist.
func (db *DB) KeyForUser(ctx context.Context, userID int64, publicID string) (*store.APIKey, error) {
	k, err := scanKey(db.queryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE public_id = ? AND user_id = ?`, publicID, userID))
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	return k, nil
}

// SetKeyEnabled enables or disables one of the user's keys, as its owner,
// and records ev. Enabling a key an admin disabled is ErrDisabledByAdmin and
// changes nothing; disabling it again is allowed and leaves it the admin's.
func (db *DB) SetKeyEnabled(ctx context.Context, userID int64, publicID string, enabled bool, ev store.AuditEvent) (*store.APIKey, error) {
	// The admin's mark is in the WHERE, so the refusal cannot race an
	// admin's disable; no row is then told apart from a missing key.
	k, err := db.updateKey(ctx, "set key enabled", `UPDATE api_keys SET enabled = ?, updated_at = ?
		WHERE public_id = ? AND user_id = ? AND (? OR disabled_by_admin = ?) RETURNING `+keyColumns,
		ev, enabled, millis(db.Now()), publicID, userID, !enabled, false)
	if enabled && errors.Is(err, store.ErrNotFound) {
		if own, ownErr := db.KeyForUser(ctx, userID, publicID); ownErr == nil && own.DisabledByAdmin {
			return nil, fmt.Errorf("set key enabled: %w", store.ErrDisabledByAdmin)
		}
	}
	return k, err
}

// UpdateKey applies upd to one of the user's keys and records ev. A name
// the user's other keys have is ErrConflict.
func (db *DB) UpdateKey(ctx context.Context, userID int64, publicID string, upd store.KeyUpdate, ev store.AuditEvent) (*store.APIKey, error) {
	return db.updateKey(ctx, "update key", `UPDATE api_keys SET
			name = coalesce(?, name), description = coalesce(?, description), updated_at = ?
		WHERE public_id = ? AND user_id = ? RETURNING `+keyColumns,
		ev, upd.Name, upd.Description, millis(db.Now()), publicID, userID)
}

// updateKey runs an UPDATE … RETURNING on one key and records ev; no row
// is ErrNotFound.
func (db *DB) updateKey(ctx context.Context, what, query string, ev store.AuditEvent, args ...any) (*store.APIKey, error) {
	var k *store.APIKey
	err := db.tx(ctx, func(tx *txn) error {
		var err error
		if k, err = scanKey(tx.QueryRow(ctx, query, args...)); err != nil {
			return err
		}
		ev.Target = k.PublicID
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return k, nil
}

// DeleteKey deletes one of the user's keys and records ev.
func (db *DB) DeleteKey(ctx context.Context, userID int64, publicID string, ev store.AuditEvent) error {
	err := db.tx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, `DELETE FROM api_keys WHERE public_id = ? AND user_id = ?`, publicID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		ev.Target = publicID
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("delete key: %w", err)
	}
	return nil
}

// AuthenticateKey finds the enabled key with this hash whose owner is not
// disabled, with its owner. Anything else is ErrNotFound. It reads the
// current row every time, so a disabled or deleted key fails on the very
// next request.
func (db *DB) AuthenticateKey(ctx context.Context, hash string) (*store.APIKey, *store.User, error) {
	var kf keyFields
	var uf userFields
	if err := scan(db.authStmt.QueryRowContext(ctx, db.args([]any{hash, true, false})...), kf.dest(), uf.dest()...); err != nil {
		return nil, nil, fmt.Errorf("authenticate key: %w", err)
	}
	k, u := kf.key(), uf.user()
	return &k, &u, nil
}

// TouchKey records a use of the key at now from ip, unless its stored last
// use is newer than staleBefore. The condition lives in the UPDATE, so of
// many instances racing on one key, one writes and the others change
// nothing. It reports whether it wrote.
func (db *DB) TouchKey(ctx context.Context, keyID int64, ip string, now, staleBefore time.Time) (bool, error) {
	var n int64
	err := db.tx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, `UPDATE api_keys SET last_used_at = ?, last_used_ip = ?
			WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
			millis(now), ip, keyID, millis(staleBefore))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("touch key: %w", err)
	}
	return n > 0, nil
}

var authenticateKeyQuery = `SELECT ` + keyColumnsAs("k.") + `, ` + userColumnsAs("u.") + `
		FROM api_keys AS k JOIN users AS u ON u.id = k.user_id
		WHERE k.hash = ? AND k.enabled = ? AND u.disabled = ?`

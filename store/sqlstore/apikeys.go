package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"keydesk/store"
)

// CreateKey makes a new key for the user and returns it with the key in
// full, the only time it exists outside the caller's hands. A name the user
// already has, in any case, is ErrConflict; a user at MaxKeysPerUser gets
// ErrLimit. ev is recorded with the key's id as its target.
func (db *DB) CreateKey(ctx context.Context, userID int64, nk store.NewKey, ev store.AuditEvent) (*store.APIKey, string, error) {
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
			INSERT INTO api_keys (public_id, user_id, name, name_sort, description, hash, last4, created_at, updated_at, expires_at, scopes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+keyColumns,
			store.NewKeyPublicID(), userID, nk.Name, store.NaturalSortKey(nk.Name), nk.Description, store.HashKey(secret), secret[len(secret)-4:], now, now,
			nullMillis(nk.ExpiresAt), encodeScopes(nk.Scopes)))
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
	out, err := scanKeys(rows, store.MaxKeysPerUser)
	if err != nil {
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
	// So is the expiry: an expired key cannot be enabled, only
	// regenerated.
	now := millis(db.Now())
	k, err := db.updateKey(ctx, "set key enabled", publicID, true, `UPDATE api_keys SET enabled = ?, updated_at = ?
		WHERE public_id = ? AND user_id = ? AND (? OR (disabled_by_admin = ? AND (expires_at IS NULL OR expires_at > ?)))
		RETURNING `+keyColumns,
		ev, enabled, now, publicID, userID, !enabled, false, now)
	if enabled && errors.Is(err, store.ErrNotFound) {
		if own, ownErr := db.KeyForUser(ctx, userID, publicID); ownErr == nil {
			switch {
			case own.DisabledByAdmin:
				return nil, fmt.Errorf("set key enabled: %w", store.ErrDisabledByAdmin)
			case own.Expired(fromMillis(now)):
				return nil, fmt.Errorf("set key enabled: %w", store.ErrExpired)
			}
		}
	}
	return k, err
}

// UpdateKey applies upd to one of the user's keys and records ev. A name
// the user's other keys have is ErrConflict.
func (db *DB) UpdateKey(ctx context.Context, userID int64, publicID string, upd store.KeyUpdate, ev store.AuditEvent) (*store.APIKey, error) {
	var nameSort *string
	if upd.Name != nil {
		ns := store.NaturalSortKey(*upd.Name)
		nameSort = &ns
	}
	return db.updateKey(ctx, "update key", publicID, false, `UPDATE api_keys SET
			name = coalesce(?, name), name_sort = coalesce(?, name_sort), description = coalesce(?, description), updated_at = ?
		WHERE public_id = ? AND user_id = ? RETURNING `+keyColumns,
		ev, upd.Name, nameSort, upd.Description, millis(db.Now()), publicID, userID)
}

// updateKey runs an UPDATE … RETURNING on key publicID and records ev,
// with what changed (its status always, when status is set); no row is
// ErrNotFound.
func (db *DB) updateKey(ctx context.Context, what, publicID string, status bool, query string, ev store.AuditEvent, args ...any) (*store.APIKey, error) {
	var k *store.APIKey
	err := db.tx(ctx, func(tx *txn) error {
		before, err := keyByPublicID(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if k, err = scanKey(tx.QueryRow(ctx, query, args...)); err != nil {
			return err
		}
		ev.Target = k.PublicID
		return db.audit(ctx, tx, withKeyFacts(ev, before, k, status, db.Now()))
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return k, nil
}

// DeleteKey deletes one of the user's keys and records ev.
func (db *DB) DeleteKey(ctx context.Context, userID int64, publicID string, ev store.AuditEvent) error {
	err := db.tx(ctx, func(tx *txn) error {
		// Read first: once deleted, the key's name is in its event only.
		before, err := keyByPublicID(ctx, tx, publicID)
		if err != nil {
			return err
		}
		if before != nil {
			ev = withKeyFacts(ev, nil, before, false, db.Now())
		}
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

// AuthenticateKey finds the key with this secret (current, or previous in
// its overlap) that works now, with its owner: enabled, not expired, its
// owner not disabled. Anything else is ErrNotFound.
func (db *DB) AuthenticateKey(ctx context.Context, hash string) (*store.APIKey, *store.User, error) {
	m, err := db.FindKey(ctx, hash)
	if err != nil {
		return nil, nil, fmt.Errorf("authenticate key: %w", err)
	}
	if verdict, _ := m.Check(db.Now()); verdict != store.VerdictValid {
		return nil, nil, fmt.Errorf("authenticate key: %w", store.ErrNotFound)
	}
	return m.Key, m.Owner, nil
}

// TouchKey records a use of the key at now from ip, unless its stored last
// use is newer than staleBefore. The condition lives in the UPDATE, so of
// many instances racing on one key, one writes and the others change
// nothing. It reports whether it wrote. The server writes Last Used with
// its batches of recent use (RecordKeyUses), through the same touchKey;
// the tests and cmd/screenshots call this, to set a key's Last Used
// directly.
func (db *DB) TouchKey(ctx context.Context, keyID int64, ip string, now, staleBefore time.Time) (bool, error) {
	var wrote bool
	err := db.quietTx(ctx, func(tx *txn) error {
		var neverUsed bool
		if err := tx.QueryRowRepeated(ctx, `SELECT last_used_at IS NULL FROM api_keys WHERE id = ?`, keyID).Scan(&neverUsed); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil // deleted: nothing to write
			}
			return err
		}
		var err error
		wrote, err = touchKey(ctx, tx, keyID, neverUsed, ip, now, staleBefore)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("touch key: %w", err)
	}
	if wrote {
		db.forgetKey(keyID)
	}
	return wrote, nil
}

// touchKey writes the key's Last Used in tx, as TouchKey says, and marks
// the transaction shown when it is the key's first use: when the key had
// no Last Used (neverUsed, as tx read it) and this wrote one.
func touchKey(ctx context.Context, tx *txn, keyID int64, neverUsed bool, ip string, now, staleBefore time.Time) (bool, error) {
	// A key's first use is among the changes pages show (see Changes): a
	// page must not say Never of a key that has worked. A later one is not
	// counted, or steady calls would retire every page's copy many times a
	// second; Last Used is 30 s coarse anyway.
	res, err := tx.ExecRepeated(ctx, `UPDATE api_keys SET last_used_at = ?, last_used_ip = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
		millis(now), ip, keyID, millis(staleBefore))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	tx.shown = tx.shown || neverUsed && n > 0
	return n > 0, nil
}

// findKeyQuery reads a key by either secret's hash; SQLite and
// PostgreSQL both answer the OR from the two unique indexes.
var findKeyQuery = `SELECT ` + keyColumnsAs("k.") + `, ` + userColumnsAs("u.") + `, k.hash = ?
		FROM api_keys AS k JOIN users AS u ON u.id = k.user_id
		WHERE k.hash = ? OR k.prev_hash = ?`

// RegenerateKey gives one of the user's keys a new secret and returns it,
// in full, the only time it exists outside the caller's hands. The key
// keeps its id, name, description and scopes, and takes the expiry
// expiresAt (zero: never). The secret it had becomes its previous one and
// keeps working for overlap (never past its own expiry); a previous secret
// the key already had is dropped, so there is at most one. Regenerating an
// expired key brings it back. ev is recorded with the key as target.
func (db *DB) RegenerateKey(ctx context.Context, userID int64, publicID string, overlap time.Duration, expiresAt time.Time, ev store.AuditEvent) (*store.APIKey, string, error) {
	secret := store.GenerateKey()
	now := db.Now()
	until := millis(now.Add(overlap))
	k, err := db.updateKey(ctx, "regenerate key", publicID, false, `UPDATE api_keys SET
			prev_hash = hash, prev_last4 = last4, prev_last_used_at = NULL,
			prev_until = CASE WHEN expires_at IS NOT NULL AND expires_at < ? THEN expires_at ELSE ? END,
			hash = ?, last4 = ?, expires_at = ?, updated_at = ?
		WHERE public_id = ? AND user_id = ? RETURNING `+keyColumns,
		ev, until, until, store.HashKey(secret), secret[len(secret)-4:], nullMillis(expiresAt), millis(now), publicID, userID)
	if err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// EndOverlap stops the previous secret of one of the user's keys now, and
// records ev. A key whose previous secret no longer works is ErrNoOverlap.
func (db *DB) EndOverlap(ctx context.Context, userID int64, publicID string, ev store.AuditEvent) (*store.APIKey, error) {
	now := millis(db.Now())
	k, err := db.updateKey(ctx, "end overlap", publicID, false, `UPDATE api_keys SET prev_until = ?, updated_at = ?
		WHERE public_id = ? AND user_id = ? AND prev_until > ? RETURNING `+keyColumns,
		ev, now, now, publicID, userID, now)
	if errors.Is(err, store.ErrNotFound) {
		if _, ownErr := db.KeyForUser(ctx, userID, publicID); ownErr == nil {
			return nil, fmt.Errorf("end overlap: %w", store.ErrNoOverlap)
		}
	}
	return k, err
}

// nullMillis stores a time, or NULL for the zero time.
func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return millis(t)
}

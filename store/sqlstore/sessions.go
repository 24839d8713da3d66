package sqlstore

import (
	"context"
	"fmt"
	"time"

	"keydesk/store"
)

// CreateSession records a new session, and ev with it (a sign-in, say; an
// event with no Action is not recorded). CreatedAt and LastSeenAt are set to
// now when zero.
func (db *DB) CreateSession(ctx context.Context, s *store.Session, ev store.AuditEvent) error {
	now := db.Now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = now
	}
	err := db.quietTx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.IDHash, s.UserID, s.Data, s.IP, s.UserAgent,
			millis(s.CreatedAt), millis(s.LastSeenAt), millis(s.ExpiresAt))
		if err != nil {
			return err
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session finds a session by its id hash, expired or not: the caller judges
// expiry, since it knows the idle timeout.
func (db *DB) Session(ctx context.Context, idHash string) (*store.Session, error) {
	s, err := scanSession(db.queryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE id_hash = ?`, idHash))
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return s, nil
}

// SessionWithUser finds a session by its id hash, expired or not, and its
// user, disabled or not, in one statement: what a signed-in request needs
// before anything else, so it is one round trip. The caller judges expiry
// and the account's state. A session never outlives its user (the row goes
// with the account, ON DELETE CASCADE), so a session without one is
// ErrNotFound like one that does not exist.
func (db *DB) SessionWithUser(ctx context.Context, idHash string) (*store.Session, *store.User, error) {
	var sf sessionFields
	var uf userFields
	err := scan(db.queryRow(ctx, `SELECT `+sessionColumnsAs("s.")+`, `+userColumnsAs("u.")+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`, idHash),
		sf.dest(), uf.dest()...)
	if err != nil {
		return nil, nil, fmt.Errorf("session with user: %w", err)
	}
	s, u := sf.session(), uf.user()
	return &s, &u, nil
}

// UpdateSessionData replaces the session's encoded values.
func (db *DB) UpdateSessionData(ctx context.Context, idHash string, data []byte) error {
	return db.execOne(ctx, "update session", `UPDATE sessions SET data = ? WHERE id_hash = ?`, data, idHash)
}

// TouchSession records activity on a session: when, and from where.
func (db *DB) TouchSession(ctx context.Context, idHash, ip, userAgent string) error {
	return db.execOne(ctx, "touch session",
		`UPDATE sessions SET last_seen_at = ?, ip = ?, user_agent = ? WHERE id_hash = ?`,
		millis(db.Now()), ip, userAgent, idHash)
}

// DeleteSession ends one session and records ev (a sign-out, say; an event
// with no Action is not recorded). Ending one that is already gone is not an
// error: the outcome is the same.
func (db *DB) DeleteSession(ctx context.Context, idHash string, ev store.AuditEvent) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
			return err
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSession ends one session of the user and records ev in the
// same transaction. The user is part of the query, so no one can end a
// session that is not theirs: an id hash of another user's session, or of
// none, is ErrNotFound and changes nothing.
func (db *DB) DeleteUserSession(ctx context.Context, userID int64, idHash string, ev store.AuditEvent) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = ? AND user_id = ?`, idHash, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("delete user session: %w", err)
	}
	return nil
}

// DeleteOtherSessions ends every session of the user but keep, records ev,
// and says how many it ended.
func (db *DB) DeleteOtherSessions(ctx context.Context, userID int64, keep string, ev store.AuditEvent) (int64, error) {
	var n int64
	err := db.quietTx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, keep)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return 0, fmt.Errorf("delete other sessions: %w", err)
	}
	return n, nil
}

// ActiveSessions lists the user's sessions seen since idleSince and not past
// their absolute end, most recently seen first.
func (db *DB) ActiveSessions(ctx context.Context, userID int64, idleSince time.Time) ([]*store.Session, error) {
	rows, err := db.query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND last_seen_at >= ? AND expires_at > ?
		ORDER BY last_seen_at DESC`, userID, millis(idleSince), millis(db.Now()))
	if err != nil {
		return nil, fmt.Errorf("active sessions: %w", err)
	}
	defer rows.Close()
	var out []*store.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("active sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("active sessions: %w", err)
	}
	return out, nil
}

// DeleteExpiredSessions removes sessions idle since before idleSince or past
// their absolute end.
func (db *DB) DeleteExpiredSessions(ctx context.Context, idleSince time.Time) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR expires_at <= ?`,
			millis(idleSince), millis(db.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete expired sessions: %w", err)
	}
	return nil
}

// execOne runs a write that must change exactly one row: none is ErrNotFound.
func (db *DB) execOne(ctx context.Context, what, query string, args ...any) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

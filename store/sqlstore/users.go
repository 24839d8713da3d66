package sqlstore

import (
	"context"
	"fmt"

	"keydesk/store"
)

// CreateUser adds an account with a fresh User ID and KALP ID. The email is
// stored in its canonical form (NormalizeEmail); one whose canonical form is
// taken is ErrConflict. Callers check it with AccountInput first.
// The event ev is recorded with it, its SubjectID set to the new user.
func (db *DB) CreateUser(ctx context.Context, nu store.NewUser, ev store.AuditEvent) (*store.User, error) {
	if nu.Role == "" {
		nu.Role = store.RoleUser
	}
	if nu.KYCStatus == "" {
		nu.KYCStatus = store.KYCNotStarted
	}
	now := millis(db.Now())
	var u *store.User
	err := db.tx(ctx, func(tx *txn) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `
			INSERT INTO users (public_id, name, email, password_hash, kalp_id, kyc_status, role, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+userColumns,
			store.NewUserPublicID(), nu.Name, store.NormalizeEmail(nu.Email), nu.PasswordHash,
			store.NewKALPID(), nu.KYCStatus, nu.Role, now, now))
		if err != nil {
			return err
		}
		ev.SubjectID = u.ID
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByEmail finds an account by email, compared in canonical form: in any
// case, composed or not.
func (db *DB) UserByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := scanUser(db.queryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = ?`, store.NormalizeEmail(email)))
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", err)
	}
	return u, nil
}

// UserByID finds an account by its internal id.
func (db *DB) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("user by id: %w", err)
	}
	return u, nil
}

// UpdateUser applies upd to the user and records ev with it.
func (db *DB) UpdateUser(ctx context.Context, id int64, upd store.UserUpdate, ev store.AuditEvent) (*store.User, error) {
	var u *store.User
	err := db.tx(ctx, func(tx *txn) error {
		before, err := userByIDTx(ctx, tx, id)
		if err != nil {
			return err
		}
		u, err = scanUser(tx.QueryRow(ctx, `
			UPDATE users SET
				name       = coalesce(?, name),
				kyc_status = coalesce(?, kyc_status),
				updated_at = ?
			WHERE id = ?
			RETURNING `+userColumns, upd.Name, upd.KYCStatus, millis(db.Now()), id))
		if err != nil {
			return err
		}
		if before.Name != u.Name {
			ev = withChange(ev, store.FieldName, before.Name, u.Name)
		}
		if before.KYCStatus != u.KYCStatus || upd.KYCStatus != nil {
			ev = withChange(ev, store.FieldKYC, string(before.KYCStatus), string(u.KYCStatus))
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// SetPassword replaces the user's password hash and, in the same
// transaction, ends every session of the user except keepSession (the id
// hash of the session that made the change; empty ends them all). It records
// ev with the change.
func (db *DB) SetPassword(ctx context.Context, userID int64, hash, keepSession string, ev store.AuditEvent) error {
	err := db.tx(ctx, func(tx *txn) error {
		res, err := tx.Exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			hash, millis(db.Now()), userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if _, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, keepSession); err != nil {
			return err
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// SetUserDisabled disables or enables an account and records ev. Disabling
// ends every session of the user in the same transaction; the user's keys
// stop answering while the account is disabled but keep their own status,
// so enabling the account restores each as it was. Disabling the last
// active admin is ErrLastAdmin.
func (db *DB) SetUserDisabled(ctx context.Context, id int64, disabled bool, ev store.AuditEvent) error {
	err := db.tx(ctx, func(tx *txn) error {
		if disabled {
			if err := ensureAnotherAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		before, err := userByIDTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before == nil {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`,
			disabled, millis(db.Now()), id); err != nil {
			return err
		}
		ev = withChange(ev, store.FieldStatus, userStatusFact(before.Disabled), userStatusFact(disabled))
		if disabled {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
				return err
			}
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("set user disabled: %w", err)
	}
	return nil
}

// userStatusFact is an account's status as facts record it.
func userStatusFact(disabled bool) string {
	if disabled {
		return store.FactDisabled
	}
	return store.FactEnabled
}

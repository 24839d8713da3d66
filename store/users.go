package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// KYCStatus is where a user stands in identity verification.
type KYCStatus string

// The KYC statuses, as stored.
const (
	KYCVerified   KYCStatus = "verified"
	KYCPending    KYCStatus = "pending"
	KYCNotStarted KYCStatus = "not_started"
	KYCRejected   KYCStatus = "rejected"
)

// Label is the status as the product names it.
func (s KYCStatus) Label() string {
	switch s {
	case KYCVerified:
		return "Verified"
	case KYCPending:
		return "Pending"
	case KYCRejected:
		return "Rejected"
	default:
		return "Not started"
	}
}

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// User is an account.
type User struct {
	ID           int64  // internal; never shown
	PublicID     string // the "User ID" users see, e.g. usr_3f9c…
	Name         string
	Email        string
	PasswordHash string // argon2id, PHC string form
	KALPID       string // the user's test-net ID
	KYCStatus    KYCStatus
	Role         Role
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// IsAdmin reports whether the user may use the admin pages.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin }

// NewUser is what CreateUser needs.
type NewUser struct {
	Name         string
	Email        string
	PasswordHash string
	Role         Role      // RoleUser when empty
	KYCStatus    KYCStatus // KYCNotStarted when empty
}

// NormalizeEmail is the form in which emails are compared: trimmed and
// lower-cased (the unique index is on lower(email) too).
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

const userColumns = `id, public_id, name, email, password_hash, kalp_id, kyc_status, role, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created, updated int64
	err := row.Scan(&u.ID, &u.PublicID, &u.Name, &u.Email, &u.PasswordHash, &u.KALPID,
		&u.KYCStatus, &u.Role, &u.Disabled, &created, &updated)
	if err != nil {
		return nil, translate(err)
	}
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &u, nil
}

// CreateUser adds an account with a fresh User ID and KALP ID. An email that
// is taken, in any case, is ErrConflict.
// The event ev is recorded with it, its SubjectID set to the new user.
func (db *DB) CreateUser(ctx context.Context, nu NewUser, ev AuditEvent) (*User, error) {
	if nu.Role == "" {
		nu.Role = RoleUser
	}
	if nu.KYCStatus == "" {
		nu.KYCStatus = KYCNotStarted
	}
	now := millis(db.Now())
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `
			INSERT INTO users (public_id, name, email, password_hash, kalp_id, kyc_status, role, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			RETURNING `+userColumns,
			"usr_"+randomHex(8), nu.Name, strings.TrimSpace(nu.Email), nu.PasswordHash,
			"tkalp"+randomHex(18), nu.KYCStatus, nu.Role, now, now))
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

// UserByEmail finds an account by email, whatever its case.
func (db *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(email) = ?`, NormalizeEmail(email)))
	if err != nil {
		return nil, fmt.Errorf("user by email: %w", err)
	}
	return u, nil
}

// UserByID finds an account by its internal id.
func (db *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("user by id: %w", err)
	}
	return u, nil
}

// UserUpdate changes some of a user's fields; a nil field is left as it is.
type UserUpdate struct {
	Name      *string
	KYCStatus *KYCStatus
}

// UpdateUser applies upd to the user and records ev with it.
func (db *DB) UpdateUser(ctx context.Context, id int64, upd UserUpdate, ev AuditEvent) (*User, error) {
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, `
			UPDATE users SET
				name       = coalesce(?, name),
				kyc_status = coalesce(?, kyc_status),
				updated_at = ?
			WHERE id = ?
			RETURNING `+userColumns, upd.Name, upd.KYCStatus, millis(db.Now()), id))
		if err != nil {
			return err
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
func (db *DB) SetPassword(ctx context.Context, userID int64, hash, keepSession string, ev AuditEvent) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`,
			hash, millis(db.Now()), userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, keepSession); err != nil {
			return err
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand
	return hex.EncodeToString(b)
}

// SetUserDisabled disables or enables an account and records ev. Disabling
// ends every session of the user in the same transaction; the user's keys
// stop answering while the account is disabled but keep their own status,
// so enabling the account restores each as it was. Disabling the last
// active admin is ErrLastAdmin.
func (db *DB) SetUserDisabled(ctx context.Context, id int64, disabled bool, ev AuditEvent) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if disabled {
			if err := ensureAnotherAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`,
			disabled, millis(db.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id); err != nil {
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

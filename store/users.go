package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
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

// NormalizeEmail is an email's canonical form: the one stored (under the
// unique index on users.email), shown, audited, and compared by every
// lookup. It is the address put in Unicode Normalization Form KC,
// lower-cased by Go, put in NFKC again (lower-casing can undo it), and
// trimmed (NFKC can make a space, from "¨" say).
//
// Why this form: Go lower-cases all of Unicode where SQLite's lower() knows
// only ASCII, so the folding happens here, once, and SQL compares plain
// strings. NFKC, rather than NFC, also folds compatibility look-alikes
// (fullwidth "ｋｉｍ", ligatures such as "ﬁ", the Kelvin sign U+212A, which
// NFC already maps to "K"), so each of these names the same account as its
// plain spelling instead of making a second one that looks identical.
// Go's simple lower-casing keeps "ß" and final "ς" as they are: they are
// letters of their own in IDNA2008 as well.
func NormalizeEmail(email string) string {
	return strings.TrimSpace(norm.NFKC.String(strings.ToLower(norm.NFKC.String(email))))
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

// CreateUser adds an account with a fresh User ID and KALP ID. The email is
// stored in its canonical form (NormalizeEmail); one whose canonical form is
// taken is ErrConflict. Callers check it with AccountInput first.
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
			"usr_"+randomHex(8), nu.Name, NormalizeEmail(nu.Email), nu.PasswordHash,
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

// UserByEmail finds an account by email, compared in canonical form: in any
// case, composed or not.
func (db *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = ?`, NormalizeEmail(email)))
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

// ActionEmailKept records an account whose stored email the migration to
// canonical emails could not change, because another account holds the
// canonical form.
const ActionEmailKept = "user.email_kept"

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
func (db *DB) canonicaliseStoredEmails(ctx context.Context, tx *sql.Tx) error {
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
		if NormalizeEmail(r.email) != r.email {
			todo = append(todo, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("canonical emails: %w", err)
	}
	for _, r := range todo {
		canon := NormalizeEmail(r.email)
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
			if err := db.audit(ctx, tx, AuditEvent{
				Actor: "migration", Action: ActionEmailKept, SubjectID: r.id, Target: r.publicID,
				Detail: fmt.Sprintf("email %s kept as it was: its canonical form %s belongs to %s", r.email, canon, holder),
			}); err != nil {
				return fmt.Errorf("canonical emails: %w", err)
			}
		}
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

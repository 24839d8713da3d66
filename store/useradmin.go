package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrLastAdmin refuses a change that would leave no active admin.
var ErrLastAdmin = errors.New("the last admin cannot be removed")

// UserFilter selects a page of users for the admin list.
type UserFilter struct {
	Query string // prefix of the email (compared in canonical form) or of the name, any case
	After string // the Next cursor of the previous page
	Limit int    // InventoryPageSize when 0
}

// UserRow is a user with the number of keys they hold.
type UserRow struct {
	User
	Keys int
}

// UserPage is one page of users, by email; Next is empty on the last.
type UserPage struct {
	Rows []UserRow
	Next string
}

// Users lists accounts by email, keyset-paginated on (email, id); emails
// are stored in canonical form, so the unique index serves the order.
func (db *DB) Users(ctx context.Context, f UserFilter) (UserPage, error) {
	if f.Limit <= 0 {
		f.Limit = InventoryPageSize
	}
	var where []string
	var args []any
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		email := NormalizeEmail(q)
		where = append(where, "((email >= ? AND email < ?) OR (lower(name) >= ? AND lower(name) < ?))")
		args = append(args, email, email+string(utf8.MaxRune), q, q+string(utf8.MaxRune))
	}
	if f.After != "" {
		email, id, err := decodeCursor(f.After, SortName)
		if err != nil {
			return UserPage{}, err
		}
		where = append(where, "(email, id) > (?, ?)")
		args = append(args, email, id)
	}
	query := `SELECT ` + userColumns + `, (SELECT count(*) FROM api_keys WHERE user_id = users.id), email FROM users`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY email, id LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return UserPage{}, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var page UserPage
	var lastEmail string
	for rows.Next() {
		var r UserRow
		var created, updated int64
		var email string
		if err := rows.Scan(&r.ID, &r.PublicID, &r.Name, &r.Email, &r.PasswordHash, &r.KALPID, &r.KYCStatus, &r.Role,
			&r.Disabled, &created, &updated, &r.Keys, &email); err != nil {
			return UserPage{}, fmt.Errorf("users: %w", err)
		}
		r.CreatedAt, r.UpdatedAt = fromMillis(created), fromMillis(updated)
		if len(page.Rows) == f.Limit {
			page.Next = encodeCursor(lastEmail, page.Rows[len(page.Rows)-1].ID)
			break
		}
		page.Rows = append(page.Rows, r)
		lastEmail = email
	}
	if err := rows.Err(); err != nil {
		return UserPage{}, fmt.Errorf("users: %w", err)
	}
	return page, nil
}

// UserByPublicID finds an account by its User ID.
func (db *DB) UserByPublicID(ctx context.Context, publicID string) (*User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE public_id = ?`, publicID))
	if err != nil {
		return nil, fmt.Errorf("user by public id: %w", err)
	}
	return u, nil
}

// SetUserRole grants or revokes the admin role and records ev. Revoking it
// from the last active admin is ErrLastAdmin.
func (db *DB) SetUserRole(ctx context.Context, id int64, role Role, ev AuditEvent) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if role != RoleAdmin {
			if err := ensureAnotherAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, millis(db.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return db.audit(ctx, tx, ev)
	})
	if err != nil {
		return fmt.Errorf("set user role: %w", err)
	}
	return nil
}

// ensureAnotherAdmin fails with ErrLastAdmin when user id is an active admin
// and no other active admin exists. It runs inside the write transaction,
// so two admins demoting each other at once cannot both succeed.
func ensureAnotherAdmin(ctx context.Context, tx *sql.Tx, id int64) error {
	var isActiveAdmin, others int
	err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM users WHERE id = ? AND role = 'admin' AND disabled = 0),
		(SELECT count(*) FROM users WHERE id <> ? AND role = 'admin' AND disabled = 0)`, id, id).Scan(&isActiveAdmin, &others)
	if err != nil {
		return err
	}
	if isActiveAdmin == 1 && others == 0 {
		return ErrLastAdmin
	}
	return nil
}

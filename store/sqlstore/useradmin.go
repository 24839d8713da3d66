package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"keydesk/store"
)

// Users lists accounts by email, keyset-paginated on (email, id); emails
// are stored in canonical form, so the unique index serves the order.
func (db *DB) Users(ctx context.Context, f store.UserFilter) (store.UserPage, error) {
	if f.Limit <= 0 {
		f.Limit = store.InventoryPageSize
	}
	var where []string
	var args []any
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		email := store.NormalizeEmail(q)
		where = append(where, "((email >= ? AND email < ?) OR (lower(name) >= ? AND lower(name) < ?))")
		args = append(args, email, email+string(utf8.MaxRune), q, q+string(utf8.MaxRune))
	}
	if f.After != "" {
		email, id, err := store.DecodeCursor(f.After, store.SortName)
		if err != nil {
			return store.UserPage{}, err
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
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return store.UserPage{}, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	var page store.UserPage
	var lastEmail string
	for rows.Next() {
		var uf userFields
		var r store.UserRow
		var email string
		if err := scan(rows, uf.dest(), &r.Keys, &email); err != nil {
			return store.UserPage{}, fmt.Errorf("users: %w", err)
		}
		r.User = uf.user()
		if len(page.Rows) == f.Limit {
			page.Next = store.EncodeCursor(lastEmail, page.Rows[len(page.Rows)-1].ID)
			break
		}
		page.Rows = append(page.Rows, r)
		lastEmail = email
	}
	if err := rows.Err(); err != nil {
		return store.UserPage{}, fmt.Errorf("users: %w", err)
	}
	return page, nil
}

// UserByPublicID finds an account by its User ID.
func (db *DB) UserByPublicID(ctx context.Context, publicID string) (*store.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE public_id = ?`, publicID))
	if err != nil {
		return nil, fmt.Errorf("user by public id: %w", err)
	}
	return u, nil
}

// SetUserRole grants or revokes the admin role and records ev. Revoking it
// from the last active admin is ErrLastAdmin.
func (db *DB) SetUserRole(ctx context.Context, id int64, role store.Role, ev store.AuditEvent) error {
	err := db.tx(ctx, func(tx *txn) error {
		if role != store.RoleAdmin {
			if err := ensureAnotherAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		res, err := tx.Exec(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, millis(db.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
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
func ensureAnotherAdmin(ctx context.Context, tx *txn, id int64) error {
	var isActiveAdmin, others int
	err := tx.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users WHERE id = ? AND role = ? AND disabled = ?),
		(SELECT count(*) FROM users WHERE id <> ? AND role = ? AND disabled = ?)`,
		id, store.RoleAdmin, false, id, store.RoleAdmin, false).Scan(&isActiveAdmin, &others)
	if err != nil {
		return err
	}
	if isActiveAdmin == 1 && others == 0 {
		return store.ErrLastAdmin
	}
	return nil
}

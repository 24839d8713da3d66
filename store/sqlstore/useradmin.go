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
	var where []string
	var args []any
	if q := strings.ToLower(strings.TrimSpace(f.Query)); q != "" {
		email := store.NormalizeEmail(q)
		mail, name := db.byteOrder("email"), db.byteOrder("lower(name)")
		where = append(where, "(("+mail+" >= ? AND "+mail+" < ?) OR ("+name+" >= ? AND "+name+" < ?))")
		args = append(args, email, email+string(utf8.MaxRune), q, q+string(utf8.MaxRune))
	}
	rows, next, err := page(ctx, db, keyset{
		selectFrom: `SELECT ` + userColumns + `, (SELECT count(*) FROM api_keys WHERE user_id = users.id) FROM users`,
		where:      where, args: args,
		sort: db.byteOrder("email"), id: "id", asc: true, kind: store.SortName,
		after: f.After, limit: f.Limit,
	}, func(row rowScanner) (store.UserRow, any, int64, error) {
		var uf userFields
		var r store.UserRow
		if err := scan(row, uf.dest(), &r.Keys); err != nil {
			return store.UserRow{}, nil, 0, err
		}
		r.User = uf.user()
		return r, r.Email, r.ID, nil
	})
	if err != nil {
		return store.UserPage{}, fmt.Errorf("users: %w", err)
	}
	return store.UserPage{Rows: rows, Next: next}, nil
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
		before, err := userByIDTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before == nil {
			return store.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, millis(db.Now()), id); err != nil {
			return err
		}
		return db.audit(ctx, tx, withChange(ev, store.FieldRole, string(before.Role), string(role)))
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

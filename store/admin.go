package store

import (
	"context"
	"fmt"
)

// AllKeys lists every user's keys with their owners, for the command line:
// by owner email (any case), then newest first as each user sees them. It is
// the whole inventory in one read, unpaged; the admin pages use KeyInventory.
func (db *DB) AllKeys(ctx context.Context) ([]InventoryRow, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT k.id, k.public_id, k.user_id, k.name, k.description, k.last4, k.enabled,
			k.created_at, k.updated_at, coalesce(k.last_used_at, 0), k.last_used_ip,
			u.id, u.name, u.email, u.disabled
		FROM api_keys AS k JOIN users AS u ON u.id = k.user_id
		ORDER BY lower(u.email), u.id, k.created_at DESC, k.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("all keys: %w", err)
	}
	defer rows.Close()
	var out []InventoryRow
	for rows.Next() {
		var r InventoryRow
		var created, updated, used int64
		if err := rows.Scan(&r.Key.ID, &r.Key.PublicID, &r.Key.UserID, &r.Key.Name, &r.Key.Description, &r.Key.Last4,
			&r.Key.Enabled, &created, &updated, &used, &r.Key.LastUsedIP,
			&r.OwnerID, &r.OwnerName, &r.OwnerEmail, &r.OwnerDisabled); err != nil {
			return nil, fmt.Errorf("all keys: %w", err)
		}
		r.Key.CreatedAt, r.Key.UpdatedAt = fromMillis(created), fromMillis(updated)
		if used != 0 {
			r.Key.LastUsedAt = fromMillis(used)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("all keys: %w", err)
	}
	return out, nil
}

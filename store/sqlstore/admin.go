package sqlstore

import (
	"context"
	"fmt"

	"keydesk/store"
)

// AllKeys lists every user's keys with their owners, for the command line:
// by owner email (canonical, so any case), then newest first as each user sees them. It is
// the whole inventory in one read, unpaged; the admin pages use KeyInventory.
func (db *DB) AllKeys(ctx context.Context) ([]store.InventoryRow, error) {
	rows, err := db.query(ctx, `SELECT `+inventoryColumns+`
		FROM api_keys AS k JOIN users AS u ON u.id = k.user_id
		ORDER BY `+db.byteOrder("u.email")+`, u.id, k.created_at DESC, k.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("all keys: %w", err)
	}
	defer rows.Close()
	var out []store.InventoryRow
	for rows.Next() {
		r, err := scanInventoryRow(rows)
		if err != nil {
			return nil, fmt.Errorf("all keys: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("all keys: %w", err)
	}
	return out, nil
}

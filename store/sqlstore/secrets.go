package sqlstore

import (
	"context"
	"fmt"
)

// Secret returns the application secret called name, creating it with
// generate() the first time. Every process sharing the database gets the
// same value: the first insert wins and the others read it back.
func (db *DB) Secret(ctx context.Context, name string, generate func() []byte) ([]byte, error) {
	var value []byte
	err := db.quietTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO app_secrets (name, value, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, generate(), millis(db.Now())); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM app_secrets WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return value, nil
}

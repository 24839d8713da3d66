package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"keydesk/store"
)

// RecordAudit appends an event to the audit log. At is set to now.
func (db *DB) RecordAudit(ctx context.Context, e store.AuditEvent) error {
	err := db.quietTx(ctx, func(tx *txn) error {
		return db.audit(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// audit records e inside tx, so that a change and its event commit together
// or not at all. An event with no Action is none: nothing is written.
func (db *DB) audit(ctx context.Context, tx *txn, e store.AuditEvent) error {
	if e.Action == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_events
		(at, actor_id, actor, action, subject_id, target, ip, user_agent, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		millis(db.Now()), nullID(e.ActorID), e.Actor, e.Action, nullID(e.SubjectID), e.Target, e.IP, e.UserAgent, e.Detail)
	return err
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

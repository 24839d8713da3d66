package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"keydesk/store"
)

// AuditLog lists events newest first, keyset-paginated on (at, id).
func (db *DB) AuditLog(ctx context.Context, f store.AuditFilter) (store.AuditPage, error) {
	if f.Limit <= 0 {
		f.Limit = store.InventoryPageSize
	}
	var where []string
	var args []any
	if f.Actor != "" {
		where = append(where, "lower(e.actor) = ?")
		args = append(args, strings.ToLower(strings.TrimSpace(f.Actor)))
	}
	if f.Action != "" {
		where = append(where, "e.action = ?")
		args = append(args, f.Action)
	}
	if !f.From.IsZero() {
		where = append(where, "e.at >= ?")
		args = append(args, millis(f.From))
	}
	if !f.Until.IsZero() {
		where = append(where, "e.at < ?")
		args = append(args, millis(f.Until))
	}
	if f.After != "" {
		at, id, err := store.DecodeCursor(f.After, store.SortCreated)
		if err != nil {
			return store.AuditPage{}, err
		}
		where = append(where, "(e.at, e.id) < (?, ?)")
		args = append(args, at, id)
	}
	query := `SELECT e.id, e.at, coalesce(e.actor_id, 0), e.actor, e.action, coalesce(e.subject_id, 0),
			coalesce(s.email, ''), e.target, e.ip, e.user_agent, e.detail
		FROM audit_events AS e LEFT JOIN users AS s ON s.id = e.subject_id`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY e.at DESC, e.id DESC LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var page store.AuditPage
	for rows.Next() {
		var e store.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.SubjectID, &e.Subject, &e.Target, &e.IP,
			&e.UserAgent, &e.Detail); err != nil {
			return store.AuditPage{}, fmt.Errorf("audit log: %w", err)
		}
		e.At = fromMillis(at)
		if len(page.Events) == f.Limit {
			last := page.Events[len(page.Events)-1]
			page.Next = store.EncodeCursor(millis(last.At), last.ID)
			break
		}
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	return page, nil
}

package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"keydesk/store"
)

// AuditLog lists events newest first, keyset-paginated on (at, id).
func (db *DB) AuditLog(ctx context.Context, f store.AuditFilter) (store.AuditPage, error) {
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
	if f.Key != "" {
		if !isKeyID(f.Key) {
			return store.AuditPage{}, nil // no key has such an id
		}
		where = append(where, "e.target = ?")
		args = append(args, f.Key)
	}
	if !f.From.IsZero() {
		where = append(where, "e.at >= ?")
		args = append(args, millis(f.From))
	}
	if !f.Until.IsZero() {
		where = append(where, "e.at < ?")
		args = append(args, millis(f.Until))
	}
	rows, next, err := page(ctx, db, keyset{
		selectFrom: `SELECT e.id, e.at, coalesce(e.actor_id, 0), e.actor, e.action, coalesce(e.subject_id, 0),
			coalesce(s.email, ''), e.target, e.ip, e.user_agent, e.detail, coalesce(e.facts, ''),
			coalesce(a.name, ''), coalesce(s.name, ''), coalesce(k.name, ''), coalesce(k.last4, '')
		FROM audit_events AS e LEFT JOIN users AS s ON s.id = e.subject_id
			LEFT JOIN users AS a ON a.id = e.actor_id
			LEFT JOIN api_keys AS k ON k.public_id = e.target`,
		where: where, args: args,
		sort: "e.at", id: "e.id", kind: store.SortCreated,
		after: f.After, limit: f.Limit,
	}, scanAuditEvent)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	return store.AuditPage{Events: rows, Next: next}, nil
}

// scanAuditEvent reads one event of AuditLog's query, with its (at, id).
func scanAuditEvent(row rowScanner) (store.AuditEvent, any, int64, error) {
	var e store.AuditEvent
	var at int64
	var facts string
	cur := &e.Current
	if err := row.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.SubjectID, &e.Subject, &e.Target, &e.IP,
		&e.UserAgent, &e.Detail, &facts, &cur.ActorName, &cur.SubjectName, &cur.KeyName, &cur.KeyLast4); err != nil {
		return store.AuditEvent{}, nil, 0, err
	}
	e.At = fromMillis(at)
	cur.SubjectEmail = e.Subject
	if facts != "" {
		// Facts the store wrote; one it cannot read is shown as none
		// rather than hiding the event.
		var f store.AuditFacts
		if json.Unmarshal([]byte(facts), &f) == nil {
			e.Facts = &f
		}
	}
	return e, at, e.ID, nil
}

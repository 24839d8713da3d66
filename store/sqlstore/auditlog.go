package sqlstore

import (
	"context"
	"database/sql"
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
	}, newAuditScanner().scan)
	if err != nil {
		return store.AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	return store.AuditPage{Events: rows, Next: next}, nil
}

// auditScanner reads the events of one AuditLog query, with their (at,
// id), into one set of destinations made for the query rather than one
// for each row; the facts are read into a buffer kept from row to row.
type auditScanner struct {
	e     store.AuditEvent
	at    int64
	facts sql.RawBytes
	dest  []any
}

func newAuditScanner() *auditScanner {
	s := &auditScanner{}
	e, cur := &s.e, &s.e.Current
	s.dest = []any{&e.ID, &s.at, &e.ActorID, &e.Actor, &e.Action, &e.SubjectID, &e.Subject, &e.Target, &e.IP,
		&e.UserAgent, &e.Detail, &s.facts, &cur.ActorName, &cur.SubjectName, &cur.KeyName, &cur.KeyLast4}
	return s
}

// scan reads one event of AuditLog's query, with its (at, id).
func (s *auditScanner) scan(row rowScanner) (store.AuditEvent, any, int64, error) {
	if err := row.Scan(s.dest...); err != nil {
		return store.AuditEvent{}, nil, 0, err
	}
	e := s.e
	e.At = fromMillis(s.at)
	e.Current.SubjectEmail = e.Subject
	if len(s.facts) > 0 {
		// Facts the store wrote; one it cannot read is shown as none
		// rather than hiding the event.
		var f store.AuditFacts
		if json.Unmarshal(s.facts, &f) == nil {
			e.Facts = &f
		}
	}
	return e, s.at, e.ID, nil
}

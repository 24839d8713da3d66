package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
// or not at all. An event with no Action is none: nothing is written. The
// event's facts are completed here, from the rows as the transaction sees
// them: the actor's and subject's names, the target key's name and last 4.
func (db *DB) audit(ctx context.Context, tx *txn, e store.AuditEvent) error {
	if e.Action == "" {
		return nil
	}
	tx.shown = true
	facts, err := completeFacts(ctx, tx, e)
	if err != nil {
		return err
	}
	encoded, err := json.Marshal(facts)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_events
		(at, actor_id, actor, action, subject_id, target, ip, user_agent, detail, facts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		millis(db.Now()), nullID(e.ActorID), e.Actor, e.Action, nullID(e.SubjectID), e.Target, e.IP, e.UserAgent, e.Detail,
		string(encoded))
	return err
}

// completeFacts is e's facts with what the caller left out read from the
// database in one query. A key already gone (a deletion's) keeps the name
// and last 4 its caller read before deleting it.
func completeFacts(ctx context.Context, tx *txn, e store.AuditEvent) (store.AuditFacts, error) {
	var f store.AuditFacts
	if e.Facts != nil {
		f = *e.Facts
	}
	keyID := ""
	if isKeyID(e.Target) && f.KeyName == "" {
		keyID = e.Target
	}
	if e.ActorID == 0 && e.SubjectID == 0 && keyID == "" {
		return f, nil
	}
	var actor, subject, email, keyName, last4 string
	err := tx.QueryRow(ctx, `SELECT
			coalesce((SELECT name FROM users WHERE id = ?), ''),
			coalesce((SELECT name FROM users WHERE id = ?), ''),
			coalesce((SELECT email FROM users WHERE id = ?), ''),
			coalesce((SELECT name FROM api_keys WHERE public_id = ?), ''),
			coalesce((SELECT last4 FROM api_keys WHERE public_id = ?), '')`,
		e.ActorID, e.SubjectID, e.SubjectID, keyID, keyID).Scan(&actor, &subject, &email, &keyName, &last4)
	if err != nil {
		return f, fmt.Errorf("audit facts: %w", err)
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&f.ActorName, actor)
	fill(&f.SubjectName, subject)
	fill(&f.SubjectEmail, email)
	fill(&f.KeyName, keyName)
	fill(&f.KeyLast4, last4)
	return f, nil
}

// isKeyID reports whether an event's target is a key's public id.
func isKeyID(target string) bool { return strings.HasPrefix(target, "key_") }

// keyFacts are the facts of an event about key k, with the changes from
// before (nil for a new key) to k. Status is always among them when
// status is true, changed or not: the event is a status change.
func keyFacts(before, k *store.APIKey, status bool, now time.Time) *store.AuditFacts {
	f := &store.AuditFacts{KeyName: k.Name, KeyLast4: k.Last4}
	if before == nil {
		return f
	}
	add := func(field, was, is string, always bool) {
		if was != is || always {
			f.Changes = append(f.Changes, store.AuditChange{Field: field, Before: was, After: is})
		}
	}
	add(store.FieldStatus, keyStatusFact(before, now), keyStatusFact(k, now), status)
	add(store.FieldName, before.Name, k.Name, false)
	add(store.FieldDescription, before.Description, k.Description, false)
	add(store.FieldSecret, before.Last4, k.Last4, false)
	add(store.FieldExpires, expiresFact(before.ExpiresAt), expiresFact(k.ExpiresAt), false)
	return f
}

func keyStatusFact(k *store.APIKey, now time.Time) string {
	switch {
	case k.DisabledByAdmin:
		return store.FactDisabledByAdmin
	case !k.Enabled:
		return store.FactDisabled
	case k.Expired(now):
		return store.FactExpired
	}
	return store.FactEnabled
}

// expiresFact is an expiry as facts record it: RFC 3339 in UTC, or "never".
func expiresFact(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// keyByPublicID reads a key inside tx, or nil when there is none: the
// state before a change, for its event's facts.
func keyByPublicID(ctx context.Context, tx *txn, publicID string) (*store.APIKey, error) {
	k, err := scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE public_id = ?`, publicID))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return k, nil
}

// userByIDTx reads an account inside tx, or nil when there is none.
func userByIDTx(ctx context.Context, tx *txn, id int64) (*store.User, error) {
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return u, nil
}

// withKeyFacts is ev with the facts of key k (see keyFacts) added to what
// its caller gave.
func withKeyFacts(ev store.AuditEvent, before, k *store.APIKey, status bool, now time.Time) store.AuditEvent {
	kf := keyFacts(before, k, status, now)
	if ev.Facts != nil {
		given := *ev.Facts
		given.KeyName, given.KeyLast4 = kf.KeyName, kf.KeyLast4
		given.Changes = append(given.Changes[:len(given.Changes):len(given.Changes)], kf.Changes...)
		kf = &given
	}
	ev.Facts = kf
	return ev
}

// withChange is ev with one more change in its facts.
func withChange(ev store.AuditEvent, field, before, after string) store.AuditEvent {
	f := store.AuditFacts{}
	if ev.Facts != nil {
		f = *ev.Facts
	}
	f.Changes = append(f.Changes[:len(f.Changes):len(f.Changes)], store.AuditChange{Field: field, Before: before, After: after})
	ev.Facts = &f
	return ev
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Audit actions. Each names what happened, to what.
const (
	ActionLogin           = "user.login"
	ActionLoginFailed     = "user.login_failed"
	ActionLogout          = "user.logout"
	ActionSignup          = "user.signup"
	ActionUserCreated     = "user.created"
	ActionNameChanged     = "user.name_changed"
	ActionPasswordChanged = "user.password_changed"
	ActionSessionsRevoked = "user.sessions_revoked"
	ActionKYCChanged      = "user.kyc_changed"
	ActionUserDisabled    = "user.disabled"
	ActionUserEnabled     = "user.enabled"
	ActionRoleChanged     = "user.role_changed"
)

// AuditEvent is one entry of the audit log: who did what, to whom, when and
// from where. It never holds a secret.
type AuditEvent struct {
	ID        int64
	At        time.Time
	ActorID   int64  // 0 when the actor is not a user (the CLI, say)
	Actor     string // the actor as shown: an email, or "cli"
	Action    string
	SubjectID int64  // the user the action was about, 0 if none
	Subject   string // read back only: the subject's email
	Target    string // what was acted on, e.g. a key's id
	IP        string
	UserAgent string
	Detail    string
}

// RecordAudit appends an event to the audit log. At is set to now.
func (db *DB) RecordAudit(ctx context.Context, e AuditEvent) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		return db.audit(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("record audit: %w", err)
	}
	return nil
}

// audit records e inside tx, so that a change and its event commit together
// or not at all. An event with no Action is none: nothing is written.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, e AuditEvent) error {
	if e.Action == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_events
		(at, actor_id, actor, action, subject_id, target, ip, user_agent, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		millis(db.Now()), nullID(e.ActorID), e.Actor, e.Action, nullID(e.SubjectID), e.Target, e.IP, e.UserAgent, e.Detail)
	return err
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

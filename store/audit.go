package store

import "time"

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
	ActionSessionRevoked  = "user.session_revoked"
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

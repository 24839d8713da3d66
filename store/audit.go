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
	// Facts are what the event was about as it was when it happened; the
	// store fills the names and keys in when it writes the event, and the
	// caller may give Changes the store cannot know. Nil when read back
	// from an event written before facts were kept.
	Facts *AuditFacts
	// Current is read back only: the names the actor, subject and target
	// key have today, for an event without Facts.
	Current AuditFacts
}

// AuditFacts describe an event's actor, subject and key at the time, and
// each value it changed. They never hold a secret: a key appears by its
// name and last 4 only.
type AuditFacts struct {
	ActorName    string        `json:"actor_name,omitempty"`
	SubjectName  string        `json:"subject_name,omitempty"`
	SubjectEmail string        `json:"subject_email,omitempty"`
	KeyName      string        `json:"key_name,omitempty"`
	KeyLast4     string        `json:"key_last4,omitempty"`
	Changes      []AuditChange `json:"changes,omitempty"`
}

// AuditChange is one value an event changed, before and after, as shown
// (a KYC status's label, a key's status).
type AuditChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Change fields of AuditChange.
const (
	FieldName        = "name"
	FieldKYC         = "kyc_status"
	FieldRole        = "role"
	FieldStatus      = "status"
	FieldDescription = "description"
	FieldSecret      = "secret"
	FieldExpires     = "expires"
)

// The statuses a FieldStatus change records: a key's, or an account's
// (enabled or disabled only).
const (
	FactEnabled         = "enabled"
	FactDisabled        = "disabled"
	FactDisabledByAdmin = "disabled_by_admin"
	FactExpired         = "expired"
)

// Change returns the change of field, and whether there is one.
func (f *AuditFacts) Change(field string) (AuditChange, bool) {
	if f == nil {
		return AuditChange{}, false
	}
	for _, c := range f.Changes {
		if c.Field == field {
			return c, true
		}
	}
	return AuditChange{}, false
}

package store

import (
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// KYCStatus is where a user stands in identity verification.
type KYCStatus string

// The KYC statuses, as stored.
const (
	KYCVerified   KYCStatus = "verified"
	KYCPending    KYCStatus = "pending"
	KYCNotStarted KYCStatus = "not_started"
	KYCRejected   KYCStatus = "rejected"
)

// Label is the status as the product names it.
func (s KYCStatus) Label() string {
	switch s {
	case KYCVerified:
		return "Verified"
	case KYCPending:
		return "Pending"
	case KYCRejected:
		return "Rejected"
	default:
		return "Not started"
	}
}

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// User is an account.
type User struct {
	ID           int64  // internal; never shown
	PublicID     string // the "User ID" users see, e.g. usr_3f9c…
	Name         string
	Email        string
	PasswordHash string // argon2id, PHC string form
	KALPID       string // the user's test-net ID
	KYCStatus    KYCStatus
	Role         Role
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// IsAdmin reports whether the user may use the admin pages.
func (u *User) IsAdmin() bool { return u.Role == RoleAdmin }

// NewUser is what CreateUser needs.
type NewUser struct {
	Name         string
	Email        string
	PasswordHash string
	Role         Role      // RoleUser when empty
	KYCStatus    KYCStatus // KYCNotStarted when empty
}

// NormalizeEmail is an email's canonical form: the one stored (under the
// unique index on users.email), shown, audited, and compared by every
// lookup. It is the address put in Unicode Normalization Form KC,
// lower-cased by Go, put in NFKC again (lower-casing can undo it), and
// trimmed (NFKC can make a space, from "¨" say).
//
// Why this form: Go lower-cases all of Unicode where SQLite's lower() knows
// only ASCII, so the folding happens here, once, and SQL compares plain
// strings. NFKC, rather than NFC, also folds compatibility look-alikes
// (fullwidth "ｋｉｍ", ligatures such as "ﬁ", the Kelvin sign U+212A, which
// NFC already maps to "K"), so each of these names the same account as its
// plain spelling instead of making a second one that looks identical.
// Go's simple lower-casing keeps "ß" and final "ς" as they are: they are
// letters of their own in IDNA2008 as well.
func NormalizeEmail(email string) string {
	return strings.TrimSpace(norm.NFKC.String(strings.ToLower(norm.NFKC.String(email))))
}

// UserUpdate changes some of a user's fields; a nil field is left as it is.
type UserUpdate struct {
	Name      *string
	KYCStatus *KYCStatus
}

// ActionEmailKept records an account whose stored email the migration to
// canonical emails could not change, because another account holds the
// canonical form.
const ActionEmailKept = "user.email_kept"

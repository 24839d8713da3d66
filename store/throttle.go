package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Sign-in attempts are counted per account, per client IP and per trusted
// device, in rows shared by every instance on the database. An attempt is
// counted before its password is checked, in the same write transaction that
// reads the count, so N parallel guesses cost at most the limit; a success,
// or a check that never ran, takes its rows back out. The account is kept as
// a hash of the normalised email as typed, and a device as a hash of its
// token: someone who types a password into the email field must not find it
// stored, and a copy of the table must not hold a usable device token.
const (
	ScopeAccount = "account"
	ScopeIP      = "ip"
	ScopeDevice  = "device"
)

// ErrLimited is what a claim answers when a subject has used its attempts
// for the window. Nothing was counted.
var ErrLimited = errors.New("too many attempts")

// LoginLimits is how many attempts each subject gets per Window.
type LoginLimits struct {
	Window  time.Duration
	Account int // attempts without a trusted device, per account
	IP      int // attempts without a trusted device, per client address
	Device  int // attempts with a trusted device, per device
}

// LoginAttempt is one counted attempt, to settle once its password is
// checked. The engine that counted it fills it in; callers only hand it
// back.
type LoginAttempt struct {
	Email  string  // as typed
	Device string  // the trusted device token, or ""
	Rows   []int64 // the engine's ids of the rows that count it
}

// LimitedSubject is one thing an attempt counts against, and its budget.
type LimitedSubject struct {
	Scope, Subject string
	Limit          int
}

// LoginSubjects says what a sign-in attempt for email from ip counts
// against. device is the token of a trusted device cookie that names this
// account, or "": a trusted device's attempts count against that device
// only, so that strangers who exhaust the account's and the address's
// attempts do not lock its owner out; the others count against the account
// and the address.
func LoginSubjects(email, ip, device string, lim LoginLimits) []LimitedSubject {
	if device != "" {
		return []LimitedSubject{{ScopeDevice, DeviceSubject(device), lim.Device}}
	}
	return []LimitedSubject{{ScopeAccount, AccountSubject(email), lim.Account}, {ScopeIP, ip, lim.IP}}
}

// AccountSubject is how an account is named in the attempt counts: a hash
// of its normalised email as typed.
func AccountSubject(email string) string {
	sum := sha256.Sum256([]byte(NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// DeviceSubject is how a trusted device is named in the attempt counts: a
// hash of its token, which is never stored.
func DeviceSubject(token string) string {
	sum := sha256.Sum256([]byte("device\x00" + token))
	return hex.EncodeToString(sum[:])
}

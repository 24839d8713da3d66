package views

import (
	"time"
)

// RegenerateForm is the Regenerate confirmation in a key's row: how long
// the old secret keeps working and the new expiry, with what the owner must
// know about the key before giving it a new secret.
type RegenerateForm struct {
	Overlap   string   // the overlap chosen: a value of Overlaps
	Overlaps  []Choice // store.Overlaps
	ExpiresIn string   // the Expiration chosen
	ExpiresOn string   // the Expiration date typed, YYYY-MM-DD
	Expiry    []Choice // the Expiration options the policy offers
	MinDate   string   // the earliest Expiration date, YYYY-MM-DD
	MaxDate   string   // the latest, "" for no limit
	Errors    map[string]string

	// Expired: the key is past its expiry; its old secret cannot overlap.
	Expired   bool
	ExpiresAt *Time // the key's expiry now; nil: never
	// StillWorking is the masked previous secret of an overlap still
	// running, which regenerating again stops at once; "" for none.
	StillWorking    string
	Enabled         bool
	DisabledByAdmin bool
}

// Choice is an option of a select or a radio group.
type Choice struct {
	Value string
	Label string
}

// Overlap is a key's previous secret while it still works.
type Overlap struct {
	Masked   string // kdk_…abcd
	Until    Time   // when it stops, Relative as "in 23 hours"
	LastUsed *Time  // nil: not used since the regeneration
}

// NewDeadline formats a moment to come, as seen at now: Relative reads
// "in 23 hours".
func NewDeadline(t, now time.Time) Time {
	v := NewTime(t, now)
	v.Relative = until(t, now)
	return v
}

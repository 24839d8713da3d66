package store

import (
	"errors"
	"time"
)

// MaxKeysPerUser is how many keys one account may hold.
const MaxKeysPerUser = 50

// ErrLimit is a create refused because the account holds MaxKeysPerUser keys.
var ErrLimit = errors.New("limit reached")

// ErrDisabledByAdmin is an owner's enable refused because an admin disabled
// the key: only an admin can enable it again.
var ErrDisabledByAdmin = errors.New("disabled by an admin")

// Audit actions on keys.
const (
	ActionKeyCreated  = "key.created"
	ActionKeyEnabled  = "key.enabled"
	ActionKeyDisabled = "key.disabled"
	ActionKeyEdited   = "key.edited"
	ActionKeyDeleted  = "key.deleted"
)

// APIKey is a key's metadata. The key itself is never stored.
type APIKey struct {
	ID          int64
	PublicID    string // key_…, the id in URLs and the API
	UserID      int64
	Name        string
	Description string
	Last4       string
	Enabled     bool
	// DisabledByAdmin: an admin disabled the key, and only an admin can
	// enable it again. Enabled is false whenever this is true.
	DisabledByAdmin bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastUsedAt      time.Time // zero: never used
	LastUsedIP      string

	// ExpiresAt is when the key stops working; zero never.
	ExpiresAt time.Time
	// Scopes are the key's scope names in the policy's order; nil holds
	// every scope (a key made before scopes existed).
	Scopes []string

	// The previous secret, after a regeneration: PrevLast4 is empty when
	// there is none. It works until PrevUntil (see InOverlap).
	PrevLast4      string
	PrevUntil      time.Time
	PrevLastUsedAt time.Time // zero: not used since the regeneration
}

// Masked is the key as shown after creation: kdk_…abcd.
func (k *APIKey) Masked() string { return MaskKey(k.Last4) }

// KeyUpdate changes some of a key's fields; a nil field is left as it is.
type KeyUpdate struct {
	Name        *string
	Description *string
}

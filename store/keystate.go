package store

import "time"

// KeyState is whether a key works now and, when it does not, the reason
// that matters most. Every surface that shows a key (its owner's table, its
// page, the admin inventory and its CSV, `keydesk keys list`, the JSON API)
// and every check of a presented key (KeyMatch.Check) takes it from
// EffectiveState, so none of them can call a key working that another
// refuses.
type KeyState string

// The effective states, as the CSV and the JSON API name them.
const (
	KeyEnabled         KeyState = "enabled"
	KeyDisabled        KeyState = "disabled"          // its owner's switch is off
	KeyDisabledByAdmin KeyState = "disabled_by_admin" // only an admin can enable it
	KeyExpired         KeyState = "expired"           // only a regeneration brings it back
	KeyOwnerDisabled   KeyState = "owner_disabled"    // its owner's account is disabled
)

// EffectiveState decides a key's state at now, with its owner disabled or
// not. A key may fail for several reasons at once; the state names the one
// furthest from its owner's reach, so that what it says is what stands in
// the way first: a disabled account stops every key of it, an admin's
// disable outlasts any switch its owner flips, an expired key no switch
// brings back, and only then its owner's own switch.
func EffectiveState(k *APIKey, ownerDisabled bool, now time.Time) KeyState {
	switch {
	case ownerDisabled:
		return KeyOwnerDisabled
	case k.DisabledByAdmin:
		return KeyDisabledByAdmin
	case k.Expired(now):
		return KeyExpired
	case !k.Enabled:
		return KeyDisabled
	}
	return KeyEnabled
}

// Works reports the one state in which a call with the key is let in (its
// scopes permitting).
func (s KeyState) Works() bool { return s == KeyEnabled }

// Label is the state as the pages show it.
func (s KeyState) Label() string {
	switch s {
	case KeyEnabled:
		return "Enabled"
	case KeyDisabled:
		return "Disabled"
	case KeyDisabledByAdmin:
		return "Disabled by an admin"
	case KeyExpired:
		return "Expired"
	case KeyOwnerDisabled:
		return "Owner disabled"
	}
	return string(s)
}

// Words is the state as `keydesk keys list` prints it: the code with
// spaces ("disabled by admin"), one cell a script can match.
func (s KeyState) Words() string {
	switch s {
	case KeyDisabledByAdmin:
		return "disabled by admin"
	case KeyOwnerDisabled:
		return "owner disabled"
	}
	return string(s)
}

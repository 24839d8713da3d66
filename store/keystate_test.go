package store

import (
	"testing"
	"time"
)

func TestEffectiveState(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	for _, tc := range []struct {
		name          string
		enabled       bool
		byAdmin       bool
		expires       time.Time
		ownerDisabled bool
		want          KeyState
		label, words  string
		verdict       string // what KeyMatch.Check answers a call with it
	}{
		{"enabled, never expires", true, false, time.Time{}, false, KeyEnabled, "Enabled", "enabled", VerdictValid},
		{"enabled, expires later", true, false, future, false, KeyEnabled, "Enabled", "enabled", VerdictValid},
		{"its owner switched it off", false, false, future, false, KeyDisabled, "Disabled", "disabled", VerdictDisabled},
		{"an admin disabled it", false, true, time.Time{}, false, KeyDisabledByAdmin, "Disabled by an admin", "disabled by admin", VerdictDisabled},
		{"expired at this instant", true, false, now, false, KeyExpired, "Expired", "expired", VerdictExpired},
		{"expired a second ago", true, false, past, false, KeyExpired, "Expired", "expired", VerdictExpired},
		{"owner disabled, key enabled", true, false, time.Time{}, true, KeyOwnerDisabled, "Owner disabled", "owner disabled", VerdictOwnerDisabled},
		// Several reasons: the one furthest from the owner's reach.
		{"expired and switched off: no switch brings it back", false, false, past, false, KeyExpired, "Expired", "expired", VerdictExpired},
		{"expired and disabled by an admin", false, true, past, false, KeyDisabledByAdmin, "Disabled by an admin", "disabled by admin", VerdictDisabled},
		{"switched off, owner disabled", false, false, time.Time{}, true, KeyOwnerDisabled, "Owner disabled", "owner disabled", VerdictOwnerDisabled},
		{"disabled by an admin, owner disabled", false, true, time.Time{}, true, KeyOwnerDisabled, "Owner disabled", "owner disabled", VerdictOwnerDisabled},
		{"expired, owner disabled", true, false, past, true, KeyOwnerDisabled, "Owner disabled", "owner disabled", VerdictOwnerDisabled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &APIKey{Enabled: tc.enabled, DisabledByAdmin: tc.byAdmin, ExpiresAt: tc.expires}
			got := EffectiveState(k, tc.ownerDisabled, now)
			if got != tc.want {
				t.Fatalf("EffectiveState = %q, want %q", got, tc.want)
			}
			if got.Works() != (tc.want == KeyEnabled) {
				t.Errorf("Works() = %v", got.Works())
			}
			if got.Label() != tc.label || got.Words() != tc.words {
				t.Errorf("Label %q, Words %q; want %q, %q", got.Label(), got.Words(), tc.label, tc.words)
			}
			m := KeyMatch{Key: k, Owner: &User{Disabled: tc.ownerDisabled}}
			if v, _ := m.Check(now); v != tc.verdict {
				t.Errorf("Check = %s, want %s", v, tc.verdict)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"keydesk/store"
)

// runEnv runs the program with these environment variables.
func runEnv(t *testing.T, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, env(vars), strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

// keys create takes --scopes and --expires-in with the web form's defaults
// and checks (store.KeyTerms.Resolve), under the operator's policy from
// the environment; the owner's role decides keys:verify.
func TestKeysCreateExpiryAndScopes(t *testing.T) {
	f := newAdminFixture(t)
	uma := f.user(t, "uma@example.com", store.RoleUser)
	f.user(t, "ada@example.com", store.RoleAdmin)
	demo := map[string]string{"KEYDESK_DEMO": "true"}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	create := func(vars map[string]string, email, name string, flags ...string) (*store.APIKey, string, error) {
		t.Helper()
		_, errOut, err := runEnv(t, vars, append([]string{"keys", "create", "--db", f.path, "--email", email, "--name", name}, flags...)...)
		if err != nil {
			return nil, errOut, err
		}
		u, _ := f.db.UserByEmail(context.Background(), email)
		keys, _ := f.db.KeysForUser(context.Background(), u.ID)
		for _, k := range keys {
			if k.Name == name {
				return k, errOut, nil
			}
		}
		t.Fatalf("no key %q made", name)
		return nil, "", nil
	}

	t.Run("no flags: 30 days and every scope but keys:verify, printed", func(t *testing.T) {
		before := time.Now()
		k, errOut, err := create(demo, "uma@example.com", "defaults")
		if err != nil {
			t.Fatal(err)
		}
		if d := k.ExpiresAt.Sub(before); d < 30*24*time.Hour-time.Second || d > 30*24*time.Hour+time.Minute {
			t.Errorf("expires %v from now, want 30 days", d)
		}
		want := []string{"profile:read", "keys:read", "payments:read", "payments:write", "customers:read", "webhooks:manage"}
		if !slices.Equal(k.Scopes, want) {
			t.Errorf("scopes %v, want %v", k.Scopes, want)
		}
		if !strings.Contains(errOut, "Expires: "+k.ExpiresAt.UTC().Format(time.RFC3339)) ||
			!strings.Contains(errOut, "Scopes: "+strings.Join(want, ",")) {
			t.Errorf("stderr does not state the expiry and scopes:\n%s", errOut)
		}
	})
	t.Run("chosen scopes, a date, never", func(t *testing.T) {
		date := today.AddDate(0, 0, 45)
		k, errOut, err := create(demo, "uma@example.com", "dated", "--scopes", "payments:read, customers:read", "--expires-in", date.Format(time.DateOnly))
		if err != nil {
			t.Fatal(err)
		}
		if !k.ExpiresAt.Equal(date) || !slices.Equal(k.Scopes, []string{"payments:read", "customers:read"}) {
			t.Errorf("got %v %v, want %v at 00:00 UTC and payments:read,customers:read", k.ExpiresAt, k.Scopes, date)
		}
		if !strings.Contains(errOut, "Expires: "+date.Format(time.RFC3339)) {
			t.Errorf("stderr: %s", errOut)
		}
		k, errOut, err = create(nil, "uma@example.com", "forever", "--expires-in", "never", "--scopes", "profile:read")
		if err != nil {
			t.Fatal(err)
		}
		if !k.ExpiresAt.IsZero() || !strings.Contains(errOut, "Expires: never") {
			t.Errorf("never: %v, %s", k.ExpiresAt, errOut)
		}
		if k, _, err = create(nil, "uma@example.com", "a week", "--expires-in", "7"); err != nil || k.ExpiresAt.Sub(time.Now()) > 7*24*time.Hour {
			t.Errorf("7 days: %v, %v", k, err)
		}
	})
	t.Run("keys:verify only for an admin's own key", func(t *testing.T) {
		if k, _, err := create(nil, "ada@example.com", "gateway", "--scopes", "keys:verify"); err != nil || !slices.Equal(k.Scopes, []string{"keys:verify"}) {
			t.Errorf("admin: %v, %v", k, err)
		}
	})
	sixty := today.AddDate(0, 0, 60).Format(time.DateOnly)
	t.Run("within the operator's maximum lifetime", func(t *testing.T) {
		if _, _, err := create(map[string]string{"KEYDESK_MAX_KEY_LIFETIME": "90"}, "uma@example.com", "sixty", "--expires-in", sixty); err != nil {
			t.Error(err)
		}
	})

	for _, tc := range []struct {
		name  string
		vars  map[string]string
		email string
		flags []string
		msg   string
	}{
		{"no scope at all", nil, "uma@example.com", []string{"--scopes", ""}, "keys create: --scopes: Choose at least one permission."},
		{"a scope not offered", nil, "uma@example.com", []string{"--scopes", "payments:read"},
			`keys create: --scopes: "payments:read" is not a scope this platform offers.`},
		{"keys:verify for a user", nil, "uma@example.com", []string{"--scopes", "profile:read,keys:verify"},
			"keys create: --scopes: Only an admin can grant keys:verify."},
		{"never under a maximum", map[string]string{"KEYDESK_MAX_KEY_LIFETIME": "90"}, "uma@example.com", []string{"--expires-in", "never"},
			"keys create: --expires-in: Keys must expire within 90 days."},
		{"a preset beyond the maximum", map[string]string{"KEYDESK_MAX_KEY_LIFETIME": "90"}, "uma@example.com", []string{"--expires-in", "365"},
			"keys create: --expires-in: Keys must expire within 90 days."},
		{"a date beyond the maximum", map[string]string{"KEYDESK_MAX_KEY_LIFETIME": "30"}, "uma@example.com", []string{"--expires-in", sixty},
			"keys create: --expires-in: Choose a date within 30 days"},
		{"a date that has passed", nil, "uma@example.com", []string{"--expires-in", "2001-01-01"},
			"keys create: --expires-in: Choose a date from tomorrow on."},
		{"a duration not offered", nil, "uma@example.com", []string{"--expires-in", "45"},
			`keys create: --expires-in: "45" is not 7, 30, 90, 365, never or a date (YYYY-MM-DD)`},
		{"the form's custom", nil, "uma@example.com", []string{"--expires-in", "custom"},
			`keys create: --expires-in: "custom" is not 7, 30, 90, 365, never or a date (YYYY-MM-DD)`},
		{"a broken maximum", map[string]string{"KEYDESK_MAX_KEY_LIFETIME": "soon"}, "uma@example.com", nil,
			`KEYDESK_MAX_KEY_LIFETIME: "soon" is not a number of days`},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			before := f.eventCount(t)
			keys, _ := f.db.KeysForUser(context.Background(), uma.ID)
			_, _, err := create(tc.vars, tc.email, "refused "+tc.name, tc.flags...)
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (exit %d), want exit 2 with %q", err, exitCode(err), tc.msg)
			}
			after, _ := f.db.KeysForUser(context.Background(), uma.ID)
			if len(after) != len(keys) || f.eventCount(t) != before {
				t.Error("a refused create changed something")
			}
		})
	}
}

// keys list shows each key's expiry and scopes, and an expired key's
// status says so.
func TestKeysListExpiryAndScopes(t *testing.T) {
	f := newAdminFixture(t)
	amy := f.user(t, "amy@example.com", store.RoleUser)
	legacy, _ := f.key(t, amy, "legacy")
	date := time.Date(2031, 3, 1, 0, 0, 0, 0, time.UTC)
	dated, _, err := f.db.CreateKey(context.Background(), amy.ID, store.NewKey{Name: "dated", Scopes: []string{"profile:read", "keys:read"}, ExpiresAt: date}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, err := f.db.CreateKey(context.Background(), amy.ID, store.NewKey{Name: "gone", Scopes: []string{"profile:read"}, ExpiresAt: time.Now().Add(-time.Hour)}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "", "keys", "list", "--db", f.path, "--email", "amy@example.com")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if h := strings.Fields(lines[0]); !slices.Equal(h[len(h)-2:], []string{"EXPIRES", "SCOPES"}) {
		t.Errorf("header: %q", lines[0])
	}
	line := func(k *store.APIKey) []string {
		for _, l := range lines {
			if strings.HasPrefix(l, k.PublicID) {
				return strings.Fields(l)
			}
		}
		t.Fatalf("no line for %s:\n%s", k.Name, out)
		return nil
	}
	tail := func(k *store.APIKey) string {
		fields := line(k)
		return strings.Join(fields[len(fields)-2:], " ")
	}
	if got := tail(legacy); got != "never all" {
		t.Errorf("legacy: %q", got)
	}
	if got := tail(dated); got != "2031-03-01T00:00:00Z profile:read,keys:read" {
		t.Errorf("dated: %q", got)
	}
	if l := strings.Join(line(gone), " "); !strings.Contains(l, " expired ") {
		t.Errorf("an expired key's status: %q", l)
	}
}

package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"keydesk/store"
)

// policyFlags are the operator's key policy: the scopes its platform's API
// understands (--scopes, KEYDESK_SCOPES) and the longest a key may live
// (--max-key-lifetime, KEYDESK_MAX_KEY_LIFETIME, in days). serve takes
// them as flags; the other commands from the environment alone, where
// `keys create --scopes` names a key's own scopes instead.
type policyFlags struct {
	scopes, maxLifetime *string
}

func addPolicyFlags(fs *flag.FlagSet, getenv func(string) string) policyFlags {
	return policyFlags{
		scopes: fs.String("scopes", getenv("KEYDESK_SCOPES"),
			"the scopes keys may hold, comma-separated name or name:Description entries (KEYDESK_SCOPES)"),
		maxLifetime: fs.String("max-key-lifetime", getenv("KEYDESK_MAX_KEY_LIFETIME"),
			"the longest a key may live, in days; empty: no limit (KEYDESK_MAX_KEY_LIFETIME)"),
	}
}

// envPolicy is the policy from the environment alone.
func envPolicy(getenv func(string) string, demo bool) (store.KeyPolicy, error) {
	return parsePolicy(getenv("KEYDESK_SCOPES"), getenv("KEYDESK_MAX_KEY_LIFETIME"), demo, "KEYDESK_")
}

func (p policyFlags) policy(demo bool) (store.KeyPolicy, error) {
	return parsePolicy(*p.scopes, *p.maxLifetime, demo, "--")
}

// parsePolicy reads the two settings; names prefixes the setting named in
// an error ("--" for flags, "KEYDESK_" for the environment). Demo mode adds
// a few realistic platform scopes to the operator's.
func parsePolicy(scopes, maxLifetime string, demo bool, names string) (store.KeyPolicy, error) {
	name := func(flag string) string {
		if names == "--" {
			return "--" + flag
		}
		return "KEYDESK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
	}
	if demo {
		scopes = store.DemoScopes + "," + scopes
	}
	var p store.KeyPolicy
	var err error
	if p.Scopes, err = store.ParseScopes(scopes); err != nil {
		return store.KeyPolicy{}, usageError{name("scopes") + ": " + err.Error()}
	}
	if maxLifetime = strings.TrimSpace(maxLifetime); maxLifetime != "" {
		days, err := strconv.Atoi(maxLifetime)
		if err != nil || days < 1 || days > 100*365 {
			return store.KeyPolicy{}, usageError{fmt.Sprintf("%s: %q is not a number of days from 1 to 36500", name("max-key-lifetime"), maxLifetime)}
		}
		p.MaxLifetime = days
	}
	return p, nil
}

package main

import (
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"keydesk/store"
)

// The expiry and scopes of `keydesk keys create` (contract v2): the same
// defaults and checks as the web form, through store.KeyTerms.Resolve,
// under the operator's policy from the environment.

// cliDate is the shape of a date given to --expires-in.
var cliDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// cliTerms reads --scopes and --expires-in. --scopes not given at all
// takes the default scopes; given, even empty, it names them all.
// --expires-in takes what the form's Expiration offers, with a date in
// place of "custom"; whether the operator allows it is Resolve's to say.
func cliTerms(fs *flag.FlagSet, scopes, expiresIn string) (store.KeyTerms, error) {
	terms := store.KeyTerms{ExpiresIn: strings.TrimSpace(expiresIn)}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "scopes" {
			terms.ScopesGiven = true
		}
	})
	for s := range strings.SplitSeq(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			terms.Scopes = append(terms.Scopes, s)
		}
	}
	in := terms.ExpiresIn
	days, err := strconv.Atoi(in)
	if in != "" && in != "never" && !cliDate.MatchString(in) && (err != nil || !slices.Contains(store.ExpiryPresets, days)) {
		return store.KeyTerms{}, usageError{fmt.Sprintf("keys create: --expires-in: %q is not 7, 30, 90, 365, never or a date (YYYY-MM-DD)", in)}
	}
	return terms, nil
}

// cliPolicy is the operator's key policy for the commands other than
// serve: KEYDESK_SCOPES, KEYDESK_MAX_KEY_LIFETIME, and KEYDESK_DEMO's
// scopes, as the server they share a database with would have them.
func cliPolicy(getenv func(string) string) (store.KeyPolicy, error) {
	demo, err := parseBool(orEmpty(getenv("KEYDESK_DEMO"), "false"))
	if err != nil {
		return store.KeyPolicy{}, usageError{"KEYDESK_DEMO: " + err.Error()}
	}
	return envPolicy(getenv, demo)
}

// invalidTerms words Resolve's refusals after the flags that carry them.
func invalidTerms(errs store.FieldErrors) error {
	var msgs []string
	for _, f := range []struct{ field, flag string }{
		{"expires_in", "--expires-in"}, {"expires_on", "--expires-in"}, {"scopes", "--scopes"},
	} {
		if msg, ok := errs[f.field]; ok {
			msgs = append(msgs, f.flag+": "+msg)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return usageError{"keys create: " + strings.Join(msgs, "; ")}
}

// expiryText is a key's expiry on the command line: RFC 3339 in UTC, or
// "never".
func expiryText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// scopesText is a key's scopes on the command line: comma-separated, or
// "all" for a key made before scopes existed.
func scopesText(k *store.APIKey) string {
	if k.AllScopes() {
		return "all"
	}
	return strings.Join(k.Scopes, ",")
}

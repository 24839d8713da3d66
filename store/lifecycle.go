package store

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The key lifecycle (contract v2): a key may expire, holds a set of scopes,
// and can be regenerated with an overlap during which its previous secret
// still works. Keys made before v2 never expire and hold every scope.

// Audit actions of the lifecycle.
const (
	ActionKeyRegenerated = "key.regenerated"
	ActionKeyOverlapEnd  = "key.overlap_ended"
)

// ErrExpired is an enable refused because the key has expired: only a
// regeneration brings it back.
var ErrExpired = errors.New("key expired")

// ErrNoOverlap is an end of overlap asked of a key whose previous secret no
// longer works (or that never had one).
var ErrNoOverlap = errors.New("no overlap to end")

// Keydesk's own scopes, always offered.
const (
	ScopeProfileRead = "profile:read" // GET /api/v1/me
	ScopeKeysRead    = "keys:read"    // GET /api/v1/keys
	ScopeKeysVerify  = "keys:verify"  // POST /api/v1/keys/verify, for admins' keys only
)

// Scope is a permission a key may hold.
type Scope struct {
	Name        string
	Description string
	// AdminOnly: only an admin may grant it, and only to their own keys.
	// It is never checked by default.
	AdminOnly bool
}

// BuiltinScopes are the scopes Keydesk's own API checks.
var BuiltinScopes = []Scope{
	{Name: ScopeProfileRead, Description: "Read your profile: GET /api/v1/me"},
	{Name: ScopeKeysRead, Description: "List your API keys, never their secrets: GET /api/v1/keys"},
	{Name: ScopeKeysVerify, Description: "Verify other callers' keys for the platform's services: POST /api/v1/keys/verify", AdminOnly: true},
}

// DemoScopes are the platform scopes demo mode adds, as a real platform's
// operator would name them.
const DemoScopes = "payments:read:Read payments and refunds," +
	"payments:write:Create payments and refunds," +
	"customers:read:Read customer records," +
	"webhooks:manage:Create and delete webhook endpoints"

var scopeName = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// ParseScopes reads an operator's scope list (--scopes): comma-separated
// "name" or "name:Description" entries. The name ends at the first colon
// followed by a character that cannot be in a name (a capital, a space…),
// so "payments:read" is a name and "payments:read:Read payments" a name and
// its description. It returns the built-in scopes followed by the
// operator's, each once.
func ParseScopes(spec string) ([]Scope, error) {
	out := slices.Clone(BuiltinScopes)
	seen := map[string]bool{}
	for _, s := range out {
		seen[s.Name] = true
	}
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, desc := splitScope(entry)
		if !scopeName.MatchString(name) {
			return nil, fmt.Errorf("scope %q: a name is a lower-case letter, then up to 63 of a-z 0-9 _ . : -", name)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, Scope{Name: name, Description: strings.TrimSpace(desc)})
	}
	return out, nil
}

// splitScope cuts "name:Description" at the first colon whose next
// segment (up to another colon, or the end) could not continue a name.
func splitScope(entry string) (name, desc string) {
	for i := strings.IndexByte(entry, ':'); i >= 0; {
		rest := entry[i+1:]
		segment, _, more := strings.Cut(rest, ":")
		if !scopeSegment.MatchString(segment) {
			return entry[:i], rest
		}
		if !more {
			break
		}
		i += 1 + len(segment)
	}
	return entry, ""
}

var scopeSegment = regexp.MustCompile(`^[a-z0-9_.-]+$`)

// ExpiryPresets are the Expiration choices in days, in the order offered.
var ExpiryPresets = []int{7, 30, 90, 365}

// DefaultExpiryDays is the preselected Expiration.
const DefaultExpiryDays = 30

// ExpiresSoon is how close to its expiry a key is announced.
const ExpiresSoon = 7 * 24 * time.Hour

// Overlaps are the Regenerate choices for how long the previous secret
// keeps working, by form value.
var Overlaps = []struct {
	Value string
	Label string
	D     time.Duration
}{
	{"0", "Stop it now", 0},
	{"1h", "1 hour", time.Hour},
	{"24h", "24 hours", 24 * time.Hour},
	{"7d", "7 days", 7 * 24 * time.Hour},
}

// ParseOverlap reads an overlap form value.
func ParseOverlap(v string) (time.Duration, bool) {
	for _, o := range Overlaps {
		if o.Value == v {
			return o.D, true
		}
	}
	return 0, false
}

// KeyPolicy is what the operator allows keys to be.
type KeyPolicy struct {
	Scopes []Scope // BuiltinScopes first; see ParseScopes
	// MaxLifetime is the longest a key may live, in days; 0 is no limit.
	MaxLifetime int
}

// Scope finds a scope by name.
func (p KeyPolicy) Scope(name string) (Scope, bool) {
	i := slices.IndexFunc(p.Scopes, func(s Scope) bool { return s.Name == name })
	if i < 0 {
		return Scope{}, false
	}
	return p.Scopes[i], true
}

// Offered are the scopes a user may grant: every one for an admin, all
// but the admin-only ones for anyone else.
func (p KeyPolicy) Offered(admin bool) []Scope {
	var out []Scope
	for _, s := range p.Scopes {
		if admin || !s.AdminOnly {
			out = append(out, s)
		}
	}
	return out
}

// DefaultScopes are the names checked on a new form: every offered scope
// but the admin-only ones.
func (p KeyPolicy) DefaultScopes() []string {
	var out []string
	for _, s := range p.Scopes {
		if !s.AdminOnly {
			out = append(out, s.Name)
		}
	}
	return out
}

// ExpiryPresetsOffered are the presets within MaxLifetime.
func (p KeyPolicy) ExpiryPresetsOffered() []int {
	var out []int
	for _, d := range ExpiryPresets {
		if p.MaxLifetime == 0 || d <= p.MaxLifetime {
			out = append(out, d)
		}
	}
	return out
}

// NeverOffered reports whether "No expiration" may be chosen.
func (p KeyPolicy) NeverOffered() bool { return p.MaxLifetime == 0 }

// DefaultExpiresIn is the preselected Expiration: 30 days, or the longest
// preset the maximum allows, or a custom date when none fits.
func (p KeyPolicy) DefaultExpiresIn() string {
	presets := p.ExpiryPresetsOffered()
	if slices.Contains(presets, DefaultExpiryDays) {
		return strconv.Itoa(DefaultExpiryDays)
	}
	if len(presets) > 0 {
		return strconv.Itoa(presets[len(presets)-1])
	}
	return "custom"
}

// KeyTerms are a key's expiry and scopes as typed: the create and
// regenerate forms (expires_in, expires_on, scopes), and `keydesk keys
// create` (--expires-in, which also takes a date, and --scopes).
type KeyTerms struct {
	ExpiresIn string // "7", "30", "90", "365", "never", "custom", or (CLI) a YYYY-MM-DD date; "" is the default
	ExpiresOn string // YYYY-MM-DD, with ExpiresIn "custom"
	// Scopes are the names chosen; ScopesGiven false (no scopes field at
	// all) takes the defaults, so that a first-contract client that posts
	// only name and description still makes a working key.
	Scopes      []string
	ScopesGiven bool
}

// Resolve checks the terms against the policy, for a key made at now by a
// user who is an admin or not. It returns the expiry (zero: never) and the
// scopes in the policy's order, or the sentence to show by field:
// "expires_in", "expires_on", "scopes".
func (t KeyTerms) Resolve(p KeyPolicy, now time.Time, admin bool) (time.Time, []string, FieldErrors) {
	errs := FieldErrors{}
	expires := t.expiry(p, now, errs)
	scopes := t.scopes(p, admin, errs)
	if len(errs) > 0 {
		return time.Time{}, nil, errs
	}
	return expires, scopes, errs
}

func (t KeyTerms) expiry(p KeyPolicy, now time.Time, errs FieldErrors) time.Time {
	in, on := strings.TrimSpace(t.ExpiresIn), strings.TrimSpace(t.ExpiresOn)
	if in == "" {
		in = p.DefaultExpiresIn()
	}
	if len(in) == len("2006-01-02") && strings.Count(in, "-") == 2 {
		in, on = "custom", in
	}
	switch in {
	case "never":
		if !p.NeverOffered() {
			errs.add("expires_in", fmt.Sprintf("Keys must expire within %s.", days(p.MaxLifetime)))
			return time.Time{}
		}
		return time.Time{}
	case "custom":
		if on == "" {
			errs.add("expires_on", "Choose the date the key expires.")
			return time.Time{}
		}
		date, err := time.Parse("2006-01-02", on)
		if err != nil {
			errs.add("expires_on", "Enter a date as YYYY-MM-DD.")
			return time.Time{}
		}
		today := now.UTC().Truncate(24 * time.Hour)
		if !date.After(today) {
			errs.add("expires_on", "Choose a date from tomorrow on.")
			return time.Time{}
		}
		if p.MaxLifetime > 0 && date.After(today.AddDate(0, 0, p.MaxLifetime)) {
			errs.add("expires_on", fmt.Sprintf("Choose a date within %s (by %s).", days(p.MaxLifetime),
				today.AddDate(0, 0, p.MaxLifetime).Format("2 Jan 2006")))
			return time.Time{}
		}
		return date
	}
	n, err := strconv.Atoi(in)
	if err != nil || !slices.Contains(ExpiryPresets, n) {
		errs.add("expires_in", "Choose one of the expiration options.")
		return time.Time{}
	}
	if p.MaxLifetime > 0 && n > p.MaxLifetime {
		errs.add("expires_in", fmt.Sprintf("Keys must expire within %s.", days(p.MaxLifetime)))
		return time.Time{}
	}
	return now.Add(time.Duration(n) * 24 * time.Hour)
}

func (t KeyTerms) scopes(p KeyPolicy, admin bool, errs FieldErrors) []string {
	if !t.ScopesGiven {
		return p.DefaultScopes()
	}
	chosen := map[string]bool{}
	for _, name := range t.Scopes {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		s, ok := p.Scope(name)
		if !ok {
			errs.add("scopes", fmt.Sprintf("%q is not a scope this platform offers.", name))
			return nil
		}
		if s.AdminOnly && !admin {
			errs.add("scopes", fmt.Sprintf("Only an admin can grant %s.", name))
			return nil
		}
		chosen[name] = true
	}
	if len(chosen) == 0 {
		errs.add("scopes", "Choose at least one permission.")
		return nil
	}
	var out []string
	for _, s := range p.Scopes {
		if chosen[s.Name] {
			out = append(out, s.Name)
		}
	}
	return out
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// NewKey is a key to create. Scopes nil holds every scope, as keys made
// before scopes existed; ExpiresAt zero never expires.
type NewKey struct {
	Name, Description string
	Scopes            []string
	ExpiresAt         time.Time
}

// Expired reports whether the key's expiry has come at now: it is refused
// from that very instant.
func (k *APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// ExpiresWithin reports a key that has not expired but will within d.
func (k *APIKey) ExpiresWithin(now time.Time, d time.Duration) bool {
	return !k.ExpiresAt.IsZero() && !k.Expired(now) && k.ExpiresAt.Sub(now) <= d
}

// HasScope reports whether the key holds the scope. A key made before
// scopes existed holds every one; an admin-only scope also needs its owner
// to be an admin now.
func (k *APIKey) HasScope(name string, owner *User) bool {
	if name == ScopeKeysVerify && (owner == nil || owner.Role != RoleAdmin) {
		return false
	}
	return k.Scopes == nil || slices.Contains(k.Scopes, name)
}

// AllScopes reports a key made before scopes existed.
func (k *APIKey) AllScopes() bool { return k.Scopes == nil }

// InOverlap reports whether the previous secret still works at now.
func (k *APIKey) InOverlap(now time.Time) bool {
	return k.PrevLast4 != "" && now.Before(k.PrevUntil)
}

// KeyMatch is a key found by one of its secrets, with its owner.
type KeyMatch struct {
	Key   *APIKey
	Owner *User
	// Previous: the secret presented is the key's previous one (see
	// RegenerateKey), not its current one.
	Previous bool
}

// Verdicts of a presented key, as the verify API names them.
const (
	VerdictValid             = "VALID"
	VerdictMalformed         = "MALFORMED"
	VerdictNotFound          = "NOT_FOUND"
	VerdictDisabled          = "DISABLED"
	VerdictExpired           = "EXPIRED"
	VerdictOwnerDisabled     = "OWNER_DISABLED"
	VerdictInsufficientScope = "INSUFFICIENT_SCOPE"
)

// PrevLast4 is the last 4 of the previous secret when that is the one
// presented, or "".
func (m KeyMatch) PrevLast4() string {
	if !m.Previous {
		return ""
	}
	return m.Key.PrevLast4
}

// Check says whether the key found works at now for a call that needs
// every scope in need (its state is EffectiveState's): the verdict (VerdictValid, or why not, as the verify
// API names it) and the result its recent use records. A previous secret
// whose overlap has ended is EXPIRED: it stopped working at a set time.
func (m KeyMatch) Check(now time.Time, need ...string) (verdict, result string) {
	switch EffectiveState(m.Key, m.Owner.Disabled, now) {
	case KeyOwnerDisabled:
		return VerdictOwnerDisabled, UseOwnerDisabled
	case KeyDisabled, KeyDisabledByAdmin:
		return VerdictDisabled, UseDisabled
	case KeyExpired:
		return VerdictExpired, UseExpired
	}
	if m.Previous && !m.Key.InOverlap(now) {
		return VerdictExpired, UseOverlapEnded
	}
	for _, s := range need {
		if !m.Key.HasScope(s, m.Owner) {
			return VerdictInsufficientScope, UseInsufficientScope
		}
	}
	return VerdictValid, UseOK
}

// Results of a key's use, as its recent use lists them.
const (
	UseOK                = "ok"
	UseDisabled          = "disabled"
	UseExpired           = "expired"
	UseOverlapEnded      = "overlap_ended"
	UseInsufficientScope = "insufficient_scope"
	UseOwnerDisabled     = "owner_disabled"
)

// KeyUse is one call made with a key.
type KeyUse struct {
	KeyID     int64
	At        time.Time
	ClientIP  string
	UserAgent string
	Route     string // e.g. "GET /api/v1/me"
	Result    string // UseOK or a refusal
	// Previous: made with the key's previous secret, the one whose last
	// four characters are PrevLast4 (so that a use buffered across a
	// second regeneration is not taken for the newer previous secret's).
	Previous  bool
	PrevLast4 string
	// SetsLastUsed: the call becomes the key's Last Used, unless the
	// stored one is within LastUsedEvery of it. The caller sets it on at
	// most one successful call of the current secret per key and interval,
	// so that steady calls cost no write.
	SetsLastUsed bool
}

// LastUsedEvery is how often a key's stored Last Used is written while
// the key is in steady use. A write waits for the next batch, a second at
// most, so the stored time stays within 30 seconds of the latest call.
const LastUsedEvery = 29 * time.Second

// OK reports a use that succeeded.
func (u KeyUse) OK() bool { return u.Result == UseOK }

// KeyUseDay is how many calls a key took on one UTC day.
type KeyUseDay struct {
	Day         time.Time // midnight UTC
	OK, Refused int
}

// RecentUses is how many of a key's last calls are kept and shown.
const RecentUses = 50

// UseRetention is how long recent use is kept.
const UseRetention = 30 * 24 * time.Hour

// MaxUserAgentLen and MaxRouteLen bound what a recorded use keeps.
const (
	MaxUserAgentLen = 256
	MaxRouteLen     = 128
)

// UseBatch gathers the uses an instance records between two writes: the
// last RecentUses of each key in detail, every use counted by key and UTC
// day, each key's latest use of its previous secret, and the calls that
// set Last Used. It holds the uses of at most maxKeys keys, so its memory
// is bounded whatever the load; a use of one more key is dropped and
// counted in Dropped.
type UseBatch struct {
	// Uses are each key's calls, oldest first: read them with Recent, as
	// Add keeps up to twice RecentUses to drop the older half at once
	// rather than shift every call.
	Uses    map[int64][]KeyUse
	Tallies map[KeyDay]*KeyUseDay
	// PreviousUsed is the latest successful use of each key's previous
	// secret, with that secret's last 4.
	PreviousUsed map[int64]PreviousUse
	// LastUsed is each key's latest call that sets its Last Used.
	LastUsed map[int64]LastUse
	Dropped  int
	maxKeys  int
}

// PreviousUse is when a key's previous secret was last used, and which.
type PreviousUse struct {
	At    time.Time
	Last4 string
}

// LastUse is a call written as its key's Last Used: when, and from where.
type LastUse struct {
	At time.Time
	IP string
}

// KeyDay is a key and a UTC day (midnight), a tally's identity.
type KeyDay struct {
	KeyID int64
	Day   time.Time
}

// NewUseBatch makes an empty batch of at most maxKeys keys.
func NewUseBatch(maxKeys int) *UseBatch {
	return &UseBatch{Uses: map[int64][]KeyUse{}, Tallies: map[KeyDay]*KeyUseDay{},
		PreviousUsed: map[int64]PreviousUse{}, LastUsed: map[int64]LastUse{}, maxKeys: maxKeys}
}

// Add records one use, or drops it when the batch is full of other keys.
func (b *UseBatch) Add(u KeyUse) {
	// A call that sets Last Used is kept past the bound: only a working
	// key's call does, at most once per LastUsedEvery, so these are as
	// many as the keys in use, and Last Used stays true when the recent
	// use is dropped.
	if last := b.LastUsed[u.KeyID]; u.SetsLastUsed && u.OK() && !u.Previous && u.At.After(last.At) {
		b.LastUsed[u.KeyID] = LastUse{At: u.At, IP: u.ClientIP}
	}
	recent, known := b.Uses[u.KeyID]
	if !known && len(b.Uses) >= b.maxKeys {
		b.Dropped++
		return
	}
	u.UserAgent = truncate(u.UserAgent, MaxUserAgentLen)
	u.Route = truncate(u.Route, MaxRouteLen)
	if len(recent) == 2*RecentUses {
		recent = append(recent[:0], recent[RecentUses:]...)
	}
	b.Uses[u.KeyID] = append(recent, u)
	day := KeyDay{u.KeyID, u.At.UTC().Truncate(24 * time.Hour)}
	t := b.Tallies[day]
	if t == nil {
		t = &KeyUseDay{Day: day.Day}
		b.Tallies[day] = t
	}
	if u.OK() {
		t.OK++
		if last := b.PreviousUsed[u.KeyID]; u.Previous && u.At.After(last.At) {
			b.PreviousUsed[u.KeyID] = PreviousUse{At: u.At, Last4: u.PrevLast4}
		}
	} else {
		t.Refused++
	}
}

// Recent are the key's last RecentUses calls in the batch, oldest first.
func (b *UseBatch) Recent(keyID int64) []KeyUse {
	uses := b.Uses[keyID]
	return uses[max(0, len(uses)-RecentUses):]
}

// Len is how many keys the batch holds uses of.
func (b *UseBatch) Len() int { return len(b.Uses) }

// Empty reports a batch with nothing to write.
func (b *UseBatch) Empty() bool { return len(b.Uses) == 0 && len(b.LastUsed) == 0 }

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

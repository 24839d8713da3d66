package views

import (
	"math"
	"strconv"
	"time"
)

// The create flow's expiry and permissions, and how a key's expiry is
// shown wherever it appears: the confirmation, the key shown once, the
// Expires column and the notice of keys about to expire.

// Expiry is when a key stops working, as seen at a moment.
type Expiry struct {
	Never   bool // the key never expires
	Expired bool // the moment has come: the key is refused
	Soon    bool // it has not expired, but will within store.ExpiresSoon
	// At is the expiry: Relative reads "in 12 days" before it and
	// "3 days ago" after it; Exact is for the hover and the summaries.
	At Time
}

// NewExpiry describes an expiry at (zero: never) as seen at now; soon is
// how close counts as about to expire.
func NewExpiry(at, now time.Time, soon time.Duration) Expiry {
	if at.IsZero() {
		return Expiry{Never: true}
	}
	e := Expiry{At: NewTime(at, now), Expired: !now.Before(at)}
	if !e.Expired {
		e.At.Relative = until(at, now)
		e.Soon = at.Sub(now) <= soon
	}
	return e
}

// until is how far off a moment to come is, as people say it: rounded to
// the nearest unit, so a key made a moment ago to last 30 days expires
// "in 30 days", not "in 29", and an overlap of 24 hours chosen a moment
// ago ends "in 24 hours". Each unit holds until the next one rounds to 1
// of it, and days last to 99, so the 90-day expiry reads in days.
func until(t, now time.Time) string {
	d := t.Sub(now)
	in := func(n float64, unit string) string {
		r := int(math.Max(1, math.Round(n)))
		if r == 1 {
			return "in 1 " + unit
		}
		return "in " + strconv.Itoa(r) + " " + unit + "s"
	}
	const day = 24 * time.Hour
	switch {
	case d < 30*time.Second:
		return "in less than a minute"
	case d < 59*time.Minute+30*time.Second:
		return in(d.Minutes(), "minute")
	case d < 47*time.Hour+30*time.Minute:
		return in(d.Hours(), "hour")
	case d < 99*day+12*time.Hour:
		return in(float64(d)/float64(day), "day")
	case d < 360*day:
		return in(d.Hours()/24/30.44, "month")
	default:
		return in(d.Hours()/24/365.25, "year")
	}
}

// ExpiringKey is a key the notice at the top of the page announces.
type ExpiringKey struct {
	ID      string
	Name    string
	Expires Expiry
}

// KeyTermsForm is the create form's Expiration and Permissions: what is
// offered, what is chosen. Their errors are in the KeyForm's, under
// "expires_in", "expires_on" and "scopes".
type KeyTermsForm struct {
	ExpiresIn    string // the chosen option: "7", "30", "90", "365", "never" or "custom"
	ExpiresOn    string // YYYY-MM-DD, for "custom"
	Presets      []int  // the day counts offered
	NeverOffered bool
	MinDate      string // tomorrow, YYYY-MM-DD (UTC)
	MaxDate      string // the operator's longest lifetime from today; "" when none
	Scopes       []ScopeOption
}

// ScopeOption is a permission as the form offers it, or as a summary
// lists it.
type ScopeOption struct {
	Name        string
	Description string
	AdminOnly   bool
	Checked     bool
}

// KeySummary is what a key will be, or is: its expiry and its scopes.
type KeySummary struct {
	Expires Expiry
	Scopes  []ScopeOption
}

// Usage is the example call shown with a new key.
type Usage struct {
	Command string // curl …, with the key in it
	// Note explains when the example would be refused: a key without
	// Keydesk's own scopes.
	Note string
}

// presetLabel names an Expiration preset.
func presetLabel(days int) string {
	if days == 365 {
		return "1 year"
	}
	return strconv.Itoa(days) + " days"
}

// errorID is id when errs holds an error for field, else "".
func errorID(errs map[string]string, field, id string) string {
	if errs[field] != "" {
		return id
	}
	return ""
}

// dateHint explains the Expiration date's bounds.
func dateHint(t KeyTermsForm) string {
	h := "The key stops working at 00:00 UTC on that date, at the earliest tomorrow"
	if t.MaxDate != "" {
		if d, err := time.Parse(time.DateOnly, t.MaxDate); err == nil {
			h += ", at the latest " + d.Format("2 Jan 2006")
		}
	}
	return h + "."
}

func expiringTitle(n int) string {
	if n == 1 {
		return "1 key expires within 7 days"
	}
	return strconv.Itoa(n) + " keys expire within 7 days"
}

// termsFocus is the Expiration or Permissions field a refused form puts
// focus on: the first one in error, when the name and description are
// fine; "" leaves focus on the Key name.
func termsFocus(errs map[string]string) string {
	if errs["name"] != "" || errs["description"] != "" || errs["form"] != "" {
		return ""
	}
	for _, f := range []string{"expires_in", "expires_on", "scopes"} {
		if errs[f] != "" {
			return f
		}
	}
	return ""
}

// firstChoice is the first Expiration option offered.
func firstChoice(t KeyTermsForm) string {
	switch {
	case len(t.Presets) > 0:
		return strconv.Itoa(t.Presets[0])
	case t.NeverOffered:
		return "never"
	}
	return "custom"
}

package views

import (
	"html"
	"math"
	"strconv"
	"strings"
	"time"
)

// The admin inventory's share of the key lifecycle: each key's expiry and
// scopes in its row, and the filters by them.

// InventoryExpiry is when a key stops working, as the inventory shows it
// at a moment.
type InventoryExpiry struct {
	Never   bool // the key never expires
	Expired bool // the moment has come: the key is refused
	Soon    bool // not expired, but will be within store.ExpiresSoon
	// At is the expiry; its Relative reads "in 12 days" until it comes.
	At Time
}

// NewInventoryExpiry describes the expiry at (zero: never) as seen at now;
// soon is how close counts as about to expire.
func NewInventoryExpiry(at, now time.Time, soon time.Duration) InventoryExpiry {
	if at.IsZero() {
		return InventoryExpiry{Never: true}
	}
	e := InventoryExpiry{At: NewTime(at, now), Expired: !now.Before(at)}
	if !e.Expired {
		e.At.Relative = relativeUntil(at, now)
		e.Soon = at.Sub(now) <= soon
	}
	return e
}

// relativeUntil is how far off a future moment is, rounded to the nearest
// unit, so a key made a moment ago to last 30 days reads "in 30 days".
func relativeUntil(t, now time.Time) string {
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
	case d < time.Minute:
		return "in less than a minute"
	case d < time.Hour:
		return in(d.Minutes(), "minute")
	case d < 48*time.Hour:
		return in(d.Hours(), "hour")
	case d < 100*day:
		return in(d.Hours()/24, "day")
	case d < 360*day:
		return in(d.Hours()/24/30.44, "month")
	default:
		return in(d.Hours()/24/365.25, "year")
	}
}

// inventoryNote is what an inventory row's switch says instead of Enabled
// or Disabled. An expired key says so first: neither its owner nor an
// admin can enable it, whoever disabled it.
func inventoryNote(r InventoryRowView) string {
	if r.Expires.Expired {
		return "Expired"
	}
	return keyNote(r.Enabled, r.DisabledByAdmin, r.OwnerDisabled)
}

// breakableScope is a scope's name as HTML, escaped, with a <wbr> after
// each colon but a last one.
func breakableScope(name string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(name, ':')
		if i < 0 || i == len(name)-1 {
			b.WriteString(html.EscapeString(name))
			return b.String()
		}
		b.WriteString(html.EscapeString(name[:i+1]) + "<wbr>")
		name = name[i+1:]
	}
}

// scopesInline is how many scopes a row lists in full; a key with more
// shows their count, which opens the list.
const scopesInline = 1

package views

import (
	"strconv"
	"strings"
	"time"
)

// KeyPageView is a key's own page, GET /settings/api-keys/{id}, and the
// same page an admin opens from the inventory (Owner set).
type KeyPageView struct {
	Page
	Key KeyDetails
	// Owner is the key's owner, shown to an admin; nil on the owner's own
	// page.
	Owner *KeyOwner
	Uses  []KeyUseRow // newest first, at most 50
	Chart UseChart
}

// Admin reports the admin's view of someone's key.
func (v KeyPageView) Admin() bool { return v.Owner != nil }

// KeyDetails are what the page says of the key itself.
type KeyDetails struct {
	ID          string
	Name        string
	Description string
	Masked      string
	Status      KeyStatus
	Created     Time
	LastUsed    *Time // nil: never used
	LastUsedIP  string
	// Expires is nil for a key that never expires; Expired says whether
	// that time has come.
	Expires *Time
	Expired bool
	// ExpiresIn is the relative time to the expiry ("in 12 days").
	ExpiresIn string
	Scopes    []ScopeView
	// AllScopes: a key made before scopes existed, which holds every one.
	AllScopes bool
	// Previous is the secret a regeneration replaced, while it is known.
	Previous *PreviousSecret
}

// ScopeView is a scope the key holds.
type ScopeView struct {
	Name        string
	Description string
}

// PreviousSecret is a regenerated key's old secret.
type PreviousSecret struct {
	Masked   string
	Until    Time   // when it stops (or stopped) working
	UntilIn  string // "in 23 hours", while it works
	Working  bool   // the overlap has not ended
	LastUsed *Time  // its last successful call since the regeneration; nil for none
}

// KeyOwner is the owner of a key, as an admin sees them.
type KeyOwner struct {
	Name     string
	Email    string
	UserID   string // the public User ID
	Disabled bool
}

// KeyUseRow is one call made with the key.
type KeyUseRow struct {
	At        Time
	ClientIP  string
	UserAgent string
	Route     string
	Result    string // a label: OK, Disabled, Expired, …
	OK        bool
}

// UseChart is a key's calls per UTC day, oldest day first, successes and
// refusals apart: the chart on the key's page and the table beside it.
type UseChart struct {
	Days []ChartDay
}

// ChartDay is one UTC day of calls.
type ChartDay struct {
	Day         time.Time // midnight UTC
	OK, Refused int
}

// Total is the day's calls.
func (d ChartDay) Total() int { return d.OK + d.Refused }

// The chart's geometry. It is drawn in CSS pixels vertically and in
// percentages of its width horizontally, so it fills any width (a phone's
// or a desktop's) without stretching its text, and needs no script.
const (
	chartPlotTop    = 22  // room for the top axis label
	chartPlotHeight = 150 // the bars' full height
	chartAxisHeight = 26  // the day labels under the bars
	chartHeight     = chartPlotTop + chartPlotHeight + chartAxisHeight
	chartBarShare   = 0.64 // of a day's slot, the rest is gap
	chartMinBar     = 2.0  // px: a day with calls shows, however few
)

// FromNow is a time to come, seen at now: "in 12 days", "in 3 hours", or
// "now" once it has come.
func FromNow(t, now time.Time) string {
	if !t.After(now) {
		return "now"
	}
	return until(t, now)
}

// Totals are the calls of every day: successful and refused.
func (c UseChart) Totals() (ok, refused int) {
	for _, d := range c.Days {
		ok += d.OK
		refused += d.Refused
	}
	return ok, refused
}

// Empty reports a chart without a single call.
func (c UseChart) Empty() bool {
	ok, refused := c.Totals()
	return ok+refused == 0
}

func (c UseChart) okTotal() int {
	ok, _ := c.Totals()
	return ok
}

func (c UseChart) refusedTotal() int {
	_, refused := c.Totals()
	return refused
}

// slotX and slotWidth are day i's whole column, which takes the pointer
// for its tooltip.
func (c UseChart) slotX(i int) string { return pct(100 / float64(len(c.Days)) * float64(i)) }

func (c UseChart) slotWidth() string { return pct(100 / float64(len(c.Days))) }

// lastCallsTitle heads the list of calls.
func lastCallsTitle(n int) string {
	if n == 1 {
		return "The last call"
	}
	return "Last " + strconv.Itoa(n) + " calls"
}

// Busiest is the day with the most calls (the latest of equals); ok false
// when no day has any.
func (c UseChart) Busiest() (ChartDay, bool) {
	var best ChartDay
	found := false
	for _, d := range c.Days {
		if d.Total() > 0 && d.Total() >= best.Total() {
			best, found = d, true
		}
	}
	return best, found
}

// Scale is the value at the top of the chart: the busiest day's calls
// rounded up to a number whose half is a whole number too (the middle
// grid line), and at least 4.
func (c UseChart) Scale() int {
	peak := 0
	for _, d := range c.Days {
		peak = max(peak, d.Total())
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 4, 5, 6, 8} {
			s := m * p
			if s >= peak && s >= 4 && s%2 == 0 {
				return s
			}
		}
	}
}

// chartBar is one day's bar: its slot across, the heights of its two
// stacked parts in pixels, and where each starts from the top.
type chartBar struct {
	Day                ChartDay
	X, Width           string // percentages
	OKY, OKHeight      string
	RefusedY, RefusedH string
	Label              string // the tooltip: "2 Dec: 12 successful, 1 refused"
}

// barHeight is v calls in pixels against scale; a day with any calls is at
// least chartMinBar high, so a single refusal among thousands is seen.
func barHeight(v, scale int) float64 {
	if v <= 0 {
		return 0
	}
	return max(float64(v)*chartPlotHeight/float64(scale), chartMinBar)
}

// bars lays the days out.
func (c UseChart) bars() []chartBar {
	n := len(c.Days)
	if n == 0 {
		return nil
	}
	scale := c.Scale()
	slot := 100 / float64(n)
	base := float64(chartPlotTop + chartPlotHeight)
	out := make([]chartBar, n)
	for i, d := range c.Days {
		ok, refused := barHeight(d.OK, scale), barHeight(d.Refused, scale)
		out[i] = chartBar{
			Day:      d,
			X:        pct(slot*float64(i) + slot*(1-chartBarShare)/2),
			Width:    pct(slot * chartBarShare),
			OKY:      px(base - ok),
			OKHeight: px(ok),
			RefusedY: px(base - ok - refused),
			RefusedH: px(refused),
			Label:    d.Day.UTC().Format("Mon 2 Jan") + ": " + calls(d.OK, "successful") + ", " + count(d.Refused) + " refused",
		}
	}
	return out
}

// chartTick is a label under the bars.
type chartTick struct {
	X      string
	Anchor string // text-anchor
	Text   string
}

// ticks label every 7th day back from the last, which is today; today's
// label ends at the chart's right edge, so it is not cut off.
func (c UseChart) ticks() []chartTick {
	n := len(c.Days)
	slot := 100 / float64(n)
	var out []chartTick
	for i := n - 1; i >= 0; i -= 7 {
		t := chartTick{X: pct(slot*float64(i) + slot/2), Anchor: "middle", Text: c.Days[i].Day.UTC().Format("2 Jan")}
		if i == n-1 {
			t.X, t.Anchor = "100%", "end"
		}
		out = append([]chartTick{t}, out...)
	}
	return out
}

// chartLine is a horizontal grid line with its value.
type chartLine struct {
	Y, LabelY string
	Text      string
}

// gridLines are at zero, half the scale and the scale.
func (c UseChart) gridLines() []chartLine {
	scale := c.Scale()
	base := float64(chartPlotTop + chartPlotHeight)
	var out []chartLine
	for _, v := range []int{scale, scale / 2, 0} {
		y := base - float64(v)*chartPlotHeight/float64(scale)
		out = append(out, chartLine{Y: px(y), LabelY: px(y + 4), Text: compact(v)})
	}
	return out
}

// Summary is the chart in a sentence, for its text alternative.
func (c UseChart) Summary() string {
	ok, refused := c.Totals()
	if ok+refused == 0 {
		return "No calls in the last " + strconv.Itoa(len(c.Days)) + " days."
	}
	s := calls(ok+refused, "") + " in the last " + strconv.Itoa(len(c.Days)) + " days: " +
		count(ok) + " successful, " + count(refused) + " refused."
	if b, found := c.Busiest(); found {
		s += " The busiest day was " + b.Day.UTC().Format("2 Jan") + ", with " + calls(b.Total(), "") + "."
	}
	return s
}

// calls is "1 call", "1,000 calls", or with an adjective "3 successful".
func calls(n int, adjective string) string {
	if adjective != "" {
		return count(n) + " " + adjective
	}
	if n == 1 {
		return "1 call"
	}
	return count(n) + " calls"
}

// count writes n with thousands separators: 12,345.
func count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// compact is an axis value in at most four characters: 800, 2.5k, 10k, 1M.
func compact(n int) string {
	switch {
	case n < 1000:
		return strconv.Itoa(n)
	case n < 1_000_000:
		return strconv.FormatFloat(float64(n)/1000, 'f', -1, 64) + "k"
	default:
		return strconv.FormatFloat(float64(n)/1_000_000, 'f', -1, 64) + "M"
	}
}

func pct(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) + "%" }

func px(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

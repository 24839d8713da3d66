package views

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chartDays is 30 UTC days ending on the day of last, with the given
// counts by index from the oldest; the other days are empty.
func chartDays(last time.Time, counts map[int][2]int) UseChart {
	first := last.UTC().Truncate(24*time.Hour).AddDate(0, 0, -29)
	c := UseChart{}
	for i := range 30 {
		d := ChartDay{Day: first.AddDate(0, 0, i)}
		d.OK, d.Refused = counts[i][0], counts[i][1]
		c.Days = append(c.Days, d)
	}
	return c
}

func renderChart(t *testing.T, c UseChart) string {
	t.Helper()
	var b strings.Builder
	if err := UseChartFigure(c).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// bar is one drawn rect of the chart: its day, kind, value and height.
type bar struct {
	day, kind string
	value     int
	y, height float64
	x, width  string
}

var (
	dayGroup = regexp.MustCompile(`(?s)<g class="chart__day" data-day="([0-9-]+)">(.*?)</g>`)
	barRect  = regexp.MustCompile(`<rect class="chart__(ok|refused)" x="([0-9.]+%)" width="([0-9.]+%)" y="([0-9.]+)" height="([0-9.]+)" data-value="([0-9]+)">`)
	tableRow = regexp.MustCompile(`(?s)<tr data-day="([0-9-]+)"><th scope="row" data-label="Day \(UTC\)">[^<]*</th><td data-label="Successful">([0-9,]+)</td><td data-label="Refused">([0-9,]+)</td></tr>`)
)

// bars reads every drawn bar of a rendered chart.
func bars(t *testing.T, html string) (groups int, out []bar) {
	t.Helper()
	for _, g := range dayGroup.FindAllStringSubmatch(html, -1) {
		groups++
		for _, m := range barRect.FindAllStringSubmatch(g[2], -1) {
			b := bar{day: g[1], kind: m[1], x: m[2], width: m[3]}
			b.y, _ = strconv.ParseFloat(m[4], 64)
			b.height, _ = strconv.ParseFloat(m[5], 64)
			b.value, _ = strconv.Atoi(m[6])
			out = append(out, b)
		}
	}
	return groups, out
}

// The chart draws each day's successes and refusals as stacked bars whose
// heights are the counts against the scale, labels its axes, says what it
// shows in words, and lists the same numbers in its table.
func TestUseChartBars(t *testing.T) {
	last := time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)
	c := chartDays(last, map[int][2]int{
		0:  {3, 0},    // 3 Nov: the oldest day
		10: {0, 2},    // 13 Nov: refusals only
		28: {150, 50}, // 1 Dec: the busiest day sets the scale: 200
		29: {10, 0},   // 2 Dec: today
	})
	html := renderChart(t, c)

	if got := c.Scale(); got != 200 {
		t.Fatalf("scale = %d, want 200 (the busiest day, 200 calls, rounded up)", got)
	}
	groups, got := bars(t, html)
	if groups != 30 {
		t.Errorf("%d day columns, want 30", groups)
	}
	type key struct{ day, kind string }
	want := map[key]struct {
		value  int
		height float64
	}{
		{"2026-11-03", "ok"}:      {3, 3 * 150.0 / 200},
		{"2026-11-13", "refused"}: {2, chartMinBar}, // 1.5px would hardly show
		{"2026-12-01", "ok"}:      {150, 150 * 150.0 / 200},
		{"2026-12-01", "refused"}: {50, 50 * 150.0 / 200},
		{"2026-12-02", "ok"}:      {10, 10 * 150.0 / 200},
	}
	seen := map[key]bar{}
	for _, b := range got {
		k := key{b.day, b.kind}
		w, ok := want[k]
		if !ok {
			t.Errorf("a %s bar on %s (value %d): that day has none", b.kind, b.day, b.value)
			continue
		}
		if b.value != w.value || abs(b.height-w.height) > 0.051 {
			t.Errorf("%s bar on %s: value %d, height %.1f; want %d, %.1f", b.kind, b.day, b.value, b.height, w.value, w.height)
		}
		seen[k] = b
	}
	if len(seen) != len(want) {
		t.Errorf("drew %d bars, want %d: %+v", len(seen), len(want), got)
	}
	// Stacked: the refusals sit on the successes, and both stand on the
	// base line.
	okBar, refusedBar := seen[key{"2026-12-01", "ok"}], seen[key{"2026-12-01", "refused"}]
	base := float64(chartPlotTop + chartPlotHeight)
	if abs(okBar.y+okBar.height-base) > 0.051 || abs(refusedBar.y+refusedBar.height-okBar.y) > 0.051 {
		t.Errorf("1 Dec: successes at y %.1f+%.1f, refusals at y %.1f+%.1f; want them stacked on the base line %.0f",
			okBar.y, okBar.height, refusedBar.y, refusedBar.height, base)
	}
	if okBar.x != refusedBar.x || okBar.x != "93.933%" {
		t.Errorf("1 Dec's bars at x %s and %s; want both at 93.933%% (the 29th of 30 slots)", okBar.x, refusedBar.x)
	}

	for _, want := range []string{
		`role="img" aria-labelledby="use-chart-title use-chart-desc"`,
		`<title id="use-chart-title">Calls per day over the last 30 days, UTC</title>`,
		`<desc id="use-chart-desc">215 calls in the last 30 days: 163 successful, 52 refused. The busiest day was 1 Dec, with 200 calls.</desc>`,
		`<title>Tue 1 Dec: 150 successful, 50 refused</title>`,
		// The value axis: the scale, its half, zero.
		`>200</text>`, `>100</text>`, `>0</text>`,
		// The day axis: every 7th day back from today.
		`>4 Nov</text>`, `>11 Nov</text>`, `>18 Nov</text>`, `>25 Nov</text>`, `text-anchor="end">2 Dec</text>`,
		`Successful <strong>163</strong>`, `Refused <strong>52</strong>`,
		`<summary>Show as table</summary>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the chart lacks %s", want)
		}
	}

	rows := tableRow.FindAllStringSubmatch(html, -1)
	if len(rows) != 30 {
		t.Fatalf("the table has %d day rows, want 30", len(rows))
	}
	if rows[0][1] != "2026-12-02" || rows[29][1] != "2026-11-03" {
		t.Errorf("table from %s to %s; want newest first, 2 Dec to 3 Nov", rows[0][1], rows[29][1])
	}
	for _, r := range rows {
		var d ChartDay
		for _, cd := range c.Days {
			if cd.Day.Format("2006-01-02") == r[1] {
				d = cd
			}
		}
		if r[2] != count(d.OK) || r[3] != count(d.Refused) {
			t.Errorf("table row %s: %s successful, %s refused; want %d, %d", r[1], r[2], r[3], d.OK, d.Refused)
		}
	}
}

// A month without a call draws no bar, still has its axes and its table
// of zeros, and says so in words.
func TestUseChartAllZero(t *testing.T) {
	c := chartDays(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), nil)
	html := renderChart(t, c)
	if groups, got := bars(t, html); groups != 30 || len(got) != 0 {
		t.Errorf("%d day columns and bars %+v; want 30 columns and no bar", groups, got)
	}
	if !c.Empty() || c.Scale() != 4 {
		t.Errorf("empty %t, scale %d; want an empty chart on the smallest scale, 4", c.Empty(), c.Scale())
	}
	for _, want := range []string{`<desc id="use-chart-desc">No calls in the last 30 days.</desc>`,
		`>4</text>`, `>2</text>`, `>0</text>`, `Successful <strong>0</strong>`, `Refused <strong>0</strong>`} {
		if !strings.Contains(html, want) {
			t.Errorf("the empty chart lacks %s", want)
		}
	}
	rows := tableRow.FindAllStringSubmatch(html, -1)
	if len(rows) != 30 {
		t.Fatalf("the table has %d day rows, want 30", len(rows))
	}
	for _, r := range rows {
		if r[2] != "0" || r[3] != "0" {
			t.Errorf("table row %s: %s, %s; want 0, 0", r[1], r[2], r[3])
		}
	}
}

// One refusal among thousands of successes is still seen; the scale is a
// round number with a whole half.
func TestUseChartScale(t *testing.T) {
	for _, c := range []struct{ peak, scale int }{
		{0, 4}, {1, 4}, {4, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 20}, {45, 50}, {130, 200}, {1000, 1000}, {1001, 2000}, {4500, 5000},
	} {
		ch := chartDays(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), map[int][2]int{29: {c.peak, 0}})
		if got := ch.Scale(); got != c.scale || got%2 != 0 {
			t.Errorf("peak %d: scale %d, want %d", c.peak, got, c.scale)
		}
	}
	if h := barHeight(1, 5000); h != chartMinBar {
		t.Errorf("one call on a scale of 5,000 is %.2fpx high, want the minimum %.0fpx", h, chartMinBar)
	}
	for n, want := range map[int]string{0: "0", 500: "500", 1000: "1k", 2500: "2.5k", 25000: "25k", 1_000_000: "1M"} {
		if got := compact(n); got != want {
			t.Errorf("compact(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func renderKeyPage(t *testing.T, v KeyPageView) string {
	t.Helper()
	var b strings.Builder
	if err := KeyPage(v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// text is html's text as a reader sees it: tags dropped, white space
// collapsed.
func text(html string) string {
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(html, " ")), " ")
}

// The key page says what the key is, and lists its last calls with their
// results named for people.
func TestKeyPageDetailsAndCalls(t *testing.T) {
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	expires := NewTime(now.Add(12*24*time.Hour), now)
	used := NewTime(now.Add(-time.Minute), now)
	v := KeyPageView{
		Page: Page{Title: "Deploy", Viewer: &Viewer{Name: "Kim", Email: "kim@example.com"}},
		Key: KeyDetails{ID: "key_abc", Name: "Deploy", Description: "Ships releases.", Masked: "kdk_…abcd",
			Status: KeyStatus{Code: "enabled", Label: "Enabled", Works: true}, Created: NewTime(now.AddDate(0, -1, 0), now),
			LastUsed: &used, LastUsedIP: "203.0.113.9", Expires: &expires, ExpiresIn: FromNow(now.Add(12*24*time.Hour), now),
			Scopes: []ScopeView{{"profile:read", "Read your profile"}},
			Previous: &PreviousSecret{Masked: "kdk_…wxyz", Until: NewTime(now.Add(5*time.Hour), now),
				UntilIn: "in 5 hours", Working: true}},
		Uses: []KeyUseRow{
			{At: used, ClientIP: "203.0.113.9", UserAgent: "deploy-bot/1.0", Route: "GET /api/v1/me", Result: "OK", OK: true},
			{At: used, ClientIP: "198.51.100.7", Route: "GET /api/v1/keys", Result: "Missing scope"},
		},
		Chart: chartDays(now, map[int][2]int{29: {1, 1}}),
	}
	html := renderKeyPage(t, v)
	page := text(html)
	for _, want := range []string{
		"Deploy", "Ships releases.", "API Auth Key kdk_…abcd", "Status Enabled", "Last Used 1 minute ago from 203.0.113.9",
		"Expires in 12 days , on 14 Dec 2026, 15:00:00 UTC", "Permissions profile:read Read your profile",
		"Old key kdk_…wxyz Still works until 2 Dec 2026, 20:00:00 UTC , in 5 hours Not used since the key was regenerated.",
		"Recent use", "Calls per day", "Last 2 calls",
		"2 Dec 2026, 14:59:00 UTC 203.0.113.9 deploy-bot/1.0 GET /api/v1/me OK",
		"2 Dec 2026, 14:59:00 UTC 198.51.100.7 None sent GET /api/v1/keys Missing scope",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q\n%s", want, page)
		}
	}
	for _, want := range []string{`href="/settings/api-keys/key_abc/edit"`, `href="/settings/api-keys"`, `aria-current="page"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "Owner") || strings.Contains(html, `href="/admin/api-keys"`) {
		t.Error("the owner's own page shows an Owner row or links to the inventory")
	}

	v.Owner = &KeyOwner{Name: "Otto", Email: "otto@example.com", UserID: "usr_1", Disabled: true}
	admin := renderKeyPage(t, v)
	if p := text(admin); !strings.Contains(p, "Owner Otto otto@example.com User ID usr_1 Owner disabled") {
		t.Errorf("the admin's page lacks the owner\n%s", p)
	}
	if !strings.Contains(admin, `href="/admin/api-keys"`) || strings.Contains(admin, "/edit") {
		t.Error("the admin's page does not link back to the inventory, or offers the owner's Edit")
	}
}

// A key never used says so instead of drawing an empty month.
func TestKeyPageNeverUsed(t *testing.T) {
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	v := KeyPageView{Key: KeyDetails{ID: "key_abc", Name: "Fresh", Masked: "kdk_…abcd", Status: KeyStatus{Code: "enabled", Label: "Enabled", Works: true},
		Created: NewTime(now, now)}, Chart: chartDays(now, nil)}
	html := renderKeyPage(t, v)
	page := text(html)
	if !strings.Contains(page, "Last Used Never") || !strings.Contains(page, "Not used yet") {
		t.Errorf("the page of a key never used lacks Never and Not used yet\n%s", page)
	}
	if strings.Contains(html, "<svg class=\"chart__svg\"") || strings.Contains(html, "uses-table") {
		t.Error("the page of a key never used draws a chart or a table of calls")
	}
}

package views

import (
	"context"
	"strings"
	"testing"
	"time"
)

// An inventory row's expiry: never, expired from its very instant, soon
// within the window given (its end included), and how far off otherwise,
// rounded so a fresh 30-day key reads "in 30 days".
func TestNewExpiryInTheInventory(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	for _, c := range []struct {
		name                 string
		at                   time.Time
		never, expired, soon bool
		relative             string
	}{
		{"never", time.Time{}, true, false, false, ""},
		{"at this instant", now, false, true, false, "just now"},
		{"an hour ago", now.Add(-time.Hour), false, true, false, "1 hour ago"},
		{"a millisecond ahead", now.Add(time.Millisecond), false, false, true, "in less than a minute"},
		{"in 90 minutes", now.Add(90 * time.Minute), false, false, true, "in 2 hours"},
		{"in 3 days", now.Add(3 * 24 * time.Hour), false, false, true, "in 3 days"},
		{"at the end of the window", now.Add(week), false, false, true, "in 7 days"},
		{"just past the window", now.Add(week + time.Millisecond), false, false, false, "in 7 days"},
		{"in 30 days, a moment after creation", now.Add(30*24*time.Hour - time.Second), false, false, false, "in 30 days"},
		{"in a year", now.Add(365 * 24 * time.Hour), false, false, false, "in 1 year"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := NewExpiry(c.at, now, week)
			if e.Never != c.never || e.Expired != c.expired || e.Soon != c.soon || e.At.Relative != c.relative {
				t.Errorf("got never %t, expired %t, soon %t, %q; want %t, %t, %t, %q",
					e.Never, e.Expired, e.Soon, e.At.Relative, c.never, c.expired, c.soon, c.relative)
			}
		})
	}
}

// A scope's name, in an inventory row, may break after each colon, and is
// escaped.
func TestScopeName(t *testing.T) {
	for in, want := range map[string]string{
		"payments:read": `<code class="scope">payments:<wbr>read</code>`,
		"a:b:c":         `<code class="scope">a:<wbr>b:<wbr>c</code>`,
		"plain":         `<code class="scope">plain</code>`,
		"trailing:":     `<code class="scope">trailing:</code>`,
		"x<script>:&y":  `<code class="scope">x&lt;script&gt;:<wbr>&amp;y</code>`,
		"<b>&":          `<code class="scope">&lt;b&gt;&amp;</code>`,
	} {
		var b strings.Builder
		if err := AdminKeyRow(InventoryRowView{ID: "key_1", Scopes: []string{in}, Expires: Expiry{Never: true}}, "").Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("scope %q: row has %s, want %s", in, b.String(), want)
		}
	}
}

// A row cuts a long key name or owner email short with an ellipsis, so it
// carries it whole as the element's title; a short one has no title.
func TestInventoryRowTitlesWhatItCuts(t *testing.T) {
	render := func(name, email string) string {
		t.Helper()
		var b strings.Builder
		if err := AdminKeyRow(InventoryRowView{ID: "key_1", Name: name, OwnerEmail: email, Expires: Expiry{Never: true}}, "").Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	long := render("Zapier: new sign-ups to the CRM", "priya.platform@example.com")
	for _, want := range []string{`title="Zapier: new sign-ups to the CRM">Zapier: new sign-ups to the CRM</a>`,
		`title="priya.platform@example.com">priya.platform@example.com</span>`} {
		if !strings.Contains(long, want) {
			t.Errorf("a long name and email: the row lacks %s in %s", want, long)
		}
	}
	if short := render("CI deploy", "ada@example.com"); strings.Contains(short, "title=\"CI deploy\"") || strings.Contains(short, "title=\"ada@") {
		t.Errorf("a short name and email carry a title: %s", short)
	}
}

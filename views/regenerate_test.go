package views

import (
	"testing"
	"time"
)

// A deadline reads as people say it, rounded to the nearest unit, so an
// overlap chosen a moment ago reads as chosen.
func TestDeadline(t *testing.T) {
	now := time.Date(2026, 12, 2, 14, 5, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "in less than a minute"},
		{29 * time.Second, "in less than a minute"},
		{40 * time.Second, "in 1 minute"},
		{59*time.Minute + 59*time.Second, "in 1 hour"},
		{time.Hour - time.Millisecond, "in 1 hour"},
		{90 * time.Minute, "in 2 hours"},
		{24*time.Hour - time.Millisecond, "in 24 hours"},
		{21 * time.Hour, "in 21 hours"},
		{7*24*time.Hour - time.Millisecond, "in 7 days"},
		{30 * 24 * time.Hour, "in 30 days"},
		{90 * 24 * time.Hour, "in 90 days"},
		{150 * 24 * time.Hour, "in 5 months"},
		{400 * 24 * time.Hour, "in 1 year"},
	} {
		if got := NewDeadline(now.Add(c.d), now).Relative; got != c.want {
			t.Errorf("%v ahead: %q, want %q", c.d, got, c.want)
		}
	}
	d := NewDeadline(now.Add(24*time.Hour), now)
	if d.Relative != "in 24 hours" || d.Exact != "3 Dec 2026, 14:05:00 UTC" || d.ISO != "2026-12-03T14:05:00Z" {
		t.Errorf("NewDeadline = %+v", d)
	}
}

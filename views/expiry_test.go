package views

import (
	"testing"
	"time"
)

// A time to come reads as people say it: a key made a moment ago to last
// 30 days expires "in 30 days", not "in 29".
func TestUntil(t *testing.T) {
	now := time.Date(2030, 6, 15, 6, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		in   time.Duration
		want string
	}{
		{20 * time.Second, "in less than a minute"},
		{90 * time.Second, "in 2 minutes"},
		{time.Hour, "in 1 hour"},
		{47 * time.Hour, "in 47 hours"},
		{2 * day, "in 2 days"},
		{30*day - time.Millisecond, "in 30 days"},
		{12*day + 11*time.Hour, "in 12 days"},
		{90 * day, "in 90 days"},
		{150 * day, "in 5 months"},
		{365*day - time.Second, "in 1 year"},
		{730 * day, "in 2 years"},
	} {
		if got := until(now.Add(c.in), now); got != c.want {
			t.Errorf("%v ahead: %q, want %q", c.in, got, c.want)
		}
	}
}

// A key is expired from the very instant of its expiry, and is announced
// within 7 days of it.
func TestNewExpiry(t *testing.T) {
	now := time.Date(2030, 6, 15, 6, 0, 0, 0, time.UTC)
	soon := 7 * 24 * time.Hour
	if e := NewExpiry(time.Time{}, now, soon); !e.Never || e.Expired || e.Soon {
		t.Errorf("no expiry: %+v", e)
	}
	if e := NewExpiry(now, now, soon); !e.Expired || e.Soon || e.At.Relative != "just now" {
		t.Errorf("at the instant: %+v", e)
	}
	if e := NewExpiry(now.Add(time.Millisecond), now, soon); e.Expired || !e.Soon {
		t.Errorf("a millisecond before: %+v", e)
	}
	if e := NewExpiry(now.Add(soon), now, soon); !e.Soon || e.At.Relative != "in 7 days" {
		t.Errorf("7 days ahead: %+v", e)
	}
	if e := NewExpiry(now.Add(soon+time.Second), now, soon); e.Soon {
		t.Errorf("past 7 days ahead: %+v", e)
	}
}

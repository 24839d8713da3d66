package e2e

import (
	"context"
	"fmt"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// RecordSampleUses writes a month of calls made with k, as the use
// recorder would have: a working-week rhythm of successful calls from a
// client sending userAgent, a few refusals (a spell while the key was
// disabled, a missing scope from someone trying it with curl), and today's
// calls last. Of those, the last listed (at most store.RecentUses) are
// kept in detail; every one is counted. It returns how many calls it
// wrote, successful and refused.
func RecordSampleUses(ctx context.Context, db *sqlstore.DB, k *store.APIKey, userAgent string, listed int) (ok, refused int, err error) {
	now := db.Now()
	today := now.UTC().Truncate(24 * time.Hour)
	b := store.NewUseBatch(1)
	add := func(at time.Time, route, result, ua, ip string) {
		b.Add(store.KeyUse{KeyID: k.ID, At: at, ClientIP: ip, UserAgent: ua, Route: route, Result: result})
		if result == store.UseOK {
			ok++
		} else {
			refused++
		}
	}
	const curl = "curl/8.11.1"
	for d := 29; d >= 0; d-- {
		day := today.AddDate(0, 0, -d)
		calls := 6 + (29-d)%5*3
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			calls = 1 + d%3
		}
		if d == 0 {
			calls = 8
		}
		for i := range calls {
			at := day.Add(9*time.Hour + time.Duration(i)*37*time.Minute)
			if d == 0 {
				// Today's calls lead up to a couple of minutes ago.
				at = now.Add(-2*time.Minute - time.Duration(calls-1-i)*23*time.Minute)
			}
			route := "GET /api/v1/me"
			if i%4 == 3 {
				route = "GET /api/v1/keys"
			}
			add(at, route, store.UseOK, userAgent, "203.0.113.24")
		}
		switch d {
		case 11, 12:
			for i := range 4 {
				add(day.Add(14*time.Hour+time.Duration(i)*time.Minute), "GET /api/v1/me", store.UseDisabled, userAgent, "203.0.113.24")
			}
		case 0:
			at := now.Add(-2*time.Minute - 2*23*time.Minute - 9*time.Minute)
			add(at, "GET /api/v1/keys", store.UseInsufficientScope, curl, "198.51.100.7")
			add(at.Add(40*time.Second), "GET /api/v1/keys", store.UseInsufficientScope, curl, "198.51.100.7")
		}
	}
	if recent := b.Recent(k.ID); len(recent) > listed {
		b.Uses[k.ID] = recent[len(recent)-listed:]
	}
	if b.Dropped > 0 {
		return 0, 0, fmt.Errorf("record sample uses: %d dropped", b.Dropped)
	}
	if err := db.RecordKeyUses(ctx, b); err != nil {
		return 0, 0, err
	}
	return ok, refused, nil
}

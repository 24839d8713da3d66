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
// CI runner, a few refusals (a missing scope, a spell while the key was
// disabled), and today's calls last. It returns how many calls it wrote,
// successful and refused.
func RecordSampleUses(ctx context.Context, db *sqlstore.DB, k *store.APIKey) (ok, refused int, err error) {
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
	const (
		runner = "GitHub-Hookshot/actions-runner 2.321.0 (deploy.yml)"
		curl   = "curl/8.11.1"
	)
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
			if at.After(now) {
				at = now.Add(-time.Duration(calls-i) * time.Minute)
			}
			route, ua := "GET /api/v1/me", runner
			if i%4 == 3 {
				route = "GET /api/v1/keys"
			}
			add(at, route, store.UseOK, ua, "203.0.113.24")
		}
		switch d {
		case 11, 12:
			for i := range 4 {
				add(day.Add(14*time.Hour+time.Duration(i)*time.Minute), "GET /api/v1/me", store.UseDisabled, runner, "203.0.113.24")
			}
		case 1:
			add(day.Add(16*time.Hour), "GET /api/v1/keys", store.UseInsufficientScope, curl, "198.51.100.7")
			add(day.Add(16*time.Hour+time.Minute), "GET /api/v1/keys", store.UseInsufficientScope, curl, "198.51.100.7")
		}
	}
	if b.Dropped > 0 {
		return 0, 0, fmt.Errorf("record sample uses: %d dropped", b.Dropped)
	}
	if err := db.RecordKeyUses(ctx, b); err != nil {
		return 0, 0, err
	}
	return ok, refused, nil
}

package views

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// benchSection is a key table as its owner sees it with 50 keys (the most
// allowed): some used, some scoped, some expiring, a few disabled.
func benchSection() KeysSection {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	v := KeysSection{Max: 50, APIBase: "https://keys.example.com"}
	for i := range 50 {
		r := KeyRow{
			ID: fmt.Sprintf("key_%016x", i*7919), Name: fmt.Sprintf("deploy %d", i), Description: "Deploys the web app from CI",
			Masked: "kdk_…2oa1", Enabled: i%10 != 0, Created: NewTime(now.Add(-time.Duration(i)*time.Hour), now),
			Status: KeyStatus{Code: "enabled", Label: "Enabled", Works: true}, AllScopes: i%2 == 0, Expires: Expiry{Never: true},
		}
		if !r.Enabled {
			r.Status = KeyStatus{Code: "disabled", Label: "Disabled"}
		}
		if !r.AllScopes {
			r.Scopes = []string{"keys:read", "me:read"}
		}
		if i%3 == 0 {
			t := NewTime(now.Add(-time.Duration(i)*time.Minute), now)
			r.LastUsed, r.LastUsedIP = &t, "203.0.113.7"
		}
		if i%4 == 0 {
			r.Expires = NewExpiry(now.Add(time.Duration(i)*24*time.Hour), now, 7*24*time.Hour)
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}

// BenchmarkKeysSection renders the owner's key table of 50 keys, the
// bulk of the API Auth Key page.
func BenchmarkKeysSection(b *testing.B) {
	v := benchSection()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := KeysSectionFragment(v, false).Render(ctx, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

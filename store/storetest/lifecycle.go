package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// movableClock is a clock a contract test moves.
type movableClock struct {
	mu  sync.Mutex
	now time.Time
}

func newMovableClock() *movableClock {
	return &movableClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *movableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movableClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// verdictOf is what FindKey and Check say of a secret at the store's now.
func verdictOf(t *testing.T, db *sqlstore.DB, secret string, need ...string) string {
	t.Helper()
	m, err := db.FindKey(context.Background(), store.HashKey(secret))
	if errors.Is(err, store.ErrNotFound) {
		return store.VerdictNotFound
	}
	if err != nil {
		t.Fatal(err)
	}
	v, _ := m.Check(db.Now(), need...)
	return v
}

// A key is refused from the very instant of its expiry, cannot be enabled
// after it, and a regeneration brings it back with a new expiry.
func testKeyExpiry(t *testing.T, open Opener) {
	clock := newMovableClock()
	db := open(t, sqlstore.WithClock(clock.Now))
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	start := clock.Now()
	expires := start.Add(7 * 24 * time.Hour)

	k, secret, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "week", ExpiresAt: expires}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if !k.ExpiresAt.Equal(expires) || k.Expired(start) {
		t.Fatalf("created %+v", k)
	}
	never, neverSecret, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "forever"}, store.AuditEvent{})
	if !never.ExpiresAt.IsZero() {
		t.Fatalf("a key made without an expiry expires at %v", never.ExpiresAt)
	}

	clock.Set(expires.Add(-time.Millisecond))
	if v := verdictOf(t, db, secret); v != store.VerdictValid {
		t.Errorf("a millisecond before its expiry: %s, want VALID", v)
	}
	if _, _, err := db.AuthenticateKey(ctx, store.HashKey(secret)); err != nil {
		t.Errorf("a millisecond before its expiry: %v", err)
	}
	clock.Set(expires)
	if v := verdictOf(t, db, secret); v != store.VerdictExpired {
		t.Errorf("at the instant of its expiry: %s, want EXPIRED", v)
	}
	if _, _, err := db.AuthenticateKey(ctx, store.HashKey(secret)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("at the instant of its expiry: AuthenticateKey %v, want ErrNotFound", err)
	}
	clock.Set(expires.Add(100 * 365 * 24 * time.Hour))
	if v := verdictOf(t, db, neverSecret); v != store.VerdictValid {
		t.Errorf("a key with no expiry, a century on: %s", v)
	}

	// Disabled after its expiry, it cannot be enabled again.
	clock.Set(expires.Add(time.Hour))
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, store.AuditEvent{}); !errors.Is(err, store.ErrExpired) {
		t.Errorf("enable an expired key: %v, want ErrExpired", err)
	}
	if got, _ := db.KeyForUser(ctx, uma.ID, k.PublicID); got.Enabled {
		t.Error("the refused enable changed the key")
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, store.AuditEvent{}); err != nil {
		t.Errorf("disabling an expired key is allowed: %v", err)
	}

	// A regeneration brings it back, with the new expiry (and its old
	// secret gets no overlap: it had expired).
	renewed := clock.Now().Add(30 * 24 * time.Hour)
	k2, fresh, err := db.RegenerateKey(ctx, uma.ID, k.PublicID, 24*time.Hour, renewed, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if !k2.ExpiresAt.Equal(renewed) || k2.ID != k.ID || k2.PublicID != k.PublicID || k2.Name != "week" {
		t.Errorf("regenerated %+v", k2)
	}
	if k2.InOverlap(clock.Now()) {
		t.Errorf("an expired key's old secret got an overlap until %v", k2.PrevUntil)
	}
	if _, err := db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, store.AuditEvent{}); err != nil {
		t.Fatalf("enable the regenerated key: %v", err)
	}
	if v := verdictOf(t, db, secret); v != store.VerdictExpired {
		t.Errorf("the expired secret after the regeneration: %s, want EXPIRED", v)
	}
	if v := verdictOf(t, db, fresh); v != store.VerdictValid {
		t.Errorf("the new secret: %s, want VALID", v)
	}
}

// A key holds the scopes it was made with, in order; a key made without
// any list holds every scope; the keys:verify scope also needs an admin.
func testKeyScopes(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	scoped, secret, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "scoped",
		Scopes: []string{store.ScopeKeysRead, "payments:read"}}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := db.KeyForUser(ctx, uma.ID, scoped.PublicID)
	if !slices.Equal(got.Scopes, []string{store.ScopeKeysRead, "payments:read"}) || got.AllScopes() {
		t.Errorf("stored scopes %q", got.Scopes)
	}
	if v := verdictOf(t, db, secret, store.ScopeKeysRead); v != store.VerdictValid {
		t.Errorf("a scope it holds: %s", v)
	}
	if v := verdictOf(t, db, secret, store.ScopeProfileRead); v != store.VerdictInsufficientScope {
		t.Errorf("a scope it lacks: %s, want INSUFFICIENT_SCOPE", v)
	}
	if v := verdictOf(t, db, secret, store.ScopeKeysRead, store.ScopeProfileRead); v != store.VerdictInsufficientScope {
		t.Errorf("one of two it lacks: %s, want INSUFFICIENT_SCOPE", v)
	}

	legacy, legacySecret, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "legacy"}, store.AuditEvent{})
	if got, _ := db.KeyForUser(ctx, uma.ID, legacy.PublicID); !got.AllScopes() {
		t.Errorf("a key made without scopes holds %q, want every scope", got.Scopes)
	}
	if v := verdictOf(t, db, legacySecret, store.ScopeProfileRead, "anything:else"); v != store.VerdictValid {
		t.Errorf("a key with every scope: %s", v)
	}
	if v := verdictOf(t, db, legacySecret, store.ScopeKeysVerify); v != store.VerdictInsufficientScope {
		t.Errorf("keys:verify for a user's key: %s, want INSUFFICIENT_SCOPE", v)
	}

	// The inventory filters by scope, a key with every scope included, and
	// a scope name's "_" is not a wildcard.
	mustCreateKey := func(name string, scopes ...string) {
		t.Helper()
		if _, _, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: name, Scopes: scopes}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreateKey("underscore", "pay_ments:read")
	mustCreateKey("lookalike", "payXments:read")
	for scope, want := range map[string][]string{
		"payments:read":  {"legacy", "scoped"},
		"pay_ments:read": {"legacy", "underscore"},
		"payments":       {"legacy"},
	} {
		page, err := db.KeyInventory(ctx, store.InventoryFilter{Scope: scope, Sort: store.SortName, Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range page.Rows {
			names = append(names, r.Key.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("scope %q: %q, want %q", scope, names, want)
		}
	}
}

// The inventory's expiry filters.
func testInventoryExpiryFilters(t *testing.T, open Opener) {
	clock := newMovableClock()
	db := open(t, sqlstore.WithClock(clock.Now))
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	now := clock.Now()
	for name, expires := range map[string]time.Time{
		"never":   {},
		"soon":    now.Add(7 * 24 * time.Hour),
		"later":   now.Add(7*24*time.Hour + time.Millisecond),
		"expired": now.Add(time.Hour),
		"edge":    now.Add(2 * time.Hour),
	} {
		if _, _, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: name, ExpiresAt: expires}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Set(now.Add(2 * time.Hour)) // "expired" is past, "edge" expires at this instant
	for filter, want := range map[string][]string{
		store.ExpiryNever:   {"never"},
		store.ExpiryExpired: {"edge", "expired"},
		store.ExpirySoon:    {"later", "soon"},
	} {
		page, err := db.KeyInventory(ctx, store.InventoryFilter{Expiry: filter, Sort: store.SortName, Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range page.Rows {
			names = append(names, r.Key.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("expiry %q: %q, want %q", filter, names, want)
		}
	}
	if _, err := db.KeyInventory(ctx, store.InventoryFilter{Expiry: "someday"}); err == nil {
		t.Error("an unknown expiry filter was accepted")
	}
}

// During an overlap both secrets work; the old one is refused from the
// instant the overlap ends, by time or by hand, and stays known; a key has
// at most one previous secret.
func testRegenerateOverlap(t *testing.T, open Opener) {
	clock := newMovableClock()
	db := open(t, sqlstore.WithClock(clock.Now))
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")
	start := clock.Now()
	k, first, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "deploys", Description: "CI",
		Scopes: []string{store.ScopeKeysRead}, ExpiresAt: start.Add(90 * 24 * time.Hour)}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := db.RegenerateKey(ctx, bob.ID, k.PublicID, time.Hour, time.Time{}, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob regenerates uma's key: %v, want ErrNotFound", err)
	}
	if _, err := db.EndOverlap(ctx, uma.ID, k.PublicID, store.AuditEvent{}); !errors.Is(err, store.ErrNoOverlap) {
		t.Errorf("end an overlap that never began: %v, want ErrNoOverlap", err)
	}

	k2, second, err := db.RegenerateKey(ctx, uma.ID, k.PublicID, time.Hour, time.Time{},
		store.AuditEvent{Actor: "uma", Action: store.ActionKeyRegenerated})
	if err != nil {
		t.Fatal(err)
	}
	if second == first || store.ParseKey(second) != nil || k2.Last4 != second[len(second)-4:] ||
		k2.PrevLast4 != first[len(first)-4:] || !k2.PrevUntil.Equal(start.Add(time.Hour)) ||
		k2.Name != "deploys" || k2.Description != "CI" || !slices.Equal(k2.Scopes, []string{store.ScopeKeysRead}) ||
		!k2.ExpiresAt.IsZero() || k2.PublicID != k.PublicID {
		t.Fatalf("regenerated %+v", k2)
	}
	clock.Set(start.Add(time.Hour - time.Millisecond))
	for name, secret := range map[string]string{"old": first, "new": second} {
		if v := verdictOf(t, db, secret); v != store.VerdictValid {
			t.Errorf("%s secret during the overlap: %s", name, v)
		}
	}
	m, _ := db.FindKey(ctx, store.HashKey(first))
	if !m.Previous || m.Key.ID != k.ID {
		t.Errorf("the old secret found %+v", m)
	}
	clock.Set(start.Add(time.Hour))
	if v := verdictOf(t, db, first); v != store.VerdictExpired {
		t.Errorf("old secret at the overlap's end: %s, want EXPIRED", v)
	}
	if _, result := m.Check(clock.Now()); result != store.UseOverlapEnded {
		t.Errorf("its use result: %s, want %s", result, store.UseOverlapEnded)
	}
	if v := verdictOf(t, db, second); v != store.VerdictValid {
		t.Errorf("new secret after the overlap: %s", v)
	}
	// Disabling the key stops both secrets.
	k3, third, err := db.RegenerateKey(ctx, uma.ID, k.PublicID, 7*24*time.Hour, time.Time{}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(t, db, first); v != store.VerdictNotFound {
		t.Errorf("the secret two regenerations back: %s, want NOT_FOUND (one previous secret at most)", v)
	}
	if k3.PrevLast4 != second[len(second)-4:] {
		t.Errorf("previous last 4 %q", k3.PrevLast4)
	}
	db.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, store.AuditEvent{})
	if v := verdictOf(t, db, second); v != store.VerdictDisabled {
		t.Errorf("previous secret of a disabled key: %s, want DISABLED", v)
	}
	db.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, store.AuditEvent{})

	// End overlap now: the old secret is refused at once; the new works.
	if _, err := db.EndOverlap(ctx, bob.ID, k.PublicID, store.AuditEvent{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bob ends uma's overlap: %v, want ErrNotFound", err)
	}
	ended, err := db.EndOverlap(ctx, uma.ID, k.PublicID, store.AuditEvent{Actor: "uma", Action: store.ActionKeyOverlapEnd})
	if err != nil {
		t.Fatal(err)
	}
	if ended.InOverlap(clock.Now()) {
		t.Errorf("still in overlap: %+v", ended)
	}
	if v := verdictOf(t, db, second); v != store.VerdictExpired {
		t.Errorf("old secret after End overlap now: %s, want EXPIRED", v)
	}
	if v := verdictOf(t, db, third); v != store.VerdictValid {
		t.Errorf("new secret after End overlap now: %s", v)
	}
	if _, err := db.EndOverlap(ctx, uma.ID, k.PublicID, store.AuditEvent{}); !errors.Is(err, store.ErrNoOverlap) {
		t.Errorf("end it twice: %v, want ErrNoOverlap", err)
	}
	page, _ := db.AuditLog(ctx, store.AuditFilter{Limit: 10})
	var actions []string
	for _, e := range page.Events {
		if e.Target == k.PublicID {
			actions = append(actions, e.Action)
		}
	}
	if !slices.Contains(actions, store.ActionKeyRegenerated) || !slices.Contains(actions, store.ActionKeyOverlapEnd) {
		t.Errorf("audit of the key: %q", actions)
	}

	// "Stop it now" refuses the old secret at once.
	_, fourth, err := db.RegenerateKey(ctx, uma.ID, k.PublicID, 0, time.Time{}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(t, db, third); v != store.VerdictExpired {
		t.Errorf("old secret after a regeneration with no overlap: %s, want EXPIRED", v)
	}
	if v := verdictOf(t, db, fourth); v != store.VerdictValid {
		t.Errorf("new secret: %s", v)
	}
}

// A batch of uses is written at once: the last RecentUses of each key in
// detail, every use counted by day, the previous secret's Last Used; a
// deleted key's uses are skipped; old uses are pruned.
func testKeyUses(t *testing.T, open Opener) {
	clock := newMovableClock()
	db := open(t, sqlstore.WithClock(clock.Now))
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	k, _, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "busy"}, store.AuditEvent{})
	gone, _, _ := db.CreateKey(ctx, uma.ID, store.NewKey{Name: "gone"}, store.AuditEvent{})
	now := clock.Now()
	yesterday := now.Add(-24 * time.Hour)

	b := store.NewUseBatch(100)
	for i := range 1000 {
		at := yesterday
		if i >= 400 {
			at = now.Add(time.Duration(i-1000) * time.Millisecond)
		}
		result := store.UseOK
		if i%10 == 0 {
			result = store.UseDisabled
		}
		b.Add(store.KeyUse{KeyID: k.ID, At: at, ClientIP: "192.0.2.1", UserAgent: "curl/8", Route: "GET /api/v1/me",
			Result: result, Previous: i == 500})
	}
	b.Add(store.KeyUse{KeyID: gone.ID, At: now, Result: store.UseOK})
	if err := db.DeleteKey(ctx, uma.ID, gone.PublicID, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordKeyUses(ctx, b); err != nil {
		t.Fatalf("a batch holding a deleted key's use: %v", err)
	}

	recent, err := db.RecentKeyUses(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recent) != store.RecentUses || !recent[0].At.Equal(now.Add(-time.Millisecond)) ||
		recent[0].Route != "GET /api/v1/me" || recent[0].UserAgent != "curl/8" || recent[0].ClientIP != "192.0.2.1" {
		t.Fatalf("recent uses: %d, first %+v", len(recent), recent[0])
	}
	for i := 1; i < len(recent); i++ {
		if recent[i].At.After(recent[i-1].At) {
			t.Fatal("recent uses are not newest first")
		}
	}
	days, err := db.KeyUseDays(ctx, k.ID, now.Add(-29*24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 30 {
		t.Fatalf("%d days, want 30", len(days))
	}
	last, before := days[29], days[28]
	if !last.Day.Equal(now.Truncate(24*time.Hour)) || last.OK+last.Refused != 600 || last.Refused != 60 ||
		before.OK+before.Refused != 400 || before.Refused != 40 {
		t.Errorf("tallies: yesterday %+v, today %+v", before, last)
	}

	// A second batch adds to the tallies and keeps the detail at 50.
	b = store.NewUseBatch(100)
	b.Add(store.KeyUse{KeyID: k.ID, At: now, Result: store.UseInsufficientScope, Route: "GET /api/v1/keys"})
	if err := db.RecordKeyUses(ctx, b); err != nil {
		t.Fatal(err)
	}
	days, _ = db.KeyUseDays(ctx, k.ID, now, now)
	recent, _ = db.RecentKeyUses(ctx, k.ID)
	if len(days) != 1 || days[0].Refused != 61 || len(recent) != store.RecentUses || recent[0].Result != store.UseInsufficientScope {
		t.Errorf("after a second batch: days %+v, %d recent, newest %+v", days, len(recent), recent[0])
	}

	// Pruning drops what is older than the retention.
	clock.Set(now.Add(store.UseRetention))
	if err := db.PruneKeyUses(ctx, clock.Now().Add(-store.UseRetention)); err != nil {
		t.Fatal(err)
	}
	days, _ = db.KeyUseDays(ctx, k.ID, yesterday, now)
	if days[0].OK+days[0].Refused != 0 || days[1].OK+days[1].Refused != 601 {
		t.Errorf("after pruning: %+v", days)
	}
	recent, _ = db.RecentKeyUses(ctx, k.ID)
	for _, u := range recent {
		if u.At.Before(now) {
			t.Errorf("a use older than the retention survived: %+v", u)
		}
	}
}

// A batch is bounded: past its number of keys it drops and counts, and it
// keeps only each key's last RecentUses calls, whatever the load.
func testUseBatchIsBounded(t *testing.T, _ Opener) {
	b := store.NewUseBatch(3)
	now := time.Now()
	for i := range 10_000 {
		b.Add(store.KeyUse{KeyID: int64(i % 5), At: now, Result: store.UseOK, UserAgent: string(make([]byte, 1000))})
	}
	if b.Len() != 3 || b.Dropped != 4000 {
		t.Errorf("%d keys, %d dropped; want 3 and 4000", b.Len(), b.Dropped)
	}
	for id, held := range b.Uses {
		if len(held) > 2*store.RecentUses {
			t.Errorf("key %d: %d uses held, want at most %d", id, len(held), 2*store.RecentUses)
		}
		uses := b.Recent(id)
		if len(uses) != store.RecentUses || uses[len(uses)-1] != held[len(held)-1] {
			t.Errorf("key %d: %d recent uses, or not the latest", id, len(uses))
		}
		if len(uses[0].UserAgent) > store.MaxUserAgentLen {
			t.Errorf("user agent kept at %d bytes", len(uses[0].UserAgent))
		}
	}
	for kd, tally := range b.Tallies {
		if tally.OK != 2000 {
			t.Errorf("%+v counted %d, want 2000", kd, tally.OK)
		}
	}
}

// A batch writes Last Used for the calls that set it, as TouchKey does:
// the latest such call of each key, its address with it, only over a
// stored time older than store.LastUsedEvery, and never from a refused
// call or the previous secret; a key past the batch's bound still gets
// its Last Used. The first use retires the pages' copies (it is shown); a
// later one does not.
func testBatchWritesLastUsed(t *testing.T, open Opener) {
	clock := newMovableClock()
	db := open(t, sqlstore.WithClock(clock.Now))
	ctx := context.Background()
	uma := mustCreateUser(t, db, "Uma", "uma@example.com")
	var keys []*store.APIKey
	for _, name := range []string{"steady", "refused", "previous", "past the bound"} {
		k, _, err := db.CreateKey(ctx, uma.ID, store.NewKey{Name: name}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	steady, refused, previous, past := keys[0], keys[1], keys[2], keys[3]
	lastUsed := func(k *store.APIKey) (time.Time, string) {
		t.Helper()
		got, err := db.KeyForUser(ctx, uma.ID, k.PublicID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt, got.LastUsedIP
	}
	now := clock.Now()
	changes, err := db.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// No previous secret's use in this batch: that counts as shown too.
	b := store.NewUseBatch(2)
	b.Add(store.KeyUse{KeyID: steady.ID, At: now.Add(-time.Second), ClientIP: "192.0.2.1", Result: store.UseOK, SetsLastUsed: true})
	b.Add(store.KeyUse{KeyID: steady.ID, At: now, ClientIP: "192.0.2.2", Result: store.UseOK, SetsLastUsed: true})
	b.Add(store.KeyUse{KeyID: steady.ID, At: now, ClientIP: "192.0.2.3", Result: store.UseOK}) // does not set it
	b.Add(store.KeyUse{KeyID: refused.ID, At: now, ClientIP: "192.0.2.4", Result: store.UseDisabled, SetsLastUsed: true})
	b.Add(store.KeyUse{KeyID: past.ID, At: now, ClientIP: "192.0.2.6", Result: store.UseOK, SetsLastUsed: true})
	if b.Dropped != 1 {
		t.Fatalf("the batch of 2 keys dropped %d uses, want the third key's 1", b.Dropped)
	}
	if err := db.RecordKeyUses(ctx, b); err != nil {
		t.Fatal(err)
	}
	if after, err := db.Changes(ctx); err != nil || after == changes {
		t.Errorf("the keys' first use did not count as a change pages show (%v)", err)
	}
	b = store.NewUseBatch(2)
	b.Add(store.KeyUse{KeyID: previous.ID, At: now, ClientIP: "192.0.2.5", Result: store.UseOK, Previous: true, SetsLastUsed: true})
	if err := db.RecordKeyUses(ctx, b); err != nil {
		t.Fatal(err)
	}
	if at, ip := lastUsed(steady); !at.Equal(now) || ip != "192.0.2.2" {
		t.Errorf("Last Used %v from %q, want the latest call that set it (%v from 192.0.2.2)", at, ip, now)
	}
	for _, k := range []*store.APIKey{refused, previous} {
		if at, _ := lastUsed(k); !at.IsZero() {
			t.Errorf("%s: Last Used %v, want none", k.Name, at)
		}
	}
	if at, ip := lastUsed(past); !at.Equal(now) || ip != "192.0.2.6" {
		t.Errorf("past the bound: Last Used %v from %q, want %v from 192.0.2.6", at, ip, now)
	}

	// Within the interval the stored time stands; past it, it moves.
	for _, tc := range []struct {
		at   time.Time
		want time.Time
	}{
		{now.Add(store.LastUsedEvery - time.Second), now},
		{now.Add(store.LastUsedEvery + time.Second), now.Add(store.LastUsedEvery + time.Second)},
	} {
		before, err := db.Changes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := store.NewUseBatch(2)
		b.Add(store.KeyUse{KeyID: steady.ID, At: tc.at, ClientIP: "192.0.2.9", Result: store.UseOK, SetsLastUsed: true})
		if err := db.RecordKeyUses(ctx, b); err != nil {
			t.Fatal(err)
		}
		if at, _ := lastUsed(steady); !at.Equal(tc.want) {
			t.Errorf("a call at %v: Last Used %v, want %v", tc.at.Sub(now), at.Sub(now), tc.want.Sub(now))
		}
		// A later use is not counted, written or not: steady calls would
		// retire every page's copy many times a second.
		if after, err := db.Changes(ctx); err != nil || after != before {
			t.Errorf("a call at %v, after the key's first use, counted as a change pages show (%d → %d, %v)", tc.at.Sub(now), before, after, err)
		}
	}
}

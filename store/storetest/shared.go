package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// PairOpener opens two stores on one fresh database, as two instances
// sharing it would, and closes them when the test ends.
type PairOpener func(t testing.TB) (a, b *sqlstore.DB)

// RunShared runs the promises that hold across instances: whatever one
// changes, the other's very next FindKey answers, whatever it cached.
func RunShared(t *testing.T, open PairOpener) {
	for _, c := range []struct {
		name string
		test func(*testing.T, PairOpener)
	}{
		{"NextFindKeySeesEveryChange", testNextFindKeySeesEveryChange},
		{"NoFindKeyAfterADisableSucceeds", testNoFindKeyAfterADisableSucceeds},
		{"ChangesMoveWithWhatPagesShow", testChangesMoveWithWhatPagesShow},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, open) })
	}
}

// Each change made through a, to a key or its owner, is in b's very next
// FindKey, however many times b read the key before.
func testNextFindKeySeesEveryChange(t *testing.T, open PairOpener) {
	a, b := open(t)
	ctx := context.Background()
	uma := mustCreateUser(t, a, "Uma", "uma@example.com")
	k, secret, err := a.CreateKey(ctx, uma.ID, store.NewKey{Name: "deploys"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	hash := store.HashKey(secret)
	// find reads through b twice: the second answer is the cache's, when
	// it keeps one.
	find := func() (store.KeyMatch, string) {
		t.Helper()
		for range 2 {
			b.FindKey(ctx, hash)
		}
		m, err := b.FindKey(ctx, hash)
		if err != nil {
			return m, err.Error()
		}
		v, _ := m.Check(b.Now())
		return m, v
	}
	if _, v := find(); v != store.VerdictValid {
		t.Fatalf("before any change: %s", v)
	}

	steps := []struct {
		what   string
		change func() error
		want   func(store.KeyMatch, string) bool
	}{
		{"rename the key", func() error {
			name := "renamed"
			_, err := a.UpdateKey(ctx, uma.ID, k.PublicID, store.KeyUpdate{Name: &name}, store.AuditEvent{})
			return err
		}, func(m store.KeyMatch, v string) bool { return v == store.VerdictValid && m.Key.Name == "renamed" }},
		{"rename its owner", func() error {
			name := "Uma Renamed"
			_, err := a.UpdateUser(ctx, uma.ID, store.UserUpdate{Name: &name}, store.AuditEvent{})
			return err
		}, func(m store.KeyMatch, v string) bool { return m.Owner != nil && m.Owner.Name == "Uma Renamed" }},
		{"disable the key", func() error {
			_, err := a.SetKeyEnabled(ctx, uma.ID, k.PublicID, false, store.AuditEvent{})
			return err
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictDisabled }},
		{"enable it", func() error {
			_, err := a.SetKeyEnabled(ctx, uma.ID, k.PublicID, true, store.AuditEvent{})
			return err
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictValid }},
		{"an admin disables it", func() error {
			_, err := a.AdminSetKeyEnabled(ctx, k.PublicID, false, store.AuditEvent{})
			return err
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictDisabled }},
		{"an admin enables it", func() error {
			_, err := a.AdminSetKeyEnabled(ctx, k.PublicID, true, store.AuditEvent{})
			return err
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictValid }},
		{"disable its owner", func() error {
			return a.SetUserDisabled(ctx, uma.ID, true, store.AuditEvent{})
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictOwnerDisabled }},
		{"enable its owner", func() error {
			return a.SetUserDisabled(ctx, uma.ID, false, store.AuditEvent{})
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictValid }},
		{"regenerate it, the old secret stopped now", func() error {
			_, _, err := a.RegenerateKey(ctx, uma.ID, k.PublicID, 0, time.Time{}, store.AuditEvent{})
			return err
		}, func(_ store.KeyMatch, v string) bool { return v == store.VerdictExpired }},
		{"delete it", func() error {
			return a.DeleteKey(ctx, uma.ID, k.PublicID, store.AuditEvent{})
		}, func(_ store.KeyMatch, v string) bool { return v != store.VerdictValid && v != store.VerdictExpired }},
	}
	for _, s := range steps {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if m, v := find(); !s.want(m, v) {
			t.Errorf("after %q, the other instance's next FindKey: %s, %+v", s.what, v, m.Key)
		}
	}

	// A key made through a is found through b, though b just missed it.
	other := mustCreateUser(t, a, "Olga", "olga@example.com")
	_, newSecret, err := a.CreateKey(ctx, other.ID, store.NewKey{Name: "fresh"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := b.FindKey(ctx, store.HashKey(newSecret)); err != nil || m.Key.Name != "fresh" {
		t.Errorf("a key made through one instance, through the other: %v, %v", m.Key, err)
	}
}

// Verifications run through b without pause while a disables the key: none
// that began after the disable was answered succeeds.
func testNoFindKeyAfterADisableSucceeds(t *testing.T, open PairOpener) {
	a, b := open(t)
	ctx := context.Background()
	uma := mustCreateUser(t, a, "Uma", "uma@example.com")
	const keys = 5
	type key struct {
		publicID, hash string
		disabled       atomic.Bool // set once a's disable has answered
	}
	var ks [keys]*key
	for i := range ks {
		k, secret, err := a.CreateKey(ctx, uma.ID, store.NewKey{Name: string(rune('a' + i))}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		ks[i] = &key{publicID: k.PublicID, hash: store.HashKey(secret)}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var checked, late atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := ks[i%keys]
				after := k.disabled.Load()
				m, err := b.FindKey(ctx, k.hash)
				if err != nil {
					t.Error(err)
					return
				}
				checked.Add(1)
				if v, _ := m.Check(b.Now()); after && v == store.VerdictValid {
					late.Add(1)
				}
			}
		}()
	}
	for _, k := range ks {
		// Let the readers fill their caches with the key, then disable it.
		for start := checked.Load(); checked.Load() < start+200; {
			time.Sleep(time.Millisecond)
		}
		if _, err := a.SetKeyEnabled(ctx, uma.ID, k.publicID, false, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
		k.disabled.Store(true)
	}
	for start := checked.Load(); checked.Load() < start+200; {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := late.Load(); n > 0 {
		t.Errorf("%d of %d verifications that began after their key's disable was answered found it working", n, checked.Load())
	}
}

// Every write that a page shows, made through a, moves b's Changes, the
// count b's rendered pages are reused under: the quiet writes that
// FindKey's cache leaves out (a key's first use, its previous secret's use,
// an audit event on its own or with a session) as well as the changes to
// keys and accounts. Reads, a later Last Used, the recent uses and the
// writes no cached page shows leave it where it was.
func testChangesMoveWithWhatPagesShow(t *testing.T, open PairOpener) {
	a, b := open(t)
	ctx := context.Background()
	count := func() uint64 {
		t.Helper()
		n, err := b.Changes(ctx)
		if err != nil {
			t.Fatalf("Changes: %v", err)
		}
		return n
	}
	uma := mustCreateUser(t, a, "Uma", "uma@example.com")
	k, _, err := a.CreateKey(ctx, uma.ID, store.NewKey{Name: "deploys"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	now := a.Now()
	event := store.AuditEvent{Actor: uma.PublicID, Action: store.ActionLogin}
	var before uint64
	moves := []struct {
		what   string
		change func() error
	}{
		{"rename the key", func() error {
			name := "renamed"
			_, err := a.UpdateKey(ctx, uma.ID, k.PublicID, store.KeyUpdate{Name: &name}, store.AuditEvent{})
			return err
		}},
		{"disable its owner", func() error { return a.SetUserDisabled(ctx, uma.ID, true, store.AuditEvent{}) }},
		{"enable its owner", func() error { return a.SetUserDisabled(ctx, uma.ID, false, store.AuditEvent{}) }},
		{"its first Last Used", func() error {
			wrote, err := a.TouchKey(ctx, k.ID, "192.0.2.1", now, now.Add(-time.Minute))
			if err == nil && !wrote {
				t.Error("TouchKey wrote nothing on a key never used")
			}
			return err
		}},
		{"a use of its previous secret", func() error {
			regenerated, _, err := a.RegenerateKey(ctx, uma.ID, k.PublicID, time.Hour, time.Time{}, store.AuditEvent{})
			if err != nil {
				return err
			}
			before = count()
			batch := store.NewUseBatch(10)
			batch.Add(store.KeyUse{KeyID: k.ID, At: now, ClientIP: "192.0.2.1", Route: "GET /api/v1/me", Result: store.UseOK,
				Previous: true, PrevLast4: regenerated.PrevLast4})
			return a.RecordKeyUses(ctx, batch)
		}},
		{"an audit event of its own", func() error { return a.RecordAudit(ctx, event) }},
		{"a sign-in, with its event", func() error {
			return a.CreateSession(ctx, &store.Session{IDHash: "page-count", UserID: uma.ID, ExpiresAt: now.Add(time.Hour)}, event)
		}},
		{"delete the key", func() error { return a.DeleteKey(ctx, uma.ID, k.PublicID, store.AuditEvent{}) }},
	}
	before = count()
	for _, m := range moves {
		if err := m.change(); err != nil {
			t.Fatalf("%s: %v", m.what, err)
		}
		if after := count(); after == before {
			t.Errorf("after %s, the other instance's Changes stayed at %d", m.what, before)
		} else {
			before = after
		}
	}

	stays := []struct {
		what   string
		change func() error
	}{
		{"read the keys", func() error { _, err := a.KeysForUser(ctx, uma.ID); return err }},
		{"read the log", func() error { _, err := a.AuditLog(ctx, store.AuditFilter{}); return err }},
		{"a Last Used within its window", func() error {
			k2, _, err := a.CreateKey(ctx, uma.ID, store.NewKey{Name: "second"}, store.AuditEvent{})
			if err != nil {
				return err
			}
			if _, err := a.TouchKey(ctx, k2.ID, "192.0.2.1", now, now.Add(-time.Minute)); err != nil {
				return err
			}
			before = count()
			_, err = a.TouchKey(ctx, k2.ID, "192.0.2.2", now, now.Add(-time.Minute))
			return err
		}},
		{"a session's activity", func() error { return a.TouchSession(ctx, "page-count", "192.0.2.3", "curl") }},
		{"a later Last Used, past its window", func() error {
			k3, _, err := a.CreateKey(ctx, uma.ID, store.NewKey{Name: "third"}, store.AuditEvent{})
			if err != nil {
				return err
			}
			if _, err := a.TouchKey(ctx, k3.ID, "192.0.2.1", now, now); err != nil {
				return err
			}
			before = count()
			later := now.Add(time.Minute)
			wrote, err := a.TouchKey(ctx, k3.ID, "192.0.2.4", later, later.Add(-30*time.Second))
			if err == nil && !wrote {
				t.Error("TouchKey wrote nothing past the window")
			}
			return err
		}},
		{"a batch of recent uses", func() error {
			batch := store.NewUseBatch(10)
			batch.Add(store.KeyUse{KeyID: k.ID, At: now, ClientIP: "192.0.2.1", Route: "GET /api/v1/me", Result: store.UseOK})
			return a.RecordKeyUses(ctx, batch)
		}},
	}
	for _, s := range stays {
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		if after := count(); after != before {
			t.Errorf("after %s, Changes moved from %d to %d", s.what, before, after)
			before = after
		}
	}
}

package handlers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// kept is how many keys' picks p holds.
func (p *lastUsedPicks) kept() int {
	n := 0
	p.byKey.Range(func(any, any) bool { n++; return true })
	return n
}

func TestLastUsedPicksOneCallPerKeyPerWindow(t *testing.T) {
	const every = 29 * time.Second
	p := newLastUsedPicks(every)
	t0 := time.Unix(1_800_000_000, 0)

	var picked atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if p.pick(7, t0) {
				picked.Add(1)
			}
		})
	}
	wg.Wait()
	if n := picked.Load(); n != 1 {
		t.Fatalf("64 concurrent calls of one key: %d picked, want 1", n)
	}
	if p.pick(7, t0.Add(every-time.Millisecond)) {
		t.Error("a call within the window was picked again")
	}
	if !p.pick(8, t0) {
		t.Error("another key's first call was not picked")
	}
	if !p.pick(7, t0.Add(every)) {
		t.Error("the first call after the window was not picked")
	}
}

// The picks are kept for the keys used lately, not for every key the
// process ever saw used: a server calling 100,000 keys once a day each
// would otherwise hold them all.
func TestLastUsedPicksForgetKeysNotUsedLately(t *testing.T) {
	const every = 29 * time.Second
	p := newLastUsedPicks(every)
	t0 := time.Unix(1_800_000_000, 0)
	for id := range int64(1000) {
		p.pick(id, t0)
	}
	p.pick(5000, t0.Add(every-time.Second)) // used lately: kept
	if n := p.kept(); n != 1001 {
		t.Fatalf("kept %d picks, want 1001", n)
	}

	// The first pick a window later forgets the older ones.
	if !p.pick(6000, t0.Add(every)) {
		t.Fatal("a new key's call was not picked")
	}
	if n := p.kept(); n != 2 {
		t.Errorf("a window later, kept %d picks, want 2 (the keys used within it)", n)
	}
	if p.pick(5000, t0.Add(every)) {
		t.Error("the key used within the window was picked again: its pick was forgotten too soon")
	}
	// A forgotten key is picked again at its next call, as it would be
	// had its pick been kept.
	if !p.pick(3, t0.Add(every)) {
		t.Error("a forgotten key's next call was not picked")
	}
}

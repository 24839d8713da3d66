package sqlstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"keydesk/store"
)

// A caller that arrives while a read of the count is under way does not
// take that read's answer, which may predate a change answered before the
// caller arrived: it waits for the next read, which begins after.
func TestPollEpochAnswersWithAReadBegunAfterTheCall(t *testing.T) {
	var count atomic.Uint64
	count.Store(1)
	started := make(chan uint64, 10)
	release := make(chan struct{})
	p := NewPollEpoch(func(context.Context) (uint64, error) {
		n := count.Load()
		started <- n
		<-release
		return n, nil
	}, func(context.Context) error { count.Add(1); return nil })

	first := make(chan uint64)
	go func() { n, _ := p.Current(context.Background()); first <- n }()
	if n := <-started; n != 1 {
		t.Fatalf("first read saw %d", n)
	}
	// A change is counted and answered while the first read runs; then a
	// second caller arrives.
	p.Bump(context.Background())
	second := make(chan uint64)
	go func() { n, _ := p.Current(context.Background()); second <- n }()
	// And a third, which shares the second's read.
	third := make(chan uint64)
	go func() { n, _ := p.Current(context.Background()); third <- n }()
	time.Sleep(10 * time.Millisecond) // let both queue; the answer does not depend on it
	close(release)
	if n := <-first; n != 1 {
		t.Errorf("first caller: %d, want 1", n)
	}
	if n := <-second; n != 2 {
		t.Errorf("second caller, who arrived after the change: %d, want 2", n)
	}
	if n := <-third; n != 2 {
		t.Errorf("third caller: %d, want 2", n)
	}
	select {
	case n := <-started:
		if n != 2 {
			t.Errorf("second read saw %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no second read ran")
	}
	select {
	case n := <-started:
		t.Errorf("a third read ran (saw %d): the callers who queued together did not share one", n)
	default:
	}
}

// A flood of unknown keys fills only the misses' share of the cache, and
// never pushes out a key found.
func TestKeyCacheIsBounded(t *testing.T) {
	c := newKeyCache(10, 100)
	now := time.Now()
	for i := range 10 {
		k, u := store.APIKey{ID: int64(i)}, store.User{}
		c.putFound(fmt.Sprintf("found-%d", i), store.KeyMatch{Key: &k, Owner: &u}, 1, now)
	}
	for i := range 100_000 {
		c.putMissing(fmt.Sprintf("random-%d", i), 1, now)
	}
	if len(c.missing) > 100 || len(c.found) != 10 {
		t.Errorf("%d misses and %d keys held, want at most 100 and exactly 10", len(c.missing), len(c.found))
	}
	for i := range 10 {
		if _, found, hit := c.get(fmt.Sprintf("found-%d", i), 1, now); !hit || !found {
			t.Errorf("key %d was pushed out", i)
		}
	}
	for i := range 1_000 {
		k, u := store.APIKey{ID: int64(100 + i)}, store.User{}
		c.putFound(fmt.Sprintf("more-%d", i), store.KeyMatch{Key: &k, Owner: &u}, 1, now)
	}
	if len(c.found) > 10 || len(c.byID) > 10 {
		t.Errorf("%d keys and %d index entries held, want at most 10", len(c.found), len(c.byID))
	}
	// An answer is not kept past its count, nor past cacheMaxAge.
	if _, _, hit := c.get("more-999", 2, now); hit {
		t.Error("a newer count still hit")
	}
	if _, _, hit := c.get("more-999", 1, now.Add(cacheMaxAge)); hit {
		t.Error("an answer cacheMaxAge old still hit")
	}
}

package handlers

import (
	"sync"
	"sync/atomic"
	"time"
)

// lastUsedPicks are, per API key id, when this process last picked a call
// to become the key's Last Used, so that of many concurrent calls one is
// picked per key per store.LastUsedEvery (see setsLastUsed).
//
// A pick older than the window decides nothing any more: the next call is
// picked all the same. Such picks are forgotten, at most once a window, by
// the first pick after it, so the map holds the keys used in about the last
// two windows rather than every key the process ever saw.
type lastUsedPicks struct {
	every time.Duration
	byKey sync.Map     // key id → Unix ms of the pick
	swept atomic.Int64 // Unix ms of the last sweep
}

func newLastUsedPicks(every time.Duration) *lastUsedPicks {
	return &lastUsedPicks{every: every}
}

// pick reports whether the call of key id at now is the one picked: no
// pick of that key within the window, and no concurrent call took it first.
func (p *lastUsedPicks) pick(id int64, now time.Time) bool {
	nowMs, every := now.UnixMilli(), p.every.Milliseconds()
	for {
		prev, loaded := p.byKey.LoadOrStore(id, nowMs)
		if !loaded {
			p.sweep(nowMs)
			return true
		}
		if nowMs-prev.(int64) < every {
			return false
		}
		if p.byKey.CompareAndSwap(id, prev, nowMs) {
			return true
		}
		// Another call took it, or the sweep forgot it: look again.
	}
}

// sweep forgets the picks older than the window, when a window has passed
// since it last did. One caller sweeps, in its own call (a walk of the
// map, once a window); the others go on.
func (p *lastUsedPicks) sweep(nowMs int64) {
	last := p.swept.Load()
	if nowMs-last < p.every.Milliseconds() || !p.swept.CompareAndSwap(last, nowMs) {
		return
	}
	p.byKey.Range(func(id, at any) bool {
		// CompareAndDelete: a pick made meanwhile is kept.
		if nowMs-at.(int64) >= p.every.Milliseconds() {
			p.byKey.CompareAndDelete(id, at)
		}
		return true
	})
}

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"keydesk/store"
)

// Epoch counts the changes that can alter what FindKey answers: every
// write to a key or an account. FindKey's cache keeps an answer only while
// the epoch it was read under is the current one, so a change made through
// any instance sharing the database reaches every other on its very next
// request; how the count is shared depends on the engine (a memory-mapped
// file beside a SQLite database, a sequence in PostgreSQL).
//
// The protocol: a writer bumps before its transaction and again after its
// commit, and answers only after the second bump; a reader takes the
// current value before it reads the row and files the row under it. A
// refill racing a commit is filed under a value the second bump retires. A
// writer that dies between its commit and its second bump leaves rows
// filed during its transaction current: cacheMaxAge bounds how long.
type Epoch interface {
	// Current is the count as it stood at some moment after the call
	// began.
	Current(ctx context.Context) (uint64, error)
	// Bump counts a change.
	Bump(ctx context.Context) error
	Close() error
}

// WithEpoch gives the store the shared change count that lets FindKey keep
// a cache; without one (or with nil), every FindKey reads the database.
// The store closes it.
func WithEpoch(e Epoch) Option {
	return func(db *DB) {
		if db.epoch != nil && db.epoch != e {
			db.epoch.Close()
		}
		db.epoch, db.keys = e, nil
		if e != nil {
			db.keys = newKeyCache(keyCacheSize, missCacheSize)
		}
	}
}

// The cache's bounds: a flood of random well-formed keys fills only the
// misses' share, evicting other misses, never a known key.
const (
	keyCacheSize  = 20_000
	missCacheSize = 5_000
	// cacheMaxAge is the last resort of the protocol above, and the
	// longest a cached row goes unread.
	cacheMaxAge = 30 * time.Second
)

// keyCache holds FindKey's answers by secret hash: the keys found, and
// the hashes found to be no key's.
type keyCache struct {
	mu       sync.RWMutex
	found    map[string]cachedKey
	byID     map[int64][]string // the hashes found of each key, for forget
	missing  map[string]cachedMiss
	maxFound int
	maxMiss  int
}

type cachedKey struct {
	key    store.APIKey
	owner  store.User
	prev   bool
	epoch  uint64
	filled time.Time
}

type cachedMiss struct {
	epoch  uint64
	filled time.Time
}

func newKeyCache(maxFound, maxMiss int) *keyCache {
	return &keyCache{found: map[string]cachedKey{}, byID: map[int64][]string{}, missing: map[string]cachedMiss{},
		maxFound: maxFound, maxMiss: maxMiss}
}

// get answers from the cache: hit false means read the database. The
// match it returns is the caller's own copy.
func (c *keyCache) get(hash string, epoch uint64, now time.Time) (m store.KeyMatch, found, hit bool) {
	c.mu.RLock()
	e, ok := c.found[hash]
	miss, missed := c.missing[hash]
	c.mu.RUnlock()
	switch {
	case ok && e.epoch == epoch && now.Sub(e.filled) < cacheMaxAge:
		k, u := e.key, e.owner
		return store.KeyMatch{Key: &k, Owner: &u, Previous: e.prev}, true, true
	case missed && miss.epoch == epoch && now.Sub(miss.filled) < cacheMaxAge:
		return store.KeyMatch{}, false, true
	}
	return store.KeyMatch{}, false, false
}

func (c *keyCache) putFound(hash string, m store.KeyMatch, epoch uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.missing, hash)
	if old, ok := c.found[hash]; ok {
		delete(c.found, hash)
		c.unindex(old.key.ID)
	}
	if len(c.found) >= c.maxFound {
		if evicted, ok := evictOne(c.found); ok {
			c.unindex(evicted.key.ID)
		}
	}
	c.found[hash] = cachedKey{key: *m.Key, owner: *m.Owner, prev: m.Previous, epoch: epoch, filled: now}
	c.byID[m.Key.ID] = append(c.byID[m.Key.ID], hash)
}

// forget drops what the cache holds of one key: its Last Used changed,
// which the change count leaves out (it moves with every call, and may lag
// anyway), and this instance's own answers should show it.
func (c *keyCache) forget(keyID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hash := range c.byID[keyID] {
		if e, ok := c.found[hash]; ok && e.key.ID == keyID {
			delete(c.found, hash)
		}
	}
	delete(c.byID, keyID)
}

// unindex drops the key's index entry when none of its hashes remain.
func (c *keyCache) unindex(keyID int64) {
	hashes := c.byID[keyID][:0]
	for _, h := range c.byID[keyID] {
		if e, ok := c.found[h]; ok && e.key.ID == keyID {
			hashes = append(hashes, h)
		}
	}
	if len(hashes) == 0 {
		delete(c.byID, keyID)
		return
	}
	c.byID[keyID] = hashes
}

func (c *keyCache) putMissing(hash string, epoch uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.missing[hash]; !ok && len(c.missing) >= c.maxMiss {
		evictOne(c.missing)
	}
	if e, ok := c.found[hash]; ok {
		delete(c.found, hash)
		c.unindex(e.key.ID)
	}
	c.missing[hash] = cachedMiss{epoch: epoch, filled: now}
}

// evictOne drops an entry, one Go's map iteration happens to start at: as
// good as random for a cache whose entries all retire at the next change.
func evictOne[V any](m map[string]V) (V, bool) {
	for k, v := range m {
		delete(m, k)
		return v, true
	}
	var zero V
	return zero, false
}

// FindKey finds the key one of whose secrets has this hash, its current
// one or its previous one, with its owner, whatever the state of either:
// whether it works is KeyMatch.Check's to say, so that a refused call is
// still counted as the key's. No key is ErrNotFound. The answer is the
// database's as of a moment after the call began: from the cache while no
// key or account has changed since it was read (see Epoch), from the
// database otherwise, so a key disabled or deleted through any instance
// fails on the very next request.
func (db *DB) FindKey(ctx context.Context, hash string) (store.KeyMatch, error) {
	if db.keys == nil {
		return db.findKey(ctx, hash)
	}
	epoch, err := db.epoch.Current(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return store.KeyMatch{}, fmt.Errorf("find key: %w", ctx.Err())
		}
		// Without a count, read the row: slower, never stale.
		return db.findKey(ctx, hash)
	}
	now := time.Now()
	if m, found, hit := db.keys.get(hash, epoch, now); hit {
		if !found {
			return store.KeyMatch{}, fmt.Errorf("find key: %w", store.ErrNotFound)
		}
		return m, nil
	}
	m, err := db.findKey(ctx, hash)
	switch {
	case err == nil:
		db.keys.putFound(hash, m, epoch, now)
	case errors.Is(err, store.ErrNotFound):
		db.keys.putMissing(hash, epoch, now)
	}
	return m, err
}

// forgetKey drops the cache's copy of a key whose Last Used this instance
// changed.
func (db *DB) forgetKey(keyID int64) {
	if db.keys != nil {
		db.keys.forget(keyID)
	}
}

// findKey reads FindKey's answer from the database.
func (db *DB) findKey(ctx context.Context, hash string) (store.KeyMatch, error) {
	var kf keyFields
	var uf userFields
	var current bool
	if err := scan(db.authStmt.QueryRowContext(ctx, db.args([]any{hash, hash, hash})...), kf.dest(), append(uf.dest(), &current)...); err != nil {
		return store.KeyMatch{}, fmt.Errorf("find key: %w", err)
	}
	k, u := kf.key(), uf.user()
	return store.KeyMatch{Key: &k, Owner: &u, Previous: !current}, nil
}

// bump counts a change in the epoch, if the store has one. A bump that
// fails is retried a few times, then logged by its caller's error: the
// cache's age bound is what remains.
func (db *DB) bump(ctx context.Context) error {
	if db.epoch == nil {
		return nil
	}
	var err error
	for range 3 {
		if err = db.epoch.Bump(context.WithoutCancel(ctx)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("count a change: %w", err)
}

// PollEpoch is an Epoch for engines that share only the database: Current
// reads the count with read, once for every batch of concurrent callers,
// with a read that began after each of them called (a caller that arrives
// while a read runs waits for the next one, which every such caller
// shares).
type PollEpoch struct {
	read func(ctx context.Context) (uint64, error)
	bump func(ctx context.Context) error

	mu      sync.Mutex
	running *epochRead // in flight
	queued  *epochRead // starts when running ends
}

type epochRead struct {
	done chan struct{}
	v    uint64
	err  error
}

// NewPollEpoch makes a PollEpoch on the engine's read and bump.
func NewPollEpoch(read func(context.Context) (uint64, error), bump func(context.Context) error) *PollEpoch {
	return &PollEpoch{read: read, bump: bump}
}

// epochReadTimeout bounds one shared read: no caller's context governs
// it, since every caller waiting shares it.
const epochReadTimeout = 5 * time.Second

func (p *PollEpoch) Current(ctx context.Context) (uint64, error) {
	p.mu.Lock()
	var r *epochRead
	switch {
	case p.running == nil:
		r = &epochRead{done: make(chan struct{})}
		p.running = r
		go p.run(r)
	case p.queued == nil:
		p.queued = &epochRead{done: make(chan struct{})}
		r = p.queued
	default:
		r = p.queued
	}
	p.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run performs r, then each read queued behind it, in turn.
func (p *PollEpoch) run(r *epochRead) {
	for r != nil {
		ctx, cancel := context.WithTimeout(context.Background(), epochReadTimeout)
		r.v, r.err = p.read(ctx)
		cancel()
		close(r.done)
		p.mu.Lock()
		r, p.queued = p.queued, nil
		p.running = r
		p.mu.Unlock()
	}
}

func (p *PollEpoch) Bump(ctx context.Context) error { return p.bump(ctx) }

func (p *PollEpoch) Close() error { return nil }

package handlers

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"keydesk/store"
)

// UseWriter is where a UseRecorder writes its batches.
type UseWriter interface {
	RecordKeyUses(ctx context.Context, b *store.UseBatch) error
}

// UseRecorder keeps each key's recent use without a write per call: calls
// are gathered in memory and written in one transaction at most once per
// interval (a second in production), by Run, and once more by Flush at
// shutdown. Its memory is bounded: a batch holds at most maxKeys keys,
// each with at most store.RecentUses detailed calls; a call of one more
// key is dropped and counted, and the count logged with the next write.
type UseRecorder struct {
	w       UseWriter
	log     *slog.Logger
	maxKeys int

	mu      sync.Mutex
	batch   *store.UseBatch
	writing sync.Mutex // one write at a time, in order
}

// useBatchKeys bounds a batch: 10,000 keys of 50 calls is a few MiB at
// worst, and one instance rarely sees that many keys in a second.
const useBatchKeys = 10_000

// NewUseRecorder makes a recorder writing to w.
func NewUseRecorder(w UseWriter, log *slog.Logger) *UseRecorder {
	return newUseRecorder(w, log, useBatchKeys)
}

// newUseRecorder is NewUseRecorder holding at most maxKeys keys a batch.
func newUseRecorder(w UseWriter, log *slog.Logger, maxKeys int) *UseRecorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &UseRecorder{w: w, log: log, maxKeys: maxKeys, batch: store.NewUseBatch(maxKeys)}
}

// Record buffers one call.
func (r *UseRecorder) Record(u store.KeyUse) {
	r.mu.Lock()
	r.batch.Add(u)
	r.mu.Unlock()
}

// Run writes what was recorded every interval until ctx ends.
func (r *UseRecorder) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("record key uses", "err", err)
			}
		}
	}
}

// Flush writes what was recorded since the last write. A batch that fails
// to write is lost, not retried: recent use is a record of calls, and no
// call waits on it.
func (r *UseRecorder) Flush(ctx context.Context) error {
	r.writing.Lock()
	defer r.writing.Unlock()
	r.mu.Lock()
	b := r.batch
	if b.Empty() && b.Dropped == 0 {
		r.mu.Unlock()
		return nil
	}
	r.batch = store.NewUseBatch(r.maxKeys)
	r.mu.Unlock()
	if b.Dropped > 0 {
		r.log.Warn("key uses dropped: too many keys in one interval", "dropped", b.Dropped, "keys", b.Len())
	}
	return r.w.RecordKeyUses(ctx, b)
}

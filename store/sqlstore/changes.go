package sqlstore

import (
	"context"
	"errors"
	"fmt"
)

// WithPageEpoch gives the store the count that rendered pages are cached
// under (see Changes). Its Current counts every change a page may show:
// each one the epoch counts, and each quiet write pages show; its Bump
// counts one such quiet write. How the two counts are kept as one depends
// on the engine. The store closes it.
func WithPageEpoch(e Epoch) Option {
	return func(db *DB) {
		if db.pages != nil && db.pages != e {
			db.pages.Close()
		}
		db.pages = e
	}
}

// ErrNoChangeCount is Changes' answer from a store that keeps no count of
// the changes pages show: nothing rendered from it may be reused.
var ErrNoChangeCount = errors.New("the store keeps no change count")

// Changes is the count of the changes a page may show: every write to a
// key or an account (the epoch's), and the quiet writes that FindKey's
// cache leaves out but pages show: an audit event, a key's first use (its
// Last Used, from never), a previous secret's use during its overlap. A
// page rendered from reads that began after Changes answered n stays true
// while Changes answers n, through whichever instance the next change is
// made, but for a later Last Used (written at most every 30 s, and so
// that coarse already): a page reused under the count must bound its age.
// Sessions, sign-in attempts and the recent uses are not counted; no page
// reused under the count may show them.
func (db *DB) Changes(ctx context.Context) (uint64, error) {
	if db.pages == nil {
		return 0, ErrNoChangeCount
	}
	n, err := db.pages.Current(ctx)
	if err != nil {
		return 0, fmt.Errorf("changes: %w", err)
	}
	return n, nil
}

// countShown counts a committed quiet write that pages show. A count that
// fails is not retried further: the pages' cache bounds how long a page is
// reused, which is what remains.
func (db *DB) countShown(ctx context.Context) {
	if db.pages == nil {
		return
	}
	for range 3 {
		if db.pages.Bump(context.WithoutCancel(ctx)) == nil {
			return
		}
	}
}

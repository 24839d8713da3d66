//go:build unix

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// fileEpoch is a change count that every process on one SQLite database
// shares (see sqlstore.Epoch): eight bytes of a small file beside the
// database, mapped into each process's memory with MAP_SHARED, so that a
// bump in one is seen by the next read in every other, at the cost of an
// atomic load. Processes sharing a SQLite file share a host, and so the
// page. The file holds two counts: the epoch's at its start, and the
// quiet writes pages show (see sqlstore.WithPageEpoch) after it.
type fileEpoch struct {
	count  *uint64
	closed atomic.Bool
}

// errEpochClosed answers Current after Close: FindKey then reads the
// database, which a closed store refuses too.
var errEpochClosed = errors.New("epoch closed")

// epochFileSize is one page: mmap maps whole pages anyway.
const epochFileSize = 4096

// openEpoch maps path's epoch file, creating it (0600, as the database)
// when missing, and returns its two counts: the epoch, and the pages'. Two processes creating it at once both grow it to the same
// size; it never shrinks, and a new file starts the count at zero, which no
// cached answer of a process that saw an older file can be filed under
// after that process reopens it.
func openEpoch(dbPath string) (*fileEpoch, *pageEpoch, error) {
	f, err := os.OpenFile(dbPath+"-epoch", os.O_RDWR|os.O_CREATE, dbFileMode)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: epoch file: %w", err)
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("open store: epoch file: %w", err)
	}
	if fi.Mode().Perm() != dbFileMode {
		if err := f.Chmod(dbFileMode); err != nil {
			return nil, nil, fmt.Errorf("open store: epoch file: %w", err)
		}
	}
	if fi.Size() < epochFileSize {
		if err := f.Truncate(epochFileSize); err != nil {
			return nil, nil, fmt.Errorf("open store: epoch file: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, epochFileSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("open store: map the epoch file: %w", err)
	}
	// The page is aligned, so the counts are too, as 64-bit atomics need.
	keys := &fileEpoch{count: (*uint64)(unsafe.Pointer(&mem[0]))}
	quiet := &fileEpoch{count: (*uint64)(unsafe.Pointer(&mem[8]))}
	return keys, &pageEpoch{keys: keys, quiet: quiet}, nil
}

// pageEpoch is the count pages are cached under: the epoch's count plus
// the quiet writes'. Each only grows, so the sum stands only while both
// do.
type pageEpoch struct {
	keys, quiet *fileEpoch
}

func (e *pageEpoch) Current(ctx context.Context) (uint64, error) {
	k, err := e.keys.Current(ctx)
	if err != nil {
		return 0, err
	}
	q, err := e.quiet.Current(ctx)
	return k + q, err
}

// Bump counts a quiet write.
func (e *pageEpoch) Bump(ctx context.Context) error { return e.quiet.Bump(ctx) }

func (e *pageEpoch) Close() error { return e.quiet.Close() }

func (e *fileEpoch) Current(context.Context) (uint64, error) {
	if e.closed.Load() {
		return 0, errEpochClosed
	}
	return atomic.LoadUint64(e.count), nil
}

func (e *fileEpoch) Bump(context.Context) error {
	atomic.AddUint64(e.count, 1)
	return nil
}

// Close stops the count's use but leaves its page mapped: a request still
// under way may be about to read it, and unmapping would turn that read
// into a crash rather than an error. One page per store opened stays
// mapped until the process exits.
func (e *fileEpoch) Close() error {
	e.closed.Store(true)
	return nil
}

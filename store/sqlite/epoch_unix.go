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

// fileEpoch is the change count that every process on one SQLite database
// shares (see sqlstore.Epoch): eight bytes at the start of a small file
// beside the database, mapped into each process's memory with MAP_SHARED,
// so that a bump in one is seen by the next read in every other, at the
// cost of an atomic load. Processes sharing a SQLite file share a host, and
// so the page.
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
// when missing. Two processes creating it at once both grow it to the same
// size; it never shrinks, and a new file starts the count at zero, which no
// cached answer of a process that saw an older file can be filed under
// after that process reopens it.
func openEpoch(dbPath string) (*fileEpoch, error) {
	f, err := os.OpenFile(dbPath+"-epoch", os.O_RDWR|os.O_CREATE, dbFileMode)
	if err != nil {
		return nil, fmt.Errorf("open store: epoch file: %w", err)
	}
	defer f.Close() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open store: epoch file: %w", err)
	}
	if fi.Mode().Perm() != dbFileMode {
		if err := f.Chmod(dbFileMode); err != nil {
			return nil, fmt.Errorf("open store: epoch file: %w", err)
		}
	}
	if fi.Size() < epochFileSize {
		if err := f.Truncate(epochFileSize); err != nil {
			return nil, fmt.Errorf("open store: epoch file: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, epochFileSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("open store: map the epoch file: %w", err)
	}
	// The page is aligned, so the count is too, as 64-bit atomics need.
	return &fileEpoch{count: (*uint64)(unsafe.Pointer(&mem[0]))}, nil
}

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

package handlers

import (
	"bytes"
	"runtime"
	"testing"
)

// The page buffers and compressors are kept through garbage collections,
// which a sync.Pool empties: a busy instance collects several times a
// second, and reallocating them was most of a first view's cost.
func TestFreeListKeepsValuesThroughCollections(t *testing.T) {
	made := 0
	l := newFreeList(2, func() *bytes.Buffer { made++; return new(bytes.Buffer) })
	a, b := l.get(), l.get()
	l.put(a)
	l.put(b)
	l.put(new(bytes.Buffer)) // no room: dropped, without blocking
	runtime.GC()
	runtime.GC()
	if got1, got2 := l.get(), l.get(); got1 != a || got2 != b {
		t.Fatalf("after two collections the list gave %p, %p; want the kept %p, %p", got1, got2, a, b)
	}
	if l.get(); made != 3 {
		t.Fatalf("made %d values; want 3 (two kept, one when the list ran out)", made)
	}
}

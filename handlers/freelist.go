package handlers

// freeList keeps up to cap(free) values for reuse: the page buffers and
// gzip compressors every page needs, which are large (a 50-key page is
// about 100 KB of HTML, a compressor about 780 KB of tables and history).
// A sync.Pool would not do: the garbage collector empties it every other
// cycle, and a busy instance collects several times a second, so each
// emptied pool meant allocating and zeroing them all anew, which cost a
// page more than compressing it. What the list holds stays allocated (its
// size bounds that); what it has no room for is left to the collector.
type freeList[T any] struct {
	free  chan T
	fresh func() T
}

func newFreeList[T any](size int, fresh func() T) *freeList[T] {
	return &freeList[T]{free: make(chan T, size), fresh: fresh}
}

// get takes a kept value, or makes one when none is left.
func (l *freeList[T]) get() T {
	select {
	case v := <-l.free:
		return v
	default:
		return l.fresh()
	}
}

// put keeps v for the next get, unless the list is full.
func (l *freeList[T]) put(v T) {
	select {
	case l.free <- v:
	default:
	}
}

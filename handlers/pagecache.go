package handlers

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"

	"keydesk/store"
)

// The rendered-page cache: a page a viewer has just been shown is shown
// again from its compressed bytes, without reading, rendering or
// compressing it anew, for as long as nothing it shows has changed. What
// it shows changes in two ways, and each retires the copy:
//
//   - a write: the store's change count (Store.Changes) moves after every
//     commit a page may show, made through any instance, and a copy is
//     kept under the count taken before its reads began;
//   - the clock: a key expires, enters its last week, ends its overlap
//     (the page says when: reuseUntil), and relative times ("3 minutes
//     ago") move on, as does a key's Last Used after its first use, which
//     the count leaves out. No copy outlives pageMaxAge, so those are at
//     most that far behind.
//
// Only a signed-in GET of a whole page is reused, never a fragment, never
// a page with a notice to show once (a flash), never one that set a
// cookie, and never a page that shows a new key's secret (those answer
// POSTs). A request that says Cache-Control: no-cache, as a browser's hard
// reload does, is rendered anew.

// pageMaxAge bounds how long a copy is reused: how far its relative times
// may lag the clock.
const pageMaxAge = 10 * time.Second

// pageCacheBytes bounds the compressed bytes kept, for every viewer and
// page together: about 400 key pages of 50 keys.
const pageCacheBytes = 4 << 20

// ctxReuse holds the *pageFill of a page being rendered for the cache.
const ctxReuse = "keydesk.reuse"

// pageFill is what a page being rendered tells the cache: until when the
// clock leaves it true.
type pageFill struct {
	until time.Time
}

// reuseUntil tells the cache that the page being rendered stops being
// true at t, when the clock alone changes what it shows (a key expires,
// say). Times not after now change nothing; outside a cached page, it does
// nothing.
func reuseUntil(c echo.Context, now time.Time, times ...time.Time) {
	f, ok := c.Get(ctxReuse).(*pageFill)
	if !ok {
		return
	}
	for _, t := range times {
		if t.After(now) && t.Before(f.until) {
			f.until = t
		}
	}
}

// reuseKeyTimes is reuseUntil for the moments a key's row changes by
// itself: its expiry, the start of its last week, the end of its
// previous secret's overlap.
func reuseKeyTimes(c echo.Context, now time.Time, k *store.APIKey) {
	if !k.ExpiresAt.IsZero() {
		reuseUntil(c, now, k.ExpiresAt, k.ExpiresAt.Add(-store.ExpiresSoon))
	}
	if !k.PrevUntil.IsZero() {
		reuseUntil(c, now, k.PrevUntil)
	}
}

type pageCache struct {
	mu      sync.Mutex
	entries map[string]*cachedPage
	bytes   int // of every entry's gz
}

type cachedPage struct {
	changes uint64    // the store's count its reads began under
	until   time.Time // the store's clock
	gz      []byte    // the body, gzipped
}

func newPageCache() *pageCache {
	return &pageCache{entries: map[string]*cachedPage{}}
}

// get answers the copy kept under key if it still stands at changes and
// now; a copy that no longer does is dropped.
func (pc *pageCache) get(key string, changes uint64, now time.Time) *cachedPage {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.entries[key]
	if !ok {
		return nil
	}
	if e.changes != changes || !now.Before(e.until) {
		pc.drop(key, e)
		return nil
	}
	return e
}

func (pc *pageCache) put(key string, e *cachedPage) {
	if len(e.gz) > pageCacheBytes/16 {
		return // an unusual page; keeping it would evict many
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if old, ok := pc.entries[key]; ok {
		pc.drop(key, old)
	}
	for pc.bytes+len(e.gz) > pageCacheBytes {
		// Any entry, as Go's map iteration starts: as good as random for
		// copies that the next change retires anyway.
		for k, old := range pc.entries {
			pc.drop(k, old)
			break
		}
	}
	pc.entries[key] = e
	pc.bytes += len(e.gz)
}

func (pc *pageCache) drop(key string, e *cachedPage) {
	delete(pc.entries, key)
	pc.bytes -= len(e.gz)
}

// reusable wraps a page handler, behind the middleware that signs the
// viewer in, with the page cache.
func (s *server) reusable(page echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		u, signedIn := c.Get(ctxUser).(*store.User)
		if req.Method != http.MethodGet || isHTMX(c) || !signedIn || s.flashPending(c) {
			return page(c)
		}
		ctx := req.Context()
		changes, err := s.db.Changes(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			// No count (or none readable): render as if there were no cache.
			return page(c)
		}
		key := u.PublicID + "\n" + s.baseURL(c) + "\n" + req.URL.RequestURI()
		if req.Header.Get(echo.HeaderCacheControl) != "no-cache" {
			if e := s.pages.get(key, changes, s.db.Now()); e != nil {
				return sendPage(c.Response(), req, e.gz, nil)
			}
		}

		// Render into a buffer, as the page would be sent, then keep it.
		now := s.db.Now()
		fill := &pageFill{until: now.Add(pageMaxAge)}
		c.Set(ctxReuse, fill)
		res := c.Response()
		rec := &pageRecorder{ResponseWriter: res.Writer, code: http.StatusOK, body: pages.get()}
		defer putPage(rec.body)
		res.Writer = rec
		err = func() error {
			// Restored however the page ends, a panic included: the error
			// page goes to the client, not into the recorder.
			defer func() { res.Writer = rec.ResponseWriter; c.Set(ctxReuse, nil) }()
			return page(c)
		}()
		if err != nil || !rec.wrote {
			return err
		}
		// The page wrote through Echo's response, which counts it sent:
		// what follows goes to the writer beneath.
		w := rec.ResponseWriter
		if rec.code != http.StatusOK || w.Header().Get(echo.HeaderSetCookie) != "" {
			// Not a page to keep (a redirect, say): send it as rendered.
			w.WriteHeader(rec.code)
			_, err = w.Write(rec.body.Bytes())
			return err
		}
		gz, err := compressPage(rec.body.Bytes())
		if err != nil {
			return err
		}
		s.pages.put(key, &cachedPage{changes: changes, until: fill.until, gz: gz})
		return sendPage(w, req, gz, rec.body.Bytes())
	}
}

// sendPage sends a page's gzipped bytes as they are to a client that
// takes gzip, and to one that does not, plain (unpacked from gz when nil).
func sendPage(w http.ResponseWriter, req *http.Request, gz, plain []byte) error {
	h := w.Header()
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	if acceptsGzip(req.Header.Get(echo.HeaderAcceptEncoding)) {
		h.Set(echo.HeaderContentEncoding, "gzip")
		h.Set(echo.HeaderContentLength, strconv.Itoa(len(gz)))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(gz)
		return err
	}
	if plain == nil {
		r, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			return err
		}
		if plain, err = io.ReadAll(r); err != nil {
			return err
		}
	}
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(plain)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(plain)
	return err
}

// compressPage gzips a page to keep.
func compressPage(body []byte) ([]byte, error) {
	buf := pages.get()
	defer putPage(buf)
	w := gzipWriters.get()
	defer gzipWriters.put(w)
	w.Reset(buf)
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	w.Reset(nil)
	return bytes.Clone(buf.Bytes()), nil
}

// pageRecorder holds a page's status and body as its handler writes them.
type pageRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
	body  *bytes.Buffer // one of pages
}

func (r *pageRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
}

func (r *pageRecorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.body.Write(p)
}

package handlers

import (
	"bufio"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// compressMinLength is the smallest body worth compressing: below it the
// gzip header and trailer cost more than they save.
const compressMinLength = 512

// gzipWriters holds the compressors the responses reuse. Level 1: a page
// is a few KB of repetitive HTML, which the fastest level shrinks nearly as
// well as the default (a key page of 50 keys: 112 KB to 9.0 KB, against
// 7.6 KB at level 5), and this package's level 1 does it in a tenth of the
// time the standard library's level 5 takes. CPU, not bytes, is what a busy
// instance runs short of. Two a core are kept (about 780 KB each): one
// per response being compressed at once, with room for slow clients.
var gzipWriters = newFreeList(2*runtime.GOMAXPROCS(0), func() *gzip.Writer {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
})

// compress gzips responses of compressMinLength bytes or more for a client
// that accepts gzip, except the ones that show a new API key (create and
// regenerate): a compressed response that holds a secret beside text an
// attacker can influence is what BREACH-style attacks measure.
// (Cross-origin protection already keeps other sites from driving that
// post.)
func (s *server) compress() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req, res := c.Request(), c.Response()
			if req.Method == http.MethodPost &&
				(req.URL.Path == "/settings/api-keys" || c.Path() == "/settings/api-keys/:id/regenerate") {
				return next(c)
			}
			res.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			if !acceptsGzip(req.Header.Get(echo.HeaderAcceptEncoding)) {
				return next(c)
			}
			w := &gzipResponseWriter{ResponseWriter: res.Writer, code: http.StatusOK}
			res.Writer = w
			defer func() {
				res.Writer = w.ResponseWriter
				w.finish()
			}()
			return next(c)
		}
	}
}

// acceptsGzip reports whether an Accept-Encoding header lists gzip with a
// quality above zero.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		for param := range strings.SplitSeq(params, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(name, "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}

// gzipResponseWriter holds back the status and the first bytes until it
// knows whether the body reaches compressMinLength: then it sends the
// status with Content-Encoding: gzip and compresses, or sends the short
// body as it is.
type gzipResponseWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	held        []byte       // the body so far, before the choice
	gz          *gzip.Writer // set once compressing
	plain       bool         // the choice was not to compress
}

func (w *gzipResponseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader, w.code = true, code
	if code < http.StatusOK || code == http.StatusNoContent || code == http.StatusNotModified {
		// No body follows: nothing to compress.
		w.plain = true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *gzipResponseWriter) Write(p []byte) (int, error) {
	switch {
	case w.gz != nil:
		return w.gz.Write(p)
	case w.plain:
		return w.ResponseWriter.Write(p)
	}
	if w.Header().Get(echo.HeaderContentEncoding) != "" {
		// Compressed already (the static assets are, ahead of time).
		w.sendPlain()
		return w.ResponseWriter.Write(p)
	}
	if len(w.held)+len(p) < compressMinLength {
		w.held = append(w.held, p...)
		return len(p), nil
	}
	if err := w.startGzip(p); err != nil {
		return 0, err
	}
	return w.gz.Write(p)
}

// startGzip sends the status with Content-Encoding: gzip and what was
// held; next is the write that follows, which names the content type if
// the handler did not.
func (w *gzipResponseWriter) startGzip(next []byte) error {
	h := w.Header()
	if h.Get(echo.HeaderContentType) == "" {
		h.Set(echo.HeaderContentType, http.DetectContentType(append(w.held[:len(w.held):len(w.held)], next...)))
	}
	h.Set(echo.HeaderContentEncoding, "gzip")
	h.Del(echo.HeaderContentLength)
	w.ResponseWriter.WriteHeader(w.code)
	w.gz = gzipWriters.get()
	w.gz.Reset(w.ResponseWriter)
	held := w.held
	w.held = nil
	_, err := w.gz.Write(held)
	return err
}

// sendPlain sends the status and what was held, uncompressed.
func (w *gzipResponseWriter) sendPlain() {
	w.plain = true
	if len(w.held) > 0 || w.wroteHeader {
		w.ResponseWriter.WriteHeader(w.code)
	}
	if len(w.held) > 0 {
		w.ResponseWriter.Write(w.held) //nolint:errcheck // the client is gone; nothing to tell
	}
	w.held = nil
}

// Flush sends what was written so far: a streamed response (the CSV
// export) is compressed from its first flush.
func (w *gzipResponseWriter) Flush() {
	if w.gz == nil && !w.plain {
		if len(w.held) == 0 && !w.wroteHeader {
			return
		}
		if err := w.startGzip(nil); err != nil {
			return
		}
	}
	if w.gz != nil {
		w.gz.Flush() //nolint:errcheck // a failed write shows on the next one
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// finish ends the response: closes the gzip stream, or sends a body too
// short to compress.
func (w *gzipResponseWriter) finish() {
	switch {
	case w.gz != nil:
		w.gz.Close() //nolint:errcheck // the client is gone; nothing to tell
		w.gz.Reset(nil)
		gzipWriters.put(w.gz)
		w.gz = nil
	case !w.plain:
		w.sendPlain()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *gzipResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack passes a hijack through; nothing has been sent by then.
func (w *gzipResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

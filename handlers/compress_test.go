package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.8": true,
		"GZIP":                 true,
		"gzip;q=0":             false,
		"gzip; q=0.000":        false,
		"deflate, br":          false,
		"":                     false,
		"x-gzip":               false,
		"*":                    false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// compressed serves body through the compress middleware, written in the
// given pieces, with the status and flushes as the handler does them.
func compressed(t *testing.T, acceptEncoding string, status int, flush bool, pieces ...string) *http.Response {
	t.Helper()
	e := echo.New()
	s := &server{}
	e.Use(s.compress())
	e.GET("/", func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(status)
		for _, p := range pieces {
			if _, err := c.Response().Write([]byte(p)); err != nil {
				return err
			}
			if flush {
				c.Response().Flush()
			}
		}
		return nil
	})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec.Result()
}

func gunzip(t *testing.T, res *http.Response) string {
	t.Helper()
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A body of 512 bytes or more reaches a client that accepts gzip
// compressed, with its status and Vary; whether written at once, in pieces
// or flushed piece by piece, it decodes to what was written.
func TestCompressLongBodies(t *testing.T) {
	long := strings.Repeat("<tr><td>deploy</td></tr>", 100)
	for name, tc := range map[string]struct {
		pieces []string
		flush  bool
	}{
		"one write":          {pieces: []string{long}},
		"small pieces":       {pieces: []string{long[:100], long[100:300], long[300:]}},
		"flushed each piece": {pieces: []string{long[:100], long[100:]}, flush: true},
	} {
		t.Run(name, func(t *testing.T) {
			res := compressed(t, "gzip, br", http.StatusUnprocessableEntity, tc.flush, tc.pieces...)
			if res.StatusCode != http.StatusUnprocessableEntity || res.Header.Get("Content-Encoding") != "gzip" ||
				res.Header.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("status %d, Content-Encoding %q, Vary %q", res.StatusCode, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
			}
			if got := gunzip(t, res); got != long {
				t.Fatalf("decoded body differs: %d bytes, want %d", len(got), len(long))
			}
		})
	}
}

// Short bodies, clients that do not accept gzip, and answers without a
// body are sent as they are.
func TestCompressLeavesTheRest(t *testing.T) {
	long := strings.Repeat("x", 2000)
	for name, tc := range map[string]struct {
		accept string
		status int
		body   string
	}{
		"short body":       {accept: "gzip", status: http.StatusOK, body: "<p>Not found</p>"},
		"no gzip accepted": {accept: "br", status: http.StatusOK, body: long},
		"gzip refused":     {accept: "gzip;q=0", status: http.StatusOK, body: long},
		"no content":       {accept: "gzip", status: http.StatusNoContent},
	} {
		t.Run(name, func(t *testing.T) {
			res := compressed(t, tc.accept, tc.status, false, tc.body)
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || res.Header.Get("Content-Encoding") != "" || !bytes.Equal(b, []byte(tc.body)) {
				t.Fatalf("status %d, Content-Encoding %q, body %q", res.StatusCode, res.Header.Get("Content-Encoding"), b)
			}
		})
	}
}

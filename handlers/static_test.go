package handlers

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMissingAssetIsAnonymousAndUncached: a 404 under /static/ for a
// signed-in user carries neither their name nor their email, and is not
// to be cached, while the assets themselves still are.
func TestMissingAssetIsAnonymousAndUncached(t *testing.T) {
	f := newAdminFixture(t)
	for _, p := range []string{"/static/nope.css", "/static/", "/static/app.css/x"} {
		res := f.user.get(p)
		assertStatus(t, res, http.StatusNotFound)
		assertContains(t, res, "Page not found")
		assertLacks(t, res, "Uma User", "uma@example.com", ">Log out<")
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, got)
		}
	}
	res := f.user.get("/static/app.css")
	assertStatus(t, res, http.StatusOK)
	if got := res.Header.Get("Cache-Control"); got != "public, max-age=0, must-revalidate" {
		t.Errorf("an asset: Cache-Control %q", got)
	}
	assertContains(t, f.user.get("/no/such/page"), "Uma User")
}

// The stylesheet and scripts go out compressed ahead of time, at the best
// level, to a client that takes gzip, as another representation (its own
// ETag, revalidated to 304), and as they are to one that does not.
func TestAssetsGoOutPrecompressed(t *testing.T) {
	f := newAdminFixture(t)
	for _, name := range []string{"app.css", "app.js", "htmx-2.0.11.min.js"} {
		p := "/static/" + name
		plain := f.user.do(http.MethodGet, p, nil, map[string]string{"Accept-Encoding": "identity"})
		assertStatus(t, plain, http.StatusOK)
		gz := f.user.do(http.MethodGet, p, nil, map[string]string{"Accept-Encoding": "gzip, br"})
		assertStatus(t, gz, http.StatusOK)
		if plain.Header.Get("Content-Encoding") != "" || gz.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: Content-Encoding %q plain, %q with gzip", name, plain.Header.Get("Content-Encoding"), gz.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(strings.NewReader(gz.body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		decoded, err := io.ReadAll(zr)
		if err != nil || string(decoded) != plain.body || len(plain.body) == 0 {
			t.Fatalf("%s: the compressed asset decodes to %d bytes (%v), the plain one is %d", name, len(decoded), err, len(plain.body))
		}
		if !strings.HasPrefix(gz.Header.Get("Content-Type"), plain.Header.Get("Content-Type")) || gz.Header.Get("Vary") == "" {
			t.Errorf("%s: Content-Type %q (plain %q), Vary %q", name, gz.Header.Get("Content-Type"), plain.Header.Get("Content-Type"), gz.Header.Get("Vary"))
		}
		etag := gz.Header.Get("ETag")
		if etag == "" || etag == plain.Header.Get("ETag") {
			t.Errorf("%s: ETag %q compressed, %q plain; want two", name, etag, plain.Header.Get("ETag"))
		}
		again := f.user.do(http.MethodGet, p, nil, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag})
		assertStatus(t, again, http.StatusNotModified)
	}
}

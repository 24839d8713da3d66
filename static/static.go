// Package static embeds Keydesk's stylesheet, scripts and images, and serves
// them with long-lived caching under content-versioned URLs.
//
// htmx is vendored from the npm package htmx.org@2.0.11 (dist/htmx.min.js);
// its version is in its file name.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

//go:embed *.css *.js *.svg
var files embed.FS

// versions maps each file to a short hash of its content, computed once.
var versions = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	_ = fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	return out
})

// URL is the address of the named asset, versioned by its content so that
// it can be cached for a year and still change with each release.
func URL(name string) string {
	return "/static/" + name + "?v=" + versions()[name]
}

// Exists reports whether name is an asset.
func Exists(name string) bool {
	_, ok := versions()[name]
	return ok
}

// gzipped holds each asset compressed once, at the best level, for clients
// that accept gzip: compressed per request at a server's fast level, the
// stylesheet and scripts would weigh a sixth more on every first visit.
var gzipped = sync.OnceValue(func() map[string][]byte {
	out := map[string][]byte{}
	_ = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b) //nolint:errcheck // a bytes.Buffer does not fail
		zw.Close()  //nolint:errcheck // a bytes.Buffer does not fail
		if buf.Len() < len(b) {
			out[name] = buf.Bytes()
		}
		return nil
	})
	return out
})

// Handler serves the assets under /static/, each with its version as a
// strong ETag; a URL that carries the current version (?v=) is cached for
// a year. acceptsGzip says whether a request's client takes gzip: it then
// gets the asset compressed ahead of time, with Content-Encoding set, which
// the server's own compression leaves alone.
func Handler(acceptsGzip func(*http.Request) bool) http.Handler {
	fileServer := http.StripPrefix("/static/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		version := versions()[name]
		etag := `"` + version + `"`
		h := w.Header()
		h.Set("ETag", etag)
		if r.URL.Query().Get("v") == version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=0, must-revalidate")
		}
		gz, ok := gzipped()[name]
		if ok {
			h.Add("Vary", "Accept-Encoding")
		}
		if !ok || !acceptsGzip(r) {
			fileServer.ServeHTTP(w, r)
			return
		}
		// The compressed bytes are another representation: another ETag.
		etag = `"` + version + `-gz"`
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
		h.Set("Content-Encoding", "gzip")
		w.Write(gz) //nolint:errcheck // the client is gone; nothing to tell
	})
}

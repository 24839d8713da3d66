// Package static embeds Keydesk's stylesheet, scripts and images, and serves
// them with long-lived caching under content-versioned URLs.
//
// htmx is vendored from the npm package htmx.org@2.0.11 (dist/htmx.min.js);
// its version is in its file name.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
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

// Handler serves the assets under /static/; the caller answers for names
// that do not Exist. A request carrying the current version is cached as
// immutable; others are revalidated by ETag.
func Handler() http.Handler {
	fileServer := http.StripPrefix("/static/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version := versions()[strings.TrimPrefix(r.URL.Path, "/static/")]
		w.Header().Set("ETag", `"`+version+`"`)
		if r.URL.Query().Get("v") == version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=0, must-revalidate")
		}
		fileServer.ServeHTTP(w, r)
	})
}

package handlers

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"keydesk/store"
)

var (
	titleRe       = regexp.MustCompile(`<title>([^<]*)</title>`)
	descriptionRe = regexp.MustCompile(`<meta name="description" content="([^"]*)"`)
)

// TestEveryPageHasItsOwnDescription opens every GET page of the router
// (signed out, and as an admin, who may open them all) and a few error
// pages: each HTML page has a non-empty <meta name="description">, and two
// pages with different titles never share one.
func TestEveryPageHasItsOwnDescription(t *testing.T) {
	f := newAdminFixture(t)
	ctx := context.Background()
	admin, err := f.ts.db.UserByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	own, _, err := f.ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: "Admin's own", Description: "d"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range f.ts.echo.Routes() {
		if r.Method == http.MethodGet && !strings.HasPrefix(r.Path, "/api/") && !strings.Contains(r.Path, "*") {
			paths = append(paths, strings.NewReplacer(":id", own.PublicID).Replace(r.Path))
		}
	}
	paths = append(paths, "/no/such/page", "/login?next=%2Fadmin")

	byTitle := map[string]string{} // title → description
	pages := 0
	for who, c := range map[string]*client{"signed out": f.ts.client(t), "admin": f.admin} {
		for _, p := range paths {
			res := c.get(p)
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				continue
			}
			title := titleRe.FindStringSubmatch(res.body)
			if title == nil {
				t.Errorf("%s %s: no <title>", who, p)
				continue
			}
			pages++
			desc := descriptionRe.FindStringSubmatch(res.body)
			if desc == nil || strings.TrimSpace(desc[1]) == "" {
				t.Errorf("%s %s (%q): no description", who, p, title[1])
				continue
			}
			d := html.UnescapeString(desc[1])
			if prev, ok := byTitle[title[1]]; ok && prev != d {
				t.Errorf("%s %s: %q described as %q and as %q", who, p, title[1], prev, d)
			}
			byTitle[title[1]] = d
		}
	}
	if pages < 10 || len(byTitle) < 8 {
		t.Fatalf("only %d pages with %d titles seen; is the router empty?", pages, len(byTitle))
	}
	seen := map[string]string{} // description → title
	for title, d := range byTitle {
		if other, ok := seen[d]; ok {
			t.Errorf("%q and %q share the description %q", title, other, d)
		}
		seen[d] = title
	}
}

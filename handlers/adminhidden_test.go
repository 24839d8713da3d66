package handlers

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestAdminRoutesLookUnknown asks every /admin path, by every method the
// router knows for it and by GET and POST whatever it knows, signed out and
// as a user, with and without htmx: each answer must be exactly the one an
// unknown path gets (status, headers, page), so nobody but an admin can
// tell which admin routes exist.
func TestAdminRoutesLookUnknown(t *testing.T) {
	f := newAdminFixture(t)
	paths := map[string]bool{"/admin/no-such-page": true, "/admin/api-keys/" + f.keys[0].PublicID: true}
	for _, r := range f.ts.echo.Routes() {
		if r.Path == "/admin" || strings.HasPrefix(r.Path, "/admin/") {
			paths[strings.NewReplacer(":id", f.keys[0].PublicID).Replace(r.Path)] = true
		}
	}
	if len(paths) < 10 {
		t.Fatalf("found %d admin paths; is the router empty?", len(paths))
	}
	form := url.Values{"enabled": {"false"}, "id": {f.keys[0].PublicID}, "confirm": {"yes"}}
	for who, c := range map[string]*client{"signed out": f.ts.client(t), "user": f.user} {
		for _, htmx := range []bool{false, true} {
			headers := map[string]string{}
			if htmx {
				headers["HX-Request"] = "true"
			}
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var body url.Values
				if method == http.MethodPost {
					body = form
				}
				unknown := c.do(method, "/no/such/page", body, headers)
				if unknown.StatusCode != http.StatusNotFound {
					t.Fatalf("unknown path: status %d", unknown.StatusCode)
				}
				for p := range paths {
					name := who + " " + method + " " + p
					if htmx {
						name += " (htmx)"
					}
					t.Run(name, func(t *testing.T) {
						res := c.do(method, p, body, headers)
						if res.StatusCode != unknown.StatusCode {
							t.Errorf("status %d, an unknown path's %d", res.StatusCode, unknown.StatusCode)
						}
						if g, u := comparable(res.Header), comparable(unknown.Header); !reflect.DeepEqual(g, u) {
							t.Errorf("headers differ from an unknown path's\nhere    %v\nunknown %v", g, u)
						}
						if res.body != unknown.body {
							t.Errorf("the page differs from an unknown path's:\n%.300s", res.body)
						}
					})
				}
			}
		}
	}
	if f.api(t, 0) != http.StatusOK {
		t.Error("a request from someone not an admin disabled a key")
	}
	assertStatus(t, f.admin.get("/admin/api-keys"), http.StatusOK)
	assertStatus(t, f.admin.do(http.MethodPost, "/admin/audit", url.Values{}, nil), http.StatusMethodNotAllowed)
}

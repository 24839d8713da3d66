package handlers

import (
	"net/http"
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

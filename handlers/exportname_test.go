package handlers

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestExportFileNameCarriesDateAndFilters: the inventory CSV is named for
// its day and its filters, sanitised to [a-z0-9-] and bounded, whatever the
// search holds.
func TestExportFileNameCarriesDateAndFilters(t *testing.T) {
	f := newAdminFixture(t)
	day := f.ts.clock.Now().UTC().Format("2006-01-02")
	safe := regexp.MustCompile(`^attachment; filename="keydesk-keys-\d{4}-\d{2}-\d{2}(-[a-z0-9]+)*\.csv"$`)
	for _, c := range []struct {
		name  string
		query url.Values
		want  string // "": only the safe shape and the bound are checked
	}{
		{"no filters", nil, "keydesk-keys-" + day + ".csv"},
		{"status and search", url.Values{"status": {"disabled"}, "q": {"deploy"}},
			"keydesk-keys-" + day + "-status-disabled-q-deploy.csv"},
		{"every filter, in one order", url.Values{"q": {"CI Deploy"}, "scope": {"keys:read"}, "expiry": {"soon"},
			"risk": {"stale"}, "status": {"enabled"}},
			"keydesk-keys-" + day + "-status-enabled-risk-stale-expiry-soon-scope-keys-read-q-ci-deploy.csv"},
		{"an unknown status is not a filter", url.Values{"status": {"evil"}}, "keydesk-keys-" + day + ".csv"},
		{"a hostile search", url.Values{"q": {"../\"; filename*=UTF-8''x.exe\r\nX: y ÄÖ /etc/passwd"}}, ""},
		{"a long search", url.Values{"q": {strings.Repeat("deploy ", 60)}}, ""},
		{"nothing but punctuation", url.Values{"q": {`"";\/..`}}, "keydesk-keys-" + day + ".csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := "/admin/api-keys/export"
			if c.query != nil {
				path += "?" + c.query.Encode()
			}
			res := f.admin.get(path)
			assertStatus(t, res, http.StatusOK)
			got := res.Header.Get("Content-Disposition")
			if !safe.MatchString(got) {
				t.Errorf("Content-Disposition %q is not a safe file name", got)
			}
			name := strings.TrimSuffix(strings.TrimPrefix(got, `attachment; filename="`), `"`)
			if len(name) > exportNameMax+len(".csv") {
				t.Errorf("file name of %d characters: %q", len(name), name)
			}
			if c.want != "" && name != c.want {
				t.Errorf("file name %q, want %q", name, c.want)
			}
		})
	}
}

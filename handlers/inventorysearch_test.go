package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"keydesk/store"
	"keydesk/store/storetest"
)

// The inventory at scale, as an admin meets it: substring search over key
// names, owner names and emails, a count of what matches, Previous and
// Next, column headers that sort, names in natural order.

func TestInventorySearchFindsAnyPart(t *testing.T) {
	f := newAdminFixture(t) // Uma User (uma@example.com): "Deploy bot", "=HYPERLINK(…)", "Analytics"
	ctx := context.Background()
	dana := f.ts.createUser(t, "Dana Demo", "dana@example.org", "dana-password", store.RoleUser)
	for _, name := range []string{"CI deploy", "export 10", "export 2", "export 1", "50% off_sale"} {
		if _, _, err := f.ts.db.CreateKey(ctx, dana.ID, store.NewKey{Name: name, Description: "d"}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, q string
		want    []string // the rows, sorted by name
		count   string
	}{
		{"a word inside a name", "deploy", []string{"CI deploy", "Deploy bot"}, "2 keys"},
		{"mid-word, any case", "PLOY B", []string{"Deploy bot"}, "1 key"},
		{"an owner's name", "Dana Demo", []string{"50% off_sale", "CI deploy", "export 1", "export 2", "export 10"}, "5 keys"},
		{"part of an owner's name", "ma us", []string{"=HYPERLINK(\"http://evil\")", "Analytics", "Deploy bot"}, "3 keys"},
		{"part of an email", "a@example.o", []string{"50% off_sale", "CI deploy", "export 1", "export 2", "export 10"}, "5 keys"},
		{"the last 4", f.secrets[2][len(f.secrets[2])-4:], []string{"Analytics"}, "1 key"},
		{"short: from the start of a name", "an", []string{"Analytics"}, "1 key"},
		{"short: not inside a word", "ly", nil, "0 keys"},
		{"a % is a percent sign", "0% o", []string{"50% off_sale"}, "1 key"},
		{"a % matches no run of characters", "ex%1", nil, "0 keys"},
		{"an _ is an underscore", "t 1_", nil, "0 keys"},
		{"full-text syntax is text", `deploy OR export`, nil, "0 keys"},
		{"a quote is text", `"deploy"`, nil, "0 keys"},
		{"a prefix star is text", "expo*", nil, "0 keys"},
		{"a column filter is text", "name:deploy", nil, "0 keys"},
		{"SQL is text", "' OR 1=1 --", nil, "0 keys"},
		{"a NUL", "dep\x00loy", nil, "0 keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.admin.get("/admin/api-keys?sort=name&dir=asc&q=" + url.QueryEscape(tc.q))
			assertStatus(t, res, http.StatusOK)
			if got := inventoryNames(res.body); !slices.Equal(unescape(got), tc.want) {
				t.Errorf("q=%q: %q, want %q", tc.q, got, tc.want)
			}
			assertContains(t, res, `<p class="inventory-count" id="inventory-count">`+tc.count+`</p>`)
		})
	}
	t.Run("names sort naturally, both ways", func(t *testing.T) {
		for dir, want := range map[string][]string{"asc": {"export 1", "export 2", "export 10"}, "desc": {"export 10", "export 2", "export 1"}} {
			if got := inventoryNames(f.admin.get("/admin/api-keys?q=export&sort=name&dir=" + dir).body); !slices.Equal(got, want) {
				t.Errorf("dir=%s: %q, want %q", dir, got, want)
			}
		}
	})
}

func unescape(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(n)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// TestInventoryCountIsBounded: past 10,000 the count says "10,000+", and
// past 1,000 for a search of one or two letters.
func TestInventoryCountIsBounded(t *testing.T) {
	f := newAdminFixture(t)
	storetest.SeedInventory(t, f.ts.db, 20, store.CountCap+1, f.ts.clock.Now())
	assertContains(t, f.admin.get("/admin/api-keys"), ">10,000+ keys<")
	assertContains(t, f.admin.get("/admin/api-keys?status=disabled"), ">1,000 keys<") // a tenth of 10,001, and Uma's none
	assertContains(t, f.admin.get("/admin/api-keys?q=user00003%40"), ">500 keys<")
	// One or two letters match from the start, and count to 1,000.
	assertContains(t, f.admin.get("/admin/api-keys?q=se"), ">1,000+ keys<")
}

// TestInventoryPagesBothWays: Next, then Previous, back to the same first
// page, in each sort order, the filters kept.
func TestInventoryPagesBothWays(t *testing.T) {
	f := newAdminFixture(t)
	storetest.SeedInventory(t, f.ts.db, 4, 120, f.ts.clock.Now())
	for _, sort := range []string{"name", "created", "last_used"} {
		for _, dir := range []string{"asc", "desc"} {
			path := "/admin/api-keys?q=service&sort=" + sort + "&dir=" + dir
			first := f.admin.get(path)
			assertStatus(t, first, http.StatusOK)
			assertLacks(t, first, `rel="prev"`)
			pages := [][]string{inventoryNames(first.body)}
			res := first
			for strings.Contains(res.body, `rel="next"`) {
				next := link(t, res.body, "Next →")
				for _, p := range []string{"q=service", "sort=" + sort, "dir=" + dir, "after="} {
					if !strings.Contains(next, p) {
						t.Fatalf("%s %s: the next link %q lost %s", sort, dir, next, p)
					}
				}
				res = f.admin.get(next)
				assertStatus(t, res, http.StatusOK)
				assertContains(t, res, ">120 keys<", `rel="prev"`)
				pages = append(pages, inventoryNames(res.body))
			}
			if len(pages) != 3 || len(pages[2]) != 20 {
				t.Fatalf("%s %s: pages of %d, %d…", sort, dir, len(pages[0]), len(pages))
			}
			for i := len(pages) - 2; i >= 0; i-- {
				prev := link(t, res.body, "← Previous")
				if !strings.Contains(prev, "before=") || !strings.Contains(prev, "q=service") {
					t.Fatalf("%s %s: the previous link %q", sort, dir, prev)
				}
				res = f.admin.get(prev)
				if got := inventoryNames(res.body); !slices.Equal(got, pages[i]) {
					t.Fatalf("%s %s: back on page %d: %q, want %q", sort, dir, i+1, got, pages[i])
				}
			}
			assertLacks(t, res, `rel="prev"`)
		}
	}
	// A cursor past what is left (the keys went) lands on the first page.
	res := f.admin.do("GET", "/admin/api-keys?q=nothing-here&before="+url.QueryEscape(store.EncodeCursor(int64(1), 1)), nil, nil)
	assertStatus(t, res, http.StatusSeeOther)
	assertStatus(t, f.admin.get("/admin/api-keys?before=forged"), http.StatusBadRequest)
}

// TestInventorySortHeaders: each sortable header links to the list sorted
// by it, the other way when it is sorted by it already, and the sorted one
// says so in aria-sort; the old sort and dir parameters still sort.
func TestInventorySortHeaders(t *testing.T) {
	f := newAdminFixture(t)
	header := func(body, label string) (href, ariaSort string) {
		t.Helper()
		i := strings.Index(body, ">"+label)
		if i < 0 {
			t.Fatalf("no header %q", label)
		}
		th := body[strings.LastIndex(body[:i], "<th"):i]
		if j := strings.Index(th, `aria-sort="`); j >= 0 {
			ariaSort = th[j+len(`aria-sort="`):]
			ariaSort = ariaSort[:strings.IndexByte(ariaSort, '"')]
		}
		href = th[strings.Index(th, `href="`)+len(`href="`):]
		return strings.ReplaceAll(href[:strings.IndexByte(href, '"')], "&amp;", "&"), ariaSort
	}
	for _, tc := range []struct {
		path             string
		label            string
		wantHref, wantAS string
	}{
		{"/admin/api-keys", "Created", "/admin/api-keys?dir=asc&sort=created", "descending"},
		{"/admin/api-keys", "Key name", "/admin/api-keys?dir=asc&sort=name", ""},
		{"/admin/api-keys", "Last used", "/admin/api-keys?dir=desc&sort=last_used", ""},
		{"/admin/api-keys?sort=name", "Key name", "/admin/api-keys?dir=desc&sort=name", "ascending"},
		{"/admin/api-keys?sort=name&dir=desc&q=a&status=enabled", "Key name", "/admin/api-keys?dir=asc&q=a&sort=name&status=enabled", "descending"},
		{"/admin/api-keys?sort=name&dir=desc", "Created", "/admin/api-keys?dir=desc&sort=created", ""},
		{"/admin/api-keys?sort=last_used&dir=asc", "Last used", "/admin/api-keys?dir=desc&sort=last_used", "ascending"},
		{"/admin/api-keys?sort=bogus&dir=sideways", "Created", "/admin/api-keys?dir=asc&sort=created", "descending"},
	} {
		res := f.admin.get(tc.path)
		assertStatus(t, res, http.StatusOK)
		href, as := header(res.body, tc.label)
		if href != tc.wantHref || as != tc.wantAS {
			t.Errorf("%s, %s: href %q aria-sort %q; want %q %q", tc.path, tc.label, href, as, tc.wantHref, tc.wantAS)
		}
		if n := strings.Count(res.body, "aria-sort="); n != 1 {
			t.Errorf("%s: %d headers with aria-sort, want 1", tc.path, n)
		}
	}
	got := inventoryNames(f.admin.get("/admin/api-keys?sort=name&dir=asc").body)
	if want := []string{"=HYPERLINK(&#34;http://evil&#34;)", "Analytics", "Deploy bot"}; !slices.Equal(got, want) {
		t.Errorf("sort=name&dir=asc: %q, want %q", got, want)
	}
}

// TestInventorySelection: without JavaScript the bulk button says
// "Disable selected…" and the header checkbox is hidden until the script
// shows it; the confirmation counts what it disables.
func TestInventorySelection(t *testing.T) {
	f := newAdminFixture(t)
	page := f.admin.get("/admin/api-keys")
	assertContains(t, page, `Disable selected<span data-selected-count></span>…`,
		`<input type="checkbox" id="select-all" form="bulk-form" aria-label="Select every key on this page" data-select-all hidden>`)
	one := f.admin.post("/admin/api-keys/disable", url.Values{"id": {f.keys[0].PublicID}, "return": {"/admin/api-keys"}})
	assertContains(t, one, "Disable 1 key?", ">Disable 1 key</button>")
	assertLacks(t, one, "1 keys")
	two := f.admin.post("/admin/api-keys/disable", url.Values{"id": {f.keys[0].PublicID, f.keys[1].PublicID}, "return": {"/admin/api-keys"}})
	assertContains(t, two, "Disable 2 keys?", ">Disable 2 keys</button>")
}

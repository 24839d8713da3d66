package storetest

import (
	"context"
	"testing"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// testInventorySearch: the search finds any part of a key name, owner name
// or email, and the last 4; what the user types is text, never LIKE
// wildcards or full-text syntax; renames, email changes and deletes are
// found (or no longer found) at once; names sort naturally; the count is
// exact up to its cap.
func testInventorySearch(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	dana := mustCreateUser(t, db, "Dana Demo", "dana@example.com")
	ops := mustCreateUser(t, db, "Ops Team", "ops@example.org")
	mk := func(u *store.User, name string) *store.APIKey {
		t.Helper()
		k, _, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: name}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	deploy := mk(dana, "CI deploy")
	mk(dana, "export 10")
	mk(dana, "export 2")
	mk(dana, "export 1")
	odd := mk(ops, `50% off_sale "quoted" \ back`)
	mk(ops, "e 1 plain")

	names := func(q string) []string {
		t.Helper()
		page, err := db.KeyInventory(ctx, store.InventoryFilter{Query: q, Sort: store.SortName, Asc: true})
		if err != nil {
			t.Fatalf("KeyInventory(%q): %v", q, err)
		}
		var out []string
		for _, r := range page.Rows {
			out = append(out, r.Key.Name)
		}
		return out
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"deploy", []string{"CI deploy"}},
		{"DEPLO", []string{"CI deploy"}},
		{"i dep", []string{"CI deploy"}},
		{"Demo", []string{"CI deploy", "export 1", "export 2", "export 10"}},
		{"ana@ex", []string{"CI deploy", "export 1", "export 2", "export 10"}},
		{"team", []string{`50% off_sale "quoted" \ back`, "e 1 plain"}},
		{".org", []string{`50% off_sale "quoted" \ back`, "e 1 plain"}},
		{deploy.Last4, []string{"CI deploy"}},
		{"port 1", []string{"export 1", "export 10"}},
		// Typed characters are themselves.
		{"0% off_", []string{`50% off_sale "quoted" \ back`}},
		{`"quoted"`, []string{`50% off_sale "quoted" \ back`}},
		{`" \ b`, []string{`50% off_sale "quoted" \ back`}},
		{"e_1", nil},   // _ is no wildcard: "e 1 plain" does not match
		{"ex%1", nil},  // nor is %
		{"%%%", nil},   // nor a pattern of them
		{`\%`, nil},    // nor an escape
		{"port*", nil}, // nor a prefix star
		{"deploy OR export", nil},
		{`deploy" OR "export`, nil},
		{"name : deploy", nil},
		{"NEAR(ci deploy)", nil},
		{"(deploy)", nil},
		{"'; DROP TABLE api_keys; --", nil},
	} {
		if got := names(tc.q); !equalStrings(got, tc.want) {
			t.Errorf("search %q = %q, want %q", tc.q, got, tc.want)
		}
	}
	if odd.Name == "" {
		t.Fatal("no odd key")
	}

	// Kept in step: a renamed key, a renamed owner, a changed email and a
	// deleted key or owner are found as they are now.
	newName := "CD release"
	if _, err := db.UpdateKey(ctx, dana.ID, deploy.PublicID, store.KeyUpdate{Name: &newName}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if got := names("deploy"); got != nil {
		t.Errorf("after the rename, deploy finds %q", got)
	}
	if got := names("releas"); !equalStrings(got, []string{"CD release"}) {
		t.Errorf("after the rename, releas finds %q", got)
	}
	owner := "Dora Delta"
	if _, err := db.UpdateUser(ctx, dana.ID, store.UserUpdate{Name: &owner}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if got := names("Demo"); got != nil {
		t.Errorf("after the owner's rename, Demo finds %q", got)
	}
	if got := len(names("elta")); got != 4 {
		t.Errorf("after the owner's rename, elta finds %d keys, want 4", got)
	}
	write, _ := db.Pools()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := write.ExecContext(ctx, db.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE users SET email = ? WHERE id = ?`, "dora@example.net", dana.ID)
	if got := names("ana@ex"); got != nil {
		t.Errorf("after the email change, ana@ex finds %q", got)
	}
	if got := len(names("a@example.net")); got != 4 {
		t.Errorf("after the email change, the new email finds %d keys, want 4", got)
	}
	if err := db.DeleteKey(ctx, dana.ID, deploy.PublicID, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	if got := names("releas"); got != nil {
		t.Errorf("after the delete, releas finds %q", got)
	}
	exec(`DELETE FROM users WHERE id = ?`, ops.ID)
	if got := names("plain"); got != nil {
		t.Errorf("after the owner's delete, plain finds %q", got)
	}
	if got := names("team"); got != nil {
		t.Errorf("after the owner's delete, team finds %q", got)
	}
	// A new user with the deleted one's id (SQLite may reuse it) is not
	// found by the old name.
	mk(mustCreateUser(t, db, "New Person", "new@example.com"), "fresh")
	if got := names("team"); got != nil {
		t.Errorf("after a new user, team finds %q", got)
	}

	t.Run("names sort naturally, both ways", func(t *testing.T) {
		for _, asc := range []bool{true, false} {
			page, err := db.KeyInventory(ctx, store.InventoryFilter{Query: "export", Sort: store.SortName, Asc: asc})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range page.Rows {
				got = append(got, r.Key.Name)
			}
			want := []string{"export 1", "export 2", "export 10"}
			if !asc {
				want = []string{"export 10", "export 2", "export 1"}
			}
			if !equalStrings(got, want) {
				t.Errorf("asc=%v: %q, want %q", asc, got, want)
			}
		}
	})
}

// testNameSortsFilledAtOpen: keys without a natural sort key (written
// before migration 0011, or by a tool) sort by their lower-case name, and
// get their key when a store opens on the database.
func testNameSortsFilledAtOpen(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	u := mustCreateUser(t, db, "Uma", "uma@example.com")
	for _, name := range []string{"export 10", "export 2", "Export 1"} {
		if _, _, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: name}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	order := func(db *sqlstore.DB) []string {
		t.Helper()
		page, err := db.KeyInventory(ctx, store.InventoryFilter{Sort: store.SortName, Asc: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range page.Rows {
			out = append(out, r.Key.Name)
		}
		return out
	}
	if got, want := order(db), []string{"Export 1", "export 2", "export 10"}; !equalStrings(got, want) {
		t.Fatalf("natural order: %q, want %q", got, want)
	}
	write, read := db.Pools()
	if _, err := write.ExecContext(ctx, `UPDATE api_keys SET name_sort = NULL`); err != nil {
		t.Fatal(err)
	}
	if got, want := order(db), []string{"Export 1", "export 10", "export 2"}; !equalStrings(got, want) {
		t.Fatalf("without sort keys: %q, want %q", got, want)
	}
	reopened, err := sqlstore.New(write, read, db.Dialect()) // shares the pools: not closed here
	if err != nil {
		t.Fatal(err)
	}
	if got, want := order(reopened), []string{"Export 1", "export 2", "export 10"}; !equalStrings(got, want) {
		t.Errorf("after an open: %q, want %q", got, want)
	}
}

// testInventoryCount: the count is exact up to its cap, then says more.
func testInventoryCount(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	SeedInventory(t, db, 20, 300, db.Now())
	for _, tc := range []struct {
		f      store.InventoryFilter
		total  int
		capped bool
	}{
		{store.InventoryFilter{Count: 1000}, 300, false},
		{store.InventoryFilter{Count: 300}, 300, false},
		{store.InventoryFilter{Count: 299}, 299, true},
		{store.InventoryFilter{Count: 100, Status: store.StatusDisabled}, 30, false},
		{store.InventoryFilter{Count: 1000, Query: "service 1"}, 111, false}, // 1, 10–19, 100–199
		{store.InventoryFilter{Count: 50, Query: "service 1"}, 50, true},
		{store.InventoryFilter{Count: 1000, Query: "user00003@"}, 15, false},
		{store.InventoryFilter{Count: 1000, Query: "zzz"}, 0, false},
		{store.InventoryFilter{Count: 1000, Risk: store.RiskOwnerDisabled}, 0, false},                  // none of 20 owners is
		{store.InventoryFilter{Count: 1000, Risk: store.RiskNeverUsed, Query: "service 1"}, 36, false}, // 12, 15, 18, 102–198
		{store.InventoryFilter{Count: 1000, Query: "service 1", After: mustNext(t, db, store.InventoryFilter{Query: "service 1"})}, 111, false},
		{store.InventoryFilter{}, 0, false}, // not asked
	} {
		page, err := db.KeyInventory(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != tc.total || page.TotalCapped != tc.capped {
			t.Errorf("%+v: total %d capped %v, want %d %v", tc.f, page.Total, page.TotalCapped, tc.total, tc.capped)
		}
	}
}

// testInventoryShortCount: a search shorter than a trigram counts up to
// ShortCountCap, whatever the Count asked; a longer one up to the Count.
func testInventoryShortCount(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	SeedInventory(t, db, 20, store.ShortCountCap+1, db.Now()) // "service 0 key" … "service 1000 key", user00000@… user00019@
	for _, tc := range []struct {
		f      store.InventoryFilter
		total  int
		capped bool
	}{
		{store.InventoryFilter{Count: store.CountCap, Query: "se"}, store.ShortCountCap, true},   // every key, by name
		{store.InventoryFilter{Count: store.CountCap, Query: " US "}, store.ShortCountCap, true}, // every key, by owner
		{store.InventoryFilter{Count: 10, Query: "s"}, 10, true},                                 // the Count is lower
		{store.InventoryFilter{Count: store.CountCap, Query: "ser"}, store.ShortCountCap + 1, false},
		{store.InventoryFilter{Count: store.CountCap, Query: "service 1"}, 112, false}, // 1, 10–19, 100–199, 1000
		{store.InventoryFilter{Count: store.CountCap, Query: "se", Status: store.StatusDisabled}, 100, false},
		{store.InventoryFilter{Count: store.CountCap}, store.ShortCountCap + 1, false}, // no search
	} {
		page, err := db.KeyInventory(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != tc.total || page.TotalCapped != tc.capped {
			t.Errorf("%+v: total %d capped %v, want %d %v", tc.f, page.Total, page.TotalCapped, tc.total, tc.capped)
		}
		rows := min(tc.total, store.InventoryPageSize)
		if tc.capped {
			rows = store.InventoryPageSize
		}
		if len(page.Rows) != rows {
			t.Errorf("%+v: %d rows on the page, want %d", tc.f, len(page.Rows), rows)
		}
	}

	// A short search that matches most keys (read on SQLite by walking the
	// page's order) pages through the same keys, in the same order, as
	// the list without it: every key's name starts with "se", every
	// owner's email with "us". Page by page, each sort, both ways.
	ids := func(f store.InventoryFilter) ([]string, string) {
		t.Helper()
		page, err := db.KeyInventory(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range page.Rows {
			out = append(out, r.Key.PublicID)
		}
		return out, page.Next
	}
	for _, sort := range []string{store.SortCreated, store.SortName, store.SortLastUsed} {
		for _, asc := range []bool{false, true} {
			for _, q := range []string{"se", "us", "S"} {
				all := store.InventoryFilter{Sort: sort, Asc: asc}
				found := all
				found.Query = q
				for range 3 {
					want, wantNext := ids(all)
					got, gotNext := ids(found)
					if !equalStrings(got, want) {
						t.Fatalf("search %q sorted %s (asc %v) after %q: %q, want %q", q, sort, asc, found.After, got, want)
					}
					all.After, found.After = wantNext, gotNext
				}
			}
		}
	}
	// And a short search that matches few keeps to them.
	if got, _ := ids(store.InventoryFilter{Query: "zz"}); got != nil {
		t.Errorf("search zz: %q", got)
	}
}

func mustNext(t *testing.T, db *sqlstore.DB, f store.InventoryFilter) string {
	t.Helper()
	page, err := db.KeyInventory(context.Background(), f)
	if err != nil || page.Next == "" {
		t.Fatalf("KeyInventory(%+v) = next %q, %v", f, page.Next, err)
	}
	return page.Next
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"keydesk/store"
	"keydesk/store/sqlite"
	"keydesk/store/sqlstore"
)

// The key lookup (a secret's hash against both hashes of every key) is two
// index searches on SQLite, whatever ANALYZE leaves the planner: the store
// drops the samples of unique indexes (their values only make SQLite
// compile the lookup again for each new one), and a full index of
// previous hashes, nearly all NULL, then told the planner that a value
// matches nearly every key, so the lookup scanned every user and their
// keys. Migration 0015 makes that index partial.
func TestKeyLookupSearchesBothHashIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keydesk.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for u := range 20 {
		owner, err := db.CreateUser(ctx, store.NewUser{Name: "U", Email: fmt.Sprintf("u%02d@example.com", u), PasswordHash: "x"}, store.AuditEvent{})
		if err != nil {
			t.Fatal(err)
		}
		for k := range 10 {
			// No key has a previous secret, as before anyone regenerates one.
			if _, _, err := db.CreateKey(ctx, owner.ID, store.NewKey{Name: fmt.Sprint("key ", k)}, store.AuditEvent{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write, _ := db.Pools()
	if _, err := write.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = sqlite.Open(ctx, path); err != nil { // drops the samples
		t.Fatal(err)
	}
	defer db.Close()
	_, read := db.Pools()
	rows, err := read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sqlstore.FindKeyQuery, "h", "h", "h")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	got := strings.Join(plan, "\n")
	if strings.Contains(got, "SCAN") || !strings.Contains(got, "api_keys_prev_hash") {
		t.Errorf("the key lookup's plan on analysed tables:\n%s\nwant a search of each hash's index and no scan", got)
	}
}

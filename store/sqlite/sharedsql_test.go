package sqlite

import (
	"regexp"
	"slices"
	"sync"
	"testing"

	"keydesk/store/sqlstore"
	"keydesk/store/storetest"
)

// TestSharedSQLBindsBooleans runs the contract on SQLite through a dialect
// that records every statement sqlstore sends, and checks that none compares
// or sets a boolean column with an integer literal: SQLite takes 1 and 0,
// PostgreSQL's BOOLEAN columns refuse them, and the SQL is shared. Booleans
// are bound as Go bools instead, which both engines take.
func TestSharedSQLBindsBooleans(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	recording := Dialect
	recording.Rebind = func(q string) string {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, q)
		return q
	}
	storetest.Run(t, func(tb testing.TB, opts ...sqlstore.Option) *sqlstore.DB {
		tb.Helper()
		return openWithDialect(tb, recording, opts...)
	})
	literal := regexp.MustCompile(`(?i)\b(enabled|disabled|disabled_by_admin)\s*(=|<>|!=)\s*[01]\b|\?\s*=\s*[01]\b`)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 20 {
		t.Fatalf("only %d statements recorded: is the dialect's Rebind still called?", len(seen))
	}
	slices.Sort(seen)
	for _, q := range slices.Compact(seen) {
		if m := literal.FindString(q); m != "" {
			t.Errorf("boolean compared with an integer literal (%q) in:\n%s", m, q)
		}
	}
}

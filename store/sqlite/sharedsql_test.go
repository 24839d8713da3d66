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
	literal := regexp.MustCompile(`(?i)\b(enabled|disabled|disabled_by_admin)\s*(=|<>|!=)\s*[01]\b|\?\s*=\s*[01]\b`)
	for _, q := range contractSQL(t, Dialect) {
		if m := literal.FindString(q); m != "" {
			t.Errorf("boolean compared with an integer literal (%q) in:\n%s", m, q)
		}
	}
}

// TestSharedSQLComparesTextInByteOrder runs the contract with a dialect
// whose ByteOrder is SQLite's own BINARY collation, spelled out: the prefix
// searches, the name and email orders and their cursors must all carry it
// (PostgreSQL's will be COLLATE "C", without which its collation breaks the
// prefix ranges), and the store must behave exactly as it does without it.
func TestSharedSQLComparesTextInByteOrder(t *testing.T) {
	d := Dialect
	d.ByteOrder = " COLLATE BINARY"
	text := `(lower\(\w*\.?name\)|\b\w*\.?email)`
	bare := regexp.MustCompile(`(?i)` + text + `\s*(<|>|<=|>=)\s*\?|ORDER BY\s+` + text + `\s*(,|ASC|DESC|$)|\(\s*` + text + `\s*,\s*\w*\.?id\s*\)`)
	for _, q := range contractSQL(t, d) {
		if m := bare.FindString(q); m != "" {
			t.Errorf("text compared without the dialect's byte order (%q) in:\n%s", m, q)
		}
	}
}

// contractSQL runs the contract on SQLite with d, recording every statement
// sqlstore sends, and returns them, each once.
func contractSQL(t *testing.T, d sqlstore.Dialect) []string {
	var mu sync.Mutex
	var seen []string
	d.Rebind = func(q string) string {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, q)
		return q
	}
	storetest.Run(t, func(tb testing.TB, opts ...sqlstore.Option) *sqlstore.DB {
		tb.Helper()
		return openWithDialect(tb, d, opts...)
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 20 {
		t.Fatalf("only %d statements recorded: is the dialect's Rebind still called?", len(seen))
	}
	slices.Sort(seen)
	return slices.Compact(seen)
}

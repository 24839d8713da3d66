package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// --db with a PostgreSQL URL is refused, by every command, with a sentence
// that says so, and nothing is created: not a SQLite file named after the
// URL, as a path would be.
func TestPostgresURLIsRefusedForNow(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://keydesk@127.0.0.1/keydesk"},
		{"keys", "list", "--db", "postgresql://keydesk@127.0.0.1/keydesk"},
		{"user", "disable", "--db", "postgres://keydesk@127.0.0.1/keydesk", "--email", "uma@example.com"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := run(ctx, args, env(nil), strings.NewReader(""), io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL support is not built yet") {
			t.Errorf("%v: %v, want the PostgreSQL refusal", args, err)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("a PostgreSQL URL left %v behind", entries)
	}
}

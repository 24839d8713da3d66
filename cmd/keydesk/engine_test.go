package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"keydesk/store/pgtest"
)

// Every command takes a PostgreSQL URL for --db as it takes a SQLite path:
// an account and a key made on PostgreSQL are listed from it.
func TestCommandsOnPostgres(t *testing.T) {
	db := pgtest.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := func(stdin string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append(args, "--db", db), env(nil), strings.NewReader(stdin), &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	cli("a-long-password\n", "user", "add", "--email", "pia@example.com", "--name", "Pia Postgres")
	key := cli("", "keys", "create", "--email", "pia@example.com", "--name", "Deploy bot")
	list := cli("", "keys", "list")
	if !strings.Contains(list, "Deploy bot") || !strings.Contains(list, "pia@example.com") {
		t.Errorf("keys list on PostgreSQL:\n%s\nwant the key made there", list)
	}
	if secret := strings.TrimSpace(key); strings.Contains(list, secret) || !strings.HasPrefix(secret, "kdk_") {
		t.Errorf("keys create printed %q; keys list must never show it", secret)
	}
}

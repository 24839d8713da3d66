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

// A PostgreSQL URL may hold a password: serve names its database on start,
// on stdout and in the log, with the password hidden.
func TestServeHidesTheDatabasePassword(t *testing.T) {
	db := strings.Replace(pgtest.Database(t), "postgres://keydesk@", "postgres://keydesk:s3cret-pw@", 1)
	if !strings.Contains(db, "s3cret-pw") {
		t.Fatalf("no password in %s", db)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var logs lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, env(nil), nil, pw, &logs)
		pw.Close()
	}()
	var stdout strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(stdout.String(), "listening on") {
		n, err := pr.Read(buf)
		stdout.Write(buf[:n])
		if err != nil {
			t.Fatalf("serve ended before listening: %v, %v", err, <-done)
		}
	}
	go io.Copy(io.Discard, pr)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"stdout": stdout.String(), "the log": logs.String()} {
		if strings.Contains(text, "s3cret-pw") {
			t.Errorf("%s shows the database password:\n%s", what, text)
		}
	}
	if !strings.Contains(stdout.String(), "keydesk:xxxxx@") {
		t.Errorf("stdout does not name the database, password hidden:\n%s", stdout.String())
	}
}

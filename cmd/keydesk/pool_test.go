package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/pgtest"
	"keydesk/store/postgres"
)

// TestPoolSettings: the PostgreSQL pool's limits and timeouts come from
// their flags, else their environment variables, else the documented
// defaults; 0, a negative value, a duration without its unit or below a
// millisecond, and junk are usage mistakes naming the flag or the variable.
func TestPoolSettings(t *testing.T) {
	defaults := postgres.PoolConfig{MaxOpenConns: 10, StatementTimeout: 30 * time.Second, ConnectTimeout: 5 * time.Second,
		ConnMaxIdleTime: 5 * time.Minute, ConnMaxLifetime: 30 * time.Minute}
	with := func(change func(*postgres.PoolConfig)) postgres.PoolConfig {
		c := defaults
		change(&c)
		return c
	}
	every := func(c *postgres.PoolConfig) {
		c.MaxOpenConns, c.StatementTimeout, c.ConnectTimeout = 25, 1500*time.Millisecond, 2*time.Second
		c.ConnMaxIdleTime, c.ConnMaxLifetime = time.Minute, 2*time.Hour
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    postgres.PoolConfig
		given   []string
		wantErr string // a usage mistake with this text; "" for none
	}{
		{name: "defaults", want: defaults},
		{name: "flags", args: []string{"--db-max-conns", "25", "--db-statement-timeout", "1500ms", "--db-connect-timeout=2s",
			"--db-max-conn-idle-time", "1m", "--db-max-conn-lifetime", "2h"}, want: with(every),
			given: []string{"--db-max-conns", "--db-statement-timeout", "--db-connect-timeout", "--db-max-conn-idle-time", "--db-max-conn-lifetime"}},
		{name: "environment", env: map[string]string{"KEYDESK_DB_MAX_CONNS": "25", "KEYDESK_DB_STATEMENT_TIMEOUT": "1.5s",
			"KEYDESK_DB_CONNECT_TIMEOUT": "2s", "KEYDESK_DB_MAX_CONN_IDLE_TIME": "60s", "KEYDESK_DB_MAX_CONN_LIFETIME": "120m"},
			want:  with(every),
			given: []string{"--db-max-conns", "--db-statement-timeout", "--db-connect-timeout", "--db-max-conn-idle-time", "--db-max-conn-lifetime"}},
		{name: "a flag wins over its variable", args: []string{"--db-max-conns", "3"}, env: map[string]string{"KEYDESK_DB_MAX_CONNS": "40"},
			want: with(func(c *postgres.PoolConfig) { c.MaxOpenConns = 3 }), given: []string{"--db-max-conns"}},
		{name: "spaces around a variable's value", env: map[string]string{"KEYDESK_DB_CONNECT_TIMEOUT": " 750ms "},
			want: with(func(c *postgres.PoolConfig) { c.ConnectTimeout = 750 * time.Millisecond }), given: []string{"--db-connect-timeout"}},

		{name: "no connections", args: []string{"--db-max-conns", "0"}, wantErr: `invalid value "0" for flag -db-max-conns: "0" is not a number of connections`},
		{name: "negative connections", args: []string{"--db-max-conns=-1"}, wantErr: `-db-max-conns: "-1" is not a number of connections`},
		{name: "junk connections", args: []string{"--db-max-conns", "ten"}, wantErr: `-db-max-conns: "ten" is not a number of connections`},
		{name: "a fraction of a connection", args: []string{"--db-max-conns", "2.5"}, wantErr: `"2.5" is not a number of connections`},
		{name: "a zero timeout", args: []string{"--db-statement-timeout", "0"}, wantErr: `-db-statement-timeout: "0" is not a positive duration`},
		{name: "a negative timeout", args: []string{"--db-connect-timeout", "-5s"}, wantErr: `-db-connect-timeout: "-5s" is not a positive duration`},
		{name: "below a millisecond", args: []string{"--db-statement-timeout", "500us"}, wantErr: `"500us" is not a positive duration: give 1ms or more`},
		{name: "a duration without its unit", args: []string{"--db-statement-timeout", "30"}, wantErr: `"30" is not a duration: give a number with its unit`},
		{name: "junk duration", args: []string{"--db-max-conn-lifetime", "forever"}, wantErr: `-db-max-conn-lifetime: "forever" is not a duration`},
		{name: "a bad variable", env: map[string]string{"KEYDESK_DB_MAX_CONNS": "0"}, wantErr: `KEYDESK_DB_MAX_CONNS: "0" is not a number of connections`},
		{name: "a bad duration variable", env: map[string]string{"KEYDESK_DB_MAX_CONN_IDLE_TIME": "5 minutes"},
			wantErr: `KEYDESK_DB_MAX_CONN_IDLE_TIME: "5 minutes" is not a duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseServe(tc.args, env(tc.env), io.Discard)
			if tc.wantErr != "" {
				if exitCode(err) != 2 || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v (exit %d), want a usage mistake with %q", err, exitCode(err), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.db.pool != tc.want {
				t.Errorf("pool settings\n got  %+v\n want %+v", cfg.db.pool, tc.want)
			}
			if strings.Join(cfg.db.given, " ") != strings.Join(tc.given, " ") {
				t.Errorf("given %q, want %q", cfg.db.given, tc.given)
			}
		})
	}
}

// Every command that takes --db takes the pool's settings too: a bad one
// is a usage mistake that changes nothing, and good ones on a SQLite
// database are taken and ignored.
func TestEveryDBCommandTakesThePoolSettings(t *testing.T) {
	f := newAdminFixture(t)
	f.user(t, "uma@example.com", store.RoleUser)
	commands := [][]string{
		{"user", "add", "--email", "new@example.com", "--name", "New"},
		{"user", "set-kyc", "--email", "uma@example.com", "--status", "pending"},
		{"user", "disable", "--email", "uma@example.com"},
		{"user", "enable", "--email", "uma@example.com"},
		{"keys", "create", "--email", "uma@example.com", "--name", "n"},
		{"keys", "list"},
	}
	before := f.eventCount(t)
	for _, cmd := range append(commands, []string{"serve", "--addr", "127.0.0.1:0"}) {
		args := append(append([]string{}, cmd...), "--db", f.path, "--db-statement-timeout", "0s")
		// A deadline, so that a serve that took the value fails the test
		// rather than serving until the test binary's timeout.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := run(ctx, args, env(nil), strings.NewReader("a-good-password\n"), io.Discard, io.Discard)
		cancel()
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "-db-statement-timeout") {
			t.Errorf("%s with --db-statement-timeout 0s: %v (exit %d), want a usage mistake naming the flag", strings.Join(cmd, " "), err, exitCode(err))
		}
	}
	if got := f.eventCount(t); got != before {
		t.Errorf("%d audit events after refused commands, want %d", got, before)
	}
	for _, cmd := range commands {
		args := append(append([]string{}, cmd...), "--db", f.path, "--db-max-conns", "2", "--db-statement-timeout", "5s",
			"--db-connect-timeout", "1s", "--db-max-conn-idle-time", "1m", "--db-max-conn-lifetime", "1h")
		if _, errOut, err := runCmd(t, "a-good-password\n", args...); err != nil {
			t.Errorf("%s with the pool's settings on SQLite: %v\n%s", strings.Join(cmd, " "), err, errOut)
		}
	}
}

// serve on a SQLite database says at start which of the pool's settings it
// ignores, given by flag or by variable; without any it says nothing.
func TestServeWarnsThatSQLiteIgnoresThePoolSettings(t *testing.T) {
	_, stderr := serveWith(t, map[string]string{"KEYDESK_DB_CONNECT_TIMEOUT": "2s"}, "--addr", "127.0.0.1:0", "--db-max-conns", "50")
	want := "keydesk: warning: the SQLite database ignores the PostgreSQL pool's settings: --db-connect-timeout, --db-max-conns"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if _, stderr := serveWith(t, nil, "--addr", "127.0.0.1:0"); strings.Contains(stderr.String(), "pool") {
		t.Errorf("a warning about the pool with no pool settings:\n%s", stderr)
	}
}

// The settings reach the PostgreSQL pool that a command opens: its
// connection limit, and the statement_timeout on its connections.
func TestPoolSettingsReachPostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fs := newFlags("keys list", io.Discard)
	dbc, err := dbFlags(fs, env(map[string]string{"KEYDESK_DB_STATEMENT_TIMEOUT": "1500ms"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := parseFlags(fs, []string{"--db", pgtest.Database(t), "--db-max-conns", "3"}); err != nil {
		t.Fatal(err)
	}
	db, err := dbc.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pool, _ := db.Pools() // PostgreSQL's store reads and writes through one pool
	if got := pool.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConnections = %d, want 3 (--db-max-conns)", got)
	}
	var timeout string
	if err := pool.QueryRowContext(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout != "1500ms" {
		t.Errorf("statement_timeout = %q, want 1500ms (KEYDESK_DB_STATEMENT_TIMEOUT)", timeout)
	}
}

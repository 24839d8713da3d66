package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"keydesk/store"
	"keydesk/store/engine"
	"keydesk/store/postgres"
	"keydesk/store/sqlstore"
)

// newFlags is the flag set of one command, the same for every command: it
// reports mistakes on stderr with the command's own line of the usage.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage:", usageOf(name))
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses a command's arguments. An unknown flag, a bad value or
// a stray argument is a usage mistake (exit 2) shown with the command's
// usage: `user add … stray` must not quietly ignore "stray".
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// usageOf is the line of the program's usage that shows command name.
func usageOf(name string) string {
	for _, line := range strings.Split(usage, "\n") {
		line = strings.TrimSpace(line)
		if line == "keydesk "+name || strings.HasPrefix(line, "keydesk "+name+" ") {
			return line
		}
	}
	return "keydesk " + name
}

// invalidInput turns the errors of a shared input rule (store.*Input) into
// a usage mistake, with the same sentences the web shows beside its fields,
// each after the flag it is about, in the order of fields.
func invalidInput(cmd string, errs store.FieldErrors, fields ...string) error {
	if len(errs) == 0 {
		return nil
	}
	for field := range errs {
		if !slices.Contains(fields, field) {
			fields = append(fields, field) // a field the caller did not expect still shows
		}
	}
	var msgs []string
	for _, field := range fields {
		if msg, ok := errs[field]; ok {
			msgs = append(msgs, flagOf(field)+": "+msg)
		}
	}
	return usageError{cmd + ": " + strings.Join(msgs, "; ")}
}

// flagOf names a form field the way the command line takes it: fields and
// flags share their names, and the password comes from stdin.
func flagOf(field string) string {
	if field == "password" {
		return "the password on stdin"
	}
	return "--" + field
}

// dbConfig is the database a command opens: --db, and the limits and
// timeouts of a PostgreSQL database's connection pool, which every command
// that takes --db takes too, each with an environment fallback. A SQLite
// database ignores the pool's settings (see engine.OpenWith).
type dbConfig struct {
	dsn  string
	pool postgres.PoolConfig
	// given names the pool's flags that were set, on the command line or
	// through their environment variables, for serve's warning on SQLite.
	given []string
}

// dbFlags adds --db and the pool's flags to fs. A bad environment value is
// a usage mistake at once, as with serve's other fallbacks; a bad flag
// value is one when fs parses it.
func dbFlags(fs *flag.FlagSet, getenv func(string) string) (*dbConfig, error) {
	d := &dbConfig{pool: postgres.PoolConfig{
		MaxOpenConns:     postgres.DefaultMaxOpenConns,
		StatementTimeout: postgres.DefaultStatementTimeout,
		ConnectTimeout:   postgres.DefaultConnectTimeout,
		ConnMaxIdleTime:  postgres.DefaultConnMaxIdleTime,
		ConnMaxLifetime:  postgres.DefaultConnMaxLifetime,
	}}
	fs.StringVar(&d.dsn, "db", orEnv(getenv, "KEYDESK_DB", "./data/keydesk.db"),
		"the database: a SQLite file, or a postgres:// URL (KEYDESK_DB)")
	for _, s := range []struct {
		name, env string
		value     flag.Value
		help      string
	}{
		{"db-max-conns", "KEYDESK_DB_MAX_CONNS", connCount{&d.pool.MaxOpenConns},
			"PostgreSQL: at most `n` connections from this process; requests beyond wait for one"},
		{"db-statement-timeout", "KEYDESK_DB_STATEMENT_TIMEOUT", timeout{&d.pool.StatementTimeout},
			"PostgreSQL: the server cancels a statement that runs longer than this `duration` (statement_timeout)"},
		{"db-connect-timeout", "KEYDESK_DB_CONNECT_TIMEOUT", timeout{&d.pool.ConnectTimeout},
			"PostgreSQL: dialing and authenticating one connection fails after this `duration`"},
		{"db-max-conn-idle-time", "KEYDESK_DB_MAX_CONN_IDLE_TIME", timeout{&d.pool.ConnMaxIdleTime},
			"PostgreSQL: a connection unused for this `duration` is closed"},
		{"db-max-conn-lifetime", "KEYDESK_DB_MAX_CONN_LIFETIME", timeout{&d.pool.ConnMaxLifetime},
			"PostgreSQL: a connection is closed this `duration` after it opened"},
	} {
		v := &givenValue{Value: s.value, name: "--" + s.name, given: &d.given}
		if e := getenv(s.env); e != "" {
			if err := v.Set(e); err != nil {
				return nil, usageError{s.env + ": " + err.Error()}
			}
		}
		fs.Var(v, s.name, s.help+" ("+s.env+")")
	}
	return d, nil
}

// open opens and migrates the store.
func (d *dbConfig) open(ctx context.Context) (*sqlstore.DB, error) {
	return engine.OpenWith(ctx, d.dsn, d.pool)
}

// ignoredPoolSettings is a warning naming the pool's settings given for a
// SQLite database, which does nothing with them; "" when there is none.
func (d *dbConfig) ignoredPoolSettings() string {
	if engine.IsPostgres(d.dsn) || len(d.given) == 0 {
		return ""
	}
	return "the SQLite database ignores the PostgreSQL pool's settings: " + strings.Join(d.given, ", ")
}

// givenValue is a flag that notes its name in given once it is set.
type givenValue struct {
	flag.Value
	name  string
	given *[]string
}

func (v *givenValue) String() string {
	if v == nil || v.Value == nil {
		return ""
	}
	return v.Value.String()
}

func (v *givenValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	if !slices.Contains(*v.given, v.name) {
		*v.given = append(*v.given, v.name)
	}
	return nil
}

// connCount is a flag holding a number of connections: a whole number, 1
// or more. (PoolConfig reads 0 as its default and a negative number as no
// limit; on the command line both are mistakes.)
type connCount struct{ n *int }

func (c connCount) String() string {
	if c.n == nil {
		return ""
	}
	return strconv.Itoa(*c.n)
}

func (c connCount) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return fmt.Errorf("%q is not a number of connections: give a whole number, 1 or more", s)
	}
	*c.n = n
	return nil
}

// timeout is a flag holding a duration in Go's syntax (30s, 500ms, 2m,
// 1h30m), at least a millisecond: PostgreSQL counts statement_timeout in
// whole milliseconds and reads 0 as no limit, so a shorter one would turn
// the bound off rather than tighten it.
type timeout struct{ d *time.Duration }

func (t timeout) String() string {
	if t.d == nil {
		return ""
	}
	return t.d.String()
}

func (t timeout) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a duration: give a number with its unit, such as 30s, 500ms or 2m", s)
	case d < time.Millisecond:
		return fmt.Errorf("%q is not a positive duration: give 1ms or more", s)
	}
	*t.d = d
	return nil
}

package postgres

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"keydesk/store/pgtest"
)

func TestPoolConfigDefaults(t *testing.T) {
	tests := []struct {
		name     string
		in, want PoolConfig
	}{
		{"zero takes every default", PoolConfig{}, PoolConfig{
			MaxOpenConns: 10, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute,
			ConnMaxIdleTime: 5 * time.Minute, StatementTimeout: 30 * time.Second, ConnectTimeout: 5 * time.Second,
		}},
		{"idle follows open", PoolConfig{MaxOpenConns: 3}, PoolConfig{
			MaxOpenConns: 3, MaxIdleConns: 3, ConnMaxLifetime: 30 * time.Minute,
			ConnMaxIdleTime: 5 * time.Minute, StatementTimeout: 30 * time.Second, ConnectTimeout: 5 * time.Second,
		}},
		{"given values stay", PoolConfig{
			MaxOpenConns: 20, MaxIdleConns: 2, ConnMaxLifetime: time.Hour,
			ConnMaxIdleTime: time.Minute, StatementTimeout: time.Second, ConnectTimeout: 2 * time.Second,
		}, PoolConfig{
			MaxOpenConns: 20, MaxIdleConns: 2, ConnMaxLifetime: time.Hour,
			ConnMaxIdleTime: time.Minute, StatementTimeout: time.Second, ConnectTimeout: 2 * time.Second,
		}},
		{"negative turns a bound off", PoolConfig{
			MaxOpenConns: -1, MaxIdleConns: -1, ConnMaxLifetime: -1,
			ConnMaxIdleTime: -1, StatementTimeout: -1, ConnectTimeout: -1,
		}, PoolConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.withDefaults(); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCheckServerVersion(t *testing.T) {
	tests := []struct {
		version string
		ok      bool
	}{
		{"15.18 (Debian 15.18-0+deb12u1)", true},
		{"15.0", true},
		{"16beta1", true},
		{"17.2", true},
		{"14.10", false},
		{"9.6.24", false},
		{"", false},
		{"CockroachDB", false},
	}
	for _, tt := range tests {
		err := checkServerVersion(tt.version)
		if (err == nil) != tt.ok {
			t.Errorf("checkServerVersion(%q) = %v, want ok %v", tt.version, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "PostgreSQL 15 or later") {
			t.Errorf("checkServerVersion(%q) = %q, which does not say what is needed", tt.version, err)
		}
	}
}

// The pool has the limits it was given: at most MaxOpenConns connections,
// MaxIdleConns kept when they are given back, and the statement timeout set
// on the server, where it cancels a statement that runs past it.
func TestOpenPoolSettings(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	db, err := OpenPool(ctx, url, PoolConfig{MaxOpenConns: 4, MaxIdleConns: 3, StatementTimeout: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Stats().MaxOpenConnections; got != 4 {
		t.Errorf("MaxOpenConnections = %d, want 4", got)
	}

	conns := make([]*sql.Conn, 4)
	for i := range conns {
		if conns[i], err = db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
		var timeout string
		if err := conns[i].QueryRowContext(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil {
			t.Fatal(err)
		}
		if timeout != "250ms" {
			t.Errorf("connection %d: statement_timeout = %q, want 250ms", i, timeout)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if s := db.Stats(); s.OpenConnections != 3 || s.Idle != 3 {
		t.Errorf("after giving back 4 connections: %d open, %d idle; want 3 and 3 (MaxIdleConns)", s.OpenConnections, s.Idle)
	}

	_, err = db.ExecContext(ctx, "SELECT pg_sleep(60)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Errorf("a statement longer than the timeout ended with %v, want query_canceled (57014)", err)
	}
}

// ConnMaxLifetime and ConnMaxIdleTime reach the pool: with a nanosecond
// each, a connection given back is closed for its age when next taken, and
// an idle one is closed by database/sql's cleaner, polled for here.
func TestOpenPoolLifetimes(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Database(t)
	ping := func(db *sql.DB) {
		t.Helper()
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatal(err)
		}
	}

	aged, err := OpenPool(ctx, url, PoolConfig{ConnMaxLifetime: time.Nanosecond, ConnMaxIdleTime: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer aged.Close()
	ping(aged)
	ping(aged)
	if n := aged.Stats().MaxLifetimeClosed; n == 0 {
		t.Error("no connection was closed for its age with ConnMaxLifetime of 1ns")
	}

	idle, err := OpenPool(ctx, url, PoolConfig{ConnMaxIdleTime: time.Nanosecond, ConnMaxLifetime: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	ping(idle)
	for deadline := time.Now().Add(30 * time.Second); idle.Stats().MaxIdleTimeClosed == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no idle connection closed within 30s with ConnMaxIdleTime of 1ns")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The store that Open returns runs on a pool with the settings it was
// given: the connection limit, and the statement timeout on the server.
func TestOpenGivesTheStoreItsPool(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.Database(t), PoolConfig{MaxOpenConns: 3, StatementTimeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	write, read := db.Pools()
	if write != read {
		t.Error("the store reads and writes through two pools; Open makes one")
	}
	if got := write.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("MaxOpenConnections = %d, want 3", got)
	}
	var timeout string
	if err := write.QueryRowContext(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout != "1500ms" {
		t.Errorf("statement_timeout = %q, want 1500ms", timeout)
	}
}

// With no settings, the pool takes the documented defaults.
func TestOpenPoolDefaults(t *testing.T) {
	ctx := context.Background()
	db, err := OpenPool(ctx, pgtest.Database(t), PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Stats().MaxOpenConnections; got != DefaultMaxOpenConns {
		t.Errorf("MaxOpenConnections = %d, want %d", got, DefaultMaxOpenConns)
	}
	var timeout string
	if err := db.QueryRowContext(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if timeout != "30s" {
		t.Errorf("statement_timeout = %q, want 30s", timeout)
	}
}

// A server that reports an older PostgreSQL is refused with a sentence that
// says what is needed. The server here is a stand-in that speaks the start of
// the protocol, since no PostgreSQL 14 is installed.
func TestOpenPoolRefusesOldServer(t *testing.T) {
	addr := fakeServer(t, func(conn net.Conn) {
		b := pgproto3.NewBackend(conn, conn)
		if _, err := b.ReceiveStartupMessage(); err != nil {
			return
		}
		b.Send(&pgproto3.AuthenticationOk{})
		b.Send(&pgproto3.ParameterStatus{Name: "server_version", Value: "14.10 (Debian 14.10-1)"})
		b.Send(&pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 2}})
		b.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		if err := b.Flush(); err != nil {
			return
		}
		for { // until the client says Terminate or hangs up
			if msg, err := b.Receive(); err != nil {
				return
			} else if _, ok := msg.(*pgproto3.Terminate); ok {
				return
			}
		}
	})
	db, err := OpenPool(context.Background(), "postgres://keydesk@"+addr+"/keydesk?sslmode=disable", PoolConfig{})
	if err == nil {
		db.Close()
		t.Fatal("a PostgreSQL 14 server was accepted")
	}
	if !strings.Contains(err.Error(), "PostgreSQL 14.10") || !strings.Contains(err.Error(), "15 or later") {
		t.Errorf("error %q does not name the server's version and the one needed", err)
	}
}

// A server that accepts the connection and never answers fails OpenPool once
// ConnectTimeout passes, even under a context without a deadline; and the
// error does not show the URL's password.
func TestOpenPoolConnectTimeout(t *testing.T) {
	addr := fakeServer(t, func(conn net.Conn) {
		// Read whatever comes and say nothing, until the client gives up.
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	})
	done := make(chan error, 1)
	go func() {
		db, err := OpenPool(context.Background(), "postgres://keydesk:s3cret-pw@"+addr+"/keydesk?sslmode=disable",
			PoolConfig{ConnectTimeout: 200 * time.Millisecond})
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("OpenPool still waiting on a silent server after a minute; ConnectTimeout was 200ms")
	}
	if err == nil {
		t.Fatal("OpenPool succeeded on a silent server")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// fakeServer listens on a loopback port and runs serve for each connection
// until the test ends.
func fakeServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(conn)
			}()
		}
	}()
	return l.Addr().String()
}

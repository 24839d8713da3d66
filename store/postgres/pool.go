package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// MinServerMajor is the oldest PostgreSQL that Keydesk runs on (SPEC:
// "PostgreSQL 15 or later"); the migrations and the tests assume it.
const MinServerMajor = 15

// PoolConfig sizes and bounds the pool that OpenPool opens. A zero field takes
// its default, chosen for a few instances on one server with PostgreSQL's
// default max_connections of 100; a negative one turns the bound off.
type PoolConfig struct {
	// MaxOpenConns caps this instance's connections (default 10). Four
	// instances then hold at most 40, which leaves room for migrations, psql
	// and backups. Requests beyond it wait for a free connection.
	MaxOpenConns int
	// MaxIdleConns is how many connections stay open while unused (default:
	// MaxOpenConns), so a steady load does not pay a new connection's
	// authentication and backend start on each burst.
	MaxIdleConns int
	// ConnMaxLifetime closes a connection this long after it opened (default
	// 30 minutes), so connections move over to a restarted or failed-over
	// server and a backend's memory does not grow without end.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection unused this long (default 5
	// minutes), giving the server back what a past burst took.
	ConnMaxIdleTime time.Duration
	// StatementTimeout is the server's statement_timeout on every connection
	// (default 30 seconds): a runaway statement is cancelled by the server
	// rather than holding a connection and its locks.
	StatementTimeout time.Duration
	// ConnectTimeout bounds dialing and authenticating one connection
	// (default 5 seconds), so an unreachable server fails a start or a
	// request instead of hanging it. It overrides connect_timeout in the URL.
	ConnectTimeout time.Duration
}

// The defaults of PoolConfig's fields.
const (
	DefaultMaxOpenConns     = 10
	DefaultConnMaxLifetime  = 30 * time.Minute
	DefaultConnMaxIdleTime  = 5 * time.Minute
	DefaultStatementTimeout = 30 * time.Second
	DefaultConnectTimeout   = 5 * time.Second
)

// withDefaults fills the zero fields and turns negative ones into the zero
// that database/sql and PostgreSQL read as "no bound".
func (c PoolConfig) withDefaults() PoolConfig {
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = DefaultMaxOpenConns
	}
	if c.MaxIdleConns == 0 {
		c.MaxIdleConns = c.MaxOpenConns
	}
	dur := func(d *time.Duration, def time.Duration) {
		switch {
		case *d == 0:
			*d = def
		case *d < 0:
			*d = 0
		}
	}
	dur(&c.ConnMaxLifetime, DefaultConnMaxLifetime)
	dur(&c.ConnMaxIdleTime, DefaultConnMaxIdleTime)
	dur(&c.StatementTimeout, DefaultStatementTimeout)
	dur(&c.ConnectTimeout, DefaultConnectTimeout)
	if c.MaxOpenConns < 0 {
		c.MaxOpenConns = 0
	}
	if c.MaxIdleConns < 0 {
		c.MaxIdleConns = 0
	}
	return c
}

// OpenPool opens a database/sql pool on the PostgreSQL database at url
// (postgres://user:password@host:port/db?sslmode=...) through pgx, sized and
// bounded by cfg, and checks that it answers and is PostgreSQL 15 or later.
// Errors never carry the URL, which may hold a password.
func OpenPool(ctx context.Context, url string, cfg PoolConfig) (*sql.DB, error) {
	cfg = cfg.withDefaults()
	connCfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's parse errors show the URL with its password masked.
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	connCfg.ConnectTimeout = cfg.ConnectTimeout
	connCfg.DialFunc = dialWithDeadline(connCfg.DialFunc)
	connCfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)

	db := stdlib.OpenDB(*connCfg)
	db.SetMaxOpenConns(cfg.MaxOpenConns)
	db.SetMaxIdleConns(cfg.MaxIdleConns)
	db.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	db.SetConnMaxIdleTime(cfg.ConnMaxIdleTime)

	if err := checkServer(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return db, nil
}

// dialWithDeadline makes a dial that fails once its context's deadline has
// passed fail with the context's error. Go's dialer puts that deadline on
// the socket too, whose timeout can end the dial a moment before the
// context's own timer marks the context done: the error is then a bare
// "i/o timeout", in which nothing above can see that the request ran out of
// time, and it answers 500 where a deadline gets 503 ("try again"), as it
// does on SQLite. A cut-short statement closes its connection, so the next
// request dials, and a request timeout lands in a dial often.
func dialWithDeadline(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
				return nil, fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
			}
		}
		return conn, err
	}
}

// checkServer opens one connection and reads the server_version that every
// PostgreSQL reports when a session starts.
func checkServer(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var version string
	if err := conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", driverConn)
		}
		version = c.Conn().PgConn().ParameterStatus("server_version")
		return nil
	}); err != nil {
		return err
	}
	return checkServerVersion(version)
}

// checkServerVersion accepts a server_version such as "15.18 (Debian
// 15.18-0+deb12u1)" or "16beta1" whose major version is at least
// MinServerMajor.
func checkServerVersion(version string) error {
	digits := version
	if i := strings.IndexFunc(version, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = version[:i]
	}
	major, err := strconv.Atoi(digits)
	if err != nil {
		return fmt.Errorf("the server reports version %q, which is not PostgreSQL's; Keydesk needs PostgreSQL %d or later",
			version, MinServerMajor)
	}
	if major < MinServerMajor {
		return fmt.Errorf("the server is PostgreSQL %s; Keydesk needs PostgreSQL %d or later", version, MinServerMajor)
	}
	return nil
}

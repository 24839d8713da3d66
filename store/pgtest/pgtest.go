// Package pgtest gives tests a PostgreSQL database of their own. It uses the
// server named by KEYDESK_TEST_POSTGRES when that is set; otherwise it starts
// a throw-away server from the PostgreSQL binaries installed on the machine
// (initdb into a temp dir, pg_ctl on a loopback port and a private Unix
// socket directory) and stops it when the package's tests end. Each test gets
// a fresh database on that server, dropped afterwards, so tests stay
// independent and may run in parallel.
//
// Start and Stop need no testing.TB: cmd/loadbench runs its benchmark's
// PostgreSQL with them too.
//
// A package that uses it calls Main from its TestMain. Where no PostgreSQL
// can be had, Database skips the test and says why, loudly; under CI (CI set)
// it fails instead, since CI installs the server and must run both stores.
//
// The suites that run whole on either store (the handler and browser tests)
// take their database from StoreDSN: a SQLite file by default, a PostgreSQL
// database when KEYDESK_TEST_STORE=postgres.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the variable that points the tests at an existing server, as
// a URL whose user may create databases (postgres://user@host:port/db).
const EnvURL = "KEYDESK_TEST_POSTGRES"

// EnvStore names the variable that picks the store under the suites that
// run on either: "postgres" for PostgreSQL, "sqlite" or unset for SQLite.
const EnvStore = "KEYDESK_TEST_STORE"

// Server is a running PostgreSQL server that tests may create databases on.
type Server struct {
	// URL reaches the server's maintenance database as a user that may
	// create databases.
	URL string

	dir    string // the temp dir holding the cluster and its socket; "" for a server we did not start
	binDir string
	runAs  string // the user that owns the cluster when we run as root
}

// ErrNoBinaries is Start's error when no PostgreSQL server binaries are
// installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found")

// Options change how StartWith sets the server up.
type Options struct {
	// Durable keeps PostgreSQL's own fsync, synchronous_commit and
	// full_page_writes (all on), so that a commit costs what it costs in
	// production: for a benchmark. Tests leave it off.
	Durable bool
}

// Start initialises a new cluster in a temp dir and starts it on a free
// loopback port, trusting local connections by the user "keydesk". It runs
// the server binaries as the "postgres" user when the process is root, since
// initdb refuses root.
func Start(ctx context.Context) (*Server, error) { return StartWith(ctx, Options{}) }

// StartWith is Start with options.
func StartWith(ctx context.Context, o Options) (*Server, error) {
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "keydesk-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, binDir: binDir}
	if os.Geteuid() == 0 {
		s.runAs = "postgres"
		if err := chownTo(dir, s.runAs); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.command(ctx, "initdb", "-D", data, "-A", "trust", "-U", "keydesk",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %v: %s", err, out)
	}

	// A free port can be taken by someone else between our probe and the
	// server's bind; a few tries make that a non-event.
	for try := 0; ; try++ {
		port, err := freePort()
		if err != nil {
			s.remove()
			return nil, err
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200", port, dir)
		if !o.Durable {
			// Durability is worthless to a throw-away server: fsync off
			// makes every commit cheap, which keeps the suites fast.
			opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		}
		out, err := s.command(ctx, "pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "server.log"),
			"-w", "-t", "60", "start").CombinedOutput()
		if err == nil {
			s.URL = fmt.Sprintf("postgres://keydesk@127.0.0.1:%d/postgres?sslmode=disable", port)
			return s, nil
		}
		if try == 4 {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			s.remove()
			return nil, fmt.Errorf("pgtest: pg_ctl start: %v: %s%s", err, out, log)
		}
	}
}

// Stop stops a server that Start started and removes its files; for a
// server given by KEYDESK_TEST_POSTGRES it does nothing.
func (s *Server) Stop() error {
	if s.dir == "" {
		return nil
	}
	out, err := s.command(context.Background(), "pg_ctl", "-D", filepath.Join(s.dir, "data"),
		"-m", "fast", "-w", "stop").CombinedOutput()
	s.remove()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %v: %s", err, out)
	}
	return nil
}

func (s *Server) remove() { os.RemoveAll(s.dir) }

// command runs one of the server's binaries, as the cluster's owner.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	bin := filepath.Join(s.binDir, name)
	if s.runAs != "" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs, "--", bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

// CreateDatabase makes an empty database with a fresh name and returns its
// URL and a function that drops it.
func (s *Server) CreateDatabase(ctx context.Context) (dbURL string, drop func() error, err error) {
	admin, err := sql.Open("pgx", s.URL)
	if err != nil {
		return "", nil, fmt.Errorf("pgtest: %w", err)
	}
	name := "keydesk_test_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("pgtest: create database: %w", err)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("pgtest: %w", err)
	}
	u.Path = "/" + name
	drop = func() error {
		defer admin.Close()
		// FORCE ends connections a test left open (PostgreSQL 13 and later).
		_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}

// The server shared by one test binary, set up by Main.
var shared struct {
	once   sync.Once
	server *Server
	err    error
}

// Main runs the package's tests with a PostgreSQL server available to
// Database, stops the server afterwards, and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The server starts on the first call to Database, so a run that selects no
// PostgreSQL test pays nothing.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to do after the tests: it
// returns the exit code instead of exiting.
//
// When KEYDESK_TEST_STORE asks for PostgreSQL, the whole binary's tests are
// to run on it, so the server starts before them, and a failure to start is
// said once, in a banner, rather than only in each test's skip: under CI it
// fails the run at once; elsewhere the tests run and skip. A value of
// KEYDESK_TEST_STORE it does not know fails the run, so that a misspelt
// PostgreSQL run does not pass on SQLite unnoticed.
func Run(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse() // as m.Run would; shout asks testing.Verbose
	}
	onPG, err := OnPostgres()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if onPG {
		if _, err := server(); err != nil {
			if os.Getenv("CI") != "" {
				fmt.Fprint(os.Stderr, banner(
					"POSTGRESQL TESTS FAILED: "+EnvStore+"=postgres and CI require PostgreSQL,",
					"and none could be had: "+err.Error(),
					"(install Debian's postgresql package or set "+EnvURL+")"))
				return 1
			}
			shout(banner(
				"POSTGRESQL TESTS SKIPPED: "+EnvStore+"=postgres, but no PostgreSQL could be had:",
				err.Error(),
				"(install Debian's postgresql package or set "+EnvURL+")",
				"These tests did NOT run on PostgreSQL."))
		}
	}
	code := m.Run()
	if shared.server != nil {
		if err := shared.server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Database returns the URL of a new, empty database for this test alone,
// dropped when the test ends. Without a PostgreSQL server it skips the test
// (fails it under CI) with the reason.
func Database(t testing.TB) string {
	t.Helper()
	srv, err := server()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required under CI: %v", err)
		}
		t.Skipf("*** SKIPPED: no PostgreSQL for this test (%v); install Debian's postgresql package or set %s ***", err, EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbURL, drop, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dbURL
}

// OnPostgres reports whether KEYDESK_TEST_STORE asks for PostgreSQL.
func OnPostgres() (bool, error) { return parseStore(os.Getenv(EnvStore)) }

func parseStore(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "sqlite":
		return false, nil
	case "postgres", "postgresql":
		return true, nil
	}
	return false, fmt.Errorf("pgtest: %s=%q: want postgres or sqlite", EnvStore, v)
}

// StoreDSN is where a test of a suite that runs on either store keeps its
// data, as `keydesk serve --db` takes it: the URL of a new PostgreSQL
// database of its own (from Database, which may skip the test) when
// KEYDESK_TEST_STORE asks for PostgreSQL, else a SQLite file in a temp dir
// of the test's.
func StoreDSN(t testing.TB) string {
	t.Helper()
	onPG, err := OnPostgres()
	if err != nil {
		t.Fatal(err)
	}
	if onPG {
		return Database(t)
	}
	return filepath.Join(t.TempDir(), "keydesk.db")
}

func server() (*Server, error) {
	shared.once.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared.server = &Server{URL: u}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared.server, shared.err = Start(ctx)
	})
	return shared.server, shared.err
}

// findBinDir finds the directory of initdb and pg_ctl: PATH first, then
// Debian's /usr/lib/postgresql/<version>/bin, the newest version.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func chownTo(dir, name string) error {
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the %q user: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	// The server's user must reach the dir through its parents, as with /tmp.
	for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("pgtest: %s is not searchable by %s; set TMPDIR to a directory it can reach", p, name)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// banner frames a message no one running the tests should miss.
func banner(lines ...string) string {
	rule := strings.Repeat("*", 72)
	return "\n" + rule + "\n" + strings.Join(lines, "\n") + "\n" + rule + "\n"
}

// shout writes msg to stderr and, unless the tests run with -v, to the
// terminal too: `go test ./...` shows a passing package's output only with
// -v, and a suite that skipped must not pass unnoticed.
func shout(msg string) {
	fmt.Fprint(os.Stderr, msg)
	if testing.Verbose() {
		return
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprint(tty, msg)
		tty.Close()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}

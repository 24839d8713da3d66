// Command keydesk runs the Keydesk server and its administration commands.
//
// main only wires: flags and environment into a config, the store, the HTTP
// server. run holds it all and takes its environment as arguments, so tests
// run the whole program in-process.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"keydesk/handlers"
	"keydesk/store"
	"keydesk/store/engine"
	"keydesk/store/sqlstore"
)

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 48 << 20

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "keydesk:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

const usage = `Keydesk: a self-hostable settings console for API keys.

Usage:
  keydesk serve [--addr A] [--public-url URL] [--db PATH] [--demo] [--signup] [--secure-cookies] [--trusted-proxies CIDRS]
  keydesk user add --email E --name N [--admin] [--db PATH]   (password from stdin, or generated)
  keydesk user set-kyc --email E --status S [--db PATH]   (S: verified, pending, not_started, rejected)
  keydesk user disable --email E [--db PATH]   (ends their sessions; their keys stop answering)
  keydesk user enable --email E [--db PATH]    (each key is back to its own status)
  keydesk keys create --email E --name N [--description D] [--scopes a,b] [--expires-in 7|30|90|365|never|YYYY-MM-DD] [--db PATH]
                                  (prints the key once; scopes and lifetime as KEYDESK_SCOPES and KEYDESK_MAX_KEY_LIFETIME allow)
  keydesk keys list [--email E] [--db PATH]   (metadata and masked keys, never a key)
  keydesk db copy --from SRC --to DST   (every row into an empty database, SQLite or PostgreSQL)
  keydesk version

Every flag of serve also reads an environment variable; see the README.
The user and keys commands take --db or KEYDESK_DB, and are audited with "cli" as the actor.
serve, user and keys take the PostgreSQL pool's limits too, each also from its KEYDESK_DB_… variable
(a SQLite database ignores them): --db-max-conns N (10), --db-statement-timeout D (30s),
--db-connect-timeout D (5s), --db-max-conn-idle-time D (5m), --db-max-conn-lifetime D (30m).
Exit codes: 0 success, 1 failure (an unknown email, say), 2 a usage mistake.`

// run is the whole program.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usageError{"no command given"}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "user":
		switch sub(rest) {
		case "add":
			return userAdd(ctx, rest[1:], getenv, stdin, stdout, stderr)
		case "set-kyc":
			return userSetKYC(ctx, rest[1:], getenv, stdout, stderr)
		case "disable":
			return userSetDisabled(ctx, rest[1:], true, getenv, stdout, stderr)
		case "enable":
			return userSetDisabled(ctx, rest[1:], false, getenv, stdout, stderr)
		}
		return usageError{"usage: keydesk user add|set-kyc|disable|enable --email E …; see keydesk help"}
	case "keys":
		switch sub(rest) {
		case "create":
			return keysCreate(ctx, rest[1:], getenv, stdout, stderr)
		case "list":
			return keysList(ctx, rest[1:], getenv, stdout, stderr)
		}
		return usageError{"usage: keydesk keys create|list …; see keydesk help"}
	case "db":
		if sub(rest) == "copy" {
			return dbCopy(ctx, rest[1:], stdout, stderr)
		}
		return usageError{"usage: keydesk db copy --from SRC --to DST; see keydesk help"}
	case "version", "--version":
		if err := parseFlags(newFlags("version", stderr), rest); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "keydesk", version)
		return nil
	case "help", "-h", "--help":
		if err := parseFlags(newFlags("help", stderr), rest); err != nil {
			return err
		}
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// sub is a command's subcommand, or "" when none is given.
func sub(rest []string) string {
	if len(rest) == 0 {
		return ""
	}
	return rest[0]
}

// config is serve's configuration, from flags with environment fallbacks.
type config struct {
	addr           string
	db             *dbConfig
	demo           bool
	signup         bool
	secureCookies  bool
	trustedProxies []*net.IPNet
	sessionKeys    [][]byte // from KEYDESK_SESSION_KEYS; empty means kept in the database
	publicURL      string   // the URL people reach Keydesk at; other host names are refused
	policy         store.KeyPolicy
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := newFlags("serve", stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	addr := fs.String("addr", env("KEYDESK_ADDR", "127.0.0.1:8080"), "listen address (KEYDESK_ADDR)")
	db, err := dbFlags(fs, getenv)
	if err != nil {
		return config{}, err
	}
	demoDefault, err := parseBool(orEmpty(getenv("KEYDESK_DEMO"), "false"))
	if err != nil {
		return config{}, usageError{"KEYDESK_DEMO: " + err.Error()}
	}
	demo := fs.Bool("demo", demoDefault, "seed demo accounts and enable sign-up (KEYDESK_DEMO)")
	var signup, secure optionalBool
	for _, o := range []struct {
		b    *optionalBool
		env  string
		name string
		help string
	}{
		{&signup, "KEYDESK_SIGNUP", "signup", "allow sign-up; on in demo mode (KEYDESK_SIGNUP)"},
		{&secure, "KEYDESK_SECURE_COOKIES", "secure-cookies", "mark cookies Secure; off on a loopback address, on elsewhere (KEYDESK_SECURE_COOKIES)"},
	} {
		if v := getenv(o.env); v != "" {
			if err := o.b.Set(v); err != nil {
				return config{}, usageError{o.env + ": " + err.Error()}
			}
		}
		fs.Var(o.b, o.name, o.help)
	}
	proxies := fs.String("trusted-proxies", getenv("KEYDESK_TRUSTED_PROXIES"),
		"comma-separated CIDRs whose X-Forwarded-For is trusted (KEYDESK_TRUSTED_PROXIES)")
	publicURL := fs.String("public-url", getenv("KEYDESK_PUBLIC_URL"),
		"the URL people reach Keydesk at, such as https://keys.example.com; other host names get 421 (KEYDESK_PUBLIC_URL)")
	policy := addPolicyFlags(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return config{}, err
	}

	cfg := config{addr: *addr, db: db, demo: *demo, signup: signup.or(*demo), secureCookies: secure.or(!isLoopback(*addr)),
		publicURL: *publicURL}
	if cfg.policy, err = policy.policy(*demo); err != nil {
		return config{}, err
	}
	for _, p := range splitList(*proxies) {
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return config{}, usageError{fmt.Sprintf("--trusted-proxies: %q is not a CIDR such as 10.0.0.0/8", p)}
		}
		cfg.trustedProxies = append(cfg.trustedProxies, n)
	}
	for i, k := range splitList(getenv("KEYDESK_SESSION_KEYS")) {
		key, err := hex.DecodeString(k)
		if err != nil || len(key) < 32 {
			return config{}, usageError{fmt.Sprintf("KEYDESK_SESSION_KEYS: key %d must be at least 32 bytes, hex-encoded", i+1)}
		}
		cfg.sessionKeys = append(cfg.sessionKeys, key)
	}
	return cfg, nil
}

// serve runs the server until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish, and closes the database.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	hosts, hostWarning, err := allowedHosts(cfg.addr, cfg.publicURL, interfaceIPs)
	if err != nil {
		return err
	}
	for _, warning := range []string{hostWarning, cfg.db.ignoredPoolSettings()} {
		if warning != "" {
			fmt.Fprintln(stderr, "keydesk: warning:", warning)
			logger.Warn(warning)
		}
	}
	if getenv("GOMEMLIMIT") == "" {
		// A soft limit makes the collector return short-lived buffers
		// (password hashes, pages, gzip) sooner; GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}

	db, err := cfg.db.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	keys := cfg.sessionKeys
	if len(keys) == 0 {
		key, err := db.Secret(ctx, "session_key", func() []byte { return randomBytes(32) })
		if err != nil {
			return err
		}
		keys = [][]byte{key}
	}
	if cfg.demo {
		if err := seedDemo(ctx, db, stdout); err != nil {
			return err
		}
	}

	uses := handlers.NewUseRecorder(db, logger)
	handler, err := handlers.New(handlers.Config{
		Store:          db,
		Logger:         logger,
		SessionKeys:    keys,
		SecureCookies:  cfg.secureCookies,
		Signup:         cfg.signup,
		TrustedProxies: cfg.trustedProxies,
		AllowedHosts:   hosts,
		PublicURL:      cfg.publicURL,
		Version:        version,
		Policy:         cfg.policy,
		Uses:           uses,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "Keydesk %s listening on http://%s (database %s)\n", version, ln.Addr(), redactDSN(cfg.db.dsn))
	logger.Info("listening", "addr", ln.Addr().String(), "db", redactDSN(cfg.db.dsn), "demo", cfg.demo,
		"signup", cfg.signup, "secure_cookies", cfg.secureCookies)

	go sweep(ctx, db, logger, sweepEvery)
	go uses.Run(ctx, useFlushEvery)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// The requests are done: what they recorded of their keys' use is
	// written before the store closes.
	if err := uses.Flush(shutdownCtx); err != nil {
		logger.Warn("record key uses at shutdown", "err", err)
	}
	logger.Info("stopped")
	return nil
}

// useFlushEvery is how often each instance writes the key uses it
// recorded: at most one write a second, whatever the load.
const useFlushEvery = time.Second

// sweepEvery is how often expired sessions (and key uses past their
// retention) are deleted, so the
// table holds at most an hour's worth of dead rows.
const sweepEvery = time.Hour

// sweep deletes expired sessions, and key uses older than
// store.UseRetention, at start and every interval until ctx ends; expired
// sessions are refused when used in any case, so this only keeps the
// tables small. The interval is a parameter so that a test can shorten it.
func sweep(ctx context.Context, db *sqlstore.DB, logger *slog.Logger, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := db.DeleteExpiredSessions(ctx, db.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			logger.Warn("sweep sessions", "err", err)
		}
		if err := db.PruneKeyUses(ctx, db.Now().Add(-store.UseRetention)); err != nil && ctx.Err() == nil {
			logger.Warn("prune key uses", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// userAdd is "keydesk user add".
func userAdd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("user add", stderr)
	email := fs.String("email", "", "the account's email (required)")
	name := fs.String("name", "", "the account's name (required)")
	admin := fs.Bool("admin", false, "make the account an admin")
	dbc, err := dbFlags(fs, getenv)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	*email, *name = strings.TrimSpace(*email), strings.TrimSpace(*name)
	if *email == "" || *name == "" {
		return usageError{"user add: --email and --name are required"}
	}

	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	generated := password == ""
	if generated {
		password = generatePassword()
	}
	in := store.AccountInput{Name: *name, Email: *email, Password: password}
	if err := invalidInput("user add", in.Validate(), "email", "name", "password"); err != nil {
		return err
	}

	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	role := store.RoleUser
	if *admin {
		role = store.RoleAdmin
	}
	u, err := db.CreateUser(ctx, store.NewUser{Name: *name, Email: *email, PasswordHash: store.HashPassword(password), Role: role},
		store.AuditEvent{Actor: "cli", Action: store.ActionUserCreated, Target: store.NormalizeEmail(*email)})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("user add: an account with email %s already exists", store.NormalizeEmail(*email))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created %s %s <%s> (User ID %s)\n", role, u.Name, u.Email, u.PublicID)
	if generated {
		fmt.Fprintf(stdout, "Password (shown once): %s\n", password)
	}
	return nil
}

// keysCreate is "keydesk keys create": a key for scripts and automation,
// printed once on stdout (alone on its line, for $(…)), audited with the CLI
// as the actor.
func keysCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("keys create", stderr)
	email := fs.String("email", "", "the owner's email (required)")
	name := fs.String("name", "", "the key's name, unique for the owner (required)")
	description := fs.String("description", "", "what the key is for")
	scopes := fs.String("scopes", "", "the key's scopes, comma-separated; default: every scope but keys:verify")
	expiresIn := fs.String("expires-in", "", "days the key lives (7, 30, 90 or 365), never, or the date it expires (YYYY-MM-DD, at 00:00 UTC); default 30")
	dbc, err := dbFlags(fs, getenv)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	*email, *name, *description = strings.TrimSpace(*email), strings.TrimSpace(*name), strings.TrimSpace(*description)
	if *email == "" || *name == "" {
		return usageError{"keys create: --email and --name are required"}
	}
	in := store.KeyInput{Name: *name, Description: *description}
	if err := invalidInput("keys create", in.Validate(), "name", "description"); err != nil {
		return err
	}
	terms, err := cliTerms(fs, *scopes, *expiresIn)
	if err != nil {
		return err
	}
	policy, err := cliPolicy(getenv)
	if err != nil {
		return err
	}

	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, *email)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("keys create: no account with email %s", *email)
	}
	if err != nil {
		return err
	}
	// The owner's role decides an admin-only scope, as on the web form.
	expiresAt, keyScopes, errs := terms.Resolve(policy, db.Now(), u.Role == store.RoleAdmin)
	if err := invalidTerms(errs); err != nil {
		return err
	}
	k, secret, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: *name, Description: *description, Scopes: keyScopes, ExpiresAt: expiresAt},
		store.AuditEvent{Actor: "cli", Action: store.ActionKeyCreated, SubjectID: u.ID, Detail: "created with keydesk keys create"})
	switch {
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("keys create: %s already has a key named %q", u.Email, *name)
	case errors.Is(err, store.ErrLimit):
		return fmt.Errorf("keys create: %s already has %d keys, the most an account can hold", u.Email, store.MaxKeysPerUser)
	case err != nil:
		return err
	}
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "Created key %s (%s) for %s. It is shown once: store it now.\n", k.PublicID, k.Name, u.Email)
	fmt.Fprintf(stderr, "Expires: %s\nScopes: %s\n", expiryText(k.ExpiresAt), scopesText(k))
	return nil
}

// readPassword reads the first line of stdin; nothing at all is "", which
// asks for a generated password.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", nil
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return "", nil // a terminal with nothing piped in: generate
		}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// generatePassword makes a 20-character password from an alphabet without
// look-alike characters (about 115 bits).
func generatePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	return randomString(alphabet, 20)
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	// Rejection sampling keeps every character equally likely.
	limit := 256 - 256%n
	var one [1]byte
	for {
		rand.Read(one[:])
		if int(one[0]) < limit {
			return int(one[0]) % n
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// redactDSN is a --db value fit to print: a PostgreSQL URL's password
// becomes "xxxxx".
func redactDSN(dsn string) string {
	if !engine.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "a PostgreSQL URL"
	}
	return u.Redacted()
}

func orEnv(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func orEmpty(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "yes", "on":
		return true, nil
	case "0", "f", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// optionalBool is a boolean flag that knows whether it was set, so that a
// default can depend on other flags. Like any boolean flag, a bare --name
// means true.
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) IsBoolFlag() bool { return true }

func (b *optionalBool) String() string {
	if b == nil || !b.set {
		return ""
	}
	return strconv.FormatBool(b.value)
}

func (b *optionalBool) Set(v string) error {
	value, err := parseBool(v)
	if err != nil {
		return err
	}
	b.set, b.value = true, value
	return nil
}

// or is the flag's value, or def when it was not set.
func (b *optionalBool) or(def bool) bool {
	if !b.set {
		return def
	}
	return b.value
}

// isLoopback reports whether a listen address is only reachable from this
// machine, where plain HTTP is expected.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

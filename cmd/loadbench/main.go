// Command loadbench measures a real Keydesk server under load and writes the
// figures to docs/BENCHMARKS.md; `make bench` runs it.
//
// It builds nothing: it runs the keydesk binary it is given as `keydesk
// serve` processes side by side, each on a database it seeded first (a
// 1k-key and a 100k-key inventory), on each store: SQLite files in a
// temporary directory and, when PostgreSQL's server binaries are installed,
// two databases on a throw-away PostgreSQL server it starts for the run
// (store/pgtest's, with fsync on). It signs in over HTTP like a browser,
// then drives each scenario over loopback with concurrent keep-alive
// clients for a fixed time, the scenarios of both stores taking turns, and
// reports requests per second and latency percentiles against the floor
// (/healthz on the same store's server), with each server's peak resident
// memory read from /proc. It stops by itself; nothing it starts outlives
// it, but for a PostgreSQL cluster left in $TMPDIR/keydesk-pg-* when
// loadbench is killed with SIGKILL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"keydesk/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	bin      string
	out      string
	clients  int
	duration time.Duration
	rounds   int
	warmup   time.Duration
	small    int // keys in the small inventory (over small/keysPerOwner users)
	large    int // keys in the large one (over large/keysPerOwner users)
	keep     bool
	postgres bool           // also measure the PostgreSQL store
	only     *regexp.Regexp // the rows to measure, besides the floor; nil: all
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.bin, "bin", "bin/keydesk", "the keydesk binary to measure (make bench builds it)")
	fs.StringVar(&c.out, "out", "", "also write the results into this Markdown file (e.g. docs/BENCHMARKS.md)")
	fs.IntVar(&c.clients, "clients", 32, "concurrent clients, each with its own keep-alive connection")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long each scenario is measured, in all")
	fs.IntVar(&c.rounds, "rounds", 10, "slices each scenario's time is cut into, taken in turn with the other scenarios'")
	fs.DurationVar(&c.warmup, "warmup", 200*time.Millisecond, "load before each slice, not measured")
	fs.IntVar(&c.small, "small", 1_000, fmt.Sprintf("keys in the small inventory, over one user per %d keys", keysPerOwner))
	fs.IntVar(&c.large, "large", 100_000, fmt.Sprintf("keys in the large inventory, over one user per %d keys", keysPerOwner))
	fs.BoolVar(&c.keep, "keep", false, "keep the SQLite databases and the servers' logs, and print where (the PostgreSQL cluster is removed)")
	fs.BoolVar(&c.postgres, "postgres", true, "also measure the PostgreSQL store, on a throw-away server started from the installed binaries "+
		"(without them, SQLite alone, and the report says so)")
	only := fs.String("run", "", "measure only the rows matching this regexp, and the floor (for profiling; not with -out)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			return c, fmt.Errorf("-run: %w", err)
		}
		if c.out != "" {
			return c, errors.New("-run measures part of the table; it cannot write -out")
		}
		c.only = re
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.clients < 1 || c.duration <= 0 || c.rounds < 1 || c.warmup < 0 {
		return c, errors.New("-clients, -duration and -rounds must be positive, -warmup not negative")
	}
	if c.small < 500 || c.large < 500 {
		// Fewer keys means fewer than 43 users, and no user00042 to search for.
		return c, errors.New("-small and -large must be at least 500")
	}
	return c, nil
}

// run is the whole program.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(cfg.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%w (build it first: make build)", err)
	}
	tmp, err := os.MkdirTemp("", "keydesk-loadbench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		fmt.Fprintln(stderr, "loadbench: keeping the databases and server logs in", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "loadbench: "+format+"\n", a...) }
	began, loadBefore := time.Now(), loadAverage()

	stores, pg, err := seedStores(ctx, cfg, tmp, began, progress)
	defer func() {
		if err := pg.stop(); err != nil {
			progress("%v", err)
		}
	}()
	if err != nil {
		return err
	}
	rep := report{cfg: cfg, bin: bin, stores: stores, postgres: pg.about, started: began, loadBefore: loadBefore}

	// Every server runs for the whole measurement, the others idle while one
	// is measured, so that the scenarios can take turns: drift in what else
	// the machine does then touches every row, of either store, alike.
	var servers []*server
	stopAll := func() error {
		var errs []error
		for _, s := range servers {
			errs = append(errs, s.stop())
		}
		return errors.Join(errs...)
	}
	for _, st := range stores {
		for _, half := range []struct {
			ds  *dataset
			srv **server
			log string
		}{{st.small, &st.smallSrv, st.slug + "-small.log"}, {st.large, &st.largeSrv, st.slug + "-large.log"}} {
			srv, err := startServer(ctx, bin, half.ds.dsn, filepath.Join(tmp, half.log))
			if err != nil {
				return errors.Join(fmt.Errorf("%s: %w", st.name, err), stopAll())
			}
			*half.srv = srv
			servers = append(servers, srv)
		}
	}
	err = measure(ctx, cfg, &rep, progress)
	err = errors.Join(err, stopAll())
	for _, st := range stores {
		st.rssSmall, st.rssLarge = st.smallSrv.peakRSS(), st.largeSrv.peakRSS()
	}
	if err == nil {
		err = measureBursts(ctx, cfg, &rep, bin, tmp, progress)
	}
	if err != nil {
		if !cfg.keep && ctx.Err() == nil {
			err = fmt.Errorf("%w (run with -keep to keep the server logs)", err)
		}
		return err
	}
	rep.elapsed = time.Since(began)
	rep.loadAfter = loadAverage()

	md := rep.markdown()
	fmt.Fprintln(stdout, md)
	if cfg.out != "" {
		if err := writeResults(cfg.out, md); err != nil {
			return err
		}
		progress("wrote %s", cfg.out)
	}
	return nil
}

// measure signs in, checks one answer of every scenario of every store,
// then runs the scenarios in rounds, each taking its turn for
// duration/rounds, and puts one row per scenario and store in the report.
func measure(ctx context.Context, cfg config, rep *report, progress func(string, ...any)) error {
	var scs []scenario
	for _, st := range rep.stores {
		small, err := smallScenarios(ctx, st.smallSrv.base, st.small)
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		large, err := inventoryScenarios(ctx, st.largeSrv.base, st.large, sizeLabel(cfg.large))
		if err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		for _, sc := range slices.Concat(small, large) {
			sc.store = st.name
			scs = append(scs, sc)
		}
	}
	if cfg.only != nil {
		scs = slices.DeleteFunc(scs, func(sc scenario) bool { return sc.name != rowFloor && !cfg.only.MatchString(sc.title()) })
	}

	client := newClient(cfg.clients)
	defer client.CloseIdleConnections()
	for _, sc := range scs {
		if err := probe(client, sc); err != nil {
			return err
		}
	}
	samples := make([][]time.Duration, len(scs))
	elapsed := make([]time.Duration, len(scs))
	slice := cfg.duration / time.Duration(cfg.rounds)
	for round := range cfg.rounds {
		progress("round %d of %d: %d scenarios, %v each, %d clients", round+1, cfg.rounds, len(scs), slice, cfg.clients)
		for i, sc := range scs {
			if err := ctx.Err(); err != nil {
				return err
			}
			lat, d, err := drive(client, sc, cfg.clients, cfg.warmup, slice)
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			if err != nil {
				return err
			}
			samples[i] = append(samples[i], lat...)
			elapsed[i] += d
		}
	}
	for i, sc := range scs {
		r, err := summarize(sc.title(), samples[i], elapsed[i])
		if err != nil {
			return err
		}
		r.store, r.name = sc.store, sc.name
		rep.results = append(rep.results, r)
	}
	return nil
}

// measureBursts runs the login bursts, each on a fresh server over the
// small SQLite database, after the other servers have stopped. They measure
// the server's memory under a burst of password hashes, which the store
// does not change.
func measureBursts(ctx context.Context, cfg config, rep *report, bin, tmp string, progress func(string, ...any)) error {
	for _, spread := range []bool{false, true} {
		name := rowBurstOne
		if spread {
			name = rowBurstSpread
		}
		if cfg.only != nil && !cfg.only.MatchString(name) {
			continue
		}
		progress("%s", name)
		lite := rep.stores[0].small
		r, err := loginBurst(ctx, bin, lite.dsn, filepath.Join(tmp, fmt.Sprintf("burst-%t.log", spread)), lite.keyPageUser, spread)
		if err != nil {
			return err
		}
		rep.bursts = append(rep.bursts, r)
	}
	return nil
}

// smallScenarios are the rows measured on the small database.
func smallScenarios(ctx context.Context, base string, ds *dataset) ([]scenario, error) {
	userCookie, err := login(ctx, base, ds.keyPageUser)
	if err != nil {
		return nil, err
	}
	valid := ds.valid
	badChecksum := make([]string, len(valid))
	unknown := make([]string, len(valid))
	for i, k := range valid {
		badChecksum[i] = corruptChecksum(k)
		unknown[i] = store.GenerateKey()
	}
	rotate := func(keys []string) func(w, i int) *http.Request {
		return func(w, i int) *http.Request {
			// Each worker walks the keys from its own starting point, so
			// every key is in use and workers seldom send the same one.
			return get(ctx, base+"/api/v1/me", "Authorization", "Bearer "+keys[(w*7919+i)%len(keys)])
		}
	}
	// verify asks, as a gateway would, about keys in rotation.
	verify := func(keys []string) func(w, i int) *http.Request {
		return func(w, i int) *http.Request {
			body := `{"key":"` + keys[(w*7919+i)%len(keys)] + `","scopes":["profile:read"],` +
				`"client_ip":"198.51.100.7","user_agent":"loadbench","route":"GET /v1/orders"}`
			return post(ctx, base+"/api/v1/keys/verify", body, "Authorization", "Bearer "+ds.verifier)
		}
	}
	scs := []scenario{
		{name: rowFloor, want: http.StatusOK,
			request: func(int, int) *http.Request { return get(ctx, base+"/healthz") }},
		{name: rowMeValid, want: http.StatusOK, request: rotate(valid),
			check: contains(`"key":{"id":"key_`)},
		{name: rowMeBadChecksum, want: http.StatusUnauthorized, request: rotate(badChecksum),
			check: contains(`"invalid_token"`)},
		{name: rowMeUnknown, want: http.StatusUnauthorized, request: rotate(unknown),
			check: contains(`"invalid_token"`)},
		{name: rowVerifyValid, want: http.StatusOK, request: verify(valid), check: contains(`"valid":true`)},
		{name: rowVerifyUnknown, want: http.StatusOK, request: verify(unknown), check: contains(`"code":"NOT_FOUND"`)},
	}
	fiftyKeys := func(body string) error {
		if n := strings.Count(body, store.KeyPrefix+"…"); n != store.MaxKeysPerUser {
			return fmt.Errorf("the page shows %d masked keys, want %d", n, store.MaxKeysPerUser)
		}
		return nil
	}
	scs = append(scs,
		scenario{name: rowKeyPage, want: http.StatusOK, check: fiftyKeys,
			request: func(int, int) *http.Request {
				return get(ctx, base+"/settings/api-keys", "Cookie", userCookie, "Accept-Encoding", "gzip")
			}},
		scenario{name: rowKeyPageFresh, want: http.StatusOK, check: fiftyKeys,
			request: func(int, int) *http.Request {
				return get(ctx, base+"/settings/api-keys", "Cookie", userCookie, "Accept-Encoding", "gzip", "Cache-Control", "no-cache")
			}},
	)
	viewers, err := viewerScenarios(ctx, base, ds)
	if err != nil {
		return nil, err
	}
	inv, err := inventoryScenarios(ctx, base, ds, sizeLabel(ds.keys))
	if err != nil {
		return nil, err
	}
	return append(append(scs, viewers...), inv...), nil
}

// viewerScenarios are the key page of each of the dataset's viewers in
// turn, as a repeat view and as a first view.
func viewerScenarios(ctx context.Context, base string, ds *dataset) ([]scenario, error) {
	cookies := make([]string, len(ds.viewers))
	for i, a := range ds.viewers {
		c, err := login(ctx, base, a)
		if err != nil {
			return nil, err
		}
		cookies[i] = c
	}
	perOwner := ds.keys / ds.users
	ownKeys := func(body string) error {
		if n := strings.Count(body, store.KeyPrefix+"…"); n != perOwner {
			return fmt.Errorf("the page shows %d masked keys, want %d", n, perOwner)
		}
		return nil
	}
	page := func(headers ...string) func(w, i int) *http.Request {
		return func(w, i int) *http.Request {
			h := append([]string{"Cookie", cookies[(w*7919+i)%len(cookies)], "Accept-Encoding", "gzip"}, headers...)
			return get(ctx, base+"/settings/api-keys", h...)
		}
	}
	return []scenario{
		{name: rowViewers, want: http.StatusOK, check: ownKeys, request: page()},
		{name: rowViewersFresh, want: http.StatusOK, check: ownKeys, request: page("Cache-Control", "no-cache")},
	}, nil
}

// inventoryScenarios are the admin inventory's rows on one database.
func inventoryScenarios(ctx context.Context, base string, ds *dataset, size string) ([]scenario, error) {
	adminCookie, err := login(ctx, base, ds.admin)
	if err != nil {
		return nil, err
	}
	// again is a repeat view, which the page cache answers while nothing
	// changes; fresh, a first view, rendered anew (as the searches are:
	// each is the one an admin just typed).
	again := func(path string) func(int, int) *http.Request {
		return func(int, int) *http.Request {
			return get(ctx, base+path, "Cookie", adminCookie, "Accept-Encoding", "gzip")
		}
	}
	page := func(path string) func(int, int) *http.Request {
		return func(int, int) *http.Request {
			return get(ctx, base+path, "Cookie", adminCookie, "Accept-Encoding", "gzip", "Cache-Control", "no-cache")
		}
	}
	return []scenario{
		{name: fmt.Sprintf(rowAdminFirst, size), want: http.StatusOK, request: again("/admin/api-keys"),
			check: rowsShown(store.InventoryPageSize)},
		{name: fmt.Sprintf(rowAdminFirstFresh, size), want: http.StatusOK, request: page("/admin/api-keys"),
			check: rowsShown(store.InventoryPageSize)},
		// user00042 owns one key in ten: ten keys in either inventory.
		{name: fmt.Sprintf(rowAdminSearch, size), want: http.StatusOK, request: page("/admin/api-keys?q=user00042@"),
			check: rowsShown(ds.keys / ds.users)},
		{name: fmt.Sprintf(rowAudit, size), want: http.StatusOK, request: again("/admin/audit"),
			check: contains("Audit log")},
		{name: fmt.Sprintf(rowAuditFresh, size), want: http.StatusOK, request: page("/admin/audit"),
			check: contains("Audit log")},
		// "ci-deploy 990" (and in 100k "ci-deploy 9900", "ci-deploy 99000"
		// to "99090"): a few keys either way.
		{name: fmt.Sprintf(rowSearchKeyName, size), want: http.StatusOK, request: page("/admin/api-keys?q=ploy+990"),
			check: contains("ci-deploy 990<")},
		// user00042@example.com and Test User 00042 own ten keys in either.
		{name: fmt.Sprintf(rowSearchEmail, size), want: http.StatusOK, request: page("/admin/api-keys?q=ser00042%40exa"),
			check: rowsShown(ds.keys / ds.users)},
		{name: fmt.Sprintf(rowSearchOwner, size), want: http.StatusOK, request: page("/admin/api-keys?q=User+00042"),
			check: rowsShown(ds.keys / ds.users)},
		// "backup-job …", a tenth of the keys: a full page, and a count
		// that stops at 10,000.
		{name: fmt.Sprintf(rowSearchShort, size), want: http.StatusOK, request: page("/admin/api-keys?q=ba"),
			check: rowsShown(store.InventoryPageSize)},
	}, nil
}

// sizeLabel names an inventory by its size: 1k, 100k, 2500.
func sizeLabel(keys int) string {
	if keys%1000 == 0 {
		return fmt.Sprintf("%dk", keys/1000)
	}
	return fmt.Sprint(keys)
}

// corruptChecksum changes a key's last character, so that its checksum no
// longer matches while it keeps the key's shape.
func corruptChecksum(key string) string {
	last := key[len(key)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	bad := key[:len(key)-1] + string(repl)
	if store.ParseKey(bad) == nil {
		panic("corruptChecksum made a valid key")
	}
	return bad
}

func contains(want string) func(string) error {
	return func(body string) error {
		if !strings.Contains(body, want) {
			return fmt.Errorf("the answer lacks %q", want)
		}
		return nil
	}
}

// rowsShown checks that an inventory page lists n keys.
func rowsShown(n int) func(string) error {
	return func(body string) error {
		if got := strings.Count(body, store.KeyPrefix+"…"); got != n {
			return fmt.Errorf("the page shows %d masked keys, want %d", got, n)
		}
		return nil
	}
}

package main

import (
	"bytes"
	"debug/buildinfo"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"keydesk/store/postgres"
)

// The table's rows; the targets find their rows by these names.
const (
	rowFloor         = "floor: `GET /healthz`"
	rowMeValid       = "`GET /api/v1/me`, valid keys"
	rowMeBadChecksum = "`GET /api/v1/me`, bad checksum"
	rowMeUnknown     = "`GET /api/v1/me`, unknown key"
	rowVerifyValid   = "`POST /api/v1/keys/verify`, valid keys"
	rowVerifyUnknown = "`POST /api/v1/keys/verify`, unknown key"
	rowKeyPage       = "`GET /settings/api-keys`, 50 keys"
	rowAdminFirst    = "`GET /admin/api-keys`, %s keys"
	rowAdminSearch   = "`GET /admin/api-keys?q=user00042@`, %s keys"
	rowAudit         = "`GET /admin/audit`, %s keys"
	// The same pages rendered anew, as a first view is (the request says
	// Cache-Control: no-cache, as a browser's hard reload does): the rows
	// above are repeat views, which the page cache answers.
	rowKeyPageFresh    = rowKeyPage + ", first view"
	rowAdminFirstFresh = rowAdminFirst + ", first view"
	rowAuditFresh      = rowAudit + ", first view"
	// The inventory's search, each with its count: inside a key name,
	// inside an email, an owner's name, and a query too short for a
	// trigram (from the start of names and emails).
	rowSearchKeyName = "`GET /admin/api-keys?q=ploy 990`, %s keys"
	rowSearchEmail   = "`GET /admin/api-keys?q=ser00042@exa`, %s keys"
	rowSearchOwner   = "`GET /admin/api-keys?q=User 00042`, %s keys"
	rowSearchShort   = "`GET /admin/api-keys?q=ba`, %s keys"
)

// The key page of many people in turn (viewerCount), each with an
// inventory owner's keys (the key page rows above are one viewer's).
var (
	rowViewers      = fmt.Sprintf("`GET /settings/api-keys`, %d keys, %d viewers", keysPerOwner, viewerCount)
	rowViewersFresh = rowViewers + ", first view"
)

// The targets.
const (
	targetMeThroughput      = 0.75 // a valid key's call, of the floor's req/s, at least
	targetMeP99             = 1.5  // times the floor's p99, at most
	targetInvalidThroughput = 0.9  // an invalid key's call, of the floor's req/s, at least
	targetScale             = 2.0  // 100k inventory vs 1k: at most this much slower
	targetPageThroughput    = 0.15 // the key page, the inventory and the audit log, of the floor's req/s, at least
	targetRSS               = 64 << 20
)

// report is one run, ready to print.
type report struct {
	cfg     config
	bin     string
	stores  []*storeRun // SQLite first
	results []result
	bursts  []burstResult
	// postgres describes the PostgreSQL server, or says why there was none.
	postgres string
	started  time.Time
	elapsed  time.Duration
	// loadBefore and loadAfter are the machine's 1-minute load average at
	// the start and the end of the run: well above 0 at the start means
	// other work shared the CPUs.
	loadBefore, loadAfter string
}

func (r *report) find(store, name string) (result, bool) {
	for _, x := range r.results {
		if x.store == store && x.name == name {
			return x, true
		}
	}
	return result{}, false
}

// markdown is the run's section of docs/BENCHMARKS.md.
func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Results\n\n")
	fmt.Fprintf(&b, "Run of %s on %s. %d clients over loopback; each scenario measured for %v in all, "+
		"in %d turns of %v each after %v of unmeasured warm-up; the whole run took %.0f s. "+
		"The machine's load average (1 min) at the start: %s; at the end: %s.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 UTC"), machine(r.bin), r.cfg.clients, r.cfg.duration,
		r.cfg.rounds, r.cfg.duration/time.Duration(r.cfg.rounds), r.cfg.warmup, r.elapsed.Seconds(),
		r.loadBefore, r.loadAfter)
	if len(r.stores) > 1 {
		fmt.Fprintf(&b, "The PostgreSQL rows: %s, started for the run on the same machine and reached over loopback TCP; "+
			"each `keydesk serve` on it with the default pool (at most %d connections).\n\n", r.postgres, postgres.DefaultMaxOpenConns)
	} else {
		fmt.Fprintf(&b, "**SQLite only.** PostgreSQL was %s.\n\n", r.postgres)
	}

	// Each scenario's rows side by side, one per store; "vs floor" is
	// against the floor of the same store's run.
	fmt.Fprintf(&b, "| Scenario | Store | req/s | p50 | p99 | req/s vs floor | p99 vs floor |\n")
	fmt.Fprintf(&b, "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
	var names []string
	for _, x := range r.results {
		if !slices.Contains(names, x.name) {
			names = append(names, x.name)
		}
	}
	for _, name := range names {
		for _, st := range r.stores {
			x, ok := r.find(st.name, name)
			if !ok {
				continue
			}
			floor, _ := r.find(st.name, rowFloor)
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %.2f× | %.2f× |\n", x.name, st.name, x.rps(), ms(x.p50), ms(x.p99),
				x.rps()/floor.rps(), float64(x.p99)/float64(floor.p99))
		}
	}
	fmt.Fprintf(&b, "\nPeak RSS of the server (VmHWM")
	if len(r.stores) > 1 {
		fmt.Fprintf(&b, "; keydesk's own, not PostgreSQL's")
	}
	fmt.Fprintf(&b, "): ")
	for i, st := range r.stores {
		if i > 0 {
			fmt.Fprintf(&b, "; ")
		}
		fmt.Fprintf(&b, "%s %s on the %s-key database, %s on the %s-key database", st.name,
			mib(st.rssSmall), sizeLabel(r.cfg.small), mib(st.rssLarge), sizeLabel(r.cfg.large))
	}
	fmt.Fprintf(&b, ".\n")
	if len(r.bursts) > 0 {
		fmt.Fprintf(&b, "\n### Login bursts\n\n%d sign-ins with the right password sent at once, each on its own connection, "+
			"to a fresh server on the %s-key SQLite database; its peak RSS is the burst's. All are for one account, whose attempts are "+
			"counted before the hash: past %d under way for it, or past the address's few places in the hash queue, the rest "+
			"are told 429 at once, and past a full queue 503 at once.\n\n", burstLogins, sizeLabel(r.cfg.small), 5)
		fmt.Fprintf(&b, "| Burst | 303 | 429 | 503 | last answer after | peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, x := range r.bursts {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s |\n", x.name, x.statuses[http.StatusSeeOther],
				x.statuses[http.StatusTooManyRequests], x.statuses[http.StatusServiceUnavailable], ms(x.last), mib(x.peak))
		}
	}
	lite := r.stores[0]
	fmt.Fprintf(&b, "\nIn each store the valid-key row rotates over %d distinct keys of %d users; each invalid-key row over as many "+
		"distinct bad keys. The inventories: %d keys over %d users, and %d keys over %d users, "+
		"each with an admin (the first also with the user holding 50 keys).\n",
		len(lite.small.valid), lite.small.validOwners, lite.small.keys, lite.small.users, lite.large.keys, lite.large.users)

	fmt.Fprintf(&b, "\n### Targets\n\n| target | store | this run | met |\n| --- | --- | --- | --- |\n")
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	row := func(target, store, got string, ok bool) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", target, store, got, met(ok))
	}
	for _, st := range r.stores {
		floor, _ := r.find(st.name, rowFloor)
		for _, t := range []struct{ label, row string }{
			{"`/api/v1/me` (valid key)", rowMeValid},
			{"`/api/v1/keys/verify` (valid key)", rowVerifyValid},
		} {
			x, ok := r.find(st.name, t.row)
			if !ok {
				continue
			}
			ratio := x.rps() / floor.rps()
			row(fmt.Sprintf("%s ≥ %.2f× the floor's req/s", t.label, targetMeThroughput), st.name,
				fmt.Sprintf("%.2f×", ratio), ratio >= targetMeThroughput)
			p99 := float64(x.p99) / float64(floor.p99)
			row(fmt.Sprintf("%s p99 ≤ %.1f× the floor's", t.label, targetMeP99), st.name,
				fmt.Sprintf("%.2f× (%s vs %s)", p99, ms(x.p99), ms(floor.p99)), p99 <= targetMeP99)
		}
		small, large := sizeLabel(r.cfg.small), sizeLabel(r.cfg.large)
		for _, t := range []struct{ label, row string }{
			{"API Auth Key page, 50 keys, repeat view", rowKeyPage},
			{"admin inventory, " + small + ", repeat view", fmt.Sprintf(rowAdminFirst, small)},
			{"admin inventory, " + large + ", repeat view", fmt.Sprintf(rowAdminFirst, large)},
			{"audit log, " + small + ", repeat view", fmt.Sprintf(rowAudit, small)},
			{"audit log, " + large + ", repeat view", fmt.Sprintf(rowAudit, large)},
			{"API Auth Key page, 50 keys, first view", rowKeyPageFresh},
			{"admin inventory, " + small + ", first view", fmt.Sprintf(rowAdminFirstFresh, small)},
			{"admin inventory, " + large + ", first view", fmt.Sprintf(rowAdminFirstFresh, large)},
			{"audit log, " + small + ", first view", fmt.Sprintf(rowAuditFresh, small)},
			{"audit log, " + large + ", first view", fmt.Sprintf(rowAuditFresh, large)},
		} {
			if x, ok := r.find(st.name, t.row); ok {
				ratio := x.rps() / floor.rps()
				row(fmt.Sprintf("%s ≥ %.2f× the floor's req/s", t.label, targetPageThroughput), st.name,
					fmt.Sprintf("%.2f× (%.0f req/s)", ratio, x.rps()), ratio >= targetPageThroughput)
			}
		}
		for _, t := range []struct{ label, row string }{
			{"`/api/v1/me` (bad checksum)", rowMeBadChecksum},
			{"`/api/v1/me` (unknown key)", rowMeUnknown},
			{"`/api/v1/keys/verify` (unknown key)", rowVerifyUnknown},
		} {
			if x, ok := r.find(st.name, t.row); ok {
				ratio := x.rps() / floor.rps()
				row(fmt.Sprintf("%s ≥ %.1f× the floor's req/s", t.label, targetInvalidThroughput), st.name,
					fmt.Sprintf("%.2f×", ratio), ratio >= targetInvalidThroughput)
			}
		}
	}
	// At scale, the pages as rendered anew: a repeat view costs the same
	// at any size.
	for _, t := range []struct{ label, row string }{
		{"admin inventory, first page", rowAdminFirstFresh},
		{"admin inventory, search", rowAdminSearch},
		{"inventory search, inside a key name", rowSearchKeyName},
		{"inventory search, inside an email", rowSearchEmail},
		{"inventory search, an owner's name", rowSearchOwner},
		{"inventory search, two letters", rowSearchShort},
		{"audit log, first page", rowAuditFresh},
	} {
		for _, st := range r.stores {
			k1, ok1 := r.find(st.name, fmt.Sprintf(t.row, sizeLabel(r.cfg.small)))
			k100, ok100 := r.find(st.name, fmt.Sprintf(t.row, sizeLabel(r.cfg.large)))
			if !ok1 || !ok100 {
				continue
			}
			slower := k1.rps() / k100.rps()
			p50 := float64(k100.p50) / float64(k1.p50)
			p99 := float64(k100.p99) / float64(k1.p99)
			row(fmt.Sprintf("%s: %s within %.0f× of %s", t.label, sizeLabel(r.cfg.large), targetScale, sizeLabel(r.cfg.small)), st.name,
				fmt.Sprintf("req/s %.2f×, p50 %.2f×, p99 %.2f×", 1/slower, p50, p99), max(slower, p50, p99) <= targetScale)
		}
	}
	for i, st := range r.stores {
		peak := max(st.rssSmall, st.rssLarge)
		if i == 0 {
			for _, x := range r.bursts {
				peak = max(peak, x.peak)
			}
		}
		target := fmt.Sprintf("peak RSS ≤ %s", mib(targetRSS))
		if peak > 0 {
			row(target, st.name, mib(peak), peak <= targetRSS)
		} else {
			fmt.Fprintf(&b, "| %s | %s | not measured (no /proc) | n/a |\n", target, st.name)
		}
	}
	return b.String()
}

// machine describes where the run happened: CPUs, OS, the binary's
// version and Go toolchain.
func machine(bin string) string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":")) + ", "
				break
			}
		}
	}
	goVersion := runtime.Version()
	if info, err := buildinfo.ReadFile(bin); err == nil {
		goVersion = info.GoVersion
	}
	version := "keydesk"
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	var env []string
	for _, name := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT"} {
		if v := os.Getenv(name); v != "" {
			env = append(env, name+"="+v)
		}
	}
	runtimeEnv := ""
	if len(env) > 0 {
		runtimeEnv = " (server run with " + strings.Join(env, " ") + ")"
	}
	return fmt.Sprintf("%s%d CPUs (nproc), %s/%s; `%s`, built with %s%s; server and clients share the machine",
		cpu, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, version, goVersion, runtimeEnv)
}

// loadAverage is the machine's 1-minute load average, or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "n/a"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// The results live between these markers in the output file; the rest of
// the file (the introduction, findings written by hand) is left as it is.
const (
	beginMarker = "<!-- loadbench:begin: written by `make bench`, do not edit by hand -->"
	endMarker   = "<!-- loadbench:end -->"
)

// writeResults puts the results into path between the markers, creating
// the file from intro when it does not exist.
func writeResults(path, results string) error {
	region := beginMarker + "\n" + results + endMarker + "\n"
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.WriteFile(path, []byte(intro+"\n"+region), 0o644)
	case err != nil:
		return err
	}
	i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q section to replace; move it away to start afresh", path, beginMarker, endMarker)
	}
	var b bytes.Buffer
	b.Write(old[:i])
	b.WriteString(region)
	b.Write(bytes.TrimPrefix(old[j+len(endMarker):], []byte("\n")))
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// intro opens a new docs/BENCHMARKS.md: how to run the benchmark, what
// each row is, the targets.
//
//go:embed intro.md
var intro string

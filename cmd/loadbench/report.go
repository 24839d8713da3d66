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
	"strings"
	"time"
)

// The table's rows; the targets find their rows by these names.
const (
	rowFloor         = "floor: `GET /healthz`"
	rowMeValid       = "`GET /api/v1/me`, valid keys"
	rowMeBadChecksum = "`GET /api/v1/me`, bad checksum"
	rowMeUnknown     = "`GET /api/v1/me`, unknown key"
	rowKeyPage       = "`GET /settings/api-keys`, 50 keys"
	rowAdminFirst    = "`GET /admin/api-keys`, %s keys"
	rowAdminSearch   = "`GET /admin/api-keys?q=user00042@`, %s keys"
)

// The targets.
const (
	targetMeThroughput = 0.7 // of the floor's req/s, at least
	targetMeP99        = 2.0 // times the floor's p99, at most
	targetScale        = 2.0 // 100k inventory vs 1k: at most this much slower
	targetRSS          = 64 << 20
)

// report is one run, ready to print.
type report struct {
	cfg                config
	bin                string
	small, large       *dataset
	results            []result
	bursts             []burstResult
	rssSmall, rssLarge int64
	started            time.Time
	elapsed            time.Duration
	// loadBefore and loadAfter are the machine's 1-minute load average at
	// the start and the end of the run: well above 0 at the start means
	// other work shared the CPUs.
	loadBefore, loadAfter string
}

func (r *report) find(name string) (result, bool) {
	for _, x := range r.results {
		if x.name == name {
			return x, true
		}
	}
	return result{}, false
}

// markdown is the run's section of docs/BENCHMARKS.md.
func (r *report) markdown() string {
	var b strings.Builder
	floor, _ := r.find(rowFloor)
	fmt.Fprintf(&b, "## Results\n\n")
	fmt.Fprintf(&b, "Run of %s on %s. %d clients over loopback; each scenario measured for %v in all, "+
		"in %d turns of %v each after %v of unmeasured warm-up; the whole run took %.0f s. "+
		"The machine's load average (1 min) at the start: %s; at the end: %s.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 UTC"), machine(r.bin), r.cfg.clients, r.cfg.duration,
		r.cfg.rounds, r.cfg.duration/time.Duration(r.cfg.rounds), r.cfg.warmup, r.elapsed.Seconds(),
		r.loadBefore, r.loadAfter)
	fmt.Fprintf(&b, "| Scenario | req/s | p50 | p99 | req/s vs floor | p99 vs floor |\n")
	fmt.Fprintf(&b, "| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, x := range r.results {
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.2f× | %.2f× |\n", x.name, x.rps(), ms(x.p50), ms(x.p99),
			x.rps()/floor.rps(), float64(x.p99)/float64(floor.p99))
	}
	fmt.Fprintf(&b, "\nPeak RSS of the server (VmHWM): %s on the %s-key database, %s on the %s-key database.\n",
		mib(r.rssSmall), sizeLabel(r.cfg.small), mib(r.rssLarge), sizeLabel(r.cfg.large))
	if len(r.bursts) > 0 {
		fmt.Fprintf(&b, "\n### Login bursts\n\n%d sign-ins with the right password sent at once, each on its own connection, "+
			"to a fresh server on the %s-key database; its peak RSS is the burst's. All are for one account, whose attempts are "+
			"counted before the hash: past %d under way for it, or past the address's few places in the hash queue, the rest "+
			"are told 429 at once, and past a full queue 503 at once.\n\n", burstLogins, sizeLabel(r.cfg.small), 5)
		fmt.Fprintf(&b, "| Burst | 303 | 429 | 503 | last answer after | peak RSS |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, x := range r.bursts {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s |\n", x.name, x.statuses[http.StatusSeeOther],
				x.statuses[http.StatusTooManyRequests], x.statuses[http.StatusServiceUnavailable], ms(x.last), mib(x.peak))
		}
	}
	fmt.Fprintf(&b, "\nThe valid-key row rotates over %d distinct keys of %d users; each invalid-key row over as many "+
		"distinct bad keys. The inventories: %d keys over %d users, and %d keys over %d users, "+
		"each with an admin (the first also with the user holding 50 keys).\n",
		len(r.small.valid), r.small.validOwners, r.small.keys, r.small.users, r.large.keys, r.large.users)

	fmt.Fprintf(&b, "\n### Targets\n\n| target | this run | met |\n| --- | --- | --- |\n")
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	if me, ok := r.find(rowMeValid); ok {
		ratio := me.rps() / floor.rps()
		fmt.Fprintf(&b, "| `/api/v1/me` (valid key) ≥ %.1f× the floor's req/s | %.2f× | %s |\n",
			targetMeThroughput, ratio, met(ratio >= targetMeThroughput))
		p99 := float64(me.p99) / float64(floor.p99)
		fmt.Fprintf(&b, "| `/api/v1/me` (valid key) p99 ≤ %.0f× the floor's | %.2f× (%s vs %s) | %s |\n",
			targetMeP99, p99, ms(me.p99), ms(floor.p99), met(p99 <= targetMeP99))
	}
	for _, t := range []struct{ label, row string }{
		{"admin inventory, first page", rowAdminFirst},
		{"admin inventory, search", rowAdminSearch},
	} {
		k1, ok1 := r.find(fmt.Sprintf(t.row, sizeLabel(r.cfg.small)))
		k100, ok100 := r.find(fmt.Sprintf(t.row, sizeLabel(r.cfg.large)))
		if !ok1 || !ok100 {
			continue
		}
		slower := k1.rps() / k100.rps()
		p50 := float64(k100.p50) / float64(k1.p50)
		p99 := float64(k100.p99) / float64(k1.p99)
		worst := max(slower, p50, p99)
		fmt.Fprintf(&b, "| %s: %s within %.0f× of %s | req/s %.2f×, p50 %.2f×, p99 %.2f× | %s |\n",
			t.label, sizeLabel(r.cfg.large), targetScale, sizeLabel(r.cfg.small), 1/slower, p50, p99, met(worst <= targetScale))
	}
	peak := max(r.rssSmall, r.rssLarge)
	for _, x := range r.bursts {
		peak = max(peak, x.peak)
	}
	if peak > 0 {
		fmt.Fprintf(&b, "| peak RSS ≤ %s | %s | %s |\n", mib(targetRSS), mib(peak), met(peak <= targetRSS))
	} else {
		fmt.Fprintf(&b, "| peak RSS ≤ %s | not measured (no /proc) | n/a |\n", mib(targetRSS))
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

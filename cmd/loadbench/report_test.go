package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRun is a report of a run that measured each store's rows with the
// given req/s and p50, p99 in ms, as if it had run.
func fakeRun(stores []string, rows map[string][3]float64) *report {
	r := &report{cfg: config{clients: 32, duration: 5 * time.Second, rounds: 10, small: 1000, large: 100_000},
		bin: "/nonexistent/keydesk", postgres: "not measured: PostgreSQL server binaries (initdb, pg_ctl) not found on this machine; install them"}
	for _, name := range stores {
		ds := func(keys int) *dataset {
			return &dataset{users: keys / 10, keys: keys, valid: make([]string, 950), validOwners: 91}
		}
		r.stores = append(r.stores, &storeRun{name: name, small: ds(1000), large: ds(100_000), rssSmall: 50 << 20, rssLarge: 60 << 20})
		for row, f := range rows {
			r.results = append(r.results, result{store: name, name: row, requests: int(f[0]), elapsed: time.Second,
				p50: time.Duration(f[1] * float64(time.Millisecond)), p99: time.Duration(f[2] * float64(time.Millisecond))})
		}
	}
	return r
}

// Without PostgreSQL the report says so, and why, and holds SQLite's rows
// alone; with it, each scenario has a row per store, and each store's
// targets are judged on its own figures.
func TestReportNamesTheStores(t *testing.T) {
	rows := map[string][3]float64{
		rowFloor:                          {30000, 0.8, 4},
		rowMeValid:                        {15000, 1.6, 7},
		fmt.Sprintf(rowAdminSearch, "1k"): {2000, 15, 35},
	}
	rows[fmt.Sprintf(rowAdminSearch, "100k")] = [3]float64{1900, 16, 36}

	lite := fakeRun([]string{storeSQLite}, rows).markdown()
	for _, want := range []string{"**SQLite only.** PostgreSQL was not measured: PostgreSQL server binaries (initdb, pg_ctl) not found",
		"| `GET /api/v1/me`, valid keys | SQLite | 15000 | 1.60 ms | 7.00 ms | 0.50× | 1.75× |"} {
		if !strings.Contains(lite, want) {
			t.Errorf("the SQLite-only report lacks %q:\n%s", want, lite)
		}
	}
	if strings.Contains(lite, "| PostgreSQL |") {
		t.Errorf("the SQLite-only report has PostgreSQL rows:\n%s", lite)
	}

	both := fakeRun([]string{storeSQLite, storePostgres}, rows)
	both.postgres = "PostgreSQL 15.18"
	// PostgreSQL's 100k search is slower than its 1k one by more than 2×.
	for i, x := range both.results {
		if x.store == storePostgres && x.name == fmt.Sprintf(rowAdminSearch, "100k") {
			both.results[i].p50 = 40 * time.Millisecond
		}
	}
	md := both.markdown()
	for _, want := range []string{
		"The PostgreSQL rows: PostgreSQL 15.18, started for the run",
		"| floor: `GET /healthz` | SQLite | 30000 |",
		"| floor: `GET /healthz` | PostgreSQL | 30000 |",
		"| admin inventory, search: 100k within 2× of 1k | SQLite | req/s 0.95×, p50 1.07×, p99 1.03× | yes |",
		"| admin inventory, search: 100k within 2× of 1k | PostgreSQL | req/s 0.95×, p50 2.67×, p99 1.03× | **no** |",
		"| peak RSS ≤ 64.0 MiB | PostgreSQL | 60.0 MiB | yes |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "SQLite only") {
		t.Errorf("a report with both stores says SQLite only:\n%s", md)
	}
	// The stores' rows of one scenario sit together, SQLite's first.
	if i, j := strings.Index(md, "| floor: `GET /healthz` | SQLite"), strings.Index(md, "| floor: `GET /healthz` | PostgreSQL"); j != i+len(
		"| floor: `GET /healthz` | SQLite | 30000 | 0.80 ms | 4.00 ms | 1.00× | 1.00× |\n") {
		t.Errorf("the floor's rows are not side by side:\n%s", md)
	}
}

// The results replace what lies between the markers and nothing else.
func TestWriteResultsKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	before := "# Benchmarks\n\nprose\n\n" + beginMarker + "\nold results\n" + endMarker + "\n\n## Findings\n\nkept\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeResults(path, "new results\n"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Benchmarks\n\nprose\n\n" + beginMarker + "\nnew results\n" + endMarker + "\n\n## Findings\n\nkept\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

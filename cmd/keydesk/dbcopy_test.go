package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/pgtest"
	"keydesk/store/sqlite"
)

// copyTarget is a kind of database a Keydesk database is copied into.
type copyTarget struct {
	name string
	// database gives the --to value of a new, empty database for t alone.
	database func(t testing.TB) string
}

// copyTargets are the kinds TestDBCopy copies a seeded SQLite database
// into, serves, and copies back out of.
var copyTargets = []copyTarget{
	{"SQLite file", func(t testing.TB) string { return filepath.Join(t.TempDir(), "copy.db") }},
	{"PostgreSQL", pgtest.Database},
}

// TestDBCopy: a demo database with sessions, keys that were used, audit
// events, login failures and the session signing key, copied into a new
// database, serves as the original: the demo account signs in, an old
// session cookie and an old key work. Every table holds the same rows, and
// so does a copy back; a second copy into the now full target is refused
// and leaves it as it was.
func TestDBCopy(t *testing.T) {
	for _, target := range copyTargets {
		t.Run(target.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "demo.db")
			oldCookies, oldKey := seedCopySource(t, src)
			before := dumpDatabase(t, src)
			for table, rows := range before {
				if len(rows) == 0 {
					t.Fatalf("the seeded database has no row in %s: seed one, so that the copy of that table is tested", table)
				}
			}
			// The comparisons below cover every column; this makes sure
			// the facts of an event (0010) are among what they compare.
			if !slices.ContainsFunc(before["audit_events"], func(row string) bool {
				return strings.Contains(row, `\"key_name\":\"Made before the copy\"`)
			}) {
				t.Fatalf("no seeded audit event holds the facts of the key it made:\n%s", strings.Join(before["audit_events"], "\n"))
			}

			dst := target.database(t)
			out, _, err := runCmd(t, "", "db", "copy", "--from", src, "--to", dst)
			if err != nil {
				t.Fatalf("db copy: %v", err)
			}
			for table, rows := range before {
				if !regexp.MustCompile(`(?m)^  ` + table + ` +` + fmt.Sprint(len(rows)) + `$`).MatchString(out) {
					t.Errorf("the output does not count %d rows of %s:\n%s", len(rows), table, out)
				}
			}
			checkSameDatabase(t, "the copy", before, dumpDatabase(t, dst))

			copied := startServer(t, "--db", dst)
			checkServesDemo(t, copied.url, oldCookies, oldKey)
			if err := copied.stop(); err != nil {
				t.Fatal(err)
			}

			back := filepath.Join(t.TempDir(), "back.db")
			if _, _, err := runCmd(t, "", "db", "copy", "--from", dst, "--to", back); err != nil {
				t.Fatalf("db copy back: %v", err)
			}
			full := dumpDatabase(t, dst)
			checkSameDatabase(t, "the copy back", full, dumpDatabase(t, back))

			_, _, err = runCmd(t, "", "db", "copy", "--from", src, "--to", dst)
			if exitCode(err) != 1 || !strings.Contains(fmt.Sprint(err), "the target database is not empty (rows: ") {
				t.Errorf("a copy into a full database: %v (exit %d), want exit 1 and not empty", err, exitCode(err))
			}
			checkSameDatabase(t, "the refused target", full, dumpDatabase(t, dst))
		})
	}
}

// seedCopySource runs `serve --demo` on path, signs the demo user in, makes
// a key with the CLI and uses it (so it has a Last Used), fails one sign-in,
// and stops the server. It returns the session's cookies and the key.
func seedCopySource(t *testing.T, path string) ([]*http.Cookie, string) {
	t.Helper()
	srv := startServer(t, "--demo", "--db", path)
	browser := newBrowser()
	if got := status(t, browser, "POST", srv.url+"/login", url.Values{"email": {"demo@example.com"}, "password": {"demo-password"}}); got != http.StatusSeeOther {
		t.Fatalf("demo login: %d", got)
	}
	out, _, err := runCmd(t, "", "keys", "create", "--db", path, "--email", "demo@example.com", "--name", "Made before the copy")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if got := apiStatus(t, srv.url, key); got != http.StatusOK {
		t.Fatalf("the new key: %d", got)
	}
	if got := status(t, newBrowser(), "POST", srv.url+"/login", url.Values{"email": {"admin@example.com"}, "password": {"not-the-password"}}); got == http.StatusSeeOther {
		t.Fatal("a wrong password signed in")
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	demo, err := db.UserByEmail(context.Background(), "demo@example.com")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := db.KeysForUser(context.Background(), demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	used := slices.IndexFunc(keys, func(k *store.APIKey) bool { return !k.LastUsedAt.IsZero() })
	if used < 0 {
		t.Fatal("no key of the demo user has a Last Used")
	}
	return browser.Jar.Cookies(mustURL(t, srv.url)), key
}

// checkServesDemo: at base, the demo user signs in with the demo password,
// the session from before the copy is still signed in, and the key from
// before the copy answers /api/v1/me as that user.
func checkServesDemo(t *testing.T, base string, oldCookies []*http.Cookie, oldKey string) {
	t.Helper()
	if got := status(t, newBrowser(), "POST", base+"/login", url.Values{"email": {"demo@example.com"}, "password": {"demo-password"}}); got != http.StatusSeeOther {
		t.Errorf("demo login on the copy: %d, want 303", got)
	}
	old := newBrowser()
	old.Jar.SetCookies(mustURL(t, base), oldCookies)
	if got := status(t, old, "GET", base+"/settings/profile", nil); got != http.StatusOK {
		t.Errorf("the session from before the copy: %d, want 200", got)
	}
	code, _, body, err := fetch(bareClient(), "GET", base+"/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + oldKey}, 10*time.Second)
	var me struct {
		Email string `json:"email"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &me) != nil {
		t.Fatalf("the key from before the copy: %d %v %.300s", code, err, body)
	}
	if me.Email != "demo@example.com" {
		t.Errorf("the key from before the copy answers for %q, want demo@example.com", me.Email)
	}
}

// dumpDatabase is every table's rows but schema_migrations (each end keeps
// its own), as sorted lines of typed values; a boolean reads as the 0/1
// SQLite keeps, so that dumps of both engines compare. The tables are the
// SQLite schema's, which every engine shares.
func dumpDatabase(t *testing.T, dsn string) map[string][]string {
	t.Helper()
	tables := sqliteTables(t)
	end, closeEnd, err := openEndpoint(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer closeEnd()
	out := map[string][]string{}
	for _, table := range tables {
		out[table] = dumpTable(t, end.DB, table)
	}
	return out
}

// sqliteTables are the tables of a freshly migrated SQLite database.
func sqliteTables(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "schema.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	defer db.Close()
	write, _ := db.Pools()
	// Ordinary tables: the full-text search tables are built by triggers.
	rows, err := write.Query(`SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil || len(names) == 0 {
		t.Fatalf("tables %v: %v", names, err)
	}
	return names
}

func dumpTable(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			fields[i] = cols[i] + "=" + typedValue(v)
		}
		// By column name, not position: an engine's DDL may order them
		// otherwise (a column added later by ALTER TABLE comes last).
		slices.Sort(fields)
		lines = append(lines, strings.Join(fields, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(lines)
	return lines
}

func typedValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		if x {
			return "int:1"
		}
		return "int:0"
	case int64, int32:
		return fmt.Sprintf("int:%d", x)
	case []byte:
		return "bytes:" + hex.EncodeToString(x)
	case string:
		return fmt.Sprintf("text:%q", x)
	}
	return fmt.Sprintf("%T:%v", v, v)
}

func checkSameDatabase(t *testing.T, what string, want, got map[string][]string) {
	t.Helper()
	for table, rows := range want {
		if !slices.Equal(got[table], rows) {
			t.Errorf("%s: %s holds %d rows, want %d the same as the source's:\n got %q\nwant %q", what, table, len(got[table]), len(rows), got[table], rows)
		}
	}
}

// TestDBCopyRefusals: what db copy refuses before it writes anything.
func TestDBCopyRefusals(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	if _, _, err := runCmd(t, "a-good-password\n", "user", "add", "--db", src, "--email", "uma@example.com", "--name", "Uma"); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.db")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no --to", []string{"--from", src}, 2, "--from and --to are required"},
		{"no --from", []string{"--to", filepath.Join(dir, "new.db")}, 2, "--from and --to are required"},
		{"the same file", []string{"--from", src, "--to", filepath.Join(dir, ".", "src.db")}, 2, "the same database"},
		{"a missing source", []string{"--from", missing, "--to", filepath.Join(dir, "new.db")}, 1, "no database at " + missing},
		{"an unreachable PostgreSQL target", []string{"--from", src, "--to", "postgres://keydesk:secret-pw@127.0.0.1:1/keydesk"}, 1, "open the target"},
		{"an unreachable PostgreSQL source", []string{"--from", "postgresql://keydesk:secret-pw@127.0.0.1:1/keydesk", "--to", filepath.Join(dir, "new.db")}, 1, "open the source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCmd(t, "", append([]string{"db", "copy"}, tc.args...)...)
			if exitCode(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.msg) {
				t.Fatalf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
			if strings.Contains(fmt.Sprint(err), "secret-pw") || out != "" {
				t.Errorf("err %v, stdout %q: want no password and nothing on stdout", err, out)
			}
		})
	}
	for _, name := range []string{"missing.db", "new.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("a refused copy left %s: %v", name, err)
		}
	}
}

package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"keydesk/store/pgtest"
	"keydesk/store/sqlite"
)

// tableShape is what must agree between the engines for one table.
type tableShape struct {
	columns map[string]columnShape
	indexes map[string]indexShape // those made by CREATE INDEX, by name
	uniques []string              // UNIQUE constraints, as "col1,col2", sorted
	primary string                // the primary key's columns, as "col1,col2"
}

type columnShape struct {
	typ     string // PostgreSQL's type name; SQLite's is mapped to it
	notNull bool
}

type indexShape struct {
	unique, partial bool
}

// The schema the current SQLite store makes and the one these migrations
// make have the same migrations, tables, columns (with types that carry the
// same values and the same NOT NULL), primary keys, unique constraints and
// indexes (by name, uniqueness and partiality); and every text column
// compares by bytes, as SQLite's do.
func TestSchemaMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	lite := openSQLite(t)
	liteVersions := sqliteVersions(t, lite)

	pgFS := fstest.MapFS{}
	for _, v := range embeddedVersions(t) {
		name := "migrations/" + v + ".sql"
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(liteVersions, v) {
			t.Errorf("migration %s is in PostgreSQL's set but not in SQLite's", v)
			continue
		}
		pgFS[name] = &fstest.MapFile{Data: body}
	}
	for _, v := range liteVersions {
		if _, ok := pgFS["migrations/"+v+".sql"]; !ok {
			t.Errorf("migration %s is in SQLite's set but has no PostgreSQL twin in store/postgres/migrations", v)
		}
	}

	pg := openDB(t, pgtest.Database(t))
	if err := migrate(ctx, pg, time.Now, pgFS); err != nil {
		t.Fatal(err)
	}
	want := sqliteShapes(t, lite)
	got := postgresShapes(t, pg)

	if g, w := sortedKeys(got), sortedKeys(want); !slices.Equal(g, w) {
		t.Fatalf("tables: PostgreSQL has %v, SQLite has %v", g, w)
	}
	for table, w := range want {
		g := got[table]
		if gk, wk := sortedKeys(g.columns), sortedKeys(w.columns); !slices.Equal(gk, wk) {
			t.Errorf("%s columns: PostgreSQL has %v, SQLite has %v", table, gk, wk)
		}
		for col, wc := range w.columns {
			if gc, ok := g.columns[col]; ok && gc != wc {
				t.Errorf("%s.%s: PostgreSQL has %+v, SQLite's means %+v", table, col, gc, wc)
			}
		}
		if g.primary != w.primary {
			t.Errorf("%s primary key: PostgreSQL (%s), SQLite (%s)", table, g.primary, w.primary)
		}
		if !slices.Equal(g.uniques, w.uniques) {
			t.Errorf("%s unique constraints: PostgreSQL %v, SQLite %v", table, g.uniques, w.uniques)
		}
		if gk, wk := sortedKeys(g.indexes), sortedKeys(w.indexes); !slices.Equal(gk, wk) {
			t.Errorf("%s indexes: PostgreSQL has %v, SQLite has %v", table, gk, wk)
		}
		for name, wi := range w.indexes {
			if gi, ok := g.indexes[name]; ok && gi != wi {
				t.Errorf("index %s: PostgreSQL %+v, SQLite %+v", name, gi, wi)
			}
		}
	}

	// Byte order for every text column, so that ORDER BY and prefix ranges
	// agree with SQLite whatever the database's default collation.
	rows, err := pg.Query(`SELECT table_name, column_name, coalesce(collation_name, '')
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'text' AND table_name <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, col, coll string
		if err := rows.Scan(&table, &col, &coll); err != nil {
			t.Fatal(err)
		}
		if coll != "C" {
			t.Errorf("%s.%s has collation %q, want \"C\" (byte order, as SQLite)", table, col, coll)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// openSQLite makes a fresh database with the current SQLite store and
// reopens its file as a plain pool for reading the catalog.
func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keydesk.db")
	st, err := sqlite.Open(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sqliteVersions(t *testing.T, db *sql.DB) []string {
	t.Helper()
	versions := queryStrings(t, db, "SELECT version FROM schema_migrations ORDER BY version")
	if len(versions) == 0 {
		t.Fatal("the SQLite store recorded no migrations")
	}
	return versions
}

// sqliteShapes reads SQLite's catalog and says each column in PostgreSQL's
// terms: a 0/1 flag (an INTEGER with CHECK (col IN (0, 1))) is a boolean,
// any other INTEGER a bigint, TEXT text and BLOB bytea. SQLite lets a
// non-INTEGER primary key hold NULL, PostgreSQL does not: key columns count
// as NOT NULL, which is what the store relies on.
func sqliteShapes(t *testing.T, db *sql.DB) map[string]tableShape {
	t.Helper()
	shapes := map[string]tableShape{}
	// Ordinary tables only: SQLite's full-text search tables (virtual,
	// with their shadow tables) are the twins of PostgreSQL's trigram
	// indexes, which postgresShapes leaves out.
	tables := queryStrings(t, db, `SELECT name FROM pragma_table_list
		WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'`)
	for _, table := range tables {
		var createSQL string
		if err := db.QueryRow("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&createSQL); err != nil {
			t.Fatal(err)
		}
		s := tableShape{columns: map[string]columnShape{}, indexes: map[string]indexShape{}}
		rows, err := db.Query(`SELECT name, upper(type), "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, table)
		if err != nil {
			t.Fatal(err)
		}
		var pk []string
		pkOrder := map[string]int{}
		for rows.Next() {
			var name, typ string
			var notNull bool
			var pkPos int
			if err := rows.Scan(&name, &typ, &notNull, &pkPos); err != nil {
				t.Fatal(err)
			}
			flag := regexp.MustCompile(`(?i)CHECK \(\s*` + regexp.QuoteMeta(name) + `\s+IN \(0, 1\)\)`)
			pgType := map[string]string{"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}[typ]
			if pgType == "" {
				t.Fatalf("%s.%s: SQLite type %q has no mapping here", table, name, typ)
			}
			if typ == "INTEGER" && flag.MatchString(createSQL) {
				pgType = "boolean"
			}
			if pkPos > 0 {
				notNull = true
				pk = append(pk, name)
				pkOrder[name] = pkPos
			}
			s.columns[name] = columnShape{typ: pgType, notNull: notNull}
		}
		rows.Close()
		sort.Slice(pk, func(i, j int) bool { return pkOrder[pk[i]] < pkOrder[pk[j]] })
		s.primary = strings.Join(pk, ",")

		rows, err = db.Query(`SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		type idx struct {
			name, origin    string
			unique, partial bool
		}
		var idxs []idx
		for rows.Next() {
			var i idx
			if err := rows.Scan(&i.name, &i.unique, &i.origin, &i.partial); err != nil {
				t.Fatal(err)
			}
			idxs = append(idxs, i)
		}
		rows.Close()
		for _, i := range idxs {
			switch i.origin {
			case "c":
				s.indexes[i.name] = indexShape{unique: i.unique, partial: i.partial}
			case "u":
				cols := queryStrings(t, db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", i.name)
				s.uniques = append(s.uniques, strings.Join(cols, ","))
			}
		}
		sort.Strings(s.uniques)
		shapes[table] = s
	}
	return shapes
}

// postgresShapes reads the same from PostgreSQL's catalog.
func postgresShapes(t *testing.T, db *sql.DB) map[string]tableShape {
	t.Helper()
	shapes := map[string]tableShape{}
	tables := queryStrings(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`)
	for _, table := range tables {
		s := tableShape{columns: map[string]columnShape{}, indexes: map[string]indexShape{}}
		rows, err := db.Query(`SELECT column_name, data_type, is_nullable = 'NO'
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var c columnShape
			if err := rows.Scan(&name, &c.typ, &c.notNull); err != nil {
				t.Fatal(err)
			}
			s.columns[name] = c
		}
		rows.Close()

		constraintCols := func(kind string) []string {
			return queryStrings(t, db, `SELECT string_agg(k.column_name, ',' ORDER BY k.ordinal_position)
				FROM information_schema.table_constraints c
				JOIN information_schema.key_column_usage k
				  ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
				WHERE c.table_schema = current_schema() AND c.table_name = $1 AND c.constraint_type = $2
				GROUP BY c.constraint_name ORDER BY 1`, table, kind)
		}
		if pk := constraintCols("PRIMARY KEY"); len(pk) == 1 {
			s.primary = pk[0]
		}
		s.uniques = constraintCols("UNIQUE")

		// Indexes that no constraint owns: those made by CREATE INDEX.
		rows, err = db.Query(`SELECT c.relname, i.indisunique, i.indpred IS NOT NULL
			FROM pg_index i
			JOIN pg_class c ON c.oid = i.indexrelid
			JOIN pg_class tc ON tc.oid = i.indrelid
			JOIN pg_namespace n ON n.oid = tc.relnamespace
			WHERE n.nspname = current_schema() AND tc.relname = $1
			  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			var i indexShape
			if err := rows.Scan(&name, &i.unique, &i.partial); err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(name, "_trgm") {
				continue // a trigram index: SQLite's twin is a full-text table
			}
			s.indexes[name] = i
		}
		rows.Close()
		shapes[table] = s
	}
	return shapes
}

func queryStrings(t *testing.T, db *sql.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", query, err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

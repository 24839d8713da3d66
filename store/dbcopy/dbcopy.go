// Package dbcopy copies every row of a Keydesk database into an empty one,
// of the same engine or the other (SQLite and PostgreSQL), keeping ids,
// hashes and times, so that a deployment can move up to PostgreSQL and back
// without losing a row.
//
// It knows the engines only through database/sql and their catalogues
// (sqlite_master and its pragmas; information_schema and pg_catalog), not
// through Keydesk's store packages: both ends are opened, and migrated to the
// same schema version, by their own engine before Copy runs. The table list,
// the columns and the order that foreign keys need all come from the
// databases themselves, so a table that a later migration adds is copied
// without a change here.
package dbcopy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"keydesk/store/postgres"
)

// The engines an Endpoint may name.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// migrationsTable records each end's own migrations: compared, never copied.
const migrationsTable = "schema_migrations"

// maxParams bounds the placeholders of one INSERT, below both engines'
// limits (SQLite 32766, PostgreSQL 65535), and so how many rows sit in
// memory at once.
const maxParams = 10000

// maxBatchRows bounds the rows of one INSERT whatever its width.
const maxBatchRows = 1000

// Endpoint is one end of a copy: an open, migrated database and what the
// copier must know of its engine.
type Endpoint struct {
	DB *sql.DB
	// Name is the engine: SQLite or Postgres. It says which catalogue
	// describes the tables and how values are stored.
	Name string
	// Rebind turns the copier's "?" placeholders into the engine's own;
	// nil keeps them.
	Rebind func(string) string
}

// SQLiteEndpoint is a SQLite database as a copy's end.
func SQLiteEndpoint(db *sql.DB) Endpoint { return Endpoint{DB: db, Name: SQLite} }

// PostgresEndpoint is a PostgreSQL database as a copy's end, with "$n"
// placeholders.
func PostgresEndpoint(db *sql.DB) Endpoint {
	return Endpoint{DB: db, Name: Postgres, Rebind: dollarPlaceholders}
}

func (e Endpoint) rebind(q string) string {
	if e.Rebind == nil {
		return q
	}
	return e.Rebind(q)
}

// Report is what a copy did.
type Report struct {
	// Tables are the tables copied, in the order they were, with the rows
	// each holds on both ends.
	Tables []TableCount
}

// TableCount is one table's row count.
type TableCount struct {
	Table string
	Rows  int64
}

// ErrNotEmpty: the target holds rows already; nothing was written.
var ErrNotEmpty = errors.New("the target database is not empty")

// ErrSchemaMismatch: the two databases are not at the same schema.
var ErrSchemaMismatch = errors.New("the databases' schemas differ")

// Copy copies every row of every table of src but schema_migrations into
// dst, in one transaction on dst, and commits only when each table holds
// as many rows on dst as on src. It reads src in one read-only transaction,
// so the copy is one consistent moment of it even while src is in use. It
// refuses, before writing anything, a dst that holds any row or whose
// schema differs from src's.
func Copy(ctx context.Context, src, dst Endpoint) (Report, error) {
	for _, e := range []Endpoint{src, dst} {
		if e.DB == nil || (e.Name != SQLite && e.Name != Postgres) {
			return Report{}, fmt.Errorf("db copy: an endpoint needs a database and the engine %q or %q, not %q", SQLite, Postgres, e.Name)
		}
	}
	stx, err := src.DB.BeginTx(ctx, readOptions(src.Name))
	if err != nil {
		return Report{}, fmt.Errorf("db copy: begin on the source: %w", err)
	}
	defer stx.Rollback() //nolint:errcheck // read-only
	dtx, err := dst.DB.BeginTx(ctx, nil)
	if err != nil {
		return Report{}, fmt.Errorf("db copy: begin on the target: %w", err)
	}
	defer dtx.Rollback() //nolint:errcheck // a no-op after Commit

	order, dstTables, err := plan(ctx, side{src, stx}, side{dst, dtx})
	if err != nil {
		return Report{}, err
	}
	to := side{dst, dtx}
	if err := to.lock(ctx, dstTables); err != nil {
		return Report{}, err
	}
	if err := to.refuseRows(ctx, dstTables); err != nil {
		return Report{}, err
	}
	var report Report
	for _, t := range order {
		n, err := copyTable(ctx, side{src, stx}, to, t, dstTables[t.name])
		if err != nil {
			return Report{}, err
		}
		if err := to.resetSequences(ctx, dstTables[t.name]); err != nil {
			return Report{}, err
		}
		report.Tables = append(report.Tables, TableCount{Table: t.name, Rows: n})
	}
	if err := checkCounts(ctx, side{src, stx}, to, report); err != nil {
		return Report{}, err
	}
	if err := dtx.Commit(); err != nil {
		return Report{}, fmt.Errorf("db copy: commit: %w", err)
	}
	return report, nil
}

// readOptions reads the source as one snapshot without taking its write
// lock: a read-only transaction is a deferred BEGIN in SQLite (WAL gives it
// a snapshot at its first read), and needs REPEATABLE READ in PostgreSQL to
// see one moment across statements.
func readOptions(engine string) *sql.TxOptions {
	if engine == Postgres {
		return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	}
	return &sql.TxOptions{ReadOnly: true}
}

// side is an endpoint with its transaction.
type side struct {
	Endpoint
	tx *sql.Tx
}

// plan checks that the two ends are at the same schema, and returns the
// source's tables in the order foreign keys need, with the target's
// description of each.
func plan(ctx context.Context, src, dst side) ([]*table, map[string]*table, error) {
	if err := sameVersions(ctx, src, dst); err != nil {
		return nil, nil, err
	}
	srcTables, err := src.tables(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("db copy: read the source's schema: %w", err)
	}
	dstTables, err := dst.tables(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("db copy: read the target's schema: %w", err)
	}
	if err := sameTables(srcTables, dstTables); err != nil {
		return nil, nil, err
	}
	order, err := copyOrder(srcTables)
	if err != nil {
		return nil, nil, err
	}
	return order, dstTables, nil
}

// sameVersions refuses two databases whose schema_migrations list different
// versions: their tables could differ in ways no column list shows.
func sameVersions(ctx context.Context, src, dst side) error {
	a, err := src.versions(ctx)
	if err != nil {
		return fmt.Errorf("db copy: the source: %w", err)
	}
	b, err := dst.versions(ctx)
	if err != nil {
		return fmt.Errorf("db copy: the target: %w", err)
	}
	if !slices.Equal(a, b) {
		return fmt.Errorf("db copy: %w: the source is at %s, the target at %s; open both with the same Keydesk version first",
			ErrSchemaMismatch, describeVersions(a), describeVersions(b))
	}
	return nil
}

func (s side) versions(ctx context.Context) ([]string, error) {
	rows, err := s.tx.QueryContext(ctx, "SELECT version FROM "+migrationsTable+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("no schema version (is it a Keydesk database?): %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema versions: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema versions: %w", err)
	}
	return out, nil
}

func describeVersions(v []string) string {
	if len(v) == 0 {
		return "no migration"
	}
	return fmt.Sprintf("%d migrations up to %s", len(v), v[len(v)-1])
}

// sameTables refuses a target that lacks a table of the source, or whose
// table has other columns.
func sameTables(src, dst map[string]*table) error {
	for _, name := range sortedNames(src) {
		d, ok := dst[name]
		if !ok {
			return fmt.Errorf("db copy: %w: the target has no table %s", ErrSchemaMismatch, name)
		}
		if a, b := src[name].columnNames(), d.columnNames(); !slices.Equal(sorted(a), sorted(b)) {
			return fmt.Errorf("db copy: %w: table %s has the columns (%s) in the source and (%s) in the target",
				ErrSchemaMismatch, name, strings.Join(a, ", "), strings.Join(b, ", "))
		}
	}
	return nil
}

// copyOrder puts every table after the tables its foreign keys reference
// (users before sessions, keys and audit events), alphabetically among
// those free to go, so that the target's foreign keys hold at every insert.
func copyOrder(tables map[string]*table) ([]*table, error) {
	done := map[string]bool{}
	var order []*table
	for len(order) < len(tables) {
		progressed := false
		for _, name := range sortedNames(tables) {
			t := tables[name]
			if done[name] || !t.refsDone(done) {
				continue
			}
			done[name] = true
			order = append(order, t)
			progressed = true
		}
		if !progressed {
			var left []string
			for _, name := range sortedNames(tables) {
				if !done[name] {
					left = append(left, name)
				}
			}
			return nil, fmt.Errorf("db copy: the foreign keys of %s form a cycle or name a missing table", strings.Join(left, ", "))
		}
	}
	return order, nil
}

// lock keeps other writers off the target's tables until the copy commits,
// so that no row lands between the emptiness check and the commit. SQLite
// needs nothing: its write transaction already excludes other writers.
func (s side) lock(ctx context.Context, tables map[string]*table) error {
	if s.Name != Postgres || len(tables) == 0 {
		return nil
	}
	names := sortedNames(tables)
	if _, err := s.tx.ExecContext(ctx, "LOCK TABLE "+quoteAll(names)+" IN EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("db copy: lock the target's tables: %w", err)
	}
	return nil
}

// refuseRows refuses a target with any row in any table but its migrations:
// a copy into a database in use would mix two deployments' accounts.
func (s side) refuseRows(ctx context.Context, tables map[string]*table) error {
	var full []string
	for _, name := range sortedNames(tables) {
		n, err := s.count(ctx, name)
		if err != nil {
			return fmt.Errorf("db copy: the target: %w", err)
		}
		if n > 0 {
			full = append(full, fmt.Sprintf("%s %d", name, n))
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("db copy: %w (rows: %s); copy into a new, empty database", ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

func (s side) count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := s.tx.QueryRowContext(ctx, "SELECT count(*) FROM "+quote(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// copyTable streams the source table's rows into the target in batches of
// multi-row INSERTs, converting each value to the target column's type, and
// returns how many rows it read.
func copyTable(ctx context.Context, src, dst side, from, to *table) (int64, error) {
	cols := from.columnNames()
	targets := make([]column, len(cols))
	for i, name := range cols {
		targets[i] = to.column(name)
	}
	rows, err := src.tx.QueryContext(ctx, "SELECT "+quoteAll(cols)+" FROM "+quote(from.name))
	if err != nil {
		return 0, fmt.Errorf("db copy: read %s: %w", from.name, err)
	}
	defer rows.Close()

	batchRows := max(1, min(maxBatchRows, maxParams/len(cols)))
	ins := inserter{side: dst, table: to, cols: cols, batchRows: batchRows}
	defer ins.close()
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	batch := make([]any, 0, batchRows*len(cols))
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("db copy: read %s: %w", from.name, err)
		}
		for i, v := range values {
			cv, err := convert(v, targets[i].kind)
			if err != nil {
				return 0, fmt.Errorf("db copy: %s.%s: %w", from.name, cols[i], err)
			}
			batch = append(batch, cv)
		}
		n++
		if len(batch) == cap(batch) {
			if err := ins.insert(ctx, batch); err != nil {
				return 0, err
			}
			batch = batch[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("db copy: read %s: %w", from.name, err)
	}
	if len(batch) > 0 {
		if err := ins.insert(ctx, batch); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// inserter writes batches of rows into one table, with one prepared
// statement for full batches.
type inserter struct {
	side
	table     *table
	cols      []string
	batchRows int
	full      *sql.Stmt
}

func (ins *inserter) insert(ctx context.Context, batch []any) error {
	rowsIn := len(batch) / len(ins.cols)
	var err error
	if rowsIn == ins.batchRows {
		if ins.full == nil {
			if ins.full, err = ins.tx.PrepareContext(ctx, ins.statement(rowsIn)); err != nil {
				return fmt.Errorf("db copy: write %s: %w", ins.table.name, err)
			}
		}
		_, err = ins.full.ExecContext(ctx, batch...)
	} else {
		_, err = ins.tx.ExecContext(ctx, ins.statement(rowsIn), batch...)
	}
	if err != nil {
		return fmt.Errorf("db copy: write %s: %w", ins.table.name, err)
	}
	return nil
}

// statement is the INSERT of n rows. Ids are copied as they are, so a
// PostgreSQL identity column GENERATED ALWAYS must be told to take them.
func (ins *inserter) statement(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(ins.cols)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + quote(ins.table.name) + " (" + quoteAll(ins.cols) + ")")
	if ins.table.generatedAlways {
		b.WriteString(" OVERRIDING SYSTEM VALUE")
	}
	b.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return ins.rebind(b.String())
}

func (ins *inserter) close() {
	if ins.full != nil {
		ins.full.Close()
	}
}

// convert turns a value read from the source into what the target column
// takes where the engines differ (and what PostgreSQL's text can hold): SQLite keeps flags as 0/1 integers and
// PostgreSQL as BOOLEAN; a SQLite BLOB or TEXT may come back as either Go
// type, while bytea and text each want their own. NULL stays NULL and
// everything else passes as it is.
func convert(v any, k kind) (any, error) {
	if b, ok := v.([]byte); ok && b == nil {
		// A driver may read an empty BLOB as a nil slice, which it
		// would then write as NULL.
		v = []byte{}
	}
	switch k {
	case kindBoolean:
		switch x := v.(type) {
		case int64:
			if x != 0 && x != 1 {
				return nil, fmt.Errorf("%d is not a flag (0 or 1)", x)
			}
			return x == 1, nil
		}
	case kindInteger:
		if x, ok := v.(bool); ok {
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case kindBytes:
		if x, ok := v.(string); ok {
			return []byte(x), nil
		}
	case kindText:
		// PostgreSQL's text cannot hold what SQLite may (a NUL, bytes
		// that are not UTF-8, say in a User-Agent): they are copied as the
		// PostgreSQL store itself stores them (postgres.Text).
		switch x := v.(type) {
		case []byte:
			return postgres.Text(string(x)), nil
		case string:
			return postgres.Text(x), nil
		}
	}
	return v, nil
}

// resetSequences moves a PostgreSQL table's identity (or serial) sequences
// past the ids just copied, so that the next row gets max(id)+1 and not an
// id that is taken. setval is strict: an empty table's NULL max leaves the
// sequence as it is.
func (s side) resetSequences(ctx context.Context, t *table) error {
	if s.Name != Postgres {
		return nil
	}
	for _, c := range t.columns {
		if !c.sequence {
			continue
		}
		q := s.rebind("SELECT setval(pg_get_serial_sequence(?, ?), max(" + quote(c.name) + ")) FROM " + quote(t.name))
		if _, err := s.tx.ExecContext(ctx, q, quote(t.name), c.name); err != nil {
			return fmt.Errorf("db copy: reset the sequence of %s.%s: %w", t.name, c.name, err)
		}
	}
	return nil
}

// checkCounts compares, inside both transactions, each table's rows on the
// source, the rows read, and the rows on the target; any difference (a
// trigger, a rule, a row the target dropped) fails the copy, and the
// caller's rollback leaves the target as it was.
func checkCounts(ctx context.Context, src, dst side, report Report) error {
	for _, tc := range report.Tables {
		want, err := src.count(ctx, tc.Table)
		if err != nil {
			return fmt.Errorf("db copy: the source: %w", err)
		}
		got, err := dst.count(ctx, tc.Table)
		if err != nil {
			return fmt.Errorf("db copy: the target: %w", err)
		}
		if want != tc.Rows || got != tc.Rows {
			return fmt.Errorf("db copy: table %s has %d rows in the source, %d were read and the target holds %d; nothing was written",
				tc.Table, want, tc.Rows, got)
		}
	}
	return nil
}

// quote makes a name from the catalogue an SQL identifier, the same in
// both engines.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}

// dollarPlaceholders numbers "?" as PostgreSQL's $1, $2, …; the copier's
// own statements hold no "?" in a literal or a name.
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

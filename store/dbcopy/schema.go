package dbcopy

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// table is one table as its engine's catalogue describes it.
type table struct {
	name    string
	columns []column
	// refs are the tables its foreign keys reference, itself excluded.
	refs []string
	// generatedAlways: a PostgreSQL identity column refuses explicit
	// values unless the INSERT says OVERRIDING SYSTEM VALUE.
	generatedAlways bool
}

// column is one column and what matters of its type to a copy.
type column struct {
	name string
	kind kind
	// sequence: PostgreSQL fills it from a sequence (identity or serial).
	sequence bool
}

// kind is what a column's type asks of a copied value.
type kind int

const (
	kindAsIs    kind = iota // anything the driver gives passes unchanged
	kindInteger             // a SQLite integer, or a PostgreSQL smallint/integer/bigint
	kindBoolean             // PostgreSQL boolean
	kindText                // PostgreSQL text or character types
	kindBytes               // PostgreSQL bytea
)

func (t *table) columnNames() []string {
	names := make([]string, len(t.columns))
	for i, c := range t.columns {
		names[i] = c.name
	}
	return names
}

func (t *table) column(name string) column {
	for _, c := range t.columns {
		if c.name == name {
			return c
		}
	}
	return column{name: name}
}

func (t *table) refsDone(done map[string]bool) bool {
	for _, r := range t.refs {
		if !done[r] {
			return false
		}
	}
	return true
}

func sortedNames(tables map[string]*table) []string {
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// tables reads the database's tables, their columns and their foreign
// keys, schema_migrations left out.
func (s side) tables(ctx context.Context) (map[string]*table, error) {
	if s.Name == Postgres {
		return s.postgresTables(ctx)
	}
	return s.sqliteTables(ctx)
}

// sqliteTables reads the table list and each table's pragmas. A SQLite
// column's type is only an affinity: what matters is whether it holds
// integers, which may need to come from a PostgreSQL boolean. Everything
// else SQLite stores as it is given.
func (s side) sqliteTables(ctx context.Context) (map[string]*table, error) {
	// Only ordinary tables: a full-text index (a virtual table and its
	// shadow tables) is the target's to build, which its triggers do
	// from the rows copied.
	names, err := s.strings(ctx, `SELECT name FROM pragma_table_list
		WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> ?`, migrationsTable)
	if err != nil {
		return nil, err
	}
	tables := map[string]*table{}
	for _, name := range names {
		t := &table{name: name}
		rows, err := s.tx.QueryContext(ctx, "SELECT name, type FROM pragma_table_info(?) ORDER BY cid", name)
		if err != nil {
			return nil, fmt.Errorf("columns of %s: %w", name, err)
		}
		for rows.Next() {
			var c column
			var typ string
			if err := rows.Scan(&c.name, &typ); err != nil {
				rows.Close()
				return nil, fmt.Errorf("columns of %s: %w", name, err)
			}
			if typ = strings.ToUpper(typ); strings.Contains(typ, "INT") || strings.Contains(typ, "BOOL") {
				c.kind = kindInteger
			}
			t.columns = append(t.columns, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("columns of %s: %w", name, err)
		}
		refs, err := s.strings(ctx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?) WHERE "table" <> ?`, name, name)
		if err != nil {
			return nil, fmt.Errorf("foreign keys of %s: %w", name, err)
		}
		t.refs = refs
		tables[name] = t
	}
	return tables, nil
}

// postgresTables reads the base tables of the current schema from
// information_schema, and the foreign keys from pg_constraint.
func (s side) postgresTables(ctx context.Context) (map[string]*table, error) {
	rows, err := s.tx.QueryContext(ctx, s.rebind(`
		SELECT c.table_name, c.column_name, c.data_type,
		       c.column_default LIKE 'nextval(%' OR c.is_identity = 'YES',
		       coalesce(c.identity_generation = 'ALWAYS', false)
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> ?
		ORDER BY c.table_name, c.ordinal_position`), migrationsTable)
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	defer rows.Close()
	tables := map[string]*table{}
	for rows.Next() {
		var name, typ string
		var sequence *bool
		var always bool
		var c column
		if err := rows.Scan(&name, &c.name, &typ, &sequence, &always); err != nil {
			return nil, fmt.Errorf("columns: %w", err)
		}
		c.sequence = sequence != nil && *sequence
		c.kind = postgresKind(typ)
		t := tables[name]
		if t == nil {
			t = &table{name: name}
			tables[name] = t
		}
		t.columns = append(t.columns, c)
		t.generatedAlways = t.generatedAlways || always
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	rows.Close()

	refs, err := s.tx.QueryContext(ctx, `
		SELECT DISTINCT cl.relname, ref.relname
		FROM pg_constraint co
		JOIN pg_class cl ON cl.oid = co.conrelid
		JOIN pg_class ref ON ref.oid = co.confrelid
		WHERE co.contype = 'f' AND cl.relnamespace = current_schema()::regnamespace AND cl.oid <> ref.oid
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	defer refs.Close()
	for refs.Next() {
		var from, to string
		if err := refs.Scan(&from, &to); err != nil {
			return nil, fmt.Errorf("foreign keys: %w", err)
		}
		if t := tables[from]; t != nil {
			t.refs = append(t.refs, to)
		}
	}
	if err := refs.Err(); err != nil {
		return nil, fmt.Errorf("foreign keys: %w", err)
	}
	return tables, nil
}

func postgresKind(dataType string) kind {
	switch dataType {
	case "boolean":
		return kindBoolean
	case "smallint", "integer", "bigint":
		return kindInteger
	case "text", "character varying", "character":
		return kindText
	case "bytea":
		return kindBytes
	}
	return kindAsIs
}

// strings runs a query of one text column.
func (s side) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.tx.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

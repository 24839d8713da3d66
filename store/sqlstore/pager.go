package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"keydesk/store"
)

// keyset is one page of a list ordered by (sort, id), read after a cursor.
// Every paged list (the key inventory, the users, the audit log) goes
// through it: a deep page costs what the first does, with no OFFSET scan,
// provided an index leads with the sort expression and the id.
type keyset struct {
	selectFrom string   // SELECT <columns…, the sort expression> FROM <tables>
	where      []string // the filter's conditions, ANDed
	args       []any    // their arguments, in order
	// anyOf, when set, are alternatives of which a row must also meet one
	// (a search's), and tables is selectFrom's FROM, for their queries.
	// selectFrom's last two columns must then be "<sort> AS page_sort, <id>
	// AS page_id", which order the union of the alternatives' rows.
	anyOf  []condition
	tables string
	// countTables, when set, is what count reads instead of tables: the
	// same rows, fewer joins (the inventory's keys without their owners,
	// when no condition needs the owner).
	countTables string
	sort, id    string // the order's expressions, e.g. "k.created_at", "k.id"
	asc         bool   // ascending instead of descending
	kind        string // the store.Sort* whose cursor this list takes
	after       string // the previous page's Next, or ""
	before      string // the next page's Prev, or "" (after wins)
	limit       int    // rows per page, store.InventoryPageSize when 0
	// adHoc: the query's text varies with its arguments (an IN list of
	// many ids), so it is run unprepared rather than fill the statement
	// cache with texts that seldom come back.
	adHoc bool
}

// condition is a piece of a WHERE clause and its arguments.
type condition struct {
	sql  string
	args []any
	// broad, when set, is the same condition, with the same arguments,
	// that no index serves (Dialect.Unindexed): what a search's
	// alternative that matches many rows is read by.
	broad string
	// ids, when set, is a query of the ids the condition finds (with
	// idArgs), of which the expression idOf is one: what listMatches reads
	// once a request (Contains.Matches).
	ids    string
	idArgs []any
	idOf   string
}

// page runs the list's query and scans up to limit rows with scan, which
// also says each row's sort value and id. next is the cursor of the page
// after this one, empty on the last: one more row than the page holds is
// read to tell.
//
// With alternatives (anyOf), the page's rows come from one query per
// alternative, each with every other condition, in the list's order and
// limited to a page, and the page is the best of their union. So each
// alternative gets its own plan: a range scan of its index when few rows
// match, a walk down the order's index that stops at a page when many do.
// An OR of the alternatives would leave PostgreSQL one plan for every
// search, walking the order's index and testing every row, the whole table
// when few match: 99,990 rows for 10 in a 100k-key inventory (see
// docs/BENCHMARKS.md).
func page[T any](ctx context.Context, db *DB, ks keyset, scan func(rowScanner) (row T, sortValue any, id int64, err error)) (rows []T, next string, err error) {
	ks.before = ""
	rows, _, next, err = pageBoth(ctx, db, ks, scan)
	return rows, next, err
}

// pageBoth is page that also pages back: read before a Prev cursor, it
// walks the order backwards from there, then turns the rows round. prev is
// the cursor of the page before this one: empty on the first page, which
// is one read after no cursor, or one read backwards that found no more
// rows than a page holds.
func pageBoth[T any](ctx context.Context, db *DB, ks keyset, scan func(rowScanner) (row T, sortValue any, id int64, err error)) (rows []T, prev, next string, err error) {
	if ks.limit <= 0 {
		ks.limit = store.InventoryPageSize
	}
	cursor, back := ks.after, false
	if cursor == "" && ks.before != "" {
		cursor, back = ks.before, true
	}
	asc := ks.asc != back // backwards is the other way round
	dir, cmp := "DESC", "<"
	if asc {
		dir, cmp = "ASC", ">"
	}
	where, args := ks.where, ks.args
	if cursor != "" {
		value, id, err := store.DecodeCursor(cursor, ks.kind)
		if err != nil {
			return nil, "", "", err
		}
		where = append(where[:len(where):len(where)], fmt.Sprintf("(%s, %s) %s (?, ?)", ks.sort, ks.id, cmp))
		args = append(args[:len(args):len(args)], value, id)
	}
	// The limits are written into the SQL, not bound: SQLite plans a
	// statement for its LIMIT's value, so a bound one has it prepare the
	// statement again on every run (see list).
	order := fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT %d", ks.sort, dir, ks.id, dir, ks.limit+1)
	query := ks.selectFrom
	if len(ks.anyOf) == 0 {
		query += whereClause(where) + order
	} else {
		// Each alternative reads its page of whole rows; the union keeps
		// each row once and the best page of them. No outer lookup of
		// the ids: a planner that guessed many matched would walk or
		// scan the whole table for it.
		var alts []string
		var altArgs []any
		for i, alt := range ks.anyOf {
			alts = append(alts, fmt.Sprintf("SELECT * FROM (%s%s%s) AS alt%d",
				ks.selectFrom, whereClause(append(where[:len(where):len(where)], alt.sql)), order, i+1))
			altArgs = slices.Concat(altArgs, args, alt.args)
		}
		query = strings.Join(alts, " UNION ") + fmt.Sprintf(" ORDER BY page_sort %s, page_id %s LIMIT %d", dir, dir, ks.limit+1)
		args = altArgs
	}

	rs, err := db.list(ctx, query, &ks, args)
	if err != nil {
		return nil, "", "", err
	}
	defer rs.Close()
	type cursorAt struct {
		sort any
		id   int64
	}
	rows = make([]T, 0, ks.limit)
	at := make([]cursorAt, 0, ks.limit)
	more := false
	for rs.Next() {
		row, sortValue, id, err := scan(rs)
		if err != nil {
			return nil, "", "", err
		}
		if len(rows) == ks.limit {
			more = true
			break
		}
		rows = append(rows, row)
		at = append(at, cursorAt{sortValue, id})
	}
	if err := rs.Err(); err != nil {
		return nil, "", "", err
	}
	if len(rows) == 0 {
		return rows, "", "", nil
	}
	first, last := at[0], at[len(at)-1]
	if back {
		slices.Reverse(rows)
		first, last = last, first
		// Read backwards from a cursor, there is a page after this one:
		// the cursor's row, and what follows it.
		next = store.EncodeCursor(last.sort, last.id)
		if more {
			prev = store.EncodeCursor(first.sort, first.id)
		}
		return rows, prev, next, nil
	}
	if more {
		next = store.EncodeCursor(last.sort, last.id)
	}
	if cursor != "" {
		prev = store.EncodeCursor(first.sort, first.id)
	}
	return rows, prev, next, nil
}

// alternatives is the union of the ids that each of anyOf finds with
// every other condition, in the list's order and limited to limit: the
// search's ids, each alternative by its own plan.
func (ks keyset) alternatives(where []string, args []any, limit int) (string, []any) {
	var alts []string
	var altArgs []any
	for i, alt := range ks.anyOf {
		alts = append(alts, fmt.Sprintf("SELECT * FROM (SELECT %s FROM %s%s LIMIT %d) AS alt%d",
			ks.id, ks.tables, whereClause(append(where[:len(where):len(where)], alt.sql)), limit, i+1))
		altArgs = slices.Concat(altArgs, args, alt.args)
	}
	return strings.Join(alts, " UNION "), altArgs
}

// count is how many rows the list holds, whatever the cursor, counted up
// to max: the ids of at most max+1 rows are read (per alternative, when
// there are some), so a count costs what counting max rows does however
// many match, and more than max is told by the answer max+1.
func count(ctx context.Context, db *DB, ks keyset, max int) (int, error) {
	if ks.countTables != "" {
		ks.tables = ks.countTables
	}
	limit := fmt.Sprintf(" LIMIT %d", max+1)
	var query string
	var args []any
	if len(ks.anyOf) == 0 {
		query = "SELECT count(*) FROM (SELECT " + ks.id + " FROM " + ks.tables + whereClause(ks.where) + limit + ") AS matches"
		args = ks.args
	} else {
		alts, altArgs := ks.alternatives(ks.where, ks.args, max+1)
		query = "SELECT count(*) FROM (SELECT * FROM (" + alts + ") AS found" + limit + ") AS matches"
		args = altArgs
	}
	var n int
	if err := db.listRow(ctx, query, &ks, args).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// list runs a paged list's query on the reader pool, through a
// statement prepared once (stmtCache) where that pays: a list is one of a
// few texts, run on every page view, and on SQLite parsing and planning it
// cost about a third of reading the page. SQLite (PlanEachTime nil) plans
// each run for its arguments anyway, and prepares a cached statement again
// only when an argument its plan depends on changes. An engine that may
// settle on a generic plan (PostgreSQL) plans a search for its arguments
// every time, unprepared. A query whose text varies with its arguments
// (adHoc) is never cached: it would fill the cache.
func (db *DB) list(ctx context.Context, query string, ks *keyset, args []any) (*sql.Rows, error) {
	if !db.prepares(ks) {
		return db.read.QueryContext(ctx, db.sql(query), db.planned(db.args(args))...)
	}
	return db.query(ctx, query, args...)
}

// prepares says whether list runs ks's queries through the statement
// cache.
func (db *DB) prepares(ks *keyset) bool {
	return !ks.adHoc && (db.d.PlanEachTime == nil || len(ks.anyOf) == 0)
}

// listRow is list for a query of one row (a list's count).
func (db *DB) listRow(ctx context.Context, query string, ks *keyset, args []any) *sql.Row {
	if !db.prepares(ks) {
		return db.read.QueryRowContext(ctx, db.sql(query), db.planned(db.args(args))...)
	}
	return db.queryRow(ctx, query, args...)
}

// whereClause is " WHERE" and the conditions ANDed, or "" for none.
func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

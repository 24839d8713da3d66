package sqlstore

import (
	"context"
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
	anyOf    []condition
	tables   string
	sort, id string // the order's expressions, e.g. "k.created_at", "k.id"
	asc      bool   // ascending instead of descending
	kind     string // the store.Sort* whose cursor this list takes
	after    string // the previous page's Next, or ""
	limit    int    // rows per page, store.InventoryPageSize when 0
}

// condition is a piece of a WHERE clause and its arguments.
type condition struct {
	sql  string
	args []any
}

// page runs the list's query and scans up to limit rows with scan, which
// also says each row's sort value and id. next is the cursor of the page
// after this one, empty on the last: one more row than the page holds is
// read to tell.
//
// With alternatives (anyOf), the page's ids come from one query per
// alternative, each with every other condition, in the list's order and
// limited to a page, and the page is read from their union. So each
// alternative gets its own plan: a range scan of its index when few rows
// match, a walk down the order's index that stops at a page when many do.
// An OR of the alternatives would leave PostgreSQL one plan for every
// search, walking the order's index and testing every row, the whole table
// when few match: 99,990 rows for 10 in a 100k-key inventory (see
// docs/BENCHMARKS.md).
func page[T any](ctx context.Context, db *DB, ks keyset, scan func(rowScanner) (row T, sortValue any, id int64, err error)) (rows []T, next string, err error) {
	if ks.limit <= 0 {
		ks.limit = store.InventoryPageSize
	}
	dir, cmp := "DESC", "<"
	if ks.asc {
		dir, cmp = "ASC", ">"
	}
	where, args := ks.where, ks.args
	if ks.after != "" {
		value, id, err := store.DecodeCursor(ks.after, ks.kind)
		if err != nil {
			return nil, "", err
		}
		where = append(where[:len(where):len(where)], fmt.Sprintf("(%s, %s) %s (?, ?)", ks.sort, ks.id, cmp))
		args = append(args[:len(args):len(args)], value, id)
	}
	order := fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT ?", ks.sort, dir, ks.id, dir)
	query := ks.selectFrom
	if len(ks.anyOf) == 0 {
		query += whereClause(where) + order
		args = append(args[:len(args):len(args)], ks.limit+1)
	} else {
		var alts []string
		var altArgs []any
		for i, alt := range ks.anyOf {
			alts = append(alts, fmt.Sprintf("SELECT * FROM (SELECT %s FROM %s%s%s) AS alt%d",
				ks.id, ks.tables, whereClause(append(where[:len(where):len(where)], alt.sql)), order, i+1))
			altArgs = slices.Concat(altArgs, args, alt.args, []any{ks.limit + 1})
		}
		query += " WHERE " + ks.id + " IN (" + strings.Join(alts, " UNION ") + ")" + order
		args = append(altArgs, ks.limit+1)
	}

	rs, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rs.Close()
	var lastSort any
	var lastID int64
	for rs.Next() {
		row, sortValue, id, err := scan(rs)
		if err != nil {
			return nil, "", err
		}
		if len(rows) == ks.limit {
			next = store.EncodeCursor(lastSort, lastID)
			break
		}
		rows = append(rows, row)
		lastSort, lastID = sortValue, id
	}
	if err := rs.Err(); err != nil {
		return nil, "", err
	}
	return rows, next, nil
}

// whereClause is " WHERE" and the conditions ANDed, or "" for none.
func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

package sqlstore

import (
	"context"
	"fmt"
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
	sort, id   string   // the order's expressions, e.g. "k.created_at", "k.id"
	asc        bool     // ascending instead of descending
	kind       string   // the store.Sort* whose cursor this list takes
	after      string   // the previous page's Next, or ""
	limit      int      // rows per page, store.InventoryPageSize when 0
}

// page runs the list's query and scans up to limit rows with scan, which
// also says each row's sort value and id. next is the cursor of the page
// after this one, empty on the last: one more row than the page holds is
// read to tell.
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
	query := ks.selectFrom
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT ?", ks.sort, dir, ks.id, dir)
	args = append(args[:len(args):len(args)], ks.limit+1)

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

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"keydesk/store"
)

// sortColumns are the inventory's sort expressions; each is indexed
// together with id, which breaks ties and makes the keyset exact. The
// name's is text, compared in byte order (Dialect.ByteOrder): its natural
// sort key (store.NaturalSortKey), or its lower case for a row whose key
// is not filled in yet.
var sortColumns = map[string]string{
	store.SortCreated:  "k.created_at",
	store.SortName:     "coalesce(k.name_sort, lower(k.name))",
	store.SortLastUsed: "coalesce(k.last_used_at, 0)",
}

// inventorySort is the sort expression for sort, and the sort it is (the
// default for one it does not know).
func (db *DB) inventorySort(sort string) (string, string) {
	expr, ok := sortColumns[sort]
	if !ok {
		return store.SortCreated, sortColumns[store.SortCreated]
	}
	if sort == store.SortName {
		expr = db.byteOrder(expr)
	}
	return sort, expr
}

// KeyInventory lists every user's keys for admins, one page at a time.
// Pages are keyset-paginated on (sort value, id): a deep page costs what
// the first does, with no OFFSET scan.
func (db *DB) KeyInventory(ctx context.Context, f store.InventoryFilter) (store.InventoryPage, error) {
	var sortExpr string
	f.Sort, sortExpr = db.inventorySort(f.Sort)
	where, args, err := db.inventoryWhere(f)
	if err != nil {
		return store.InventoryPage{}, err
	}
	columns := inventoryColumns
	if f.Listing {
		columns = inventoryListingColumns
	}
	ks := keyset{
		selectFrom: `SELECT ` + columns + `, ` + sortExpr + ` AS page_sort, k.id AS page_id FROM ` + inventoryTables,
		where:      where, args: args,
		anyOf: db.inventorySearch(f.Query), tables: inventoryTables,
		sort: sortExpr, id: "k.id", asc: f.Asc, kind: f.Sort,
		after: f.After, before: f.Before, limit: f.Limit, adHoc: len(f.IDs) > 1,
	}
	if err := db.listMatches(ctx, &ks); err != nil {
		return store.InventoryPage{}, fmt.Errorf("key inventory: %w", err)
	}
	broad, err := db.broaden(ctx, &ks)
	if err != nil {
		return store.InventoryPage{}, fmt.Errorf("key inventory: %w", err)
	}
	rows, prev, next, err := pageBoth(ctx, db, ks, newInventoryScanner(f.Listing).scan)
	if err != nil {
		return store.InventoryPage{}, fmt.Errorf("key inventory: %w", err)
	}
	p := store.InventoryPage{Rows: rows, Prev: prev, Next: next}
	if f.Count > 0 && broad {
		// More keys match than a short search counts.
		p.Total, p.TotalCapped = min(f.Count, store.ShortCountCap), true
	} else if f.Count > 0 {
		if f.Risk != store.RiskOwnerDisabled {
			// Only that filter reads the owner; every key has one.
			ks.countTables = "api_keys AS k"
		}
		upTo := f.Count
		if q := strings.TrimSpace(f.Query); q != "" && utf8.RuneCountInString(q) < store.MinSubstring {
			upTo = min(upTo, store.ShortCountCap)
		}
		n, err := count(ctx, db, ks, upTo)
		if err != nil {
			return store.InventoryPage{}, fmt.Errorf("key inventory: count: %w", err)
		}
		p.Total, p.TotalCapped = min(n, upTo), n > upTo
	}
	return p, nil
}

// fillNameSorts stores the natural sort key of every key that has none:
// those written before migration 0011, or by a tool that does not know
// the column. An index of just those rows makes it free when there are
// none, as after the first open; otherwise each batch is one UPDATE.
func (db *DB) fillNameSorts(ctx context.Context) error {
	const batch = 1000
	for {
		var ids []int64
		var names []string
		rows, err := db.write.QueryContext(ctx, db.sql(`SELECT id, name FROM api_keys WHERE name_sort IS NULL ORDER BY id LIMIT ?`), batch)
		if err != nil {
			return fmt.Errorf("fill name sort keys: %w", err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return fmt.Errorf("fill name sort keys: %w", err)
			}
			ids, names = append(ids, id), append(names, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("fill name sort keys: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		values := strings.Repeat("(CAST(? AS BIGINT), ?, ?), ", len(ids))
		args := make([]any, 0, 3*len(ids))
		for i, id := range ids {
			args = append(args, id, names[i], store.NaturalSortKey(names[i]))
		}
		// The name is in the WHERE: a rename since the read wrote its own key.
		err = db.quietTx(ctx, func(tx *txn) error {
			tx.shown = true // the inventory's order by name
			_, err := tx.Exec(ctx, `UPDATE api_keys SET name_sort = v.column3 FROM (VALUES `+values[:len(values)-2]+`) AS v
				WHERE api_keys.id = v.column1 AND api_keys.name = v.column2 AND api_keys.name_sort IS NULL`, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("fill name sort keys: %w", err)
		}
		if len(ids) < batch {
			return nil
		}
	}
}

// inventoryTables are the inventory's: each key with its owner.
const inventoryTables = `api_keys AS k JOIN users AS u ON u.id = k.user_id`

// inventoryColumns are what scanInventoryRow reads: a key and its owner.
var inventoryColumns = keyColumnsAs("k.") + `, u.id, u.name, u.email, u.disabled`

// inventoryListingColumns are inventoryColumns less what a listing leaves
// empty (store.InventoryFilter.Listing), as keyFields.listingDest reads
// them: a third fewer columns to read for each row of the inventory.
const inventoryListingColumns = `k.id, k.public_id, k.user_id, k.name, k.last4, k.enabled, k.disabled_by_admin,
	k.created_at, coalesce(k.last_used_at, 0), coalesce(k.expires_at, 0), k.scopes, u.id, u.name, u.email, u.disabled`

// inventoryScanner reads the rows of one KeyInventory query, with their
// page_sort and page_id, into one set of destinations made for the query
// rather than one for each row.
type inventoryScanner struct {
	f       keyFields
	r       store.InventoryRow
	sort    any
	id      int64
	listing bool
	dest    []any
}

func newInventoryScanner(listing bool) *inventoryScanner {
	s := &inventoryScanner{listing: listing}
	if listing {
		s.dest = s.f.listingDest()
	} else {
		s.dest = s.f.dest()
	}
	s.dest = append(s.dest, &s.r.OwnerID, &s.r.OwnerName, &s.r.OwnerEmail, &s.r.OwnerDisabled, &s.sort, &s.id)
	return s
}

// scan reads one row: the key with its owner, its sort value and its id.
func (s *inventoryScanner) scan(row rowScanner) (store.InventoryRow, any, int64, error) {
	if err := noRows(row.Scan(s.dest...)); err != nil {
		return store.InventoryRow{}, nil, 0, err
	}
	r := s.r
	r.Key = s.f.key()
	if s.listing {
		r.Key.UpdatedAt = time.Time{} // not read
	}
	return r, s.sort, r.Key.ID, nil
}

// scanInventoryRow reads inventoryColumns, then any extra columns into extra.
func scanInventoryRow(row rowScanner, extra ...any) (store.InventoryRow, error) {
	var f keyFields
	var r store.InventoryRow
	if err := scan(row, f.dest(), append([]any{&r.OwnerID, &r.OwnerName, &r.OwnerEmail, &r.OwnerDisabled}, extra...)...); err != nil {
		return store.InventoryRow{}, err
	}
	r.Key = f.key()
	return r, nil
}

// inventoryWhere turns the filter, but for its search, into SQL
// conditions.
func (db *DB) inventoryWhere(f store.InventoryFilter) ([]string, []any, error) {
	var where []string
	var args []any
	switch f.Status {
	case "":
	case store.StatusEnabled:
		where = append(where, "k.enabled = ?")
		args = append(args, true)
	case store.StatusDisabled:
		where = append(where, "k.enabled = ?")
		args = append(args, false)
	default:
		return nil, nil, fmt.Errorf("key inventory: unknown status %q", f.Status)
	}
	switch f.Risk {
	case "":
	case store.RiskNeverUsed:
		where = append(where, "k.last_used_at IS NULL")
	case store.RiskStale:
		where = append(where, "coalesce(k.last_used_at, k.created_at) < ?")
		args = append(args, millis(db.Now().Add(-store.StaleAfter)))
	case store.RiskOwnerDisabled:
		where = append(where, "u.disabled = ?")
		args = append(args, true)
	default:
		return nil, nil, fmt.Errorf("key inventory: unknown risk %q", f.Risk)
	}
	now := millis(db.Now())
	switch f.Expiry {
	case "":
	case store.ExpirySoon:
		where = append(where, "k.expires_at > ? AND k.expires_at <= ?")
		args = append(args, now, millis(db.Now().Add(store.ExpiresSoon)))
	case store.ExpiryExpired:
		where = append(where, "k.expires_at <= ?")
		args = append(args, now)
	case store.ExpiryNever:
		where = append(where, "k.expires_at IS NULL")
	default:
		return nil, nil, fmt.Errorf("key inventory: unknown expiry %q", f.Expiry)
	}
	if f.Scope != "" {
		// Scopes are stored space-separated; the LIKE pattern's own
		// wildcards, which a scope name's "_" is, are escaped.
		where = append(where, `(k.scopes IS NULL OR ' ' || k.scopes || ' ' LIKE ? ESCAPE '\')`)
		args = append(args, "% "+likeEscaper.Replace(f.Scope)+" %")
	}
	if len(f.IDs) > 0 {
		where = append(where, "k.public_id IN (?"+strings.Repeat(", ?", len(f.IDs)-1)+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	return where, args, nil
}

// likeEscaper escapes LIKE's wildcards and its escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ContainsPattern is a LIKE pattern, escaped by backslash, that matches
// any text holding s: s's own % and _ (and backslashes) mean themselves.
func ContainsPattern(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// inventorySearch is the search's alternatives, of which a key must match
// one: its name holds q, its owner's name or email holds q, or its last 4
// are q. page runs each as its own query, by its own index; nil when there
// is no search.
//
// A q of store.MinSubstring characters or more is found anywhere, by the
// engine's trigram index (Dialect.Contains). A shorter one, which no
// trigram holds, matches names and emails from their start, each an index
// range scan (api_keys_name; users_email and users_name, then
// api_keys_user_created), so that a one-letter search stays as cheap as a
// long one; on an engine whose planner does not weigh the page's LIMIT,
// each also has a broad form, for when it matches many (see broaden).
func (db *DB) inventorySearch(q string) []condition {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	lower, email := strings.ToLower(q), store.NormalizeEmail(q)
	last4 := condition{sql: `k.last4 = ?`, args: []any{q}}
	if utf8.RuneCountInString(q) >= store.MinSubstring {
		keys, keyArgs := db.d.Contains.KeyNames(q)
		owners, ownerArgs := db.d.Contains.Owners(q, email)
		alts := []condition{{sql: keys, args: keyArgs}, {sql: owners, args: ownerArgs}, last4}
		if m := db.d.Contains.Matches; m != nil {
			alts[0].ids, alts[0].idArgs = m.KeyNames(q)
			alts[1].ids, alts[1].idArgs = m.Owners(q, email)
			alts[0].idOf, alts[1].idOf = "k.id", "k.user_id"
		}
		return alts
	}
	name, mail, owner := db.byteOrder("lower(k.name)"), db.byteOrder("email"), db.byteOrder("lower(name)")
	names := func(name string) string { return name + ` >= ? AND ` + name + ` < ?` }
	owners := func(userID string) string {
		return userID + ` IN (SELECT id FROM users WHERE ` + mail + ` >= ? AND ` + mail + ` < ? UNION SELECT id FROM users WHERE ` +
			owner + ` >= ? AND ` + owner + ` < ?)`
	}
	alts := []condition{
		{sql: names(name), args: []any{lower, lower + string(utf8.MaxRune)}},
		{sql: owners("k.user_id"), args: []any{email, email + string(utf8.MaxRune), lower, lower + string(utf8.MaxRune)}},
		last4, // never a match shorter than 4, but found by its index at once
	}
	if un := db.d.Unindexed; un != nil {
		alts[0].broad, alts[1].broad = names(un(name)), owners(un("k.user_id"))
	}
	return alts
}

// broaden reads the search's alternatives that match more than
// store.ShortCountCap keys by their broad form, and says whether any does.
// A search shorter than a trigram matches names and emails from their
// start, and one letter or two can match a large part of the inventory:
// by the alternative's index, its page is every match read and sorted
// (10,000 for "ba" in 100,000 keys), where walking the page's order finds a
// page of them after a few hundred keys. Each alternative is first counted
// alone, by its index, up to the cap; a narrow one keeps its index.
func (db *DB) broaden(ctx context.Context, ks *keyset) (bool, error) {
	broad := false
	for i, alt := range ks.anyOf {
		if alt.broad == "" {
			continue
		}
		one := *ks
		one.anyOf, one.countTables = []condition{alt}, "api_keys AS k"
		if slices.ContainsFunc(ks.where, func(c string) bool { return strings.Contains(c, "u.") }) {
			one.countTables = "" // a filter reads the owner
		}
		n, err := count(ctx, db, one, store.ShortCountCap)
		if err != nil {
			return false, err
		}
		if n > store.ShortCountCap {
			if !broad {
				ks.anyOf = slices.Clone(ks.anyOf)
			}
			ks.anyOf[i].sql, broad = alt.broad, true
		}
	}
	return broad, nil
}

// maxListedMatches is as many ids as listMatches passes as a list: a
// search that finds more runs its condition in the page and in the count,
// as it would without the list.
const maxListedMatches = 500

// listMatches reads the ids that each of the search's alternatives with a
// query of them (Contains.Matches) finds, once, and, when they are
// maxListedMatches or fewer, has the alternative take them as a list: the
// page and the count then look the few keys up by their index, and the
// engine's full-text search runs once a request, not once in each.
func (db *DB) listMatches(ctx context.Context, ks *keyset) error {
	listed := false
	for i, alt := range ks.anyOf {
		if alt.ids == "" {
			continue
		}
		ids, err := db.matchIDs(ctx, alt.ids+fmt.Sprintf(" LIMIT %d", maxListedMatches+1), alt.idArgs)
		if err != nil {
			return err
		}
		if len(ids) > maxListedMatches {
			continue
		}
		if !listed {
			ks.anyOf, listed = slices.Clone(ks.anyOf), true
		}
		ks.anyOf[i].sql, ks.anyOf[i].args = db.d.Contains.Matches.In(alt.idOf, ids)
	}
	return nil
}

// matchIDs runs a query of ids.
func (db *DB) matchIDs(ctx context.Context, query string, args []any) ([]int64, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// AdminSetKeyEnabled enables or disables any user's key. An admin's
// disable marks the key DisabledByAdmin, so its owner cannot enable it
// again; an admin's enable clears the mark. An expired key cannot be
// enabled, by an admin either: that is ErrExpired and changes nothing, and
// only its owner's regeneration brings it back. ev (the admin as actor) is
// recorded with the key's owner as subject.
func (db *DB) AdminSetKeyEnabled(ctx context.Context, publicID string, enabled bool, ev store.AuditEvent) (*store.APIKey, error) {
	var k *store.APIKey
	now := millis(db.Now())
	err := db.tx(ctx, func(tx *txn) error {
		before, err := keyByPublicID(ctx, tx, publicID)
		if err != nil {
			return err
		}
		// The expiry is in the WHERE, as in SetKeyEnabled, so the refusal
		// cannot race the key's expiry.
		k, err = scanKey(tx.QueryRow(ctx, `UPDATE api_keys SET enabled = ?, disabled_by_admin = ?, updated_at = ?
			WHERE public_id = ? AND (? OR expires_at IS NULL OR expires_at > ?) RETURNING `+keyColumns,
			enabled, !enabled, now, publicID, !enabled, now))
		if enabled && errors.Is(err, store.ErrNotFound) {
			var expires int64
			if tx.QueryRow(ctx, `SELECT coalesce(expires_at, 0) FROM api_keys WHERE public_id = ?`, publicID).Scan(&expires) == nil &&
				expires != 0 && expires <= now {
				return store.ErrExpired
			}
		}
		if err != nil {
			return err
		}
		ev.Target, ev.SubjectID = k.PublicID, k.UserID
		return db.audit(ctx, tx, withKeyFacts(ev, before, k, true, fromMillis(now)))
	})
	if err != nil {
		return nil, fmt.Errorf("admin set key enabled: %w", err)
	}
	return k, nil
}

// AdminDisableKeys disables the listed keys in one transaction, as an
// admin (each is then DisabledByAdmin), recording one event per key it
// changed, and says how many that was. A key its owner had disabled counts:
// it is now the admin's, and its owner can no longer enable it. Keys an
// admin disabled already, and ids that do not exist, are skipped.
func (db *DB) AdminDisableKeys(ctx context.Context, publicIDs []string, ev store.AuditEvent) (int, error) {
	n := 0
	err := db.tx(ctx, func(tx *txn) error {
		n = 0
		for _, id := range publicIDs {
			before, err := keyByPublicID(ctx, tx, id)
			if err != nil {
				return err
			}
			var keyID, owner int64
			err = tx.QueryRow(ctx, `UPDATE api_keys SET enabled = ?, disabled_by_admin = ?, updated_at = ?
				WHERE public_id = ? AND disabled_by_admin = ? RETURNING id, user_id`, false, true, millis(db.Now()), id, false).Scan(&keyID, &owner)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			n++
			e := ev
			e.Target, e.SubjectID = id, owner
			if before != nil {
				after := *before
				after.Enabled, after.DisabledByAdmin = false, true
				e = withKeyFacts(e, before, &after, true, db.Now())
			}
			if err := db.audit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("admin disable keys: %w", err)
	}
	return n, nil
}

package sqlstore

import (
	"database/sql"
	"strings"
	"time"

	"keydesk/store"
)

// Each row type is read in one place: its columns are listed once (with
// the table's alias where a join needs one, bare where RETURNING does), and
// one fields type gives Scan its destinations and turns the stored values
// (millisecond times, NULL as 0) into the domain's.

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// keyColumnsAs are a key's columns as keyFields reads them, each prefixed
// with alias ("k." in a join, "" for RETURNING).
func keyColumnsAs(alias string) string {
	return strings.ReplaceAll(`@id, @public_id, @user_id, @name, @description, @last4, @enabled, @disabled_by_admin,
	@created_at, @updated_at, coalesce(@last_used_at, 0), @last_used_ip,
	coalesce(@expires_at, 0), @scopes, @prev_last4, coalesce(@prev_until, 0), coalesce(@prev_last_used_at, 0)`, "@", alias)
}

// userColumnsAs are a user's columns as userFields reads them.
func userColumnsAs(alias string) string {
	return strings.ReplaceAll(`@id, @public_id, @name, @email, @password_hash, @kalp_id, @kyc_status, @role, @disabled,
	@created_at, @updated_at`, "@", alias)
}

// sessionColumnsAs are a session's columns as sessionFields reads them.
func sessionColumnsAs(alias string) string {
	return strings.ReplaceAll(`@id_hash, @user_id, @data, @ip, @user_agent, @created_at, @last_seen_at, @expires_at`, "@", alias)
}

var (
	keyColumns     = keyColumnsAs("")
	userColumns    = userColumnsAs("")
	sessionColumns = sessionColumnsAs("")
)

// keyFields reads keyColumnsAs into a store.APIKey.
type keyFields struct {
	k                      store.APIKey
	created, updated, used int64
	expires                int64
	scopes                 sql.NullString
	prevUntil, prevUsed    int64
}

func (f *keyFields) dest() []any {
	k := &f.k
	return []any{&k.ID, &k.PublicID, &k.UserID, &k.Name, &k.Description, &k.Last4, &k.Enabled, &k.DisabledByAdmin,
		&f.created, &f.updated, &f.used, &k.LastUsedIP,
		&f.expires, &f.scopes, &k.PrevLast4, &f.prevUntil, &f.prevUsed}
}

// listingDest is dest less what a listing leaves empty
// (store.InventoryFilter.Listing), for inventoryListingColumns.
func (f *keyFields) listingDest() []any {
	k := &f.k
	return []any{&k.ID, &k.PublicID, &k.UserID, &k.Name, &k.Last4, &k.Enabled, &k.DisabledByAdmin,
		&f.created, &f.used, &f.expires, &f.scopes}
}

func (f *keyFields) key() store.APIKey {
	k := f.k
	k.CreatedAt, k.UpdatedAt = fromMillis(f.created), fromMillis(f.updated)
	k.LastUsedAt, k.ExpiresAt = optionalMillis(f.used), optionalMillis(f.expires)
	k.PrevUntil, k.PrevLastUsedAt = optionalMillis(f.prevUntil), optionalMillis(f.prevUsed)
	if f.scopes.Valid {
		k.Scopes = decodeScopes(f.scopes.String)
	}
	return k
}

// userFields reads userColumnsAs into a store.User.
type userFields struct {
	u                store.User
	created, updated int64
}

func (f *userFields) dest() []any {
	u := &f.u
	return []any{&u.ID, &u.PublicID, &u.Name, &u.Email, &u.PasswordHash, &u.KALPID, &u.KYCStatus, &u.Role, &u.Disabled,
		&f.created, &f.updated}
}

func (f *userFields) user() store.User {
	u := f.u
	u.CreatedAt, u.UpdatedAt = fromMillis(f.created), fromMillis(f.updated)
	return u
}

// sessionFields reads sessionColumnsAs into a store.Session.
type sessionFields struct {
	s                      store.Session
	created, seen, expires int64
}

func (f *sessionFields) dest() []any {
	s := &f.s
	return []any{&s.IDHash, &s.UserID, &s.Data, &s.IP, &s.UserAgent, &f.created, &f.seen, &f.expires}
}

func (f *sessionFields) session() store.Session {
	s := f.s
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(f.created), fromMillis(f.seen), fromMillis(f.expires)
	return s
}

// scan reads one row into the fields given, in order, then extra.
func scan(row rowScanner, fields []any, extra ...any) error {
	return noRows(row.Scan(append(fields, extra...)...))
}

// scanKey reads a row of keyColumns.
func scanKey(row rowScanner) (*store.APIKey, error) {
	var f keyFields
	if err := scan(row, f.dest()); err != nil {
		return nil, err
	}
	k := f.key()
	return &k, nil
}

// scanKeys reads every row of keyColumns, room for expect of them made
// at once. The key page reads up to 50: one set of scan targets serves
// every row, and the keys are one allocation, where scanKey per row made
// three.
func scanKeys(rows *sql.Rows, expect int) ([]*store.APIKey, error) {
	var f keyFields
	dest := f.dest()
	keys := make([]store.APIKey, 0, expect)
	for rows.Next() {
		// Scan sets every target, so nothing of the last row is left.
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		keys = append(keys, f.key())
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*store.APIKey, len(keys))
	for i := range keys {
		out[i] = &keys[i]
	}
	return out, nil
}

// scanUser reads a row of userColumns.
func scanUser(row rowScanner) (*store.User, error) {
	var f userFields
	if err := scan(row, f.dest()); err != nil {
		return nil, err
	}
	u := f.user()
	return &u, nil
}

// scanSession reads a row of sessionColumns.
func scanSession(row rowScanner) (*store.Session, error) {
	var f sessionFields
	if err := scan(row, f.dest()); err != nil {
		return nil, err
	}
	s := f.session()
	return &s, nil
}

// optionalMillis is a stored time that 0 (NULL, through coalesce) leaves
// unset.
func optionalMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// encodeScopes stores a key's scopes as their names separated by spaces,
// or NULL for every scope. A key with no scope at all is stored as "",
// which is not NULL: it holds nothing.
func encodeScopes(scopes []string) any {
	if scopes == nil {
		return nil
	}
	return strings.Join(scopes, " ")
}

func decodeScopes(s string) []string {
	return append([]string{}, strings.Fields(s)...)
}

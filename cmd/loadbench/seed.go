package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the driver store uses; registered here for the bulk inserts

	"keydesk/store"
	"keydesk/store/engine"
)

// account is someone the benchmark signs in as.
type account struct {
	email, password string
}

// dataset is what seed put in one database.
type dataset struct {
	dsn   string // as keydesk serve --db takes it: a SQLite file or a postgres:// URL
	users int    // inventory owners, besides the accounts below
	keys  int    // inventory keys, besides keyPageUser's
	admin account
	// keyPageUser holds store.MaxKeysPerUser keys, for the API Auth Key
	// page; zero when the dataset has none.
	keyPageUser account
	// viewers are inventory owners who can sign in (with the dataset with
	// the key page), for the key page seen by many people at once: a
	// cache or a compiled statement that holds for one viewer may not hold
	// for many.
	viewers []account
	// verifier is the admin's key with keys:verify, for the verify rows.
	verifier string
	// valid are keys that authenticate: enabled, with an enabled owner;
	// validOwners is how many users own them.
	valid       []string
	validOwners int
}

// keyNames give the inventory realistic names; a number keeps each unique.
var keyNames = []string{"ci-deploy", "billing-sync", "staging", "mobile-app", "data-export",
	"webhook-relay", "analytics", "backup-job", "terraform", "support-bot"}

// seed creates the database dsn names through the store (so the
// migrations and the signing-in accounts are exactly the application's),
// then bulk inserts the inventory with plain SQL in one transaction: users
// owners with keys keys spread over them, shaped like the store's own
// inventory benchmark (a tenth of the keys disabled, a third never used,
// one owner in a hundred disabled). Keys are real: generated, hashed and
// masked as the application does, so any enabled one answers /api/v1/me.
// Both engines get the same rows from inventory, each with its own keys.
func seed(ctx context.Context, dsn string, users, keys int, withKeyPage bool, now time.Time) (*dataset, error) {
	where := dsn
	if engine.IsPostgres(dsn) {
		where = "the PostgreSQL database"
	}
	ds := &dataset{dsn: dsn, users: users, keys: keys,
		admin: account{"admin@example.com", "bench-admin-" + randomHex(8)}}
	if withKeyPage {
		ds.keyPageUser = account{"pat@example.com", "bench-user-" + randomHex(8)}
	}
	if err := seedAccounts(ctx, ds); err != nil {
		return nil, fmt.Errorf("seed %s: %w", where, err)
	}
	inv := inventory(users, keys, now)
	if withKeyPage {
		ds.viewers = inv.letSignIn(viewerCount, "bench-viewer-"+randomHex(8))
	}
	insert := insertSQLite
	if engine.IsPostgres(dsn) {
		insert = insertPostgres
	}
	if err := insert(ctx, dsn, inv); err != nil {
		return nil, fmt.Errorf("seed %s: %w", where, err)
	}
	ds.valid = append(ds.valid, inv.valid...)
	ds.validOwners += inv.validOwners
	return ds, nil
}

// seedAccounts creates the admin and, when the dataset has one, the user
// with store.MaxKeysPerUser keys, through the store as the application
// would.
func seedAccounts(ctx context.Context, ds *dataset) error {
	db, err := engine.Open(ctx, ds.dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ev := store.AuditEvent{Actor: "loadbench", Action: store.ActionUserCreated}
	admin, err := db.CreateUser(ctx, store.NewUser{Name: "Bench Admin", Email: ds.admin.email,
		PasswordHash: store.HashPassword(ds.admin.password), Role: store.RoleAdmin}, ev)
	if err != nil {
		return err
	}
	if _, ds.verifier, err = db.CreateKey(ctx, admin.ID, store.NewKey{Name: "Bench gateway",
		Scopes: []string{store.ScopeKeysVerify}}, store.AuditEvent{}); err != nil {
		return err
	}
	if ds.keyPageUser.email == "" {
		return nil
	}
	u, err := db.CreateUser(ctx, store.NewUser{Name: "Pat Fifty", Email: ds.keyPageUser.email,
		PasswordHash: store.HashPassword(ds.keyPageUser.password), KYCStatus: store.KYCVerified}, ev)
	if err != nil {
		return err
	}
	for i := range store.MaxKeysPerUser {
		service := keyNames[i%len(keyNames)]
		_, secret, err := db.CreateKey(ctx, u.ID, store.NewKey{Name: fmt.Sprintf("%s %02d", service, i), Description: "Used by the " + service + " service."}, store.AuditEvent{Actor: u.Email, ActorID: u.ID, Action: store.ActionKeyCreated, SubjectID: u.ID})
		if err != nil {
			return err
		}
		ds.valid = append(ds.valid, secret)
	}
	ds.validOwners++
	return nil
}

// seedRows is an inventory, ready for either engine's bulk insert: users
// first, each key naming its owner by index into users.
type seedRows struct {
	users []seedUser
	keys  []seedKey
	// valid are the secrets of the keys that authenticate (enabled, with an
	// enabled owner), and validOwners how many users own them.
	valid       []string
	validOwners int
}

type seedUser struct {
	publicID, name, email, kalpID string
	passwordHash                  string // "x", which no password matches, unless letSignIn chose the user
	kyc                           store.KYCStatus
	disabled                      bool
	createdAt                     int64 // ms
}

type seedKey struct {
	publicID          string
	owner             int // index into seedRows.users
	name, description string
	hash, last4       string
	enabled           bool
	createdAt         int64  // ms, also updated_at
	lastUsedAt        *int64 // ms; nil: never used
}

// inventory makes users owners and keys keys, with fresh secrets.
func inventory(users, keys int, now time.Time) seedRows {
	kyc := []store.KYCStatus{store.KYCVerified, store.KYCPending, store.KYCNotStarted, store.KYCRejected}
	inv := seedRows{users: make([]seedUser, users), keys: make([]seedKey, keys)}
	for i := range users {
		inv.users[i] = seedUser{publicID: fmt.Sprintf("usr_%016x", i+1), name: fmt.Sprintf("Test User %05d", i),
			email: fmt.Sprintf("user%05d@example.com", i), kalpID: fmt.Sprintf("tkalp%036x", i+1), passwordHash: "x", kyc: kyc[i%len(kyc)],
			disabled: ownerDisabled(i), createdAt: now.UnixMilli()}
	}
	owned := map[int]bool{}
	for i := range keys {
		secret := store.GenerateKey()
		owner := i % users
		created := now.Add(-time.Duration(i+1) * time.Minute)
		k := seedKey{publicID: fmt.Sprintf("key_%016x", i+1), owner: owner,
			name:        fmt.Sprintf("%s %d", keyNames[i%len(keyNames)], i),
			description: "Used by the " + keyNames[i%len(keyNames)] + " service.",
			hash:        store.HashKey(secret), last4: secret[len(secret)-4:],
			enabled: i%10 != 9, createdAt: created.UnixMilli()}
		if i%3 != 0 { // a third never used
			// Between creation and a minute ago: older than the 30-second
			// Last Used interval, so each key's first call writes.
			used := created.Add(time.Duration(i%200) * time.Minute / 2).UnixMilli()
			k.lastUsedAt = &used
		}
		inv.keys[i] = k
		if k.enabled && !ownerDisabled(owner) {
			inv.valid = append(inv.valid, secret)
			owned[owner] = true
		}
	}
	inv.validOwners = len(owned)
	return inv
}

// The inventories' shape: keysPerOwner keys a user (one user per
// keysPerOwner keys), and viewerCount of the owners sign in for the key
// page's many-viewer rows.
const (
	keysPerOwner = 10
	viewerCount  = 16
)

// letSignIn gives the first n enabled users the password, one argon2id
// hash for them all, and returns them as accounts.
func (inv *seedRows) letSignIn(n int, password string) []account {
	hash := store.HashPassword(password)
	var out []account
	for i := range inv.users {
		if len(out) == n {
			break
		}
		if u := &inv.users[i]; !u.disabled {
			u.passwordHash = hash
			out = append(out, account{u.email, password})
		}
	}
	return out
}

// insertSQLite adds the inventory to the SQLite file at path in one
// transaction.
func insertSQLite(ctx context.Context, path string, inv seedRows) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	insUser, err := tx.PrepareContext(ctx, `INSERT INTO users (public_id, name, email, password_hash, kalp_id,
		kyc_status, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	ids := make([]int64, len(inv.users))
	for i, u := range inv.users {
		res, err := insUser.ExecContext(ctx, u.publicID, u.name, u.email, u.passwordHash, u.kalpID, u.kyc, u.disabled, u.createdAt, u.createdAt)
		if err != nil {
			return err
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return err
		}
	}

	insKey, err := tx.PrepareContext(ctx, `INSERT INTO api_keys (public_id, user_id, name, description, hash,
		last4, enabled, created_at, updated_at, last_used_at, name_sort) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, k := range inv.keys {
		var used any
		if k.lastUsedAt != nil {
			used = *k.lastUsedAt
		}
		if _, err := insKey.ExecContext(ctx, k.publicID, ids[k.owner], k.name, k.description, k.hash, k.last4,
			k.enabled, k.createdAt, k.createdAt, used, store.NaturalSortKey(k.name)); err != nil {
			return err
		}
	}

	insEvent, err := tx.PrepareContext(ctx, `INSERT INTO audit_events (at, actor_id, actor, action, subject_id,
		target, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for _, k := range inv.keys {
		owner := ids[k.owner]
		if _, err := insEvent.ExecContext(ctx, k.createdAt, owner, inv.users[k.owner].email, store.ActionKeyCreated, owner,
			k.publicID, seedIP, seedUserAgent); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// insertPostgres adds the inventory to the PostgreSQL database at url in
// one transaction, with COPY: the rows take the ids after the accounts the
// store made, and the identity sequences are moved past them, as
// `keydesk db copy` does. Then VACUUM ANALYZE gives the planner the
// statistics and the visibility map that autovacuum would give a table
// this size within a minute or so, rather than partway through the run.
func insertPostgres(ctx context.Context, url string, inv seedRows) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after Commit

	var userBase, keyBase int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT coalesce(max(id), 0) FROM users), (SELECT coalesce(max(id), 0) FROM api_keys)`).
		Scan(&userBase, &keyBase); err != nil {
		return err
	}
	users := make([][]any, len(inv.users))
	for i, u := range inv.users {
		users[i] = []any{userBase + int64(i) + 1, u.publicID, u.name, u.email, u.passwordHash, u.kalpID, string(u.kyc), u.disabled,
			u.createdAt, u.createdAt}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "public_id", "name", "email", "password_hash",
		"kalp_id", "kyc_status", "disabled", "created_at", "updated_at"}, pgx.CopyFromRows(users)); err != nil {
		return fmt.Errorf("copy users: %w", err)
	}
	keys := make([][]any, len(inv.keys))
	for i, k := range inv.keys {
		keys[i] = []any{keyBase + int64(i) + 1, k.publicID, userBase + int64(k.owner) + 1, k.name, k.description, k.hash,
			k.last4, k.enabled, k.createdAt, k.createdAt, k.lastUsedAt, store.NaturalSortKey(k.name)}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"api_keys"}, []string{"id", "public_id", "user_id", "name", "description",
		"hash", "last4", "enabled", "created_at", "updated_at", "last_used_at", "name_sort"}, pgx.CopyFromRows(keys)); err != nil {
		return fmt.Errorf("copy keys: %w", err)
	}
	events := make([][]any, len(inv.keys))
	for i, k := range inv.keys {
		owner := userBase + int64(k.owner) + 1
		events[i] = []any{k.createdAt, owner, inv.users[k.owner].email, store.ActionKeyCreated, owner, k.publicID,
			seedIP, seedUserAgent}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, []string{"at", "actor_id", "actor", "action", "subject_id",
		"target", "ip", "user_agent"}, pgx.CopyFromRows(events)); err != nil {
		return fmt.Errorf("copy audit events: %w", err)
	}
	for _, table := range []string{"users", "api_keys"} {
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), (SELECT max(id) FROM `+table+`))`); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "VACUUM ANALYZE users, api_keys, audit_events")
	return err
}

// Each seeded key has the audit event of its creation, by its owner, from
// this address and client: the audit log's rows then reach back as far as
// the inventory's.
const (
	seedIP        = "198.51.100.20"
	seedUserAgent = "loadbench seed"
)

func ownerDisabled(i int) bool { return i%100 == 99 }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

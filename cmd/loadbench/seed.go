package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

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
	path  string
	users int // inventory owners, besides the accounts below
	keys  int // inventory keys, besides keyPageUser's
	admin account
	// keyPageUser holds store.MaxKeysPerUser keys, for the API Auth Key
	// page; zero when the dataset has none.
	keyPageUser account
	// valid are keys that authenticate: enabled, with an enabled owner;
	// validOwners is how many users own them.
	valid       []string
	validOwners int
}

// keyNames give the inventory realistic names; a number keeps each unique.
var keyNames = []string{"ci-deploy", "billing-sync", "staging", "mobile-app", "data-export",
	"webhook-relay", "analytics", "backup-job", "terraform", "support-bot"}

// seed creates the database at path through the store (so the migrations
// and the signing-in accounts are exactly the application's), then bulk
// inserts the inventory with plain SQL in one transaction: users owners
// with keys keys spread over them, shaped like the store's own inventory
// benchmark (a tenth of the keys disabled, a third never used, one owner
// in a hundred disabled). Keys are real: generated, hashed and masked as
// the application does, so any enabled one answers /api/v1/me.
func seed(ctx context.Context, path string, users, keys int, withKeyPage bool, now time.Time) (*dataset, error) {
	ds := &dataset{path: path, users: users, keys: keys,
		admin: account{"admin@example.com", "bench-admin-" + randomHex(8)}}
	if withKeyPage {
		ds.keyPageUser = account{"pat@example.com", "bench-user-" + randomHex(8)}
	}
	if err := seedAccounts(ctx, ds); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	valid, owners, err := bulkInsert(ctx, path, users, keys, now)
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	ds.valid = append(ds.valid, valid...)
	ds.validOwners += owners
	return ds, nil
}

// seedAccounts creates the admin and, when the dataset has one, the user
// with store.MaxKeysPerUser keys, through the store as the application
// would.
func seedAccounts(ctx context.Context, ds *dataset) error {
	db, err := engine.Open(ctx, ds.path)
	if err != nil {
		return err
	}
	defer db.Close()
	ev := store.AuditEvent{Actor: "loadbench", Action: store.ActionUserCreated}
	if _, err := db.CreateUser(ctx, store.NewUser{Name: "Bench Admin", Email: ds.admin.email,
		PasswordHash: store.HashPassword(ds.admin.password), Role: store.RoleAdmin}, ev); err != nil {
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

// bulkInsert adds the inventory in one transaction and returns the keys
// that authenticate and how many users own them.
func bulkInsert(ctx context.Context, path string, users, keys int, now time.Time) (valid []string, owners int, err error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	insUser, err := tx.PrepareContext(ctx, `INSERT INTO users (public_id, name, email, password_hash, kalp_id,
		kyc_status, disabled, created_at, updated_at) VALUES (?, ?, ?, 'x', ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, 0, err
	}
	kyc := []store.KYCStatus{store.KYCVerified, store.KYCPending, store.KYCNotStarted, store.KYCRejected}
	ids := make([]int64, users)
	ms := now.UnixMilli()
	for i := range users {
		res, err := insUser.ExecContext(ctx, fmt.Sprintf("usr_%016x", i+1), fmt.Sprintf("Test User %05d", i),
			fmt.Sprintf("user%05d@example.com", i), fmt.Sprintf("tkalp%036x", i+1), kyc[i%len(kyc)],
			ownerDisabled(i), ms, ms)
		if err != nil {
			return nil, 0, err
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return nil, 0, err
		}
	}

	insKey, err := tx.PrepareContext(ctx, `INSERT INTO api_keys (public_id, user_id, name, description, hash,
		last4, enabled, created_at, updated_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, 0, err
	}
	owned := map[int]bool{}
	for i := range keys {
		secret := store.GenerateKey()
		owner := i % users
		created := now.Add(-time.Duration(i+1) * time.Minute)
		var used any // a third never used
		if i%3 != 0 {
			// Between creation and a minute ago: older than the 30-second
			// Last Used interval, so each key's first call writes.
			used = created.Add(time.Duration(i%200) * time.Minute / 2).UnixMilli()
		}
		enabled := i%10 != 9
		name := fmt.Sprintf("%s %d", keyNames[i%len(keyNames)], i)
		if _, err := insKey.ExecContext(ctx, fmt.Sprintf("key_%016x", i+1), ids[owner], name,
			"Used by the "+keyNames[i%len(keyNames)]+" service.", store.HashKey(secret), secret[len(secret)-4:],
			enabled, created.UnixMilli(), created.UnixMilli(), used); err != nil {
			return nil, 0, err
		}
		if enabled && !ownerDisabled(owner) {
			valid = append(valid, secret)
			owned[owner] = true
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, err
	}
	return valid, len(owned), nil
}

func ownerDisabled(i int) bool { return i%100 == 99 }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// A request's lookups by a bound value (a key by its secret's hash, a
// session by its id, a user's keys) keep their compiled statements from
// one value to the next, on analysed tables too. SQLite compiles a
// statement again whenever an argument its plan depends on is bound anew,
// and a plan depends on an argument when the planner weighed its value
// against ANALYZE's samples (sqlite_stat4): the key lookup did, on the
// samples of api_keys_prev_hash, and was compiled again for every key not
// in the cache, about 60 µs of a lookup's 70. analyze drops those samples.
func TestLookupsCompileOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keydesk.db")
	c := watchCompiles(path)
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	type account struct {
		user    *store.User
		session string
		hashes  []string
	}
	var accounts []account
	for u := range 20 {
		a := account{user: mustCreateUser(t, db, fmt.Sprintf("User %02d", u), fmt.Sprintf("user%02d@example.com", u)),
			session: fmt.Sprintf("session-%02d", u)}
		if err := db.CreateSession(ctx, &store.Session{IDHash: a.session, UserID: a.user.ID, ExpiresAt: time.Now().Add(time.Hour)}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
		for k := range 10 {
			_, secret, err := db.CreateKey(ctx, a.user.ID, store.NewKey{Name: fmt.Sprintf("key %d", k)}, store.AuditEvent{})
			if err != nil {
				t.Fatal(err)
			}
			a.hashes = append(a.hashes, store.HashKey(secret))
		}
		accounts = append(accounts, a)
	}
	// Without the verified-key cache, so that every FindKey reads.
	db = analysedAgain(t, db, path, sqlstore.WithEpoch(nil))

	lookups := func(a account) {
		t.Helper()
		for _, h := range a.hashes[:3] {
			if _, err := db.FindKey(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := db.SessionWithUser(ctx, a.session); err != nil {
			t.Fatal(err)
		}
		if keys, err := db.KeysForUser(ctx, a.user.ID); err != nil || len(keys) != 10 {
			t.Fatalf("keys for user: %d, %v", len(keys), err)
		}
	}
	// The first runs compile each statement once on each connection.
	for range 3 {
		for _, a := range accounts[:10] {
			lookups(a)
		}
	}
	c.take()
	for _, a := range accounts[10:] {
		lookups(a)
	}
	if got := c.take(); len(got) > 0 {
		t.Errorf("the lookups, for other keys, sessions and users, compiled statements again (columns read: %v)", got)
	}
}

// BenchmarkFindKeyUncached is the key lookup as a key not in the verified-
// key cache pays it, a different key each time, on analysed tables.
func BenchmarkFindKeyUncached(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "keydesk.db")
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	var hashes []string
	for u := range 20 {
		owner, err := db.CreateUser(ctx, store.NewUser{Name: "U", Email: fmt.Sprintf("u%02d@example.com", u), PasswordHash: "x"}, store.AuditEvent{})
		if err != nil {
			b.Fatal(err)
		}
		for k := range 50 {
			_, secret, err := db.CreateKey(ctx, owner.ID, store.NewKey{Name: fmt.Sprint("key ", k)}, store.AuditEvent{})
			if err != nil {
				b.Fatal(err)
			}
			hashes = append(hashes, store.HashKey(secret))
		}
	}
	db = analysedAgain(b, db, path, sqlstore.WithEpoch(nil))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.FindKey(ctx, hashes[i%len(hashes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// analysedAgain gathers statistics with samples on db's file, as PRAGMA
// optimize does once the tables have grown, closes db and opens the store
// again on the file, which drops the samples it does not keep (analyze).
func analysedAgain(tb testing.TB, db *sqlstore.DB, path string, opts ...sqlstore.Option) *sqlstore.DB {
	tb.Helper()
	write, _ := db.Pools()
	if _, err := write.ExecContext(context.Background(), "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	db.Close()
	again, err := Open(context.Background(), path, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { again.Close() })
	return again
}

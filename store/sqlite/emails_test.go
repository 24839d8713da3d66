package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"keydesk/store"
)

// createAtVersion makes a database file as a Keydesk that knew migrations
// up to last would have left it, and runs stmts on it: an older
// installation's data, for the next Open to migrate.
func createAtVersion(t *testing.T, path, last string, stmts ...string) {
	t.Helper()
	pool, err := openPool(path, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if _, err := pool.ExecContext(ctx, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	for _, name := range names {
		version := strings.TrimSuffix(filepath.Base(name), ".sql")
		if version > last {
			break
		}
		body, _ := migrations.ReadFile(name)
		if _, err := pool.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		if _, err := pool.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 0)`, version); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range stmts {
		if _, err := pool.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// TestMigrationCanonicalisesStoredEmails: migration 0005 stores every
// existing email in canonical form, ASCII in SQL and the rest in Go, and
// when two rows share a canonical form it keeps the one that already holds
// it (or else the oldest), leaves the other exactly as it was and says so in
// the audit log.
func TestMigrationCanonicalisesStoredEmails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	legacy := []struct{ id, email string }{
		{"1", "Uma@Example.com"},     // ASCII: SQL lower-cases it
		{"2", "Ärger@example.com"},   // alone: Go canonicalises it
		{"3", "Öl@example.com"},      // collides with 4, which is canonical already
		{"4", "öl@example.com"},      //
		{"5", "Ñu@example.com"},      // collides with 6; neither canonical: the oldest wins
		{"6", "ñU@Example.com"},      //
		{"7", "zoë@example.com"},     // canonical already
		{"8", "ｋim@example.com"},     // fullwidth ｋ: NFKC makes it kim@…, taken by 9
		{"9", "Kim@example.com"},     // ASCII
		{"10", " Tab\t@example.com"}, // not printable ASCII: Go trims it
	}
	var stmts []string
	for _, r := range legacy {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO users (id, public_id, name, email, password_hash, kalp_id, created_at, updated_at)
			VALUES (%s, 'usr_%s', 'n', '%s', 'h', 'tkalp%s', 0, 0)`, r.id, r.id, r.email, r.id))
	}
	createAtVersion(t, path, "0004_audit_filters", stmts...)

	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	want := map[int64]string{
		1: "uma@example.com", 2: "ärger@example.com", 3: "Öl@example.com", 4: "öl@example.com",
		5: "ñu@example.com", 6: "ñU@Example.com", 7: "zoë@example.com", 8: "ｋim@example.com", 9: "kim@example.com",
		10: "tab\t@example.com",
	}
	for id, email := range want {
		u, err := db.UserByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != email {
			t.Errorf("user %d: email %q, want %q", id, u.Email, email)
		}
	}
	for typed, id := range map[string]int64{"ÄRGER@example.com": 2, "Öl@Example.com": 4, "ñu@example.com": 5, "KIM@example.com": 9} {
		if u, err := db.UserByEmail(ctx, typed); err != nil || u.ID != id {
			t.Errorf("UserByEmail(%q) = %+v, %v; want user %d", typed, u, err, id)
		}
	}

	page, err := db.AuditLog(ctx, store.AuditFilter{Action: store.ActionEmailKept})
	if err != nil {
		t.Fatal(err)
	}
	kept := map[int64]string{}
	for _, e := range page.Events {
		kept[e.SubjectID] = e.Detail
	}
	for id, holder := range map[int64]string{3: "usr_4", 6: "usr_5", 8: "usr_9"} {
		if !strings.Contains(kept[id], holder) || !strings.Contains(kept[id], want[id]) {
			t.Errorf("user %d: kept-email event %q, want one naming %s", id, kept[id], holder)
		}
	}
	if len(kept) != 3 {
		t.Errorf("%d kept-email events, want 3: %v", len(kept), kept)
	}

	// The canonical form is what the unique index holds now.
	_, err = db.CreateUser(ctx, store.NewUser{Name: "Dup", Email: "ärger@EXAMPLE.com", PasswordHash: "h"}, store.AuditEvent{})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second ärger@example.com: %v, want store.ErrConflict", err)
	}
	var indexes int
	if err := reader(db).QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'users_email_lower'`).Scan(&indexes); err != nil || indexes != 0 {
		t.Errorf("the old lower(email) index is still there (%d, %v)", indexes, err)
	}
}

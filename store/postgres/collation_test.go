package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	neturl "net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"keydesk/store/pgtest"
)

// On a database whose default collation is not byte order (ICU's en-US, as
// many servers are set up), the columns still compare by bytes as SQLite's
// do: the inventory's name order, its prefix ranges and the email prefix
// search give SQLite's answers, and the btree indexes serve those ranges.
func TestByteOrderUnderAnotherDefaultCollation(t *testing.T) {
	ctx := context.Background()
	db := icuDatabase(t)
	if err := Migrate(ctx, db, time.Now); err != nil {
		t.Fatal(err)
	}

	// The database itself sorts by language, so what follows is not a given.
	var icuOrder bool
	if err := db.QueryRow("SELECT 'éclair'::text < 'zeta'::text").Scan(&icuOrder); err != nil {
		t.Fatal(err)
	}
	if !icuOrder {
		t.Fatal("the test database sorts by bytes; it should not, for this test to mean anything")
	}

	if _, err := db.Exec(`INSERT INTO users (id, public_id, name, email, password_hash, kalp_id, created_at, updated_at)
		VALUES (1, 'u1', 'Owner', 'éva@example.com', 'x', 'k1', 0, 0),
		       (2, 'u2', 'Other', 'eve@example.com', 'x', 'k2', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"zeta", "éclair", "Eta"} {
		if _, err := db.Exec(`INSERT INTO api_keys (public_id, user_id, name, hash, last4, created_at, updated_at)
			VALUES ($1, 1, $2, $3, 'abcd', 0, 0)`, "k"+name, name, "h"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}

	// lower() folds ASCII only, as SQLite's: "Eta" sorts as "eta", and "é"
	// (0xC3 0xA9) after every ASCII letter.
	if got, want := queryStrings(t, db, "SELECT name FROM api_keys ORDER BY lower(name), id"),
		[]string{"Eta", "zeta", "éclair"}; !slices.Equal(got, want) {
		t.Errorf("ORDER BY lower(name): %v, want SQLite's byte order %v", got, want)
	}
	if got, want := queryStrings(t, db, "SELECT name FROM api_keys WHERE lower(name) >= $1 AND lower(name) < $2 ORDER BY id",
		"e", "f"), []string{"Eta"}; !slices.Equal(got, want) {
		t.Errorf("names in [e, f): %v, want %v", got, want)
	}
	if got, want := queryStrings(t, db, "SELECT email FROM users WHERE email LIKE 'e%' ORDER BY email"),
		[]string{"eve@example.com"}; !slices.Equal(got, want) {
		t.Errorf("emails LIKE 'e%%': %v, want %v", got, want)
	}

	// The planner may use the indexes for these, even on a tiny table once
	// sequential scans are priced out; an index in the wrong collation
	// could not serve them at all.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for query, index := range map[string]string{
		"SELECT id FROM api_keys WHERE lower(name) >= 'e' AND lower(name) < 'f'": "api_keys_name",
		"SELECT id FROM users WHERE email LIKE 'ev%'":                            "users_email",
		"SELECT id FROM users WHERE email >= 'ev' AND email < 'ew'":              "users_email",
	} {
		plan := explain(t, conn, query)
		if !strings.Contains(plan, index) {
			t.Errorf("%s\ndoes not use %s:\n%s", query, index, plan)
		}
	}
}

// icuDatabase makes a database beside the test's own whose default
// collation is ICU's en-US, dropped when the test ends.
func icuDatabase(t *testing.T) *sql.DB {
	t.Helper()
	url := pgtest.Database(t)
	admin := openDB(t, url)
	b := make([]byte, 6)
	rand.Read(b)
	name := "keydesk_icu_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name +
		" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		t.Fatalf("create a database collated by ICU en-US: %v", err)
	}
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	return db
}

func explain(t *testing.T, conn *sql.Conn, query string) string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "EXPLAIN "+query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

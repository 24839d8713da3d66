package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"keydesk/store"
	"keydesk/store/pgtest"
)

// Text keeps what PostgreSQL holds and puts U+001A in place of each NUL and
// each byte that is not part of valid UTF-8.
func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain ASCII", "plain ASCII"},
		{"é, 鍵, 🔑 and U+FFFD \uFFFD", "é, 鍵, 🔑 and U+FFFD \uFFFD"},
		{"\x00", "\x1a"},
		{"a\x00b\x00", "a\x1ab\x1a"},
		{"\xff", "\x1a"},
		{"Mozilla \xff\xfe x", "Mozilla \x1a\x1a x"},
		{"cut é: \xc3", "cut é: \x1a"},
		{"overlong \xc0\xaf", "overlong \x1a\x1a"},
		{"surrogate \xed\xa0\x80", "surrogate \x1a\x1a\x1a"},
	} {
		if got := Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRebind(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"none", "SELECT 1", "SELECT 1"},
		{"in order", "SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = $1 AND c = $2"},
		{"ten and more", "VALUES (?,?,?,?,?,?,?,?,?,?,?)", "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"},
		{"string literal", "SELECT '?' , ? WHERE x = 'a?b'", "SELECT '?' , $1 WHERE x = 'a?b'"},
		{"doubled quote in literal", "SELECT 'it''s?', ?", "SELECT 'it''s?', $1"},
		{"quoted identifier", `SELECT "odd?name" FROM t WHERE id = ?`, `SELECT "odd?name" FROM t WHERE id = $1`},
		{"doubled quote in identifier", `SELECT "a""?" , ?`, `SELECT "a""?" , $1`},
		{"double quote inside literal", `SELECT 'say "?"', ?`, `SELECT 'say "?"', $1`},
		{"single quote inside identifier", `SELECT "it's?", ?`, `SELECT "it's?", $1`},
		{"line comment", "SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"line comment at end", "SELECT ? -- why?", "SELECT $1 -- why?"},
		{"block comment", "SELECT /* a ? here */ ?", "SELECT /* a ? here */ $1"},
		{"minus is not a comment", "SELECT ? - ?", "SELECT $1 - $2"},
		{"slash is not a comment", "SELECT ? / ?", "SELECT $1 / $2"},
		{"unterminated literal", "SELECT ?, 'a?", "SELECT $1, 'a?"},
		{"unterminated comment", "SELECT ? /* a?", "SELECT $1 /* a?"},
		{"like prefix", "WHERE name LIKE ? || '%'", "WHERE name LIKE $1 || '%'"},
		{"non-ASCII", "SELECT 'é?', ?, 'ü'", "SELECT 'é?', $1, 'ü'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Rebind(tt.in); got != tt.want {
				t.Errorf("Rebind(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// A rebound query runs on the server with its arguments where they belong,
// and the "?" in its literal stays text.
func TestRebindRunsOnTheServer(t *testing.T) {
	db := openDB(t, pgtest.Database(t))
	var a, lit, b string
	if err := db.QueryRow(Rebind("SELECT ?::text, '?', ?::text"), "first", "second").Scan(&a, &lit, &b); err != nil {
		t.Fatal(err)
	}
	if a != "first" || lit != "?" || b != "second" {
		t.Errorf("got %q %q %q", a, lit, b)
	}
}

func TestTranslatePassesOtherErrors(t *testing.T) {
	if err := Translate(nil); err != nil {
		t.Errorf("Translate(nil) = %v", err)
	}
	plain := errors.New("plain")
	if err := Translate(plain); err != plain {
		t.Errorf("Translate(plain) = %v", err)
	}
	db := migratedDB(t)
	_, err := db.Exec("SELECT * FROM no_such_table")
	if err == nil {
		t.Fatal("no error from a missing table")
	}
	if got := Translate(err); got != err {
		t.Errorf("an undefined-table error became %v", got)
	}
}

// A real unique violation (a taken email) is store.ErrConflict, and keeps
// the server's message for the log.
func TestTranslateUniqueViolation(t *testing.T) {
	db := migratedDB(t)
	insert := `INSERT INTO users (public_id, name, email, password_hash, kalp_id, created_at, updated_at)
		VALUES ($1, 'A', 'a@example.com', 'x', $2, 0, 0)`
	if _, err := db.Exec(insert, "u1", "k1"); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec(insert, "u2", "k2")
	if err == nil {
		t.Fatal("a second account with the same email was accepted")
	}
	got := Translate(err)
	if !errors.Is(got, store.ErrConflict) {
		t.Fatalf("Translate(%v) = %v, want store.ErrConflict", err, got)
	}
	if errors.Is(got, ErrRetry) {
		t.Errorf("a unique violation says retry: %v", got)
	}
	if want := fmt.Sprintf("%v: %v", store.ErrConflict, err); got.Error() != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// Two serializable transactions that each read what the other writes cannot
// both commit: the one that loses gets a serialization failure, which is
// ErrRetry. This is the shape of "count the user's keys, then insert one".
func TestTranslateSerializationFailure(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	if _, err := db.Exec(`CREATE TABLE counted (owner int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	t1, err := db.BeginTx(ctx, TxOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Rollback()
	t2, err := db.BeginTx(ctx, TxOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Rollback()
	var n int
	if err := t1.QueryRow("SELECT count(*) FROM counted WHERE owner = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := t2.QueryRow("SELECT count(*) FROM counted WHERE owner = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := t1.Exec("INSERT INTO counted (owner) VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := t2.Exec("INSERT INTO counted (owner) VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if err := t1.Commit(); err != nil {
		t.Fatalf("the first commit failed: %v", err)
	}
	err = t2.Commit()
	if err == nil {
		t.Fatal("both write-skewed serializable transactions committed")
	}
	if got := Translate(err); !errors.Is(got, ErrRetry) {
		t.Fatalf("Translate(%v) = %v, want ErrRetry", err, got)
	}
}

// Two transactions that lock two rows in opposite orders deadlock; the one
// PostgreSQL aborts gets 40P01, which is ErrRetry too.
func TestTranslateDeadlock(t *testing.T) {
	ctx := context.Background()
	db := migratedDB(t)
	if _, err := db.Exec(`CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO pair VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	t1, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Rollback()
	t2, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Rollback()
	bump := "UPDATE pair SET n = n + 1 WHERE id = $1"
	if _, err := t1.Exec(bump, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := t2.Exec(bump, 2); err != nil {
		t.Fatal(err)
	}
	// t1 now waits for t2's row; t2's wait for t1's closes the cycle, and the
	// server aborts one of the two after deadlock_timeout.
	first := make(chan error, 1)
	go func() {
		_, err := t1.Exec(bump, 2)
		first <- err
	}()
	_, err2 := t2.Exec(bump, 1)
	if err2 == nil {
		t2.Rollback() // t1 was the victim, or will be once t2 lets go
	}
	err1 := <-first
	if err1 == nil {
		t1.Rollback()
	}
	victim := err1
	if victim == nil {
		victim = err2
	}
	if victim == nil || (err1 != nil && err2 != nil) {
		t.Fatalf("want exactly one aborted transaction, got %v and %v", err1, err2)
	}
	if got := Translate(victim); !errors.Is(got, ErrRetry) {
		t.Fatalf("Translate(%v) = %v, want ErrRetry", victim, got)
	}
}

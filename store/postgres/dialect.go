package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// ErrRetry says that PostgreSQL aborted a transaction so that serializable
// transactions stay serializable (a serialization failure or a deadlock): the
// whole transaction may be run again and will likely succeed. It is
// sqlstore's, whose tx does exactly that.
var ErrRetry = sqlstore.ErrRetry

// SQLSTATE codes that Translate maps; see PostgreSQL's "Appendix A. Error Codes".
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// TxOptions are the options of every read-write transaction on PostgreSQL.
// Serializable makes check-then-write transactions (at most 50 keys per user,
// a limit counted before an insert) hold across instances, where SQLite gets
// the same from its single writer; the price is ErrRetry, which the caller
// answers by running the transaction again.
func TxOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
}

// Translate turns PostgreSQL's errors that callers act on into the store's:
// a unique violation into store.ErrConflict, a serialization failure or a
// deadlock into ErrRetry, each wrapped with the server's message for the log.
// Any other error, and nil, is returned as it is.
func Translate(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case codeUniqueViolation:
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	case codeSerializationFailure, codeDeadlockDetected:
		return fmt.Errorf("%w: %v", ErrRetry, err)
	}
	return err
}

// substitute stands in for what PostgreSQL's text cannot hold: U+001A, the
// control character meant for a character that is invalid or in error.
const substitute = "\x1a"

// Text makes s a string PostgreSQL's text can hold: each NUL, and each byte
// that is not part of valid UTF-8, becomes U+001A (SUBSTITUTE); anything
// else is kept, and s without either is returned as it is. SQLite holds
// such bytes, and there they match nothing Keydesk stored, since the names,
// emails, key names and descriptions it checks refuse every control
// character. The substitute is a control character for that reason: a key
// id, an email or a search holding it matches nothing here either, where
// U+FFFD, which a name may hold, could match. Free text from a request
// that no rule checks (a User-Agent) is stored with the substitute.
func Text(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			b.WriteString(substitute)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Rebind rewrites the "?" placeholders of the SQL shared with SQLite into
// PostgreSQL's numbered "$1", "$2", ... in order. A "?" inside a '...' string
// literal, a "..." quoted identifier or a comment (-- to the end of the line,
// or /* ... */) is text, not a placeholder, and is left as it is. A quote
// doubled inside a literal or identifier needs no special case: it closes
// and reopens it.
// The shared SQL uses no E'...' or dollar-quoted strings, which this does not
// know.
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:]) // unterminated: the server will say so
				return b.String()
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i - 1
			}
			b.WriteString(query[i : i+end+1])
			i += end
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+4])
			i += end + 3
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

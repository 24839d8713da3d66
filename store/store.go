// Package store is Keydesk's domain: the users, keys, sessions and audit
// events the application keeps, the errors its stores answer, the key
// format, page cursors, the input rules and password hashing. It holds no
// SQL: each engine implements the methods the handlers name (store/sqlstore
// over database/sql, opened by store/sqlite), and every engine answers
// these errors, never a driver's.
package store

import "errors"

// Errors the stores return; compare with errors.Is.
var (
	// ErrNotFound: no row matched, or it belongs to someone else.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (an email, say) is taken.
	ErrConflict = errors.New("conflict")
)

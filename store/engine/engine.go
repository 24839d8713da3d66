// Package engine opens the store that a --db value names, on the engine it
// is for: a PostgreSQL URL (postgres:// or postgresql://) or else a SQLite
// file path. Every binary opens its store through Open, so they agree on
// what a value means.
package engine

import (
	"context"
	"strings"

	"keydesk/store/postgres"
	"keydesk/store/sqlite"
	"keydesk/store/sqlstore"
)

// Open opens and migrates the store dsn names, a PostgreSQL one with the
// pool's default limits and timeouts.
func Open(ctx context.Context, dsn string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	return OpenWith(ctx, dsn, postgres.PoolConfig{}, opts...)
}

// OpenWith is Open with the PostgreSQL pool's limits and timeouts. A
// SQLite store ignores them: its single writer and small pool of readers
// on a local file have no server to bound (see sqlite.Open).
func OpenWith(ctx context.Context, dsn string, pool postgres.PoolConfig, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	if IsPostgres(dsn) {
		// pgx reads the scheme in lower case only.
		scheme, rest, _ := strings.Cut(dsn, "://")
		return postgres.Open(ctx, strings.ToLower(scheme)+"://"+rest, pool, opts...)
	}
	return sqlite.Open(ctx, dsn, opts...)
}

// IsPostgres reports whether dsn is a PostgreSQL URL rather than a path.
// The scheme is matched in any case, as URL schemes are.
func IsPostgres(dsn string) bool {
	lower := strings.ToLower(dsn)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

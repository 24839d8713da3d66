package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"keydesk/store/sqlstore"
)

// Dialect is PostgreSQL's: "$n" placeholders, its SQLSTATE codes, every
// write transaction serializable (and run again by sqlstore on a
// serialization failure), text compared byte by byte as SQLite does, and
// string arguments made text it can hold.
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:      "postgres",
		Rebind:    Rebind,
		Translate: Translate,
		TxOptions: TxOptions(),
		ByteOrder: ` COLLATE "C"`,
		Text:      Text,
		// Unprepared: the server plans it with the arguments, every time.
		PlanEachTime: pgx.QueryExecModeExec,
		Batch: &sqlstore.BatchSQL{
			InsertUses: `INSERT INTO key_uses (key_id, at, client_ip, user_agent, route, result)
				SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[])`,
			// Two instances trimming the same keys may delete in orders
			// that deadlock; PostgreSQL then ends one, and sqlstore runs
			// its batch again (ErrRetry), as after a serialization failure.
			TrimUses: `DELETE FROM key_uses WHERE id IN (
				SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY key_id ORDER BY at DESC, id DESC) AS n
					FROM key_uses WHERE key_id = ANY(?::bigint[])) AS ranked
				WHERE n > ?)`,
			// PostgreSQL upserts the rows as unnest yields them, in the
			// arrays' order, the keys': two instances' batches then take
			// the tallies' locks in the same order (should they not, a
			// deadlock ends one, which runs again, as above).
			AddTallies: `INSERT INTO key_use_days (key_id, day, ok, refused)
				SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
				ON CONFLICT (key_id, day) DO UPDATE SET
					ok = key_use_days.ok + excluded.ok, refused = key_use_days.refused + excluded.refused`,
		},
		// ILIKE '%q%' and LIKE '%q%', which the pg_trgm GIN indexes of
		// migration 0011 answer. Backslash is LIKE's default escape.
		Contains: sqlstore.Contains{
			KeyNames: func(q string) (string, []any) {
				return `k.name ILIKE ?`, []any{sqlstore.ContainsPattern(q)}
			},
			Owners: func(q, email string) (string, []any) {
				return `k.user_id IN (SELECT id FROM users WHERE name ILIKE ? UNION SELECT id FROM users WHERE email LIKE ?)`,
					[]any{sqlstore.ContainsPattern(q), sqlstore.ContainsPattern(email)}
			},
		},
	}
}

// Open connects to the PostgreSQL database at url (postgres://…), applies
// any migration it has not seen yet, and returns the store on it. One pool
// serves reads and writes: unlike SQLite, PostgreSQL runs writers side by
// side, and serializable transactions keep their checks true.
func Open(ctx context.Context, url string, cfg PoolConfig, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	pool, err := OpenPool(ctx, url, cfg)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, pool, time.Now); err != nil {
		pool.Close()
		return nil, err
	}
	epoch := sqlstore.NewPollEpoch(
		func(ctx context.Context) (n uint64, err error) {
			err = pool.QueryRowContext(ctx, `SELECT last_value FROM key_epoch`).Scan(&n)
			return n, err
		},
		func(ctx context.Context) error {
			_, err := pool.ExecContext(ctx, `SELECT nextval('key_epoch')`)
			return err
		})
	// One read answers for both counts, as one sum: each only grows.
	pages := sqlstore.NewPollEpoch(
		func(ctx context.Context) (n uint64, err error) {
			err = pool.QueryRowContext(ctx, `SELECT k.last_value + p.last_value FROM key_epoch k, page_epoch p`).Scan(&n)
			return n, err
		},
		func(ctx context.Context) error {
			_, err := pool.ExecContext(ctx, `SELECT nextval('page_epoch')`)
			return err
		})
	opts = append([]sqlstore.Option{sqlstore.WithEpoch(epoch), sqlstore.WithPageEpoch(pages)}, opts...)
	db, err := sqlstore.New(pool, pool, Dialect(), opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

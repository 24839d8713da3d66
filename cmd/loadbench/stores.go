package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"keydesk/store"
	"keydesk/store/pgtest"
)

// The stores, as the report names them.
const (
	storeSQLite   = "SQLite"
	storePostgres = "PostgreSQL"
)

// storeRun is one store under test: its small and large databases and,
// while they are measured, a server on each.
type storeRun struct {
	name, slug         string // "PostgreSQL", and "postgres" for file names
	small, large       *dataset
	smallSrv, largeSrv *server
	rssSmall, rssLarge int64
}

// postgresRun is the throw-away PostgreSQL server of a run, if any.
type postgresRun struct {
	server *pgtest.Server
	drops  []func() error
	// about describes the server for the report, or says why PostgreSQL
	// was not measured.
	about string
}

// stop drops the databases and stops the server; nil does nothing.
func (p *postgresRun) stop() error {
	if p == nil || p.server == nil {
		return nil
	}
	var errs []error
	for _, drop := range p.drops {
		errs = append(errs, drop())
	}
	return errors.Join(append(errs, p.server.Stop())...)
}

// seedStores seeds a small and a large database for each store: SQLite
// files in tmp and, unless -postgres=false or PostgreSQL's server binaries
// are not installed, two databases on a throw-away PostgreSQL server. That
// server runs with PostgreSQL's default settings (fsync on: the SQLite
// writer syncs every commit too), on a loopback port. The caller stops it,
// also when seedStores fails.
func seedStores(ctx context.Context, cfg config, tmp string, now time.Time, progress func(string, ...any)) ([]*storeRun, *postgresRun, error) {
	type target struct {
		st           *storeRun
		small, large string
	}
	targets := []target{{&storeRun{name: storeSQLite, slug: "sqlite"},
		filepath.Join(tmp, "small", "keydesk.db"), filepath.Join(tmp, "large", "keydesk.db")}}
	pg := &postgresRun{}
	switch {
	case !cfg.postgres:
		pg.about = "not measured: -postgres=false"
	default:
		progress("starting a throw-away PostgreSQL server")
		srv, err := pgtest.StartWith(ctx, pgtest.Options{Durable: true})
		if errors.Is(err, pgtest.ErrNoBinaries) {
			pg.about = "not measured: " + err.Error() + " on this machine; install them (Debian's `postgresql` package) to measure both stores"
			progress("PostgreSQL %s; measuring SQLite only", pg.about)
			break
		}
		if err != nil {
			return nil, pg, err
		}
		pg.server = srv
		var dsns [2]string
		for i := range dsns {
			dsn, drop, err := srv.CreateDatabase(ctx)
			if err != nil {
				return nil, pg, err
			}
			dsns[i] = dsn
			pg.drops = append(pg.drops, drop)
		}
		if pg.about, err = describePostgres(ctx, dsns[0]); err != nil {
			return nil, pg, err
		}
		targets = append(targets, target{&storeRun{name: storePostgres, slug: "postgres"}, dsns[0], dsns[1]})
	}

	var stores []*storeRun
	for _, t := range targets {
		var err error
		progress("%s: seeding %d keys over %d users, and a user with %d keys", t.st.name, cfg.small, cfg.small/keysPerOwner, store.MaxKeysPerUser)
		if t.st.small, err = seed(ctx, t.small, cfg.small/keysPerOwner, cfg.small, true, now); err != nil {
			return nil, pg, err
		}
		progress("%s: seeding %d keys over %d users", t.st.name, cfg.large, cfg.large/keysPerOwner)
		if t.st.large, err = seed(ctx, t.large, cfg.large/keysPerOwner, cfg.large, false, now); err != nil {
			return nil, pg, err
		}
		stores = append(stores, t.st)
	}
	return stores, pg, nil
}

// describePostgres names the server's version and the settings that shape
// the figures.
func describePostgres(ctx context.Context, dsn string) (string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var version, buffers, fsync, commit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('shared_buffers'),
		current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&version, &buffers, &fsync, &commit); err != nil {
		return "", err
	}
	return fmt.Sprintf("PostgreSQL %s (shared_buffers %s, fsync %s, synchronous_commit %s)", version, buffers, fsync, commit), nil
}

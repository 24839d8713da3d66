package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"keydesk/store/dbcopy"
	"keydesk/store/engine"
)

// dbCopy is "keydesk db copy": every row of one Keydesk database into an
// empty one, in one transaction on the target, ids, hashes and times kept,
// then the per-table counts. Both ends are opened (and so migrated) by
// their engine first, so that their schemas match. Nothing is audited: an
// event on the target would be a row the source does not have.
func dbCopy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("db copy", stderr)
	from := fs.String("from", "", "the database to copy: a SQLite file or a postgres:// URL (required)")
	to := fs.String("to", "", "the empty database to copy into: a SQLite file, created if missing, or a postgres:// URL (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usageError{"db copy: --from and --to are required"}
	}
	if err := checkCopyEnds(*from, *to); err != nil {
		return err
	}

	src, closeSrc, err := openEndpoint(ctx, *from)
	if err != nil {
		return fmt.Errorf("db copy: open the source: %w", err)
	}
	defer closeSrc()
	dst, closeDst, err := openEndpoint(ctx, *to)
	if err != nil {
		return fmt.Errorf("db copy: open the target: %w", err)
	}
	defer closeDst()

	report, err := dbcopy.Copy(ctx, src, dst)
	if err != nil {
		return err
	}
	var total int64
	for _, t := range report.Tables {
		total += t.Rows
	}
	// The ends are not printed: a PostgreSQL URL may hold a password.
	fmt.Fprintf(stdout, "Copied %d rows in %d tables; each holds as many rows in both databases:\n", total, len(report.Tables))
	for _, t := range report.Tables {
		fmt.Fprintf(stdout, "  %-20s %d\n", t.Table, t.Rows)
	}
	return nil
}

// checkCopyEnds refuses, before anything is opened, a source file that
// does not exist (opening it would create an empty database) and a copy of
// a file onto itself.
func checkCopyEnds(from, to string) error {
	if engine.IsPostgres(from) || engine.IsPostgres(to) {
		if from == to {
			return usageError{"db copy: --from and --to are the same database"}
		}
		return nil // the server answers for the rest
	}
	if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("db copy: no database at %s", from)
	} else if err != nil {
		return fmt.Errorf("db copy: %w", err)
	}
	a, errA := filepath.Abs(from)
	b, errB := filepath.Abs(to)
	if errA == nil && errB == nil && a == b {
		return usageError{"db copy: --from and --to are the same database"}
	}
	return nil
}

// closer releases what openEndpoint opened.
type closer func() error

// openEndpoint opens one end of a copy with its engine's Open, which
// applies the migrations, and describes it for the copier.
func openEndpoint(ctx context.Context, dsn string) (dbcopy.Endpoint, closer, error) {
	db, err := engine.Open(ctx, dsn)
	if err != nil {
		return dbcopy.Endpoint{}, nil, err
	}
	write, _ := db.Pools()
	if db.Dialect().Name == "postgres" {
		return dbcopy.PostgresEndpoint(write), db.Close, nil
	}
	return dbcopy.SQLiteEndpoint(write), db.Close, nil
}

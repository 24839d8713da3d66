package engine

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// A PostgreSQL URL is refused, clearly, until that engine is wired; a path
// opens a SQLite file.
func TestOpenPicksTheEngineByTheDSN(t *testing.T) {
	t.Chdir(t.TempDir()) // were a URL taken for a path, its files land here
	ctx := context.Background()
	for _, dsn := range []string{"postgres://keydesk@localhost/keydesk", "postgresql://db.internal:5432/k?sslmode=require", "POSTGRES://x/y"} {
		db, err := Open(ctx, dsn)
		if !errors.Is(err, ErrPostgresNotBuilt) {
			t.Errorf("Open(%q) = %v, %v; want ErrPostgresNotBuilt", dsn, db, err)
		}
	}
	path := filepath.Join(t.TempDir(), "keydesk.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Dialect().Name; got != "sqlite" {
		t.Errorf("Open(%q) is on %q, want sqlite", path, got)
	}
}

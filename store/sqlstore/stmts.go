package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statements a store keeps prepared. The store's
// queries are a few dozen texts; filters and searches combine into more, and
// past the bound a query is prepared, run and dropped, as without the cache.
const maxCachedStmts = 256

// stmtCache keeps the reads' statements prepared on the reader pool, by
// their text, so that a page's queries are parsed and planned once per
// connection rather than on every request: on SQLite, preparing the audit
// log's query cost about as much as running it.
type stmtCache struct {
	pool  *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}}
}

// get is the statement prepared for query, or nil when the cache is full
// (the caller then runs the query unprepared). A statement that fails to
// prepare is not kept: its error is the query's.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	stmt, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if ok || full {
		return stmt, nil
	}
	stmt, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept, ok := c.stmts[query]; ok {
		// Another request prepared it meanwhile.
		stmt.Close()
		return kept, nil
	}
	if c.stmts == nil || len(c.stmts) >= maxCachedStmts {
		// Closed meanwhile, or full: the caller runs the query unprepared.
		stmt.Close()
		return nil, nil
	}
	c.stmts[query] = stmt
	return stmt, nil
}

// close closes every statement kept; later gets prepare nothing.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, stmt := range c.stmts {
		stmt.Close()
	}
	c.stmts = nil
}

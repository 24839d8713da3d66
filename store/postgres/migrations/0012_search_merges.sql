-- SQLite's 0012 sets how its FTS5 search tables merge their segments.
-- PostgreSQL's pg_trgm GIN indexes (0011) have no such segments to keep
-- few; this twin only keeps the two engines' migrations in step.
SELECT 1;

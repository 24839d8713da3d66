-- SQLite's 0015 makes the index of previous secrets partial, so that its
-- statistics count only the keys that have one. PostgreSQL's planner
-- knows a column's share of NULLs and needs no such help; the twin keeps
-- the two schemas alike, and the index smaller.
DROP INDEX api_keys_prev_hash;
CREATE UNIQUE INDEX api_keys_prev_hash ON api_keys (prev_hash) WHERE prev_hash IS NOT NULL;

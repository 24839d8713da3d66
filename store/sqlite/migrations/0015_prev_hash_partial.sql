-- The index of previous secrets holds only the keys that have one. A key
-- has a previous secret only while its regeneration's overlap may still
-- use it, so nearly every row's prev_hash is NULL, and a full index of it
-- told the planner (sqlite_stat1) that one value matches nearly every
-- key: without ANALYZE's samples of it, the key lookup (hash = ? OR
-- prev_hash = ?) scanned every user and their keys. Partial, the index
-- counts only the previous secrets, and a lookup by either hash is two
-- index searches whatever the statistics.
DROP INDEX api_keys_prev_hash;
CREATE UNIQUE INDEX api_keys_prev_hash ON api_keys (prev_hash) WHERE prev_hash IS NOT NULL;

-- The admin inventory at scale: substring search and natural name order.
--
-- name_sort: the key's name as it sorts, lower case with every run of
-- digits zero-padded (store.NaturalSortKey), so that "export 2" comes
-- before "export 10". Go computes it on every write of a name; a NULL
-- (a row written before this migration, or by a tool that does not know
-- the column) sorts by lower(name) until the store fills it in at open.
ALTER TABLE api_keys ADD COLUMN name_sort TEXT COLLATE "C";
DROP INDEX api_keys_enabled_name;
CREATE INDEX api_keys_name_sort ON api_keys (coalesce(name_sort, lower(name)), id);
CREATE INDEX api_keys_enabled_name_sort ON api_keys (enabled, coalesce(name_sort, lower(name)), id);
CREATE INDEX api_keys_name_sort_missing ON api_keys (id) WHERE name_sort IS NULL;

-- Searches shorter than a trigram match owner names from their start.
CREATE INDEX users_name ON users (lower(name), id);

-- Substring search: pg_trgm GIN indexes answer ILIKE '%q%' on key names
-- and owners' names and emails (SQLite's twin is FTS5 trigram tables kept
-- by triggers). pg_trgm ships in contrib and is a trusted extension, so the
-- database's owner may create it. fastupdate is off: a write goes straight
-- into the index rather than into a pending list that every search would
-- scan row by row until a vacuum merged it (keys are written seldom and
-- searched often).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX api_keys_name_trgm ON api_keys USING gin (name gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX users_name_trgm ON users USING gin (name gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops) WITH (fastupdate = off);

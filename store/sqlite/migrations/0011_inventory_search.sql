-- The admin inventory at scale: substring search and natural name order.
--
-- name_sort: the key's name as it sorts, lower case with every run of
-- digits zero-padded (store.NaturalSortKey), so that "export 2" comes
-- before "export 10". Go computes it on every write of a name; a NULL
-- (a row written before this migration, or by a tool that does not know
-- the column) sorts by lower(name) until the store fills it in at open.
ALTER TABLE api_keys ADD COLUMN name_sort TEXT;
DROP INDEX api_keys_enabled_name;
CREATE INDEX api_keys_name_sort ON api_keys (coalesce(name_sort, lower(name)), id);
CREATE INDEX api_keys_enabled_name_sort ON api_keys (enabled, coalesce(name_sort, lower(name)), id);
CREATE INDEX api_keys_name_sort_missing ON api_keys (id) WHERE name_sort IS NULL;

-- Searches shorter than a trigram match owner names from their start.
CREATE INDEX users_name ON users (lower(name), id);

-- Substring search: FTS5 trigram indexes of key names and of owners' names
-- and emails, their rowids the rows' ids. Triggers keep them in step with
-- every insert, rename, email change and delete (a user's delete cascades
-- to their keys, whose own trigger then fires). PostgreSQL's twin is
-- pg_trgm GIN indexes on the columns themselves.
CREATE VIRTUAL TABLE search_key_names USING fts5(name, tokenize = 'trigram');
CREATE VIRTUAL TABLE search_owners USING fts5(name, email, tokenize = 'trigram');
INSERT INTO search_key_names (rowid, name) SELECT id, name FROM api_keys;
INSERT INTO search_owners (rowid, name, email) SELECT id, name, email FROM users;

CREATE TRIGGER api_keys_search_insert AFTER INSERT ON api_keys BEGIN
    INSERT INTO search_key_names (rowid, name) VALUES (new.id, new.name);
END;
CREATE TRIGGER api_keys_search_rename AFTER UPDATE OF name ON api_keys WHEN new.name IS NOT old.name BEGIN
    UPDATE search_key_names SET name = new.name WHERE rowid = new.id;
END;
CREATE TRIGGER api_keys_search_delete AFTER DELETE ON api_keys BEGIN
    DELETE FROM search_key_names WHERE rowid = old.id;
END;
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO search_owners (rowid, name, email) VALUES (new.id, new.name, new.email);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF name, email ON users
    WHEN new.name IS NOT old.name OR new.email IS NOT old.email BEGIN
    UPDATE search_owners SET name = new.name, email = new.email WHERE rowid = new.id;
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    DELETE FROM search_owners WHERE rowid = old.id;
END;

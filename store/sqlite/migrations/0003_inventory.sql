-- Indexes for the admin key inventory: every sort, with and without the
-- status filter, keyset-paged by (sort value, id); prefix search on key
-- names and owner emails; exact search on the last four characters.
CREATE INDEX api_keys_created ON api_keys (created_at, id);
CREATE INDEX api_keys_name ON api_keys (lower(name), id);
CREATE INDEX api_keys_last_used ON api_keys (coalesce(last_used_at, 0), id);
CREATE INDEX api_keys_enabled_created ON api_keys (enabled, created_at, id);
CREATE INDEX api_keys_enabled_name ON api_keys (enabled, lower(name), id);
CREATE INDEX api_keys_enabled_last_used ON api_keys (enabled, coalesce(last_used_at, 0), id);
CREATE INDEX api_keys_last4 ON api_keys (last4);
CREATE INDEX api_keys_never_used ON api_keys (created_at, id) WHERE last_used_at IS NULL;
CREATE INDEX users_disabled ON users (disabled);

-- API Auth Keys. Only the SHA-256 of a key and its last four characters are
-- kept; the key itself is shown once, at creation, and never stored.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    public_id    TEXT    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    hash         TEXT    NOT NULL UNIQUE,
    last4        TEXT    NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    last_used_ip TEXT    NOT NULL DEFAULT ''
);

-- A name is unique for its owner, whatever its case.
CREATE UNIQUE INDEX api_keys_user_name ON api_keys (user_id, lower(name));
CREATE INDEX api_keys_user_created ON api_keys (user_id, created_at);

-- Key lifecycle (contract v2): expiry, scopes, regeneration with an overlap,
-- and each key's recent use.
--
-- expires_at: the instant the key stops working (ms); NULL never expires.
-- scopes: the key's scope names, space-separated, in order; NULL is a key
-- made before scopes existed, which holds every scope.
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
ALTER TABLE api_keys ADD COLUMN scopes TEXT;

-- A regenerated key's previous secret: it works until prev_until, then is
-- refused, but stays known (until the next regeneration replaces it) so
-- that a call made with it counts as a refusal of this key in its recent
-- use. A key has at most one previous secret.
ALTER TABLE api_keys ADD COLUMN prev_hash TEXT;
ALTER TABLE api_keys ADD COLUMN prev_last4 TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN prev_until INTEGER;
ALTER TABLE api_keys ADD COLUMN prev_last_used_at INTEGER;
CREATE UNIQUE INDEX api_keys_prev_hash ON api_keys (prev_hash);
CREATE INDEX api_keys_expires ON api_keys (expires_at);

-- The last calls made with each key (the batch writer keeps at most 50 a
-- key), and how many calls each key took each UTC day, successes and
-- refusals apart. Both keep 30 days.
CREATE TABLE key_uses (
    id         INTEGER PRIMARY KEY,
    key_id     INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    client_ip  TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    route      TEXT    NOT NULL DEFAULT '',
    result     TEXT    NOT NULL
);
CREATE INDEX key_uses_key_at ON key_uses (key_id, at);
CREATE INDEX key_uses_at ON key_uses (at);

CREATE TABLE key_use_days (
    key_id  INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    day     INTEGER NOT NULL, -- days since 1970-01-01, UTC
    ok      INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
);
CREATE INDEX key_use_days_day ON key_use_days (day);

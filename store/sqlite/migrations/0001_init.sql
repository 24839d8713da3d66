-- Accounts, server-side sessions, the audit log, login throttling and the
-- application's own secrets. Times are Unix milliseconds (UTC) in INTEGER
-- columns: exact, sortable and the same in SQLite and PostgreSQL (BIGINT).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    public_id     TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    kalp_id       TEXT    NOT NULL UNIQUE,
    kyc_status    TEXT    NOT NULL DEFAULT 'not_started'
                  CHECK (kyc_status IN ('verified', 'pending', 'not_started', 'rejected')),
    role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Emails are unique whatever their case; lookups use the same expression.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

-- A session row is keyed by the SHA-256 of the session id: the id itself
-- lives only in the user's cookie, so a copy of the database signs nobody in.
CREATE TABLE sessions (
    id_hash      TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data         BLOB,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id, last_seen_at);

CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    actor_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    subject_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    target       TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    detail       TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);

-- One row per failed sign-in, counted in a sliding window per scope
-- ('account' or 'ip'). Shared by every instance on the database.
CREATE TABLE login_failures (
    scope     TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    failed_at INTEGER NOT NULL
);

CREATE INDEX login_failures_subject ON login_failures (scope, subject, failed_at);

-- Secrets the application generates once and every instance shares, such as
-- the session signing keys.
CREATE TABLE app_secrets (
    name       TEXT    PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

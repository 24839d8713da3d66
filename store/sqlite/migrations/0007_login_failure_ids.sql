-- Each counted login attempt gets an id of its own, so that the attempt a
-- request claimed can be taken back (a check that never ran) or cleared
-- (its success) by that id on every engine: PostgreSQL has no rowid. SQLite
-- cannot add an INTEGER PRIMARY KEY to a table in place, so the table is
-- rebuilt, keeping each row's rowid as its id.
CREATE TABLE login_failures_new (
    id        INTEGER PRIMARY KEY,
    scope     TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    failed_at INTEGER NOT NULL
);
INSERT INTO login_failures_new (id, scope, subject, failed_at)
    SELECT rowid, scope, subject, failed_at FROM login_failures;
DROP TABLE login_failures;
ALTER TABLE login_failures_new RENAME TO login_failures;
CREATE INDEX login_failures_subject ON login_failures (scope, subject, failed_at);

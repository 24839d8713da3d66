-- Emails are stored in their canonical form (store.NormalizeEmail: trimmed,
-- NFKC, lower-cased by Go), and that column is unique. SQLite's lower()
-- knows only ASCII, so the old index on lower(email) let "Ärger@…" and
-- "ärger@…" be two accounts, and made the first unreachable by login.
--
-- An address of printable ASCII without spaces is canonical once
-- lower-cased, and the old index already made those lower-cased forms
-- unique, so SQL can do them here. Every other row is left to the Go half
-- of this migration (canonicaliseStoredEmails in store/sqlite/migrate.go), which runs
-- in this same transaction, after this file.
UPDATE users SET email = lower(email) WHERE email NOT GLOB '*[^!-~]*';

DROP INDEX users_email_lower;
CREATE UNIQUE INDEX users_email ON users (email);

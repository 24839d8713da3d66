-- Emails are stored in their canonical form (store.NormalizeEmail: trimmed,
-- NFKC, lower-cased by Go), and that column is unique.
--
-- In SQLite this migration also rewrites the emails of existing rows (an
-- UPDATE here and a Go half in store/users.go). A PostgreSQL database starts
-- new, at this schema, and every row it will ever hold was written canonical
-- by Go (or copied from a SQLite database already past 0005), so here it is
-- the schema change alone.
DROP INDEX users_email_lower;
CREATE UNIQUE INDEX users_email ON users (email);

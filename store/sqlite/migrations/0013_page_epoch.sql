-- The count of the quiet writes pages show (sqlstore.WithPageEpoch) lives
-- in the epoch file beside the database on SQLite, after the epoch's own
-- count. PostgreSQL's 0013 makes it a sequence; this keeps the two
-- engines' migrations in step.
SELECT 1;

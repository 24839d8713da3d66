-- The change count that lets each process cache keys (sqlstore.Epoch) lives
-- outside the schema on SQLite: in the memory-mapped file beside the
-- database (keydesk.db-epoch), which every process on this host shares.
-- PostgreSQL's 0009 makes it a sequence; this keeps the two engines'
-- migrations in step.
SELECT 1;

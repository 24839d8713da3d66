-- A search shorter than a trigram matches key names from their start
-- (lower(name) >= q AND lower(name) < q || U+10FFFF) and counts up to
-- store.ShortCountCap of them. PostgreSQL answers a count from an
-- expression index alone (an index-only scan) only when the index also
-- holds the column the expression reads: without the name, counting "ba"
-- in 100,000 keys read 10,000 of the table's rows to find its 1,001 (a
-- sequential scan, 2.5 ms), where the index alone has them in 0.3 ms.
DROP INDEX api_keys_name;
CREATE INDEX api_keys_name ON api_keys (lower(name), id) INCLUDE (name);

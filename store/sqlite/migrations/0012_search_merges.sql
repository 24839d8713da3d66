-- Keep the search tables' FTS5 indexes in few segments.
--
-- FTS5 writes each transaction's terms as a new segment (b-tree) and
-- merges segments in the background of later writes; a query looks up
-- each of its trigrams in every segment. With the defaults (merge 4
-- segments of a level, at once when a level holds 16), an index that
-- grows a key or a user at a time holds 10 to 30 segments, and a search
-- of ten characters made hundreds of lookups, each a statement SQLite
-- re-prepared: about 10 ms a search at 1,000 keys (docs/BENCHMARKS.md).
-- Merging two segments of a level, and at once as soon as a level holds
-- two, keeps an index in a handful of segments for no more work per write
-- on the whole: each merge is smaller. The settings live in the tables'
-- own config, so every connection and tool that writes follows them.
-- optimize merges what is there now into one segment.
INSERT INTO search_key_names (search_key_names, rank) VALUES ('automerge', 2);
INSERT INTO search_key_names (search_key_names, rank) VALUES ('crisismerge', 2);
INSERT INTO search_owners (search_owners, rank) VALUES ('automerge', 2);
INSERT INTO search_owners (search_owners, rank) VALUES ('crisismerge', 2);
INSERT INTO search_key_names (search_key_names) VALUES ('optimize');
INSERT INTO search_owners (search_owners) VALUES ('optimize');

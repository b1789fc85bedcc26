-- Rate counters (keapsake_core::counters, docs/schema.md "Rate counters"): quota windows and
-- brute-force failure windows. Same table and columns as the PostgreSQL migration
-- 0003_counters.sql.
--
-- One row per (key, window_start); n is the count in that window. Every increment is an upsert
-- run by the single writer (src/writer.rs), so concurrent hits never lose a count. Keys hold no
-- secrets (client ids, account ids, key ids, IPs, folded user names) and compare byte for byte
-- (BINARY collation).
CREATE TABLE counters (
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL, -- Unix ms
    expires_at   INTEGER NOT NULL, -- Unix ms: window_start + window; purged after
    n            INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;
CREATE INDEX counters_expires_at ON counters (expires_at);

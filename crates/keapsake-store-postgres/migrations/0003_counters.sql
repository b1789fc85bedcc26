-- Rate counters (keapsake_core::counters, docs/schema.md "Rate counters"): quota windows and
-- brute-force failure windows, shared by every node (SECURITY.md §10). Same table and columns as
-- the SQLite migration 0003_counters.sql.
--
-- One row per (key, window_start); n is the count in that window. Increments are one
-- INSERT … ON CONFLICT DO UPDATE SET n = counters.n + EXCLUDED.n RETURNING n, atomic across
-- nodes (the conflicting row is locked for the update). Keys hold no secrets and compare byte
-- for byte (COLLATE "C").
CREATE TABLE counters (
    key          TEXT COLLATE "C" NOT NULL,
    window_start BIGINT NOT NULL, -- Unix ms
    expires_at   BIGINT NOT NULL, -- Unix ms: window_start + window; purged after
    n            BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX counters_expires_at ON counters (expires_at);

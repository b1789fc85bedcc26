-- Tenant data (keapsake_core::records, docs/schema.md "Tenant data"): JSON documents per
-- (account, kind) with per-account ids, generic indexed key columns, and links between records.
-- Same tables and columns as the PostgreSQL migration 0002_records.sql.
--
-- Text keys use SQLite's default BINARY collation: equality is byte-exact (callers fold case,
-- ASCII only) and ORDER BY is byte-wise (memcmp of the UTF-8 bytes), as COLLATE "C" on
-- PostgreSQL, so both backends page identically. SQLite orders NULL first ascending and last
-- descending, which is the store's contract; each key index ends in id, the tie-break of every
-- ordering.
--
-- Every write to these tables runs in the single writer (src/writer.rs), so reads that decide a
-- write (the next id, the oldest upsert match, whether both records of a link exist) are
-- serialised with every other write.

-- next_id is the next id to hand out for (account, kind). The writer job reads it, builds the
-- record, and writes the record and next_id + 1 together; a refused create writes nothing, and a
-- failed insert (unique clash) is rolled back to the job's savepoint with the bump, so neither
-- consumes an id. A committed id is never handed out again, even after deletes.
CREATE TABLE id_sequences (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    next_id    INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind)
) STRICT, WITHOUT ROWID;

-- A rowid table (not WITHOUT ROWID): documents can be several KiB, larger than SQLite advises
-- for WITHOUT ROWID rows.
CREATE TABLE records (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    id         INTEGER NOT NULL,
    -- The document as JSON text (the store never looks inside).
    data       TEXT    NOT NULL,
    k0         TEXT,
    k1         TEXT,
    k2         TEXT,
    k3         TEXT,
    k4         TEXT,
    k5         TEXT,
    n0         INTEGER,
    n1         INTEGER,
    n2         INTEGER,
    unique_key TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, id),
    -- Mapped to Conflict { what: "unique" } (src/records.rs); NULLs never clash.
    UNIQUE (account_id, kind, unique_key)
) STRICT;
CREATE INDEX records_k0 ON records (account_id, kind, k0, id);
CREATE INDEX records_k1 ON records (account_id, kind, k1, id);
CREATE INDEX records_k2 ON records (account_id, kind, k2, id);
CREATE INDEX records_k3 ON records (account_id, kind, k3, id);
CREATE INDEX records_k4 ON records (account_id, kind, k4, id);
CREATE INDEX records_k5 ON records (account_id, kind, k5, id);
CREATE INDEX records_n0 ON records (account_id, kind, n0, id);
CREATE INDEX records_n1 ON records (account_id, kind, n1, id);
CREATE INDEX records_n2 ON records (account_id, kind, n2, id);
CREATE INDEX records_created_at ON records (account_id, kind, created_at, id);
CREATE INDEX records_updated_at ON records (account_id, kind, updated_at, id);

-- (a, b) pairs of the record kinds named by LinkKind::kinds. No foreign keys to records (the
-- kind of a and b depends on the link kind): deleting a record deletes its links in the same
-- writer job, and linking checks both records in the writer job that inserts the link, so no
-- link outlives its records.
CREATE TABLE links (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    a          INTEGER NOT NULL,
    b          INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind, a, b)
) STRICT, WITHOUT ROWID;
CREATE INDEX links_b ON links (account_id, kind, b, a);

-- Tenant data (keapsake_core::records, docs/schema.md "Tenant data"): JSON documents per
-- (account, kind) with per-account ids, generic indexed key columns, and links between records.
--
-- Text keys use COLLATE "C": equality is byte-exact (callers fold case, ASCII only) and ORDER BY
-- is byte-wise, as on SQLite (BINARY), so both backends page identically. Key indexes are
-- declared NULLS FIRST because the store orders NULL keys first ascending (and last descending),
-- as SQLite does; each ends in id, the tie-break of every ordering.

-- next_id is the next id to hand out for (account, kind). Taken with one
-- INSERT ... ON CONFLICT DO UPDATE ... RETURNING in the transaction that inserts the record, so a
-- rolled-back insert consumes nothing and a committed id is never handed out again.
CREATE TABLE id_sequences (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    next_id    BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE records (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    id         BIGINT NOT NULL,
    -- The document as JSON text (JSONB is not needed: the store never looks inside).
    data       TEXT   NOT NULL,
    k0         TEXT COLLATE "C",
    k1         TEXT COLLATE "C",
    k2         TEXT COLLATE "C",
    k3         TEXT COLLATE "C",
    k4         TEXT COLLATE "C",
    k5         TEXT COLLATE "C",
    n0         BIGINT,
    n1         BIGINT,
    n2         BIGINT,
    unique_key TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, id),
    -- Mapped to Conflict { what: "unique" }; NULLs never clash.
    CONSTRAINT records_unique_key UNIQUE (account_id, kind, unique_key)
);
CREATE INDEX records_k0 ON records (account_id, kind, k0 NULLS FIRST, id);
CREATE INDEX records_k1 ON records (account_id, kind, k1 NULLS FIRST, id);
CREATE INDEX records_k2 ON records (account_id, kind, k2 NULLS FIRST, id);
CREATE INDEX records_k3 ON records (account_id, kind, k3 NULLS FIRST, id);
CREATE INDEX records_k4 ON records (account_id, kind, k4 NULLS FIRST, id);
CREATE INDEX records_k5 ON records (account_id, kind, k5 NULLS FIRST, id);
CREATE INDEX records_n0 ON records (account_id, kind, n0 NULLS FIRST, id);
CREATE INDEX records_n1 ON records (account_id, kind, n1 NULLS FIRST, id);
CREATE INDEX records_n2 ON records (account_id, kind, n2 NULLS FIRST, id);
CREATE INDEX records_created_at ON records (account_id, kind, created_at, id);
CREATE INDEX records_updated_at ON records (account_id, kind, updated_at, id);

-- (a, b) pairs of the record kinds named by LinkKind::kinds. No foreign keys to records (the
-- kind of a and b depends on the link kind): deleting a record deletes its links in the same
-- transaction, and linking locks both records (FOR KEY SHARE) so a concurrent delete cannot
-- leave a dangling link.
CREATE TABLE links (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    a          BIGINT NOT NULL,
    b          BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, kind, a, b)
);
CREATE INDEX links_b ON links (account_id, kind, b, a);

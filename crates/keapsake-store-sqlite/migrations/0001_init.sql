-- keapsake schema on SQLite. Table and column names match docs/schema.md (and the PostgreSQL
-- migrations). Timestamps are INTEGER Unix milliseconds; secrets appear only as 32-byte SHA-256
-- hashes; booleans are INTEGER 0/1. STRICT tables refuse values of the wrong type.
-- AUTOINCREMENT: ids are never reused, even after the highest row is deleted.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL,
    -- ASCII-only lower case, computed in Rust (core::store::fold_email); compared with BINARY
    -- collation, never NOCASE/lower() (SECURITY.md §6).
    email_folded  TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    given_name    TEXT    NOT NULL,
    family_name   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alias      TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    profile    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    is_admin   INTEGER NOT NULL CHECK (is_admin IN (0, 1)),
    PRIMARY KEY (account_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX memberships_user_id ON memberships (user_id);

CREATE TABLE apps (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id     TEXT    NOT NULL UNIQUE,
    secret_hash   TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    redirect_uris TEXT    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

-- One row per authorization. Rotation, reuse handling and revocation all run in the single writer,
-- so they are serialised per family (and globally).
CREATE TABLE token_families (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id     INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX token_families_app_id ON token_families (app_id);

CREATE TABLE auth_codes (
    hash                  BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    app_id                INTEGER NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    user_id               INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id            INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER,
    family_id             INTEGER REFERENCES token_families (id) ON DELETE SET NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE access_tokens (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    family_id  INTEGER NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX access_tokens_family_id ON access_tokens (family_id);

CREATE TABLE refresh_tokens (
    hash       BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    family_id  INTEGER NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

CREATE TABLE sessions (
    id_hash      BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    csrf_key     BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_created_at ON sessions (created_at);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);

CREATE TABLE api_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    hash           BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    display_prefix TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('pat', 'sak', 'legacy')),
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id        INTEGER REFERENCES users (id) ON DELETE CASCADE,
    read_only      INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER,
    revoked_at     INTEGER
) STRICT;
CREATE INDEX api_keys_account_id ON api_keys (account_id);

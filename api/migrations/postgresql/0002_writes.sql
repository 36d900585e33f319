-- PostgreSQL twin of sqlite/0002_writes.sql.
CREATE TABLE api_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    revoked_at  TEXT
);

-- See sqlite/0002_writes.sql: a pending entry (a lease) becomes complete, with the response,
-- in the write's own transaction.
CREATE TABLE idempotency_entries (
    key_id           TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    state            TEXT NOT NULL,
    lease_token      TEXT,
    status_code      INTEGER,
    location         TEXT,
    etag             TEXT,
    body             TEXT,
    created_at       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX idempotency_entries_age ON idempotency_entries (created_at);

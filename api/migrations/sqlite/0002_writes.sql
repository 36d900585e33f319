-- API keys: only a SHA-256 digest of the secret is kept; the key itself is shown once.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Idempotency-Key entries. A `pending` entry (a lease, committed before the write starts) lets
-- another worker answer 409 while the first request runs; it becomes `complete`, with the
-- response to replay, in the write's own transaction.
CREATE TABLE idempotency_entries (
    key_id           TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    state            TEXT NOT NULL,  -- pending | complete
    lease_token      TEXT,
    status_code      INTEGER,
    location         TEXT,
    etag             TEXT,
    body             TEXT,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX idempotency_entries_age ON idempotency_entries (created_at);

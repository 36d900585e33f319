-- API keys: only a SHA-256 digest of the secret is kept; the key itself is shown once.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

-- Idempotency-Key replays: the first response to a POST, stored in the write's transaction.
CREATE TABLE idempotency_keys (
    key_id           TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    status_code      INTEGER NOT NULL,
    location         TEXT,
    etag             TEXT,
    body             TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

"""Idempotency-Key bookkeeping for POST: replay, conflict, and the in-flight lease.

A request with a key first commits a `pending` entry (a lease), then does its write and turns
the entry `complete` with the response in that same transaction. So:
- a retry after completion replays the stored response;
- the same key with another body is a 422;
- a retry while the first request still runs, in any worker, sees the pending entry: 409;
- a request whose process died leaves a pending entry that expires after `LEASE`, after which a
  retry takes it over. The write itself either committed (and the entry is complete) or not.
"""

import datetime as dt
import secrets
from dataclasses import dataclass

from api.db import Connection, Store, write_transaction
from api.problems import IDEMPOTENCY_KEY_IN_FLIGHT, IDEMPOTENCY_KEY_REUSED, problem

# How long a pending entry blocks retries; far longer than any write takes.
LEASE = dt.timedelta(seconds=5)
# Entries are kept at least this long (the API promises 24 hours).
RETENTION = dt.timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A write's answer: sent to the client, and stored under its Idempotency-Key for replays."""

    status_code: int
    body: bytes
    etag: str
    location: str


@dataclass(frozen=True, slots=True)
class Lease:
    key_id: str
    idempotency_key: str
    token: str


class IdempotencyLedger:
    """Leases are taken and released in transactions of their own, so other workers see them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def begin(self, key_id: str, idempotency_key: str, fingerprint: str) -> WriteResult | Lease:
        """The stored response to replay, or a lease to go ahead under (committed at once)."""
        now = dt.datetime.now(dt.UTC)
        async with self.store.connection() as conn, write_transaction(conn):
            row = await conn.fetchone(
                """SELECT fingerprint, state, status_code, location, etag, body, created_at
                   FROM idempotency_entries WHERE key_id = ? AND idempotency_key = ?""",
                (key_id, idempotency_key),
            )
            if row is not None:
                stored_fingerprint, state, status_code, location, etag, body, created_at = row
                if stored_fingerprint != fingerprint:
                    raise problem(422, "This Idempotency-Key was used with a different request.", IDEMPOTENCY_KEY_REUSED)
                if state == "complete":
                    return WriteResult(status_code, body.encode(), etag, location)
                if now - dt.datetime.fromisoformat(created_at) < LEASE:
                    raise problem(409, "A request with this Idempotency-Key is still being processed; retry "
                                       "after a moment.", IDEMPOTENCY_KEY_IN_FLIGHT)
            token = secrets.token_hex(8)
            await conn.execute(
                """INSERT INTO idempotency_entries (key_id, idempotency_key, fingerprint, state, lease_token,
                                                    created_at)
                   VALUES (?, ?, ?, 'pending', ?, ?)
                   ON CONFLICT (key_id, idempotency_key)
                   DO UPDATE SET state = 'pending', lease_token = excluded.lease_token,
                                 created_at = excluded.created_at""",
                (key_id, idempotency_key, fingerprint, token, now.isoformat()),
            )
            await conn.execute(
                "DELETE FROM idempotency_entries WHERE created_at < ?", ((now - RETENTION).isoformat(),)
            )
        return Lease(key_id, idempotency_key, token)

    async def release(self, lease: Lease) -> None:
        """The request failed before writing: free the key so a corrected retry may use it."""
        async with self.store.connection() as conn, write_transaction(conn):
            await conn.execute(
                """DELETE FROM idempotency_entries
                   WHERE key_id = ? AND idempotency_key = ? AND state = 'pending' AND lease_token = ?""",
                (lease.key_id, lease.idempotency_key, lease.token),
            )


async def complete(conn: Connection, lease: Lease, response: WriteResult) -> None:
    """Inside the write's transaction (`conn`): store the response, if the lease is still ours."""
    changed = await conn.execute(
        """UPDATE idempotency_entries SET state = 'complete', lease_token = NULL, status_code = ?, location = ?,
                  etag = ?, body = ?
           WHERE key_id = ? AND idempotency_key = ? AND state = 'pending' AND lease_token = ?""",
        (response.status_code, response.location, response.etag, response.body.decode(), lease.key_id,
         lease.idempotency_key, lease.token),
    )
    if changed != 1:
        # Our lease expired and a retry took it over: let that one write, not both.
        raise problem(409, "This Idempotency-Key was taken over by a retry; retry to get its response.",
                      IDEMPOTENCY_KEY_IN_FLIGHT)

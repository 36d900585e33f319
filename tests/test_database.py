"""api/db.py: the dialect-neutral connection layer, write retries, and concurrent migration."""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from helpers import bearer, query, write_lock_held_elsewhere
from litestar import Litestar
from litestar.testing import TestClient
from psycopg import errors

from api import db, writes


def test_placeholders_are_translated_for_psycopg() -> None:
    assert db.to_pyformat("SELECT 1 WHERE a = ? AND b LIKE 'x%'") == "SELECT 1 WHERE a = %s AND b LIKE 'x%%'"


@pytest.mark.anyio
async def test_transient_conflicts_are_retried_a_bounded_number_of_times() -> None:
    calls = []

    async def flaky() -> str:
        calls.append(1)
        if len(calls) < db.WRITE_ATTEMPTS:
            raise errors.SerializationFailure("could not serialize access")
        return "done"

    assert await db.retrying(flaky) == "done" and len(calls) == db.WRITE_ATTEMPTS

    async def deadlocked() -> None:
        calls.append(1)
        raise errors.DeadlockDetected("deadlock detected")

    calls.clear()
    with pytest.raises(db.StoreBusy):
        await db.retrying(deadlocked)
    assert len(calls) == db.WRITE_ATTEMPTS


def test_a_write_that_keeps_conflicting_is_503_with_retry_after(
    client: TestClient[Litestar], keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = []

    @asynccontextmanager
    async def conflicting(conn: Any) -> AsyncIterator[Any]:
        attempts.append(1)
        raise errors.SerializationFailure("could not serialize access due to concurrent update")
        yield conn

    monkeypatch.setattr(writes, "write_transaction", conflicting)
    response = client.post("/v1/statements", headers=bearer(keys["write"]), json={
        "actor": "peskov", "kind": "assessment", "date": "2026-06-09", "sources": ["brief-2026-06-07"]})
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(db.RETRY_AFTER_SECONDS)
    assert response.headers["content-type"] == "application/problem+json"
    assert len(attempts) == db.WRITE_ATTEMPTS


def test_a_write_lock_held_too_long_elsewhere_is_503_not_a_hang(
    client: TestClient[Litestar], keys: dict[str, str], seeded_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITE_LOCK_TIMEOUT_SECONDS", 0.2)
    statement = {"actor": "peskov", "kind": "assessment", "date": "2026-06-09", "sources": ["brief-2026-06-07"]}
    with write_lock_held_elsewhere(seeded_url):
        busy = client.post("/v1/statements", headers=bearer(keys["write"]), json=statement)
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == str(db.RETRY_AFTER_SECONDS)
        assert busy.headers["content-type"] == "application/problem+json"
        # Keyed creates take their Idempotency-Key lease in a write transaction of its own.
        leased = client.post("/v1/statements", json=statement,
                             headers={**bearer(keys["write"]), "Idempotency-Key": "while-locked"})
        assert leased.status_code == 503, leased.text
    # Nothing was half-written: once the lock is free the same requests succeed, once each.
    assert client.post("/v1/statements", headers=bearer(keys["write"]), json=statement).status_code == 201
    retried = client.post("/v1/statements", json=statement,
                          headers={**bearer(keys["write"]), "Idempotency-Key": "while-locked"})
    assert retried.status_code == 201, retried.text


def test_workers_migrating_at_once_apply_each_migration_once(database_url: str) -> None:
    versions: list[int] = []
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    async def migrate_together(conn: db.Connection) -> int:
        barrier.wait()  # blocks this worker's own event loop, as a process starting would
        return await db.migrate(conn)

    def start_worker() -> None:
        try:
            versions.append(db.run_on_connection(database_url, migrate_together))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=start_worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    dialect_migrations = db.migrations(db.dialect_of(database_url))
    assert versions == [max(v for v, _ in dialect_migrations)] * 4
    assert query(database_url, "SELECT COUNT(*) FROM schema_migrations") == [(len(dialect_migrations),)]


def test_nul_characters_never_reach_the_store(client: TestClient[Litestar], keys: dict[str, str]) -> None:
    """PostgreSQL text cannot hold NUL: reasons with one are refused alike on both stores, and a
    cursor holding one still means a place in the order."""
    import base64

    location = "/v1/tracks/istanbul-talks"
    tag = client.get(location).headers["etag"]
    patch = client.patch(location, json={"reason": "bad\u0000reason", "description": "x"},
                         headers={**bearer(keys["write"]), "If-Match": tag})
    assert patch.status_code == 422
    retract = client.delete(f"{location}?reason=bad%00reason", headers=bearer(keys["admin"]))
    assert retract.status_code == 400
    cursor = base64.urlsafe_b64encode(b"2026-06-01\x00\x1frnd_0").decode().rstrip("=")
    page = client.get(f"/v1/rounds?cursor={cursor}")
    assert page.status_code == 200
    assert all(item["date"] >= "2026-06-01" for item in page.json()["items"])

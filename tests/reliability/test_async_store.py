"""On PostgreSQL a worker keeps serving while one of its requests waits on the database.

Requests borrow pooled connections from psycopg's async API, so a write stuck behind another
transaction's lock holds one connection, not the worker's event loop. With a blocking driver the
read below would wait for the write.
"""

import threading

import httpx
import psycopg
import pytest
from helpers import backend, bearer, running_server

from api import db

STATEMENT = {"actor": "peskov", "kind": "assessment", "date": "2026-06-09", "sources": ["brief-2026-06-07"]}


@pytest.mark.skipif(backend() != "postgresql", reason="SQLite calls run on the event loop by design (README)")
def test_reads_are_served_while_a_write_waits_on_a_lock(seeded_url: str, keys: dict[str, str]) -> None:
    with running_server(seeded_url, workers=1) as server:
        answers: list[httpx.Response] = []
        with psycopg.connect(seeded_url, autocommit=True) as outside:
            # Another writer (a process elsewhere) holds the store's write lock.
            outside.execute("BEGIN")
            outside.execute("SELECT pg_advisory_xact_lock(%s)", (db.WRITE_LOCK,))
            write = threading.Thread(target=lambda: answers.append(httpx.post(
                f"{server.url}/v1/statements", json=STATEMENT, headers=bearer(keys["write"]), timeout=30)))
            write.start()
            assert wait_until_waiting_on_the_lock(outside), "the write never reached the lock"
            # The same worker answers reads meanwhile, many of them, promptly.
            for _ in range(20):
                assert httpx.get(f"{server.url}/v1/rounds?limit=5", timeout=5).status_code == 200
            assert write.is_alive() and not answers  # ...while the write is still waiting
            outside.execute("COMMIT")
        write.join(timeout=30)
        assert [a.status_code for a in answers] == [201]


def wait_until_waiting_on_the_lock(conn: psycopg.Connection, attempts: int = 100) -> bool:
    """True once another session waits for the advisory lock (polls pg_locks)."""
    for _ in range(attempts):
        row = conn.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
        if row is not None and row[0] > 0:
            return True
        threading.Event().wait(0.05)
    return False

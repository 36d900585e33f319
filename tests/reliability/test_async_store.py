"""A worker keeps serving while one of its writes waits for the store's write lock.

On PostgreSQL requests borrow pooled connections from psycopg's async API; on SQLite a writer
waits for the file lock in short non-blocking attempts with async sleeps between them, while
reads go on through the process's other connections. Either way a write stuck behind another
transaction holds one connection, not the worker's event loop: with a blocking wait the reads
below would wait for the write and time out.
"""

import threading
import time

import httpx
from helpers import bearer, running_server, write_lock_held_elsewhere

STATEMENT = {"actor": "peskov", "kind": "assessment", "date": "2026-06-09", "sources": ["brief-2026-06-07"]}


def test_reads_are_served_while_a_write_waits_for_the_lock(seeded_url: str, keys: dict[str, str]) -> None:
    with running_server(seeded_url, workers=1) as server:
        answers: list[httpx.Response] = []
        with write_lock_held_elsewhere(seeded_url):
            write = threading.Thread(target=lambda: answers.append(httpx.post(
                f"{server.url}/v1/statements", json=STATEMENT, headers=bearer(keys["write"]), timeout=30)))
            write.start()
            time.sleep(0.5)  # the POST reaches the lock
            # The same worker answers reads meanwhile, many of them, promptly...
            for _ in range(20):
                assert httpx.get(f"{server.url}/v1/rounds?limit=5", timeout=5).status_code == 200
            assert write.is_alive() and not answers  # ...while the write is still waiting
        write.join(timeout=30)
        assert [a.status_code for a in answers] == [201]

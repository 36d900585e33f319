"""Kill the server with SIGKILL in the middle of concurrent writes, several times over.

Every write the server acknowledged (a 201 reached the client) must survive, exactly once;
retrying any request with its Idempotency-Key must replay or complete it, never duplicate it;
and SQLite must pass its integrity check.
"""

import random
import threading
import time
from dataclasses import dataclass, field

import httpx
import msgspec
from helpers import ServerProcess, bearer, query

from api.idempotency import LEASE

CYCLES = 5
WRITERS = 6
RUN_SECONDS = (0.6, 1.6)


@dataclass
class Ledger:
    """What clients saw: keys acknowledged with their Location, and keys sent without an answer."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    unanswered: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def body(idempotency_key: str) -> dict[str, object]:
    # No external_id: nothing but the Idempotency-Key stops a retry from writing a duplicate.
    return {"actor": "peskov", "kind": "assessment", "date": "2026-06-08", "sources": ["brief-2026-06-07"],
            "summary": f"crash test {idempotency_key}"}


def writer(server_url: str, token: str, prefix: str, ledger: Ledger, stop: threading.Event) -> None:
    with httpx.Client(base_url=server_url, timeout=5) as client:
        n = 0
        while not stop.is_set():
            key = f"{prefix}-{n}"
            n += 1
            try:
                response = client.post("/v1/statements", json=body(key),
                                       headers={**bearer(token), "Idempotency-Key": key})
            except httpx.TransportError:
                with ledger.lock:
                    ledger.unanswered.add(key)
                return
            assert response.status_code == 201, response.text
            with ledger.lock:
                ledger.acknowledged[key] = response.headers["location"]


def stored_summaries(database_url: str) -> list[str]:
    bodies = query(database_url, "SELECT body FROM records WHERE collection = 'statement'")
    summaries = [msgspec.json.decode(body).get("summary") or "" for (body,) in bodies]
    return [summary for summary in summaries if summary.startswith("crash test ")]


def test_acknowledged_writes_survive_sigkill(seeded_url: str, keys: dict[str, str]) -> None:
    ledger = Ledger()
    rng = random.Random(20260607)
    server = ServerProcess(seeded_url, workers=2)
    for cycle in range(CYCLES):
        server.start()
        stop = threading.Event()
        threads = [
            threading.Thread(target=writer, args=(server.url, keys["write"], f"c{cycle}w{w}", ledger, stop))
            for w in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(*RUN_SECONDS))
        server.kill()  # mid-stream: writers are blocked in requests right now
        stop.set()
        for thread in threads:
            thread.join()

    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            summaries = stored_summaries(seeded_url)
            for key, location in ledger.acknowledged.items():
                assert summaries.count(f"crash test {key}") == 1, key
                assert client.get(location).status_code == 200
            # A retry of an acknowledged request replays it: same record, nothing new.
            for key, location in list(ledger.acknowledged.items())[:50]:
                retry = client.post("/v1/statements", json=body(key),
                                    headers={**bearer(keys["write"]), "Idempotency-Key": key})
                assert retry.status_code == 201 and retry.headers["location"] == location
            # A retry of an unanswered request either replays the write that did commit or makes it now.
            # Its killed first attempt may hold a lease: 409 until it expires, as a client would see.
            for key in ledger.unanswered:
                deadline = time.monotonic() + LEASE.total_seconds() + 5
                while True:
                    retry = client.post("/v1/statements", json=body(key),
                                        headers={**bearer(keys["write"]), "Idempotency-Key": key})
                    if retry.status_code != 409 or time.monotonic() > deadline:
                        break
                    time.sleep(0.25)
                assert retry.status_code == 201
            summaries = stored_summaries(seeded_url)
            for key in [*ledger.acknowledged, *ledger.unanswered]:
                assert summaries.count(f"crash test {key}") == 1, key
    finally:
        server.kill()

    if seeded_url.startswith("sqlite"):
        assert query(seeded_url, "PRAGMA integrity_check")[0][0] == "ok"
    print(f"crash test: {CYCLES} SIGKILL cycles, {len(ledger.acknowledged)} acknowledged writes, "
          f"{len(ledger.unanswered)} unanswered and retried")
    assert len(ledger.acknowledged) > CYCLES * WRITERS  # the load really ran

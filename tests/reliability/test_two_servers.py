"""Two separate `parley serve` processes on one database (scale-out): conflicting corrections and
concurrent creates go through both at once.

- If-Match holds across processes: of the corrections sent with one ETag, exactly one wins.
- Nothing is lost: every acknowledged create and correction is in the store and in the feed.
- The change feed stays gap-free and ordered: a mirror that polls `/v1/changes` *while* the
  writes happen ends up with exactly the feed read afterwards, in strictly increasing `seq`.
"""

import itertools
import threading
from typing import Any

import httpx
from helpers import bearer, running_server

ROUNDS = 3  # rounds of conflicting corrections
CONFLICTING = 16  # corrections per round, half through each server
CREATES = 24  # concurrent creates, half through each server
TRACK = "/v1/tracks/istanbul-talks"


def follow(server_url: str, cursor_link: str, stop: threading.Event, seen: list[dict[str, Any]]) -> str:
    """Poll the feed from `cursor_link` until `stop` is set and the feed is drained; returns `next`."""
    with httpx.Client(base_url=server_url, timeout=30) as client:
        link = cursor_link
        while True:
            # Read before the request: an empty page answered before the last commits must not
            # end the mirror just because `stop` was set while it was in flight.
            stopping = stop.is_set()
            page = client.get(link).json()
            seen.extend(page["items"])
            link = page["next"]
            if not page["items"] and stopping:
                return link


def test_two_servers_keep_if_match_the_feed_and_every_write(seeded_url: str, keys: dict[str, str]) -> None:
    writer = bearer(keys["write"])
    with running_server(seeded_url) as one, running_server(seeded_url) as two:
        servers = [one.url, two.url]
        start = httpx.get(f"{one.url}/v1/changes?limit=500").json()
        # Drain to the end of the seeded feed first; the mirror starts from there.
        before: list[dict[str, Any]] = list(start["items"])
        link = start["next"]
        while True:
            page = httpx.get(one.url + link).json()
            if not page["items"]:
                break
            before.extend(page["items"])
            link = page["next"]

        mirrored: list[dict[str, Any]] = []
        stop = threading.Event()
        mirror = threading.Thread(target=lambda: follow(two.url, link, stop, mirrored))
        mirror.start()

        winners: list[str] = []
        acknowledged: dict[str, int] = {}  # location -> revision acknowledged
        lock = threading.Lock()

        def correct(server: str, tag: str, attempt: int, barrier: threading.Barrier, out: list[int]) -> None:
            with httpx.Client(base_url=server, timeout=30) as client:
                barrier.wait()
                response = client.patch(TRACK, json={"reason": f"two servers {attempt}",
                                                     "description": f"Version {attempt}."},
                                        headers={**writer, "If-Match": tag})
            with lock:
                out.append(response.status_code)
                if response.status_code == 200:
                    winners.append(response.json()["description"])

        def create(server: str, n: int, barrier: threading.Barrier) -> None:
            with httpx.Client(base_url=server, timeout=30) as client:
                barrier.wait()
                response = client.post("/v1/statements", headers={**writer, "Idempotency-Key": f"two-{n}"}, json={
                    "actor": "peskov", "kind": "assessment", "date": "2026-06-09",
                    "sources": ["brief-2026-06-07"], "summary": f"two servers {n}"})
            assert response.status_code == 201, response.text
            with lock:
                acknowledged[response.headers["location"]] = 1

        counter = itertools.count()
        for _ in range(ROUNDS):
            tag = httpx.get(one.url + TRACK).headers["etag"]
            statuses: list[int] = []
            barrier = threading.Barrier(CONFLICTING + CREATES // ROUNDS)
            threads = [threading.Thread(target=correct, args=(servers[i % 2], tag, next(counter), barrier, statuses))
                       for i in range(CONFLICTING)]
            threads += [threading.Thread(target=create, args=(servers[i % 2], next(counter), barrier))
                        for i in range(CREATES // ROUNDS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(statuses) == [200] + [412] * (CONFLICTING - 1)

        stop.set()
        mirror.join(timeout=60)
        assert not mirror.is_alive()

        # The whole feed, read afresh after the writes, through the other server.
        feed: list[dict[str, Any]] = []
        link = "/v1/changes?limit=500"
        while True:
            page = httpx.get(one.url + link).json()
            if not page["items"]:
                break
            feed.extend(page["items"])
            link = page["next"]

        seqs = [item["seq"] for item in feed]
        assert seqs == sorted(set(seqs))  # strictly increasing
        # Gap-free for mirrors: what was polled during the writes is exactly what followed.
        assert feed == before + mirrored

        new = feed[len(before):]
        corrections = [item for item in new if item["id"] == "istanbul-talks"]
        assert [item["operation"] for item in corrections] == ["correct"] * ROUNDS
        assert [item["record"]["description"] for item in corrections] == winners
        assert [item["revision"] for item in corrections] == sorted(item["revision"] for item in corrections)
        created = {f"/v1/statements/{item['id']}" for item in new if item["operation"] == "create"}
        assert created == set(acknowledged) and len(acknowledged) == CREATES // ROUNDS * ROUNDS

        # Nothing lost, and both servers serve the same current state.
        for server in servers:
            assert httpx.get(server + TRACK).json()["description"] == winners[-1]
            for location in acknowledged:
                assert httpx.get(server + location).status_code == 200

        # Each process caches forecasts per store revision (MAX(revisions.seq)), so both answer alike.
        forecast = "/v1/forecasts/tracks/istanbul-talks?as_of=2026-06-07&horizon=4"
        answers = [httpx.get(server + forecast, timeout=60) for server in servers]
        assert answers[0].status_code == 200 and answers[0].content == answers[1].content

"""Fifty analysts correct the same version at once: exactly one wins, the rest get 412."""

import threading

import httpx
from helpers import bearer, running_server

ATTEMPTS = 50


def test_concurrent_corrections_with_one_etag_let_exactly_one_through(seeded_url: str,
                                                                      keys: dict[str, str]) -> None:
    with running_server(seeded_url, workers=2) as server:
        location = "/v1/tracks/istanbul-talks"
        tag = httpx.get(server.url + location).headers["etag"]
        barrier = threading.Barrier(ATTEMPTS)
        statuses: list[int] = []
        lock = threading.Lock()

        def correct(attempt: int) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                barrier.wait()
                response = client.patch(
                    location, json={"reason": f"correction {attempt}", "description": f"Version {attempt}."},
                    headers={**bearer(keys["write"]), "If-Match": tag},
                )
            with lock:
                statuses.append(response.status_code)

        threads = [threading.Thread(target=correct, args=(i,)) for i in range(ATTEMPTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(statuses) == [200] + [412] * (ATTEMPTS - 1)
        history = httpx.get(f"{server.url}{location}/revisions").json()["items"]
        assert [h["operation"] for h in history] == ["create", "correct"]
        assert httpx.get(server.url + location).json()["description"] == history[-1]["record"]["description"]

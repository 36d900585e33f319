"""`parley serve` as a user starts it (`make run`): a fresh store, real worker processes.

A server once hung on its first CSV export after seeding an empty store: the seeding ran
polars in the process that then forked granian's workers, and polars' thread pool does not
survive a fork. Restarting on a seeded store hid it, so these tests start from an empty one.
"""

import httpx
import pytest
from helpers import ServerProcess, parley, running_server

# Every export format, one page and whole results, the front intensity series, a cold forecast,
# the model card and the backtest: everything that reaches polars or BLAS in a worker.
POLARS_PATHS = [
    "/v1/rounds?format=csv",
    "/v1/rounds?format=parquet",
    "/v1/rounds?format=ndjson",
    "/v1/rounds?format=json",
    "/v1/timeline?format=csv&all=true",
    "/v1/rounds?format=parquet&all=true",
    "/v1/rounds?format=ndjson&all=true",
    "/v1/rounds?all=true",
    "/v1/fronts/zaporizhzhia/intensity",
    "/v1/forecasts/tracks/istanbul-talks?as_of=2026-06-07",
]
SLOW_PATHS = ["/v1/forecasts/model?as_of=2026-06-07", "/v1/forecasts/backtest"]
# With two workers the kernel spreads new connections between them; this many tries of each
# path miss one worker with probability 2 × 2⁻⁶ per path.
TRIES_PER_WORKER = {1: 1, 2: 6}
SHUTDOWN_TIMEOUT = 5


def get(server: ServerProcess, path: str, timeout: float) -> httpx.Response:
    # A new connection per request, so that requests reach every worker.
    try:
        return httpx.get(server.url + path, timeout=timeout)
    except httpx.TimeoutException:
        pytest.fail(f"{path} did not answer within {timeout:g} s; server output:\n{server.output()}")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_fresh_store_answers_every_format_and_forecast_and_stops_on_sigterm(database_url: str, workers: int) -> None:
    server = ServerProcess(database_url, workers, env={"PARLEY_SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT)})
    server.start()
    try:
        assert "seeded" in server.output()
        for path in POLARS_PATHS * TRIES_PER_WORKER[workers]:
            response = get(server, path, timeout=30)
            assert response.status_code == 200, (path, response.text)
        for path in SLOW_PATHS:
            response = get(server, path, timeout=240)
            assert response.status_code == 200, (path, response.text)
        assert get(server, "/health", timeout=10).status_code == 200
        # Graceful shutdown finishes within the configured bound (plus start-up slack).
        assert server.terminate(timeout=SHUTDOWN_TIMEOUT + 15) == 0, server.output()
    finally:
        server.kill()


def test_serve_refuses_a_port_another_server_listens_on(seeded_url: str) -> None:
    with running_server(seeded_url) as first:
        second = parley("serve", "--host", "127.0.0.1", "--port", str(first.port),
                        env={"PARLEY_DATABASE_URL": seeded_url}, timeout=60)
        assert second.returncode != 0
        assert "already in use" in second.stderr
        assert httpx.get(f"{first.url}/health", timeout=10).status_code == 200


def test_a_handler_past_its_time_limit_is_a_503_problem_and_the_server_goes_on(seeded_url: str) -> None:
    # A cold backtest refits the model at every origin: far longer than 50 ms.
    with running_server(seeded_url, env={"PARLEY_BACKTEST_TIMEOUT": "0.05"}) as server:
        response = httpx.get(f"{server.url}/v1/forecasts/backtest", timeout=60)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"].isdigit()
        assert "0.05 s limit" in response.json()["detail"]
        # The default limit still applies elsewhere, and the worker is free.
        assert httpx.get(f"{server.url}/v1/rounds?format=csv", timeout=10).status_code == 200
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200

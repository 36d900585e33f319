"""The request time limit: a 503 problem before the response starts, an abort after it."""

import asyncio

import pytest
from litestar.testing import TestClient
from litestar.types import Message, Receive, Scope, Send

from api.app import create_app
from api.settings import Settings
from api.timeouts import DEFAULT, RequestTimeoutMiddleware, ResponseStalled


def test_a_cold_forecast_past_the_default_limit_is_a_503_problem(seeded_url: str) -> None:
    # Loading the records and fitting the model takes far longer than 10 ms.
    app = create_app(Settings(database_url=seeded_url, request_timeout=0.01))
    with TestClient(app) as client:
        response = client.get("/v1/forecasts/tracks/istanbul-talks?as_of=2026-06-07")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith("The request took longer than its 0.01 s limit")


async def stalling_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """An ASGI app whose stream stops after its first chunk."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"id,date\n", "more_body": True})
    await asyncio.sleep(60)


async def slow_client(sent: list[Message]) -> Send:
    async def send(message: Message) -> None:
        await asyncio.sleep(0.2)  # longer than the limit, but it is the client that is slow
        sent.append(message)

    return send


async def receive() -> Message:
    return {"type": "http.disconnect"}


@pytest.mark.anyio
async def test_a_stream_that_stalls_is_aborted_and_never_looks_complete() -> None:
    middleware = RequestTimeoutMiddleware({DEFAULT: 0.1})
    sent: list[Message] = []
    with pytest.raises(ResponseStalled):
        await middleware.handle({"type": "http"}, receive, await slow_client(sent), stalling_stream)  # type: ignore[arg-type]
    # Both chunks reached the client despite its slowness, and no final empty chunk was sent.
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[-1]["more_body"] is True

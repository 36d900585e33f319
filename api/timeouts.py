"""No request waits forever: a time limit on every handler, and a 503 problem when it runs out.

The limit covers the time to the response's first byte. A streamed response (`all=true`
exports) may take longer in all, but each of its chunks must follow the last within the same
limit; time spent waiting for a slow client to take a chunk does not count. When the limit runs
out before the response started, the client gets a 503 problem with `Retry-After`; after it
started, the connection is aborted rather than ended, so a cut-off export never looks complete.

Handlers that are slow by nature (the backtest) name a longer limit in their `opt`:
`opt={TIMEOUT_OPT: "backtest"}`.
"""

import asyncio
from collections.abc import Mapping

from litestar.middleware import ASGIMiddleware
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.db import RETRY_AFTER_SECONDS
from api.problems import problem

# The route handler `opt` key naming which limit applies; absent means the default one.
TIMEOUT_OPT = "parley_timeout"
DEFAULT = "default"


class ResponseStalled(Exception):
    """A started response stopped producing chunks for longer than its limit."""


class RequestTimeoutMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, limits: Mapping[str, float]) -> None:
        self.limits = dict(limits)

    def limit_for(self, scope: Scope) -> float:
        handler = scope.get("route_handler")
        name = handler.opt.get(TIMEOUT_OPT, DEFAULT) if handler is not None else DEFAULT
        return self.limits.get(name, self.limits[DEFAULT])

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        limit = self.limit_for(scope)
        loop = asyncio.get_running_loop()
        started = False

        deadline = asyncio.timeout(limit)

        async def timed_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            deadline.reschedule(None)  # a slow client is not a slow handler
            await send(message)
            deadline.reschedule(loop.time() + limit)

        try:
            async with deadline:
                await next_app(scope, receive, timed_send)
        except TimeoutError:
            # Ours only when this deadline expired; any other TimeoutError passes through as it was.
            if deadline.expired():
                raise self.timed_out(limit, started) from None
            raise

    @staticmethod
    def timed_out(limit: float, started: bool) -> Exception:
        if started:
            return ResponseStalled(f"the response produced nothing for {limit:g} s")
        error = problem(503, f"The request took longer than its {limit:g} s limit; retry shortly (a slow "
                             "computation goes on and is cached, so a retry may be quicker).")
        error.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return error

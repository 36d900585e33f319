"""`Cache-Control` on reads: what may be cached and what must be revalidated.

- A read `as_of` a past day, and a record's revision list, may be cached for a few minutes: they
  change only when someone records (or corrects) something reported before that day, or appends
  a revision.
- Every other read depends on today or on the latest writes (a track's `status` is derived as of
  today; lists show the latest corrections), so caches must revalidate it (`no-cache`).

No `public`: when a deployment makes reads need a key, shared caches must not keep one client's
answer for another. Writes and errors say nothing beyond `no-cache` on GET.
"""

import datetime as dt
from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE_SECONDS = 300
CACHEABLE = f"max-age={CACHEABLE_SECONDS}"
REVALIDATE = "no-cache"
# A handler that sets this in its `opt` serves what only grows by appending (revision lists).
APPEND_ONLY_OPT = "append_only"


def _past_as_of(scope: Scope) -> bool:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("as_of", [])
    try:
        return len(values) == 1 and dt.date.fromisoformat(values[0]) < dt.datetime.now(dt.UTC).date()
    except ValueError:
        return False


def policy(scope: Scope, status: int) -> str:
    """The Cache-Control of a GET answered with `status`."""
    if status not in (200, 304):
        return REVALIDATE
    handler = scope.get("route_handler")
    if (handler is not None and handler.opt.get(APPEND_ONLY_OPT) is True) or _past_as_of(scope):
        return CACHEABLE
    return REVALIDATE


class CacheControlMiddleware(ASGIMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await next_app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders(message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = policy(scope, message["status"])
            await send(message)

        await next_app(scope, receive, send_with_policy)

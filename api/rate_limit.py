"""Litestar's rate limiter, plus the `Retry-After` header that RFC 6585 asks of a 429.

`Retry-After` goes on the 429 only: Litestar adds the rate-limit headers to every response,
and a `Retry-After` there would overwrite the one a 503 carries (a write that kept meeting
conflicts) and mean nothing on a 200.

The counters live in this process's memory: with N workers each counts on its own (README,
"Deployment").
"""

from time import time

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.rate_limit import CacheObject, RateLimitConfig, RateLimitMiddleware
from litestar.types import Message, Send


class RetryAfterRateLimitMiddleware(RateLimitMiddleware):
    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        headers["Retry-After"] = str(max(1, cache_object.reset - int(time())))
        return headers

    def create_send_wrapper(self, send: Send, cache_object: CacheObject) -> Send:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableScopeHeaders(message)
                for key, value in RateLimitMiddleware.create_response_headers(self, cache_object).items():
                    headers[key] = value
            await send(message)

        return send_wrapper


def rate_limit_header_docs(config: RateLimitConfig) -> dict[str, tuple[str, bool]]:
    """The headers Litestar's limiter adds to every response: name -> (description, is an integer)."""
    return {
        config.rate_limit_policy_header_key: ("The quota and its window in seconds, e.g. `600; w=60`.", False),
        config.rate_limit_limit_header_key: ("Requests allowed per window.", True),
        config.rate_limit_remaining_header_key: ("Requests left in the current window.", True),
        config.rate_limit_reset_header_key: ("Seconds until the window resets.", True),
    }

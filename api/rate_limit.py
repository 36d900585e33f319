"""Litestar's rate limiter, plus the `Retry-After` header that RFC 6585 asks of a 429."""

from time import time

from litestar.middleware.rate_limit import CacheObject, RateLimitMiddleware


class RetryAfterRateLimitMiddleware(RateLimitMiddleware):
    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        headers["Retry-After"] = str(max(1, cache_object.reset - int(time())))
        return headers

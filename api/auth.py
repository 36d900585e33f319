"""Bearer-key authentication, scope guards, and the rate-limit identity of a request.

A request's key is verified once, by `ApiKeyMiddleware`, and remembered in its scope state, so
the rate limiter and the guards agree on who is asking. The key itself is never logged or echoed back.
"""

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Headers
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.types import ASGIApp, Receive, Send
from litestar.types import Scope as ASGIScope

from api.keys import ApiKey, KeyRepository, Scope
from api.problems import problem

_STATE_KEY = "parley_api_key"
BEARER = "bearer "


@dataclass(frozen=True, slots=True)
class Refusal:
    """An Authorization header that proves no live key, and what to tell the client."""

    detail: str


class ApiKeyMiddleware(ASGIMiddleware):
    """Verifies a request's bearer key before anything else needs it.

    The check reads the database, so it is awaited here; the rate limiter's identity callback and
    the guards are synchronous and read the verdict from the scope state.
    """

    async def handle(self, scope: ASGIScope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["type"] == "http":
            header = Headers.from_scope(scope).get("authorization")
            scope.setdefault("state", {})[_STATE_KEY] = await verdict(scope["litestar_app"], header)
        await next_app(scope, receive, send)


async def verdict(app: Any, header: str | None) -> ApiKey | Refusal | None:
    """The key an Authorization header proves, a refusal, or None when there is no header."""
    if header is None:
        return None
    if not header.lower().startswith(BEARER):
        return Refusal("Authorization must use the Bearer scheme.")
    async with app.state.store.connection() as conn:
        key = await KeyRepository(conn).verify(header[len(BEARER) :].strip())
    return key if key is not None else Refusal("The API key is not valid or has been revoked.")


def request_key(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey | None:
    """The verified key a request presents; None when it presents none. A bad key is a 401."""
    state = connection.scope.get("state", {})
    if _STATE_KEY not in state:
        # Fail closed: a request that skipped the middleware has no verified key.
        if connection.headers.get("authorization") is not None:
            raise unauthorized("The API key could not be verified.")
        return None
    found = state[_STATE_KEY]
    if isinstance(found, Refusal):
        raise unauthorized(found.detail)
    return found  # type: ignore[no-any-return]


def unauthorized(detail: str) -> Exception:
    error = problem(401, detail)
    error.headers = {"WWW-Authenticate": 'Bearer realm="parley"'}
    return error


def require(scope: Scope) -> Any:
    """A guard: the request must carry a live key whose scope allows `scope`."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        key = request_key(connection)
        if key is None:
            raise unauthorized("This operation needs an API key: `Authorization: Bearer plk_…`.")
        if not key.allows(scope):
            raise problem(403, f"This operation needs a key with the {scope.value!r} scope.")

    return guard


def require_any_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard for reads when the deployment makes reads private."""
    if request_key(connection) is None:
        raise unauthorized("Reads on this deployment need an API key: `Authorization: Bearer plk_…`.")


def rate_limit_identity(request: Request[Any, Any, Any]) -> str:
    """Per key when a valid one is presented, else per peer address.

    The peer is the socket's address: `X-Forwarded-For` is only honoured when the server is
    told to trust a proxy, so a client cannot mint fresh identities by sending the header.
    """
    try:
        key = request_key(request)
    except ProblemDetailsException:  # a bad key is refused later by the guard; throttle it by address
        key = None
    if key is not None:
        return f"key:{key.id}"
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in request.app.state.settings.trusted_proxies:
        # The proxy appends the address it saw; anything before that is client-supplied.
        peer = forwarded.split(",")[-1].strip() or peer
    return f"peer:{peer}"

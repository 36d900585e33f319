"""Bearer-key authentication, scope guards, and the rate-limit identity of a request.

A request's key is verified once and remembered in its scope state, so the rate limiter and
the guards agree on who is asking. The key itself is never logged or echoed back.
"""

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.plugins.problem_details import ProblemDetailsException

from api.keys import ApiKey, KeyRepository, Scope
from api.problems import problem

_STATE_KEY = "parley_api_key"
_UNSET = object()
BEARER = "bearer "


def request_key(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiKey | None:
    """The verified key a request presents; None when it presents none. A bad key is a 401."""
    state = connection.scope.setdefault("state", {})
    cached = state.get(_STATE_KEY, _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    header = connection.headers.get("authorization")
    key: ApiKey | None = None
    if header is not None:
        if not header.lower().startswith(BEARER):
            raise unauthorized("Authorization must use the Bearer scheme.")
        keys: KeyRepository = connection.app.state.api_keys
        key = keys.verify(header[len(BEARER) :].strip())
        if key is None:
            raise unauthorized("The API key is not valid or has been revoked.")
    state[_STATE_KEY] = key
    return key


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

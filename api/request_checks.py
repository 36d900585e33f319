"""Checks every request passes before its parameters are parsed.

- Query parameters an operation does not declare, or single-valued ones sent twice, are a 400:
  Litestar validates the parameters a handler declares, but a misspelt filter (`?trak=…`)
  would otherwise be dropped silently and the client would get unfiltered data.
- A body that is not declared as JSON is a 415 before anyone tries to decode it.
"""

from typing import Any

from litestar import Request
from litestar.enums import ParamType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg

from api.problems import problem

_declared: dict[int, tuple[frozenset[str], frozenset[str]]] = {}


def declared_query(handler: HTTPRouteHandler) -> tuple[frozenset[str], frozenset[str]]:
    """(all query names, names that may repeat) of a handler, read once from its signature."""
    key = id(handler)
    if key not in _declared:
        names, repeatable = set(), set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            kwarg = field.kwarg_definition
            if not isinstance(kwarg, ParameterKwarg) or kwarg.param_type is not ParamType.QUERY:
                continue
            alias = kwarg.name or name
            names.add(alias)
            if field.is_non_string_sequence or (field.is_optional and any(
                a.is_non_string_sequence for a in field.inner_types
            )):
                repeatable.add(alias)
        _declared[key] = (frozenset(names), frozenset(repeatable))
    return _declared[key]


JSON_MEDIA_TYPES = frozenset({"application/json", "application/merge-patch+json"})


async def check_request(request: Request[Any, Any, Any]) -> None:
    """The app's `before_request` hook (Litestar runs only the innermost one, so there is one)."""
    handler: HTTPRouteHandler = request.route_handler  # type: ignore[assignment]
    if "data" in handler.parsed_fn_signature.parameters:
        media_type = request.content_type[0]
        if media_type not in JSON_MEDIA_TYPES:
            raise problem(415, f"Send the body as application/json, not {media_type or 'no Content-Type'!r}.")
    if request.query_params:
        reject_undeclared_query(request, handler)


def reject_undeclared_query(request: Request[Any, Any, Any], handler: HTTPRouteHandler) -> None:
    """400 for unknown or repeated single-valued query parameters."""
    names, repeatable = declared_query(handler)
    errors = []
    for key in request.query_params:
        if key not in names:
            errors.append({"key": key, "source": "query", "message": "unknown query parameter"})
        elif key not in repeatable and len(request.query_params.getall(key)) > 1:
            errors.append({"key": key, "source": "query", "message": "given more than once"})
    if errors:
        raise ValidationException(detail="Invalid query parameters.", extra=errors)

"""Reject query parameters an operation does not declare, or sends twice, instead of ignoring them.

Litestar validates the parameters a handler declares; a misspelt filter (`?trak=…`) would
otherwise be dropped silently and the client would get unfiltered data.
"""

from typing import Any

from litestar import Request
from litestar.enums import ParamType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg

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


async def reject_undeclared_query(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: 400 for unknown or repeated single-valued query parameters."""
    if not request.query_params:
        return
    names, repeatable = declared_query(request.route_handler)  # type: ignore[arg-type]
    errors = []
    for key in request.query_params:
        if key not in names:
            errors.append({"key": key, "source": "query", "message": "unknown query parameter"})
        elif key not in repeatable and len(request.query_params.getall(key)) > 1:
            errors.append({"key": key, "source": "query", "message": "given more than once"})
    if errors:
        raise ValidationException(detail="Invalid query parameters.", extra=errors)

"""Checks every request passes before its parameters are parsed.

- Query parameters an operation does not declare, or single-valued ones sent twice, are a 400:
  Litestar validates the parameters a handler declares, but a misspelt filter (`?trak=…`)
  would otherwise be dropped silently and the client would get unfiltered data.
- A body that is not declared as JSON is a 415 before anyone tries to decode it.
"""

from typing import Any, NamedTuple

from litestar import Request
from litestar.enums import ParamType
from litestar.exceptions import ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg

from api.problems import problem


class DeclaredQuery(NamedTuple):
    names: frozenset[str]
    repeatable: frozenset[str]  # list-typed: `?kind=round&kind=exchange`
    typed: frozenset[str]  # not plain strings: lax parsing would read `null` as "absent"


# Kept in the handler's own `opt` mapping: a cache keyed by id(handler) could answer for another
# app's handler that reused a collected handler's id.
_OPT_KEY = "parley_declared_query"


def declared_query(handler: HTTPRouteHandler) -> DeclaredQuery:
    """The query parameters a handler declares, read once from its signature."""
    cached = handler.opt.get(_OPT_KEY)
    if cached is None:
        names, repeatable, typed = set(), set(), set()
        # Injected services (`reads: NamedDependency[...]`) come through as query-typed kwargs too.
        dependencies = handler.resolve_dependencies()
        for name, field in handler.parsed_fn_signature.parameters.items():
            kwarg = field.kwarg_definition
            if not isinstance(kwarg, ParameterKwarg) or kwarg.param_type is not ParamType.QUERY or name in dependencies:
                continue
            alias = kwarg.name or name
            names.add(alias)
            inner = [a for a in field.inner_types if not a.is_none_type] if field.is_optional else [field]
            if any(a.is_non_string_sequence for a in inner):
                repeatable.add(alias)
            if not all(a.annotation is str for a in inner):
                typed.add(alias)
        cached = handler.opt[_OPT_KEY] = DeclaredQuery(frozenset(names), frozenset(repeatable), frozenset(typed))
    return cached


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
    declared = declared_query(handler)
    errors = []
    for key in request.query_params:
        values = request.query_params.getall(key)
        if key not in declared.names:
            errors.append({"key": key, "source": "query", "message": "unknown query parameter"})
        elif key not in declared.repeatable and len(values) > 1:
            errors.append({"key": key, "source": "query", "message": "given more than once"})
        elif key in declared.typed and "null" in values:
            # msgspec's lax conversion turns "null" into None, which would drop the filter.
            errors.append({"key": key, "source": "query", "message": "`null` is not a value; leave the parameter out"})
    if errors:
        raise ValidationException(detail="Invalid query parameters.", extra=errors)

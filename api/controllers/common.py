"""What every controller shares: the JSON response wrapper and the id path parameters."""

from typing import Annotated, Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.openapi.spec import Example
from litestar.params import PathParameter

from api.reads import ReadService
from api.store import ListQuery
from schemas.ids import derived_id
from schemas.types import SLUG_PATTERN

LIST_PROBLEMS = (400,)
GET_PROBLEMS = (400, 404)

def slug_path(example: str) -> Any:
    """The path parameter of a reference collection; the example is a seeded record's id."""
    return Annotated[
        str,
        PathParameter(pattern=SLUG_PATTERN, max_length=64, description="The record's slug id.",
                      examples=[Example(value=example)]),
    ]


def event_id_path(prefix: str, example_external_id: str) -> Any:
    """The path parameter of an event collection: its prefix and 16 hex digits.

    The example is the id of a seeded brief record, so documentation readers (and the contract
    tests' examples phase) get a lookup that exists.
    """
    return Annotated[
        str,
        PathParameter(pattern=rf"^{prefix}_[0-9a-f]{{16}}$", description="The record's id.",
                      examples=[Example(value=derived_id(prefix, example_external_id))]),
    ]


def json_response(body: bytes) -> Response[Any]:
    """Wrap already-encoded JSON; the handler's annotation documents its schema."""
    return Response(content=body, media_type=MediaType.JSON)


def list_response(service: ReadService, request: Request[Any, Any, Any], query: ListQuery, cursor: str | None) -> Response[Any]:
    return json_response(service.list_page(query, cursor, request.url.path, request.query_params.multi_items()))

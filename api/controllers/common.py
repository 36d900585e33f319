"""What every controller shares: the JSON response wrapper and the id path parameters."""

from typing import Annotated, Any

from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import HeaderParameter, PathParameter

from api.conditional import etag, if_none_match_holds
from api.exports import TIMELINE_TYPES, ExportFormat, list_export
from api.reads import ReadService
from api.store import ListQuery
from schemas import ids
from schemas.ids import derived_id
from schemas.types import SLUG_PATTERN
from schemas.vocab import TrackStatus

# 429: every operation is rate-limited.
# 503: the store stayed busy (PostgreSQL: no free connection in time).
LIST_PROBLEMS = (400, 429, 503)
GET_PROBLEMS = (400, 404, 429, 503)

# Response headers, declared on the operations that send them (documentation only: the handlers
# set them on each response).
ETAG_HEADER = ResponseHeader(
    name="ETag", documentation_only=True, required=True,
    description="Strong entity tag of this version of the record: send it as If-None-Match to revalidate, "
                "or as If-Match to correct or retract exactly this version.",
)
LOCATION_HEADER = ResponseHeader(
    name="Location", documentation_only=True, required=True, description="The URL of the record written.",
)
LINK_HEADER = ResponseHeader(
    name="Link", documentation_only=True, required=False,
    description='Outside JSON, the next page as `<…>; rel="next"` (RFC 8288); absent on the last page.',
)
RECORD_HEADERS = [ETAG_HEADER]
LIST_HEADERS = [LINK_HEADER]

def slug_path(name: str, example: str) -> Any:
    """The path parameter of a reference collection; the example is a seeded record's id."""
    return Annotated[
        str,
        PathParameter(name=name, pattern=SLUG_PATTERN, max_length=64, description="The record's slug id.",
                      examples=[Example(value=example)]),
    ]


def event_id_path(name: str, prefix: str, example_external_id: str) -> Any:
    """The path parameter of an event collection: its prefix and 16 hex digits.

    The example is the id of a seeded brief record, so documentation readers (and the contract
    tests' examples phase) get a lookup that exists.
    """
    return Annotated[
        str,
        PathParameter(name=name, pattern=rf"^{prefix}_[0-9a-f]{{16}}$", description="The record's id.",
                      examples=[Example(value=derived_id(prefix, example_external_id))]),
    ]


def json_response(body: bytes) -> Response[Any]:
    """Wrap already-encoded JSON; the handler's annotation documents its schema."""
    return Response(content=body, media_type=MediaType.JSON)


IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(name="If-None-Match", max_length=1024,
                    description="An ETag from an earlier read: 304 Not Modified if the record is unchanged."),
]


def record_response(body: bytes, if_none_match: str | None, status_code: int = 200) -> Response[Any]:
    """One record with its strong ETag; 304 when the client's copy is current."""
    tag = etag(body)
    if if_none_match is not None and if_none_match_holds(if_none_match, tag):
        return Response(content=b"", status_code=304, headers={"ETag": tag})
    return Response(content=body, media_type=MediaType.JSON, status_code=status_code, headers={"ETag": tag})


NOT_MODIFIED = {304: ResponseSpec(data_container=None, description="The client's copy (If-None-Match) is current.")}


async def list_response(
    service: ReadService, request: Request[Any, Any, Any], query: ListQuery, cursor: str | None,
    requested: ExportFormat | None, everything: bool, track_status: TrackStatus | None = None,
) -> Response[Any]:
    """The one way a list operation answers: a page or everything, in the negotiated format."""
    record_types = (query.collection.record_type,) if query.collection else TIMELINE_TYPES
    return await list_export(service, request, query, cursor, requested, everything, record_types, track_status)


# The id path parameter of each collection, named `<kind>_id`; examples are seeded brief records.
ID_PATHS: dict[str, Any] = {
    "actors": slug_path("actor_id", "peskov"),
    "sources": slug_path("source_id", "brief-2026-06-07"),
    "fronts": slug_path("front_id", "zaporizhzhia"),
    "tracks": slug_path("track_id", "istanbul-talks"),
    "rounds": event_id_path("round_id", ids.ROUND_PREFIX, "brief-2026-06-07:istanbul-round-2"),
    "exchanges": event_id_path("exchange_id", ids.EXCHANGE_PREFIX, "brief-2026-06-07:istanbul-round-2-pow-swap"),
    "statements": event_id_path("statement_id", ids.STATEMENT_PREFIX, "brief-2026-06-07:peskov-come-to-moscow"),
    "front-reports": event_id_path(
        "front_report_id", ids.FRONT_REPORT_PREFIX, "brief-2026-06-07:front-zaporizhzhia"
    ),
}

ActorIdPath = ID_PATHS["actors"]
SourceIdPath = ID_PATHS["sources"]
FrontIdPath = ID_PATHS["fronts"]
TrackIdPath = ID_PATHS["tracks"]
RoundIdPath = ID_PATHS["rounds"]
ExchangeIdPath = ID_PATHS["exchanges"]
StatementIdPath = ID_PATHS["statements"]
FrontReportIdPath = ID_PATHS["front-reports"]

"""`/v1/timeline`: every event record as one `kind`-tagged union, in date order."""

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.controllers.common import LIST_HEADERS, LIST_PROBLEMS, list_response
from api.controllers.records import dated_query, filters
from api.params import (
    ActorFilter,
    AsOf,
    Cursor,
    DateFrom,
    DateTo,
    Everything,
    Format,
    FrontFilter,
    Limit,
    TextSearch,
    TrackFilter,
)
from api.problems import problem_responses
from api.reads import ReadService
from schemas.pages import TimelinePage
from schemas.vocab import EventKind


@get("/v1/timeline", operation_id="getTimeline", tags=["timeline"], responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
async def timeline(
    request: Request[Any, Any, Any], reads: NamedDependency[ReadService], track: TrackFilter = None, front: FrontFilter = None,
    actor: ActorFilter = None,
    kind: Annotated[list[EventKind] | None, QueryParameter(description="Only these record kinds; repeat to combine.")] = None,
    q: TextSearch = None,
    from_: DateFrom = None, to: DateTo = None, as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
    export_format: Format = None, all_: Everything = False,
) -> Response[TimelinePage]:
    """Rounds, exchanges, statements and front reports together, in date order."""
    kinds = tuple(dict.fromkeys(k.value for k in kind or ()))
    query = dated_query(None, limit, from_, to, as_of=as_of, actor=actor, kinds=kinds, text=q,
                        equals=filters(track_id=track, front_id=front))
    return await list_response(reads, request, query, cursor, export_format, all_)

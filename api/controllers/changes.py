"""`/v1/changes`: the feed a mirror follows to stay identical to Parley."""

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from api.controllers.common import LIST_PROBLEMS, json_response
from api.params import Cursor, Limit
from api.problems import problem_responses
from api.reads import ReadService
from schemas.writes import ChangePage


@get("/v1/changes", operation_id="listChanges", tags=["changes"], responses=problem_responses(*LIST_PROBLEMS))
async def changes(
    request: Request[Any, Any, Any], reads: NamedDependency[ReadService], limit: Limit = 50, cursor: Cursor = None
) -> Response[ChangePage]:
    """Every create, correction, retraction and restore, in commit order. Apply them in order
    (a `delete` removes the record) and you hold exactly what Parley holds; keep the last
    `next` link to resume."""
    return json_response(await reads.change_page(limit, cursor, request.url.path, request.query_params.multi_items()))

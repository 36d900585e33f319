"""Writes for every collection: create, correct, retract, restore, and each record's history.

The eight collections share one write contract, so their controllers are made by one function
from the registry in `api.collections` rather than written out eight times.
"""

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.spec import Example, SecurityRequirement
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from api.auth import request_key, require
from api.cache_control import APPEND_ONLY_OPT
from api.collections import Collection
from api.controllers.common import ETAG_HEADER, ID_PATHS, LOCATION_HEADER, json_response
from api.keys import Scope
from api.params import Cursor, Limit
from api.problems import (
    ALREADY_EXISTS,
    CROSS_FIELD_RULE,
    IDEMPOTENCY_KEY_IN_FLIGHT,
    IDEMPOTENCY_KEY_REUSED,
    IF_MATCH_REQUIRED,
    NOT_RETRACTED,
    RETRACTED_ID,
    STALE_IF_MATCH,
    UNKNOWN_REFERENCE,
    VALIDATION,
    from_record_error,
    problem_responses,
)
from api.reads import ReadService
from api.writes import WriteResult, WriteService
from schemas.writes import NO_NUL, Retraction, RevisionPage

HttpRequest = Request[Any, Any, Any]
T = TypeVar("T", bound=msgspec.Struct)
SECURITY: list[SecurityRequirement] = [{"apiKey": []}]
# 503: conflicting writes that stayed in conflict after bounded retries, or no free connection.
WRITE_PROBLEMS = (400, 401, 403, 413, 415, 422, 429, 503)
# What a body that matches its schema can still break: the store's state, or a rule across fields.
BODY_RULES = (VALIDATION, UNKNOWN_REFERENCE, CROSS_FIELD_RULE)
WRITTEN_HEADERS = [ETAG_HEADER, LOCATION_HEADER]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name="Idempotency-Key", pattern=r"^[\x21-\x7e]{1,255}$",
                    description="Retrying a POST with the same key replays the first response instead of "
                                "writing twice. Keys are kept for at least 24 hours."),
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", max_length=1024,
                    description="The ETag of the version being retracted; 412 when the record has changed since."),
]
# Documented as required; the handler still sees a missing one, to answer 428 (RFC 6585), not 400.
# The example `*` (RFC 9110: whatever version is current) is the only ETag stable across stores,
# so documentation readers and the contract test's examples phase get a correction that applies.
IfMatchRequired = Annotated[
    str | None,
    HeaderParameter(name="If-Match", max_length=1024, required=True, examples=[Example(value="*")],
                    description="The ETag of the version being corrected (`*`: whichever is current): 428 "
                                "without it, 412 when the record has changed since."),
]
RetractionReason = Annotated[str, QueryParameter(name="reason", min_length=3, max_length=1000, pattern=NO_NUL,
                                                 description="Why the record is retracted.")]


def written(result: WriteResult) -> Response[Any]:
    return Response(
        content=result.body, media_type=MediaType.JSON, status_code=result.status_code,
        headers={"ETag": result.etag, "Location": result.location},
    )


def integral_floats_as_ints(value: Any) -> Any:
    """JSON Schema counts `2722.0` as an integer, so a client may send one; msgspec's strict mode
    would refuse it for an int field (a float field takes the int just as well)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: integral_floats_as_ints(item) for key, item in value.items()}
    return value


async def strict_body(request: HttpRequest, data_type: type[T]) -> T:
    """The body converted again in msgspec's strict mode.

    Litestar converts bodies leniently (`"3"` becomes 3, `0` becomes False), which suits query
    strings but would let a typo into the record. Writes are rare, so decoding twice is cheap.
    Handlers still declare `data`: it documents the body in the OpenAPI.
    """
    try:
        document = integral_floats_as_ints(msgspec.json.decode(await request.body()))
        return msgspec.convert(document, data_type, strict=True)
    except msgspec.ValidationError as error:
        raise from_record_error(error) from error


def write_operations(collection: Collection) -> type[Controller]:
    """A controller base holding the write operations of one collection. Each read controller
    inherits its collection's, so one controller owns each path (and its OPTIONS handler)."""
    singular = "".join(part.title() for part in collection.record_kind.split("_"))
    id_name = f"{collection.record_kind}_id"
    IdPath = ID_PATHS[collection.name]
    Create, Patch, Record = collection.create_type, collection.patch_type, collection.record_type

    class WriteOperations(Controller):

        @post("/", operation_id=f"create{singular}", guards=[require(Scope.WRITE)], security=SECURITY,
              description=f"Record a new {collection.record_kind}. Needs a `write` key.",
              response_headers=WRITTEN_HEADERS,
              responses=problem_responses(*WRITE_PROBLEMS, 409, types=(
                  *BODY_RULES, IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_KEY_IN_FLIGHT, ALREADY_EXISTS, RETRACTED_ID)))
        async def create(
            self, writes: NamedDependency[WriteService], request: HttpRequest, data: JSONBody[Create],  # type: ignore[valid-type]
            idempotency_key: IdempotencyKey = None,
        ) -> Response[Record]:  # type: ignore[valid-type]
            key = request_key(request)
            assert key is not None  # the guard let the request through
            record = await strict_body(request, Create)
            return written(await writes.create(collection, record, key.id, idempotency_key))

        @patch(f"/{{{id_name}:str}}", operation_id=f"correct{singular}", guards=[require(Scope.WRITE)],
               security=SECURITY,
               description=f"Correct a {collection.record_kind}: send only the fields that change, and a reason. "
                           "Needs a `write` key and If-Match.",
               response_headers=WRITTEN_HEADERS,
               responses=problem_responses(*WRITE_PROBLEMS, 404, 409, 412, 428,
                                           types=(*BODY_RULES, ALREADY_EXISTS, STALE_IF_MATCH, IF_MATCH_REQUIRED)))
        async def correct(
            self, writes: NamedDependency[WriteService], request: HttpRequest, data: JSONBody[Patch],  # type: ignore[valid-type]
            record_id: IdPath, if_match: IfMatchRequired = None,
        ) -> Response[Record]:  # type: ignore[valid-type]
            key = request_key(request)
            assert key is not None
            changes = await strict_body(request, Patch)
            return written(await writes.correct(collection, record_id, changes, if_match, key.id))

        @delete(f"/{{{id_name}:str}}", operation_id=f"retract{singular}", guards=[require(Scope.ADMIN)],
                security=SECURITY, status_code=204,
                description=f"Retract a {collection.record_kind}: it then answers 404, but its history stays "
                            "and it can be restored. Needs an `admin` key.",
                responses=problem_responses(400, 401, 403, 404, 412, 429, 503, types=(VALIDATION, STALE_IF_MATCH)))
        async def retract(
            self, writes: NamedDependency[WriteService], request: HttpRequest, reason: RetractionReason,
            record_id: IdPath, if_match: IfMatch = None,
        ) -> None:
            key = request_key(request)
            assert key is not None
            await writes.retract(collection, record_id, reason, if_match, key.id)

        @post(f"/{{{id_name}:str}}/restore", operation_id=f"restore{singular}", guards=[require(Scope.ADMIN)],
              security=SECURITY, status_code=200,
              description=f"Bring back a retracted {collection.record_kind} as a new revision. Needs an `admin` key.",
              response_headers=WRITTEN_HEADERS,
              responses=problem_responses(*WRITE_PROBLEMS, 404, 409, types=(*BODY_RULES, NOT_RETRACTED, ALREADY_EXISTS)))
        async def restore(
            self, writes: NamedDependency[WriteService], request: HttpRequest, data: JSONBody[Retraction], record_id: IdPath
        ) -> Response[Record]:  # type: ignore[valid-type]
            key = request_key(request)
            assert key is not None
            retraction = await strict_body(request, Retraction)
            return written(await writes.restore(collection, record_id, retraction.reason, key.id))

        @get(f"/{{{id_name}:str}}/revisions", operation_id=f"list{singular}Revisions",
             description=f"Every revision of a {collection.record_kind}, oldest first, retracted ones included.",
             opt={APPEND_ONLY_OPT: True}, responses=problem_responses(400, 404, 429, 503))
        async def revisions(
            self, reads: NamedDependency[ReadService], request: HttpRequest, record_id: IdPath, limit: Limit = 50,
            cursor: Cursor = None,
        ) -> Response[RevisionPage]:
            body = await reads.revision_page(collection, record_id, limit, cursor, request.url.path,
                                       request.query_params.multi_items())
            return json_response(body)

    WriteOperations.__name__ = WriteOperations.__qualname__ = f"{singular}WriteOperations"
    return WriteOperations

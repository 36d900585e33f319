"""The one problem-details mapper: every error leaves as RFC 9457 `application/problem+json`.

Litestar's ProblemDetailsPlugin does the rendering; the functions here only decide what each
exception says, so validation failures name the offending field and a crash says nothing
about our internals.

Every rule that a request can break although it matches the OpenAPI schema (a reference to a
record that does not exist, fields that disagree, a stale If-Match, …) has a problem type of its
own, defined here and nowhere else. Operations declare the types they can answer with
(`problem_responses(..., types=...)`), the OpenAPI document lists them per operation and status,
and the contract test accepts a 409/412/422/428 for schema-valid input only when its `type` is
one of those the operation declares.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import ParameterKwarg
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from api.db import RETRY_AFTER_SECONDS, TRANSIENT_ERRORS, StoreBusy
from schemas.problem import ProblemDetail

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:parley:problem:"
logger = logging.getLogger("parley")


@dataclass(frozen=True, slots=True)
class ProblemType:
    """A kind of problem with its own `type` URI, so clients (and tests) can tell them apart."""

    slug: str
    statuses: tuple[int, ...]
    title: str
    description: str
    # True when a request that matches the OpenAPI schema can still meet it: the rule needs the
    # store's state or several fields at once, which a schema cannot express.
    beyond_schema: bool = True

    @property
    def uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug


VALIDATION = ProblemType(
    "validation", (400, 422), "Invalid request",
    "A parameter, header or body field breaks its schema; `errors` names each one.", beyond_schema=False,
)
UNKNOWN_REFERENCE = ProblemType(
    "unknown-reference", (422,), "Unknown reference",
    "The body names a record (a source, track, actor, round, front) that does not exist; `errors` names the field.",
)
CROSS_FIELD_RULE = ProblemType(
    "cross-field-rule", (422,), "Fields disagree",
    "Each field is valid alone, but together they break a rule of the record (`end_date` before `date`, a null "
    "`date` whose precision is not `unknown`, …); `errors` names the field.",
)
IDEMPOTENCY_KEY_REUSED = ProblemType(
    "idempotency-key-reused", (422,), "Idempotency-Key reused",
    "This Idempotency-Key was first used with another request body.",
)
IDEMPOTENCY_KEY_IN_FLIGHT = ProblemType(
    "idempotency-key-in-flight", (409,), "Idempotency-Key in flight",
    "A request with this Idempotency-Key is still being processed (or was taken over by a retry): retry shortly.",
)
ALREADY_EXISTS = ProblemType(
    "already-exists", (409,), "Record already exists",
    "A record with this `id` (reference records) or `external_id` (event records) already exists.",
)
RETRACTED_ID = ProblemType(
    "retracted-id", (409,), "Id of a retracted record",
    "The `id` belongs to a retracted record: restore it instead of creating it again.",
)
NOT_RETRACTED = ProblemType(
    "not-retracted", (409,), "Record is not retracted", "Only a retracted record can be restored.",
)
STALE_IF_MATCH = ProblemType(
    "stale-if-match", (412,), "Stale If-Match",
    "If-Match names a version that is no longer current: read the record again and reapply the change.",
)
IF_MATCH_REQUIRED = ProblemType(
    "if-match-required", (428,), "If-Match required",
    "Corrections need If-Match with the record's current ETag.", beyond_schema=False,
)
AS_OF_IN_FUTURE = ProblemType(
    "as-of-in-future", (422,), "as_of is in the future",
    "A forecast uses what was reported by `as_of`, and a day still to come is not known yet.",
)
INSUFFICIENT_DATA = ProblemType(
    "insufficient-data", (422,), "Not enough data",
    "The records reported by `as_of` cannot support a forecast (no dated record of the track, or too few "
    "resumptions to fit the model).",
)
MODEL_SEPARATED = ProblemType(
    "model-separated", (409,), "Model separated",
    "The model fitted on the records reported by `as_of` separated and is not served; `terms` names the covariates.",
)

PROBLEM_TYPES: tuple[ProblemType, ...] = (
    VALIDATION, UNKNOWN_REFERENCE, CROSS_FIELD_RULE, IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_KEY_IN_FLIGHT,
    ALREADY_EXISTS, RETRACTED_ID, NOT_RETRACTED, STALE_IF_MATCH, IF_MATCH_REQUIRED, AS_OF_IN_FUTURE,
    INSUFFICIENT_DATA, MODEL_SEPARATED,
)
BY_URI: dict[str, ProblemType] = {kind.uri: kind for kind in PROBLEM_TYPES}
# Kept for callers that name the validation type directly.
VALIDATION_TYPE = VALIDATION.uri

DESCRIPTIONS = {
    400: "Malformed or unknown query parameter, path parameter or header.",
    404: "No such record, or no such route.",
    405: "The route exists but does not accept this method.",
    401: "No API key, or a key that is not valid.",
    403: "The API key's scope does not allow this operation.",
    409: "The request conflicts with the current state.",
    412: "If-Match names a version that is no longer current.",
    413: "The request body is over 64 KiB.",
    415: "The request body is not JSON.",
    422: "The request is well-formed but breaks a rule of the record or of the operation.",
    428: "The operation needs If-Match.",
    429: "Too many requests: see Retry-After.",
    503: "The store stayed busy (conflicting writes after retries, the write lock held elsewhere, or every "
         "database connection in use), or the request ran past its time limit: see Retry-After.",
}


def problem(status: int, detail: str | None = None, kind: ProblemType | None = None, **extra: object) -> ProblemDetailsException:
    """A problem of `kind`, or a plain HTTP one (`type` `about:blank`) with its status's title."""
    assert kind is None or status in kind.statuses, (status, kind)
    phrase = HTTPStatus(status).phrase
    return ProblemDetailsException(
        status_code=status, title=kind.title if kind else phrase, detail=detail or phrase,
        type_=kind.uri if kind else "about:blank", extra=extra or None,
    )


def field_problem(kind: ProblemType, detail: str, field: str, status: int = 422) -> ProblemDetailsException:
    """A problem about one body field, with the `errors` entry that names it."""
    return problem(status, detail, kind, errors=[{"field": field, "source": "body", "message": detail}])


def from_record_error(error: msgspec.ValidationError) -> ProblemDetailsException:
    """A body that msgspec refused: a field that breaks its schema, or (raised in a Struct's
    `__post_init__`, which msgspec chains as the cause) a rule across fields."""
    message = str(error)
    kind = CROSS_FIELD_RULE if isinstance(error.__cause__, ValueError) else VALIDATION
    return field_problem(kind, message, field_from_message(message))


def field_from_message(message: str) -> str:
    """msgspec names the path as `$.field[0]` at the end of its message; our own cross-field
    rules name the field first, in backticks."""
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].rstrip("`")
    return message.split("`")[1] if message.count("`") >= 2 else ""


def from_validation(exc: ValidationException, names: Mapping[str, str] | None = None) -> ProblemDetailsException:
    """Litestar's validation errors as one problem; `names` maps Python parameter names to the
    names clients send (`export_format` is `format`, `record_id` is `round_id`)."""
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            raw_source = item.get("source") or "query"
            # Litestar gives a ParamType enum for query/path/header and the plain string "body".
            source = str(getattr(raw_source, "value", raw_source))
            key = str(item.get("key") or "")
            # Parameters named after Python keywords are declared with a trailing underscore.
            field = (names or {}).get(key) or key.rstrip("_")
            message = str(item.get("message"))
            if source == "body" and field in ("", "data"):
                # Errors about the body as a whole (unknown or missing field, a rule across
                # fields) name the field in backticks first; point at it rather than at `data`.
                field = message.split("`")[1] if message.count("`") >= 2 else ""
            errors.append({"field": field, "source": source, "message": message})
    # A body that decodes but breaks the record's rules is 422; anything in the URL or headers is 400.
    status = 422 if errors and all(e["source"] == "body" for e in errors) else 400
    fields = ", ".join(sorted({e["field"] for e in errors if e["field"]}))
    detail = f"Invalid {fields}." if fields else (exc.detail or "The request is not valid.")
    # Litestar chains msgspec's error, which chains the ValueError a Struct's __post_init__ raised.
    cause = exc.__cause__
    rule = status == 422 and isinstance(cause, msgspec.ValidationError) and isinstance(cause.__cause__, ValueError)
    error = problem(status, detail, CROSS_FIELD_RULE if rule else VALIDATION, errors=errors)
    error.headers = exc.headers
    return error


_NAMES_KEY = "parley_client_names"


def client_names(handler: Any) -> dict[str, str]:
    """Python parameter name -> the name clients send, for each aliased parameter of a handler
    (kept in the handler's own `opt`, read once)."""
    names = handler.opt.get(_NAMES_KEY)
    if names is None:
        names = handler.opt[_NAMES_KEY] = {
            name: field.kwarg_definition.name
            for name, field in handler.parsed_fn_signature.parameters.items()
            if isinstance(field.kwarg_definition, ParameterKwarg) and field.kwarg_definition.name
        }
    return names


def validation_response(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """The exception handler for validation errors: it knows the route, so errors carry the
    parameter names the client sent."""
    handler = request.scope.get("route_handler")
    return from_validation(exc, client_names(handler) if handler is not None else None).to_response(request)


def from_http(exc: HTTPException) -> ProblemDetailsException:
    error = problem(exc.status_code, exc.detail or None)
    error.headers = exc.headers
    return error


def from_deep_nesting(exc: RecursionError) -> ProblemDetailsException:
    # msgspec raises RecursionError for JSON nested past its depth limit while Litestar decodes a
    # body. Parley's own code does not recurse, so this is the client's document, not a bug.
    return problem(400, "The JSON body is nested too deeply.")


def from_store_busy(exc: Exception) -> ProblemDetailsException:
    # Writes that kept meeting conflicts after bounded retries or found the write lock held too
    # long, or no free connection in time.
    error = problem(503, "The store is busy; retry shortly.")
    error.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return error


def from_unexpected(exc: Exception) -> ProblemDetailsException:
    logger.exception("unhandled error", exc_info=exc)
    return problem(500, "The server failed to answer this request; it has been logged.")


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            exception_to_problem_detail_map={
                HTTPException: from_http,
                RecursionError: from_deep_nesting,
                StoreBusy: from_store_busy,
                # A transient conflict outside `retrying` (an Idempotency-Key lease, say): same answer.
                **dict.fromkeys(TRANSIENT_ERRORS, from_store_busy),
                Exception: from_unexpected,
            }
        )
    )


# ValidationException is handled apart from the plugin's map: its handler needs the request.
EXCEPTION_HANDLERS = {ValidationException: validation_response}


def problem_responses(*statuses: int, types: Iterable[ProblemType] = ()) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems an operation can answer with; each status lists (and
    shows an example of) the problem types of `types` it can carry."""
    kinds = tuple(types)
    responses = {}
    for status in statuses:
        # Every operation validates its parameters, so every 400 can be a validation problem.
        candidates = dict.fromkeys(((VALIDATION,) if status == 400 else ()) + kinds)
        of_status = [kind for kind in candidates if status in kind.statuses]
        description = DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
        if of_status:
            description += " Problem types: " + ", ".join(f"`{k.uri}`" for k in of_status) + "."
        responses[status] = ResponseSpec(
            data_container=ProblemDetail,
            media_type=PROBLEM_MEDIA_TYPE,
            description=description,
            generate_examples=False,
            examples=[
                Example(id=f"{kind.slug}-{status}", summary=kind.title, description=kind.description,
                        value={"type": kind.uri, "title": kind.title, "status": status})
                for kind in of_status
            ] or None,
        )
    return responses

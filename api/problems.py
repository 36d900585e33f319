"""The one problem-details mapper: every error leaves as RFC 9457 `application/problem+json`.

Litestar's ProblemDetailsPlugin does the rendering; the functions here only decide what each
exception says, so validation failures name the offending field and a crash says nothing
about our internals.
"""

import logging
from http import HTTPStatus

from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from api.db import RETRY_AFTER_SECONDS, TRANSIENT_ERRORS, StoreBusy
from schemas.problem import ProblemDetail

PROBLEM_MEDIA_TYPE = "application/problem+json"
VALIDATION_TYPE = "urn:parley:problem:validation"
logger = logging.getLogger("parley")

DESCRIPTIONS = {
    400: "Malformed or unknown query parameter, path parameter or header.",
    404: "No such record, or no such route.",
    405: "The route exists but does not accept this method.",
    401: "No API key, or a key that is not valid.",
    403: "The API key's scope does not allow this operation.",
    409: "The request conflicts with the current state (a duplicate, or a request still in flight).",
    412: "If-Match names a version that is no longer current.",
    413: "The request body is over 64 KiB.",
    415: "The request body is not JSON.",
    422: "The request body is well-formed JSON but not a valid record.",
    428: "The operation needs If-Match.",
    429: "Too many requests: see Retry-After.",
    503: "The store stayed busy (conflicting writes after retries, the write lock held elsewhere, or every "
         "database connection in use), or the request ran past its time limit: see Retry-After.",
}


def problem(status: int, detail: str | None = None, **extra: object) -> ProblemDetailsException:
    """A problem with the standard title for its status; `type` stays `about:blank`."""
    phrase = HTTPStatus(status).phrase
    return ProblemDetailsException(
        status_code=status, title=phrase, detail=detail or phrase, type_="about:blank", extra=extra or None
    )


def from_validation(exc: ValidationException) -> ProblemDetailsException:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            raw_source = item.get("source") or "query"
            # Litestar gives a ParamType enum for query/path/header and the plain string "body".
            source = str(getattr(raw_source, "value", raw_source))
            # Parameters named after Python keywords are declared with a trailing underscore
            # (`from_` for `?from=`); clients know them by their query name.
            field = str(item.get("key") or "").rstrip("_")
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
    return ProblemDetailsException(
        status_code=status, title=HTTPStatus(status).phrase, detail=detail, type_=VALIDATION_TYPE,
        extra={"errors": errors}, headers=exc.headers,
    )


def from_http(exc: HTTPException) -> ProblemDetailsException:
    phrase = HTTPStatus(exc.status_code).phrase
    return ProblemDetailsException(
        status_code=exc.status_code, title=phrase, detail=exc.detail or phrase, type_="about:blank",
        headers=exc.headers,
    )


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
                ValidationException: from_validation,
                HTTPException: from_http,
                RecursionError: from_deep_nesting,
                StoreBusy: from_store_busy,
                # A transient conflict outside `retrying` (an Idempotency-Key lease, say): same answer.
                **dict.fromkeys(TRANSIENT_ERRORS, from_store_busy),
                Exception: from_unexpected,
            }
        )
    )


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problems an operation can answer with."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetail,
            media_type=PROBLEM_MEDIA_TYPE,
            description=DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            generate_examples=False,
        )
        for status in statuses
    }

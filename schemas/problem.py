"""RFC 9457 problem details: the one shape of every error Parley returns."""

from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType


class FieldError(Struct):
    field: Annotated[str, Meta(description="The offending field, e.g. `limit` or `body.sources[0]`.")]
    source: Annotated[str, Meta(description="Where it was sent: query, path, header or body.")]
    message: str


class ProblemDetail(Struct, omit_defaults=True):
    type: Annotated[str, Meta(description="A URI naming the kind of problem; `about:blank` for plain HTTP errors.")]
    title: str
    status: Annotated[int, Meta(ge=400, le=599)]
    detail: str | UnsetType = UNSET
    instance: str | UnsetType = UNSET
    errors: list[FieldError] | UnsetType = UNSET

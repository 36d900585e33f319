"""Constrained scalar types shared by every record. `Meta` constraints reach the OpenAPI schema."""

from typing import Annotated

from msgspec import Meta

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[
    str,
    Meta(
        pattern=SLUG_PATTERN,
        min_length=1,
        max_length=64,
        description="A stable, human-chosen id: lower-case words joined by hyphens.",
        examples=["istanbul-talks"],
    ),
]
# Event ids are minted by the server: a collection prefix and 16 hex digits.
RoundId = Annotated[str, Meta(pattern=r"^rnd_[0-9a-f]{16}$", examples=["rnd_0123456789abcdef"])]
ExchangeId = Annotated[str, Meta(pattern=r"^exc_[0-9a-f]{16}$", examples=["exc_0123456789abcdef"])]
StatementId = Annotated[str, Meta(pattern=r"^stm_[0-9a-f]{16}$", examples=["stm_0123456789abcdef"])]
FrontReportId = Annotated[str, Meta(pattern=r"^frp_[0-9a-f]{16}$", examples=["frp_0123456789abcdef"])]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(min_length=1, max_length=500)]
LongText = Annotated[str, Meta(min_length=1, max_length=4000)]
# No whitespace or control characters, in the sense of both Python's `\s` (which msgspec uses)
# and JSON Schema's (ECMA-262) one: Python's adds \x1c-\x1f and \x85, ECMA's adds \ufeff.
Url = Annotated[str, Meta(pattern=r"^https?://[^\s\x00-\x20\x7f-\x9f\ufeff]+$", max_length=2048)]
Count = Annotated[int, Meta(ge=0, le=10_000_000)]
Sequence = Annotated[int, Meta(ge=1, le=10_000)]

SourceIds = Annotated[list[Slug], Meta(min_length=1, max_length=20, description="Sources cited; at least one.")]
ActorIds = Annotated[list[Slug], Meta(max_length=50)]
Labels = Annotated[list[ShortText], Meta(max_length=50)]

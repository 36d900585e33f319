"""One explicit page Struct per collection, and the `kind`-tagged timeline union.

Every page has the same shape, Stripe-style: `items` in a stable order and `next`, the URL of
the following page (null on the last one). A client that learned one collection knows them all.
"""

from typing import Annotated

from msgspec import Meta, Struct

from schemas.records import (
    Actor,
    Exchange,
    Front,
    FrontReport,
    Round,
    Source,
    Statement,
    Track,
)

NextLink = Annotated[
    str | None,
    Meta(description="Relative URL of the next page with the same filters; null on the last page."),
]


class ActorPage(Struct):
    items: list[Actor]
    next: NextLink


class SourcePage(Struct):
    items: list[Source]
    next: NextLink


class FrontPage(Struct):
    items: list[Front]
    next: NextLink


class FrontReportPage(Struct):
    items: list[FrontReport]
    next: NextLink


class TrackPage(Struct):
    items: list[Track]
    next: NextLink


class RoundPage(Struct):
    items: list[Round]
    next: NextLink


class ExchangePage(Struct):
    items: list[Exchange]
    next: NextLink


class StatementPage(Struct):
    items: list[Statement]
    next: NextLink


# Timeline entries wrap the record instead of merging into it: Exchange and Statement already
# have a `kind` field of their own, and wrapping keeps each record identical to its collection's.
class RoundEvent(Struct, tag="round", tag_field="kind"):
    record: Round


class ExchangeEvent(Struct, tag="exchange", tag_field="kind"):
    record: Exchange


class StatementEvent(Struct, tag="statement", tag_field="kind"):
    record: Statement


class FrontReportEvent(Struct, tag="front_report", tag_field="kind"):
    record: FrontReport


TimelineEvent = RoundEvent | ExchangeEvent | StatementEvent | FrontReportEvent


class TimelinePage(Struct):
    items: list[TimelineEvent]
    next: NextLink


class Health(Struct):
    status: Annotated[str, Meta(examples=["ok"])]
    database: Annotated[str, Meta(description="Which store answers: sqlite or postgresql.")]
    schema_version: Annotated[int, Meta(ge=0, description="Latest migration applied.")]

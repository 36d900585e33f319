"""A batch of create-records of every type: what a seed file or an import turns into."""

from msgspec import Struct

from schemas.records import (
    ActorCreate,
    ExchangeCreate,
    FrontCreate,
    FrontReportCreate,
    RoundCreate,
    SourceCreate,
    StatementCreate,
    TrackCreate,
)


class RecordSet(Struct, kw_only=True):
    """Listed in dependency order: a record only names records of the fields above it."""

    actors: list[ActorCreate] = []
    sources: list[SourceCreate] = []
    fronts: list[FrontCreate] = []
    tracks: list[TrackCreate] = []
    rounds: list[RoundCreate] = []
    exchanges: list[ExchangeCreate] = []
    statements: list[StatementCreate] = []
    front_reports: list[FrontReportCreate] = []

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


def natural_key(record: Struct) -> str:
    """A reference record's slug id, or an event's external id: what re-seeding matches on."""
    key = getattr(record, "id", None) or getattr(record, "external_id", None)
    if key is None:
        raise ValueError(f"a seed record needs an id or an external_id: {record!r}")
    return str(key)


def merged(*record_sets: RecordSet) -> RecordSet:
    """One record set holding each record once by its natural key, a later set's version winning:
    an actor two sets name (`russia`, `peskov`) must be written one way, or every seed would
    correct it back and forth."""
    lists: dict[str, list[Struct]] = {}
    for name in RecordSet.__struct_fields__:
        by_key = {natural_key(record): record for record_set in record_sets for record in getattr(record_set, name)}
        lists[name] = list(by_key.values())
    return RecordSet(**lists)  # type: ignore[arg-type]

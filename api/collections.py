"""The registry of collections: for each record type, its URL, Structs, id scheme and the
columns that filters and ordering read. Everything generic (store, paging, seeding) goes
through a `Collection`, so adding a filterable field means changing one place.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

from schemas import ids
from schemas import records as r
from schemas.vocab import EventKind

CreateT = TypeVar("CreateT", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Columns:
    """The indexed columns of one record, next to its JSON body."""

    sort_key: str
    event_date: str | None = None
    reported_at: str | None = None
    track_id: str | None = None
    front_id: str | None = None
    kind: str | None = None
    status: str | None = None
    outcome: str | None = None
    external_id: str | None = None
    actors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Collection(Generic[CreateT]):
    name: str  # the URL segment: /v1/<name>
    record_kind: str  # the singular, used in the store and in /v1/timeline's `kind`
    create_type: type[CreateT]
    record_type: type[msgspec.Struct]
    id_prefix: str | None  # None: ids are slugs chosen by people
    columns: Callable[[CreateT], Columns]

    @property
    def is_event(self) -> bool:
        return self.id_prefix is not None


def _iso(value: object) -> str | None:
    return None if value is None else str(value)


def _event_columns(
    record: r.RoundCreate | r.ExchangeCreate | r.StatementCreate | r.FrontReportCreate,
    **extra: str | tuple[str, ...] | None,
) -> Columns:
    # Unknown dates sort first: '' precedes every ISO date.
    return Columns(
        sort_key=_iso(record.date) or "",
        event_date=_iso(record.date),
        reported_at=_iso(record.reported_at),
        external_id=record.external_id,
        **extra,  # type: ignore[arg-type]
    )


def _round_columns(x: r.RoundCreate) -> Columns:
    return _event_columns(
        x, track_id=x.track, outcome=x.outcome.value, actors=tuple(dict.fromkeys([*x.mediators, *x.delegation_heads]))
    )


def _exchange_columns(x: r.ExchangeCreate) -> Columns:
    return _event_columns(
        x, track_id=x.track, kind=x.kind.value, status=x.status.value, actors=tuple(dict.fromkeys(x.mediators))
    )


def _statement_columns(x: r.StatementCreate) -> Columns:
    return _event_columns(x, track_id=x.track, kind=x.kind.value, actors=(x.actor,))


def _front_report_columns(x: r.FrontReportCreate) -> Columns:
    return _event_columns(x, front_id=x.front, status=x.status.value)


ACTORS = Collection("actors", "actor", r.ActorCreate, r.Actor, None, lambda x: Columns(sort_key=x.id, kind=x.kind.value))
SOURCES = Collection(
    "sources", "source", r.SourceCreate, r.Source, None,
    lambda x: Columns(sort_key=x.id, reported_at=_iso(x.published_on), event_date=_iso(x.published_on)),
)
FRONTS = Collection("fronts", "front", r.FrontCreate, r.Front, None, lambda x: Columns(sort_key=x.id))
TRACKS = Collection(
    "tracks", "track", r.TrackCreate, r.Track, None,
    lambda x: Columns(
        sort_key=x.id, kind=x.format.value, status=x.coverage.value,
        actors=tuple(dict.fromkeys([*x.parties, *x.mediators])),
    ),
)
ROUNDS = Collection("rounds", EventKind.ROUND.value, r.RoundCreate, r.Round, ids.ROUND_PREFIX, _round_columns)
EXCHANGES = Collection("exchanges", EventKind.EXCHANGE.value, r.ExchangeCreate, r.Exchange, ids.EXCHANGE_PREFIX, _exchange_columns)
STATEMENTS = Collection("statements", EventKind.STATEMENT.value, r.StatementCreate, r.Statement, ids.STATEMENT_PREFIX, _statement_columns)
FRONT_REPORTS = Collection(
    "front-reports", EventKind.FRONT_REPORT.value, r.FrontReportCreate, r.FrontReport, ids.FRONT_REPORT_PREFIX, _front_report_columns
)

ALL: tuple[Collection, ...] = (ACTORS, SOURCES, FRONTS, TRACKS, ROUNDS, EXCHANGES, STATEMENTS, FRONT_REPORTS)
BY_KIND: dict[str, Collection] = {c.record_kind: c for c in ALL}
EVENT_KINDS: tuple[str, ...] = tuple(c.record_kind for c in ALL if c.is_event)

"""The registry of collections: for each record type, its URL, Structs, id scheme and the
columns that filters and ordering read. Everything generic (store, paging, seeding) goes
through a `Collection`, so adding a filterable field means changing one place.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from schemas import ids
from schemas import records as r
from schemas import writes as w
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
    # The `actor` filter's rows: the actors an event involves (parties, mediators, delegation
    # heads, speakers); for an actor, the actor it is affiliated to, which the filter follows.
    actors: tuple[str, ...] = ()


# (field path, collection name, id): a record naming another record.
Reference = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Collection(Generic[CreateT]):
    name: str  # the URL segment: /v1/<name>
    record_kind: str  # the singular, used in the store and in /v1/timeline's `kind`
    create_type: type[CreateT]
    patch_type: type[msgspec.Struct]
    record_type: type[msgspec.Struct]
    id_prefix: str | None  # None: ids are slugs chosen by people
    columns: Callable[[CreateT], Columns]
    references: Callable[[CreateT], list[Reference]]
    tag: str  # the OpenAPI tag its operations share
    # Fields the server derives from a record when writing it, stored in its body (a track's
    # `coverage`, an exchange's `claims_differ`).
    derived: Callable[[CreateT], dict[str, object]] = lambda _: {}

    @property
    def is_event(self) -> bool:
        return self.id_prefix is not None

    @property
    def server_fields(self) -> frozenset[str]:
        """Fields the server sets (revision, recorded_at, minted ids, derived track status): those
        of the record type that a writer cannot send. Derived from the types, so a record's own
        field that happens to share a name (an exchange's `status`) is never stripped."""
        return _server_fields(self.record_type, self.create_type)

    def writable(self, document: dict[str, Any]) -> dict[str, Any]:
        """A record as its writer would send it again: the server's own fields left out."""
        server = self.server_fields
        return {k: v for k, v in document.items() if k not in server}


@functools.cache
def _server_fields(record_type: type[msgspec.Struct], create_type: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(record_type.__struct_fields__) - frozenset(create_type.__struct_fields__)


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
        x, track_id=x.track, outcome=x.outcome.value, status=x.status.value,
        actors=tuple(dict.fromkeys([*x.mediators, *x.delegation_heads])),
    )


def _exchange_columns(x: r.ExchangeCreate) -> Columns:
    return _event_columns(
        x, track_id=x.track, kind=x.kind.value, status=x.status.value, actors=tuple(dict.fromkeys(x.mediators))
    )


def _statement_columns(x: r.StatementCreate) -> Columns:
    return _event_columns(x, track_id=x.track, kind=x.kind.value, actors=(x.actor,))


def _front_report_columns(x: r.FrontReportCreate) -> Columns:
    return _event_columns(x, front_id=x.front, status=x.status.value)


def _each(field: str, collection: str, ids: list[str]) -> list[Reference]:
    return [(f"{field}[{i}]", collection, value) for i, value in enumerate(ids)]


def _one(field: str, collection: str, value: str | None) -> list[Reference]:
    return [] if value is None else [(field, collection, value)]


def _event_references(x: r.RoundCreate | r.ExchangeCreate | r.StatementCreate | r.FrontReportCreate) -> list[Reference]:
    return _each("sources", "sources", x.sources)


def _round_references(x: r.RoundCreate) -> list[Reference]:
    return [*_one("track", "tracks", x.track), *_each("mediators", "actors", x.mediators),
            *_each("delegation_heads", "actors", x.delegation_heads), *_event_references(x)]


def _exchange_references(x: r.ExchangeCreate) -> list[Reference]:
    claims = [
        reference
        for i, claim in enumerate(x.claims)
        for reference in (*_one(f"claims[{i}].claimant", "actors", claim.claimant),
                          *_each(f"claims[{i}].sources", "sources", claim.sources))
    ]
    return [*_one("track", "tracks", x.track), *_one("round", "rounds", x.round),
            *_each("mediators", "actors", x.mediators), *_event_references(x), *claims]


def _statement_references(x: r.StatementCreate) -> list[Reference]:
    return [*_one("actor", "actors", x.actor), *_one("track", "tracks", x.track), *_event_references(x)]


def _front_report_references(x: r.FrontReportCreate) -> list[Reference]:
    return [*_one("front", "fronts", x.front), *_event_references(x)]


def _track_references(x: r.TrackCreate) -> list[Reference]:
    return [*_each("parties", "actors", x.parties), *_each("mediators", "actors", x.mediators)]


def _no_references(_: msgspec.Struct) -> list[Reference]:
    return []


ACTORS = Collection(
    "actors", "actor", r.ActorCreate, w.ActorPatch, r.Actor, None,
    lambda x: Columns(sort_key=x.id, kind=x.kind.value, actors=(x.affiliation,) if x.affiliation else ()),
    lambda x: _one("affiliation", "actors", x.affiliation),
    "reference",
)
SOURCES = Collection(
    "sources", "source", r.SourceCreate, w.SourcePatch, r.Source, None,
    lambda x: Columns(sort_key=x.id, reported_at=_iso(x.published_on), event_date=_iso(x.published_on)),
    _no_references, "reference",
)
FRONTS = Collection(
    "fronts", "front", r.FrontCreate, w.FrontPatch, r.Front, None, lambda x: Columns(sort_key=x.id), _no_references,
    "fronts",
)
# Tracks keep `format` in the generic `kind` column and their derived `coverage` in `status`.
TRACKS = Collection(
    "tracks", "track", r.TrackCreate, w.TrackPatch, r.Track, None,
    lambda x: Columns(
        sort_key=x.id, kind=x.format.value, status=x.coverage.value,
        actors=tuple(dict.fromkeys([*x.parties, *x.mediators])),
    ),
    _track_references, "negotiations", lambda x: {"coverage": x.coverage.value},
)
ROUNDS = Collection(
    "rounds", EventKind.ROUND.value, r.RoundCreate, w.RoundPatch, r.Round, ids.ROUND_PREFIX, _round_columns,
    _round_references, "negotiations",
)
EXCHANGES = Collection(
    "exchanges", EventKind.EXCHANGE.value, r.ExchangeCreate, w.ExchangePatch, r.Exchange, ids.EXCHANGE_PREFIX,
    _exchange_columns, _exchange_references, "negotiations", lambda x: {"claims_differ": r.claims_differ(x)},
)
STATEMENTS = Collection(
    "statements", EventKind.STATEMENT.value, r.StatementCreate, w.StatementPatch, r.Statement, ids.STATEMENT_PREFIX,
    _statement_columns, _statement_references, "negotiations",
)
FRONT_REPORTS = Collection(
    "front-reports", EventKind.FRONT_REPORT.value, r.FrontReportCreate, w.FrontReportPatch, r.FrontReport,
    ids.FRONT_REPORT_PREFIX, _front_report_columns, _front_report_references, "fronts",
)

ALL: tuple[Collection, ...] = (ACTORS, SOURCES, FRONTS, TRACKS, ROUNDS, EXCHANGES, STATEMENTS, FRONT_REPORTS)
BY_KIND: dict[str, Collection] = {c.record_kind: c for c in ALL}
BY_NAME: dict[str, Collection] = {c.name: c for c in ALL}
EVENT_KINDS: tuple[str, ...] = tuple(c.record_kind for c in ALL if c.is_event)

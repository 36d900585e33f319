"""The eight record types, each as `<Type>Fields` (what a writer supplies), `<Type>Create`
(the strict input) and `<Type>` (what the API returns, with server-set fields).

Event records (Round, Exchange, Statement, FrontReport) carry DESIGN.md's three time axes:
`date` + `date_precision` (when it happened), `reported_at` (when it became public) and
`recorded_at` + `revision` (when Parley recorded this version).
"""

import datetime as dt
from typing import Annotated

from msgspec import Meta, Struct

from schemas.types import (
    ActorIds,
    Count,
    ExchangeId,
    FrontReportId,
    Labels,
    LongText,
    Name,
    RoundId,
    Sequence,
    ShortText,
    Slug,
    SourceIds,
    StatementId,
    Url,
)
from schemas.vocab import (
    ActorKind,
    Confidence,
    Coverage,
    DatePrecision,
    ExchangeKind,
    ExchangeStatus,
    FrontStatus,
    Intensity,
    Outcome,
    RoundStatus,
    Side,
    StatementKind,
    TrackFormat,
    TrackStatus,
)

ExternalId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$",
        description="The writer's own stable key (a dataset row id, say); imports match on it.",
        examples=["POW-036"],
    ),
]
Revision = Annotated[int, Meta(ge=1, description="1 for the first version; each correction adds one.")]
# Revision time, the third time axis: set by the server on every write, never by a writer.
RecordedAt = Annotated[dt.datetime, Meta(tz=True, description="When Parley recorded this revision (UTC).")]


# --- reference entities: ids are slugs chosen by people -------------------------------------


class ActorFields(Struct, kw_only=True):
    name: Name
    kind: ActorKind
    affiliation: Slug | None = None
    role: ShortText | None = None


class ActorCreate(ActorFields, forbid_unknown_fields=True):
    id: Slug


class Actor(ActorFields, kw_only=True):
    id: Slug
    revision: Revision
    recorded_at: RecordedAt


class SourceFields(Struct, kw_only=True):
    outlet: Name
    title: ShortText
    url: Url | None = None
    published_on: dt.date | None = None


class SourceCreate(SourceFields, forbid_unknown_fields=True):
    id: Slug


class Source(SourceFields, kw_only=True):
    id: Slug
    revision: Revision
    recorded_at: RecordedAt


class FrontFields(Struct, kw_only=True):
    name: Name
    oblasts: Annotated[list[Name], Meta(min_length=1, max_length=10)]
    description: LongText | None = None


class FrontCreate(FrontFields, forbid_unknown_fields=True):
    id: Slug


class Front(FrontFields, kw_only=True):
    id: Slug
    revision: Revision
    recorded_at: RecordedAt


class CoveragePeriod(Struct, kw_only=True, forbid_unknown_fields=True):
    """A span of days over which Parley's records observe a track, and how completely."""

    start: Annotated[dt.date, Meta(description="First day observed.")]
    end: Annotated[dt.date | None, Meta(description="Last day observed (inclusive); null while still observed.")] = None
    # No Meta description on enum fields: the enum's docstring is its one description (two
    # different ones would make the generated OpenAPI document change from run to run).
    coverage: Coverage
    basis: Annotated[ShortText | None, Meta(description="The evidence for the coverage claimed.")] = None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValueError("`end` must not be before `start`")


CoveragePeriods = Annotated[
    list[CoveragePeriod],
    Meta(max_length=200, description="What the records observe of the track, oldest first; periods do not "
                                     "overlap. Weeks outside every period were not observed. The track's "
                                     "`coverage` is derived from the latest period (`milestones` when none)."),
]


def coverage_of(periods: list[CoveragePeriod]) -> Coverage:
    """A track's coverage: that of its latest period, or milestones when it has none."""
    return periods[-1].coverage if periods else Coverage.MILESTONES


class TrackFields(Struct, kw_only=True):
    name: Name
    parties: Annotated[list[Slug], Meta(min_length=1, max_length=50)]
    mediators: ActorIds = []
    format: TrackFormat
    coverage_periods: CoveragePeriods = []
    description: LongText | None = None

    def __post_init__(self) -> None:
        for earlier, later in zip(self.coverage_periods, self.coverage_periods[1:]):
            if earlier.end is None or earlier.end >= later.start:
                raise ValueError(
                    "`coverage_periods` must be sorted by `start` and must not overlap: the period from "
                    f"{earlier.start} {'has no end' if earlier.end is None else f'ends {earlier.end}'}, "
                    f"the next starts {later.start}"
                )

    @property
    def coverage(self) -> Coverage:
        """The derived coverage; a stored `Track` carries the same value as a field of its own, so
        code reading either kind of track asks for `coverage` alike."""
        return coverage_of(self.coverage_periods)


class TrackCreate(TrackFields, forbid_unknown_fields=True):
    id: Slug


class Track(TrackFields, kw_only=True):
    id: Slug
    revision: Revision
    recorded_at: RecordedAt
    coverage: Coverage  # derived: the latest period's, `milestones` when there are none
    status: Annotated[TrackStatus, Meta(description="Derived from rounds and statements reported by `as_of`.")]
    last_round_on: Annotated[
        dt.date | None, Meta(description="Date of the latest dated held round reported by `as_of`.")
    ]


# --- event records: ids are minted by the server ----------------------------------------------


class EventFields(Struct, kw_only=True):
    """What every event record has: the first two time axes, provenance and confidence."""

    date: Annotated[dt.date | None, Meta(description="When it happened; null only when `date_precision` is unknown.")]
    date_precision: DatePrecision = DatePrecision.DAY
    reported_at: Annotated[
        dt.date | None,
        Meta(description="When it became public. Defaults to `date`; required when the date is unknown."),
    ] = None
    sources: SourceIds
    confidence: Confidence = Confidence.HIGH
    external_id: ExternalId | None = None
    summary: LongText | None = None
    notes: LongText | None = None

    def __post_init__(self) -> None:
        if (self.date is None) != (self.date_precision == DatePrecision.UNKNOWN):
            raise ValueError("`date` must be null exactly when `date_precision` is `unknown`")
        if self.date is None and self.reported_at is None:
            raise ValueError("`reported_at` is required when the date is unknown")
        if self.reported_at is None:
            self.reported_at = self.date


class RoundFields(EventFields, kw_only=True):
    track: Slug
    sequence: Sequence | None = None
    end_date: dt.date | None = None
    venue: ShortText | None = None
    mediators: ActorIds = []
    delegation_heads: ActorIds = []
    topics: Labels = []
    outcome: Outcome = Outcome.UNKNOWN
    ceasefire_agreed: bool | None = None
    agreed_to_meet_again: bool | None = None
    status: RoundStatus = RoundStatus.HELD

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.end_date is not None and (self.date is None or self.end_date < self.date):
            raise ValueError("`end_date` must not be before `date`")


class RoundCreate(RoundFields, forbid_unknown_fields=True):
    pass


class Round(RoundFields, kw_only=True):
    id: RoundId
    revision: Revision
    recorded_at: RecordedAt


class ExchangeClaim(Struct, kw_only=True, forbid_unknown_fields=True):
    """What one claimant (a side, a mediator) said an exchange returned, with its sources."""

    claimant: Slug
    returned_to_ukraine: Count | None = None
    returned_to_russia: Count | None = None
    sources: SourceIds
    notes: LongText | None = None


class ExchangeFields(EventFields, kw_only=True):
    track: Slug
    round: RoundId | None = None
    kind: ExchangeKind = ExchangeKind.POW
    status: ExchangeStatus
    agreed_on: dt.date | None = None
    executed_on: dt.date | None = None
    returned_to_ukraine: Count | None = None
    returned_to_russia: Count | None = None
    mediators: ActorIds = []
    claims: Annotated[
        list[ExchangeClaim],
        Meta(max_length=20, description="Each claimant's own figures, where the sides' accounts differ."),
    ] = []

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.agreed_on and self.executed_on and self.executed_on < self.agreed_on:
            raise ValueError("`executed_on` must not be before `agreed_on`")
        if self.status == ExchangeStatus.EXECUTED and self.executed_on is None and self.date is None:
            raise ValueError("an executed exchange needs `executed_on` or a `date`")


class ExchangeCreate(ExchangeFields, forbid_unknown_fields=True):
    pass


def claims_differ(exchange: ExchangeFields) -> bool:
    """True when two claims, or a claim and the exchange's own figures, give different counts."""
    for figure in ("returned_to_ukraine", "returned_to_russia"):
        if len({getattr(x, figure) for x in (exchange, *exchange.claims)} - {None}) > 1:
            return True
    return False


class Exchange(ExchangeFields, kw_only=True):
    id: ExchangeId
    revision: Revision
    recorded_at: RecordedAt
    # A default, so exchanges stored before claims existed still decode.
    claims_differ: Annotated[
        bool, Meta(description="Derived: true when two claims, or a claim and the figures above, disagree.")
    ] = False


class StatementFields(EventFields, kw_only=True):
    actor: Slug
    track: Slug | None = None
    kind: StatementKind
    leader_level: Annotated[
        bool, Meta(description="True when it proposes, accepts or rejects a meeting of heads of state.")
    ] = False
    venue_proposals: Labels = []
    conditions: Labels = []
    quote: LongText | None = None


class StatementCreate(StatementFields, forbid_unknown_fields=True):
    pass


class Statement(StatementFields, kw_only=True):
    id: StatementId
    revision: Revision
    recorded_at: RecordedAt


class FrontReportFields(EventFields, kw_only=True):
    front: Slug
    status: FrontStatus
    initiative: Side = Side.NONE
    intensity: Intensity | None = None
    events: Annotated[Count | None, Meta(description="Conflict events counted in the period, where known.")] = None
    fatalities: Annotated[Count | None, Meta(description="Reported fatalities in the period, where known.")] = None


class FrontReportCreate(FrontReportFields, forbid_unknown_fields=True):
    pass


class FrontReport(FrontReportFields, kw_only=True):
    id: FrontReportId
    revision: Revision
    recorded_at: RecordedAt

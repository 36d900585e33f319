"""Closed vocabularies. Every enum here reaches the OpenAPI schema as an `enum`."""

from enum import StrEnum


class ActorKind(StrEnum):
    STATE = "state"
    PERSON = "person"
    ORGANISATION = "organisation"
    MEDIA = "media"


class DatePrecision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    UNKNOWN = "unknown"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class FrontStatus(StrEnum):
    ADVANCING = "advancing"
    CONTESTED = "contested"
    STATIC = "static"
    FROZEN = "frozen"


class Side(StrEnum):
    UKRAINE = "ukraine"
    RUSSIA = "russia"
    NONE = "none"


class Intensity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TrackFormat(StrEnum):
    DIRECT = "direct"
    MEDIATED = "mediated"
    MULTILATERAL = "multilateral"


class Coverage(StrEnum):
    """How completely Parley's records cover a track's rounds; the forecaster needs to know.
    complete: every round is a record; partial: most are; milestones: only milestones are. A
    track's coverage is that of its latest coverage period (`milestones` when it has none)."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    MILESTONES = "milestones"


class TrackStatus(StrEnum):
    """Derived on read from the track's rounds and statements, as of the read's `as_of`."""

    ACTIVE = "active"
    STALLED = "stalled"
    SUSPENDED = "suspended"
    ENDED = "ended"


class Outcome(StrEnum):
    AGREEMENT = "agreement"
    PARTIAL = "partial"
    NONE = "none"
    UNKNOWN = "unknown"


class RoundStatus(StrEnum):
    """Whether a round took place: held (the default), announced (or scheduled; not shown to have
    been held) or cancelled (called and then not held, or postponed). Only held rounds count as
    rounds: for a track's status and `last_round_on`, and for the forecaster."""

    HELD = "held"
    ANNOUNCED = "announced"
    CANCELLED = "cancelled"


class ExchangeKind(StrEnum):
    POW = "pow"
    BODIES = "bodies"
    CIVILIANS = "civilians"


class ExchangeStatus(StrEnum):
    AGREED = "agreed"
    EXECUTED = "executed"
    CANCELLED = "cancelled"


class StatementKind(StrEnum):
    PROPOSAL = "proposal"
    ACCEPTANCE = "acceptance"
    REJECTION = "rejection"
    DEMAND = "demand"
    ASSESSMENT = "assessment"
    MEDIATION_OFFER = "mediation_offer"
    SUSPENSION = "suspension"
    WITHDRAWAL = "withdrawal"


class EventKind(StrEnum):
    """The record kinds that make up `/v1/timeline`."""

    ROUND = "round"
    EXCHANGE = "exchange"
    STATEMENT = "statement"
    FRONT_REPORT = "front_report"


class RevisionOperation(StrEnum):
    CREATE = "create"
    CORRECT = "correct"
    DELETE = "delete"
    RESTORE = "restore"

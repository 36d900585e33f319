"""Records -> polars frames, and the ISO-week arithmetic everything else counts in.

`build_frames` accepts the create Structs (`RoundCreate`, ...) and the stored records (`Round`,
...) alike: both share the fields read here, so the inputs are typed by small Protocols instead
of either class. The frames keep only what the forecaster reads, with explicit schemas so an
empty list still gives a frame with the right columns.

Observation windows say which days each track was watched by some source (a history file, a
brief, an import). A week outside every window of its track was never observed: a round could
have happened in it unseen, so it is neither a training row nor a scored outcome (see
`forecasting.features`). Without windows every week of every track counts as observed, with the
track's own coverage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Protocol

import polars as pl

# Weeks are ISO weeks, numbered from the one starting Monday 1970-01-05 (day 4 after the epoch).
_EPOCH = dt.date(1970, 1, 1)
_FIRST_MONDAY_DAY = 4

# An exchange that is executed is this track's round (spec: "on the `pow-exchanges` track an
# executed exchange counts as its round"); kept as a set so another such track is one edit.
EXCHANGE_ROUND_TRACKS: frozenset[str] = frozenset({"pow-exchanges"})


def day_number(d: dt.date) -> int:
    return (d - _EPOCH).days


def week_of_day(day: int) -> int:
    # Python's floor division keeps weeks before 1970 correct, too.
    return (day - _FIRST_MONDAY_DAY) // 7


def week_of(d: dt.date) -> int:
    return week_of_day(day_number(d))


def week_start(week: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=_FIRST_MONDAY_DAY + 7 * week)


def week_end(week: int) -> dt.date:
    return week_start(week) + dt.timedelta(days=6)


def last_complete_week(as_of: dt.date) -> int:
    """The last ISO week whose Sunday is on or before `as_of`."""
    return week_of(as_of + dt.timedelta(days=1)) - 1


# --- the record shapes read here (both XCreate and X satisfy them) ------------------------------


def _text(value: object) -> str:
    # StrEnum members and plain strings alike; a non-str Enum would print its name otherwise.
    return str(value.value) if isinstance(value, Enum) else str(value)


class TrackLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def coverage(self) -> object: ...
    @property
    def mediators(self) -> Sequence[str]: ...
    @property
    def parties(self) -> Sequence[str]: ...


class RoundLike(Protocol):
    @property
    def track(self) -> str: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def reported_at(self) -> dt.date | None: ...
    @property
    def agreed_to_meet_again(self) -> bool | None: ...


class ExchangeLike(Protocol):
    @property
    def track(self) -> str: ...
    @property
    def status(self) -> object: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def agreed_on(self) -> dt.date | None: ...
    @property
    def executed_on(self) -> dt.date | None: ...
    @property
    def reported_at(self) -> dt.date | None: ...


class StatementLike(Protocol):
    @property
    def actor(self) -> str: ...
    @property
    def track(self) -> str | None: ...
    @property
    def kind(self) -> object: ...
    @property
    def leader_level(self) -> bool: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def reported_at(self) -> dt.date | None: ...


class FrontReportLike(Protocol):
    @property
    def front(self) -> str: ...
    @property
    def status(self) -> object: ...
    @property
    def date(self) -> dt.date | None: ...
    @property
    def reported_at(self) -> dt.date | None: ...


@dataclass(frozen=True)
class ObservationWindow:
    """The days (inclusive) over which a source observed a track; `end=None`: still observed.

    `coverage` is what the source recorded of the track's rounds in that period (`complete`,
    `partial` or `milestones`); the model fits only complete and partial weeks."""

    track: str
    start: dt.date
    end: dt.date | None
    coverage: str
    basis: str


# --- frames -------------------------------------------------------------------------------------

TRACK_SCHEMA: dict[str, pl.DataType] = {
    "track": pl.String(),
    "coverage": pl.String(),
    "mediators": pl.List(pl.String()),
}
ROUND_SCHEMA: dict[str, pl.DataType] = {
    "track": pl.String(),
    "date": pl.Date(),
    "reported_at": pl.Date(),
    "agreed_to_meet_again": pl.Boolean(),
}
EXCHANGE_SCHEMA: dict[str, pl.DataType] = {
    "track": pl.String(),
    "status": pl.String(),
    "date": pl.Date(),
    "agreed_on": pl.Date(),
    "executed_on": pl.Date(),
    "reported_at": pl.Date(),
}
STATEMENT_SCHEMA: dict[str, pl.DataType] = {
    "actor": pl.String(),
    "track": pl.String(),
    "kind": pl.String(),
    "leader_level": pl.Boolean(),
    "date": pl.Date(),
    "reported_at": pl.Date(),
}
FRONT_REPORT_SCHEMA: dict[str, pl.DataType] = {
    "front": pl.String(),
    "status": pl.String(),
    "date": pl.Date(),
    "reported_at": pl.Date(),
}
WINDOW_SCHEMA: dict[str, pl.DataType] = {
    "track": pl.String(),
    "start": pl.Date(),
    "end": pl.Date(),
    "coverage": pl.String(),
    "basis": pl.String(),
}


# eq=False: identity equality and hashing, so derived indexes can be cached per frames object
# (polars frames are not hashable, and comparing them by value on every call would cost more
# than the work the cache saves).
@dataclass(frozen=True, eq=False)
class HistoryFrames:
    """Everything the forecaster reads, one polars frame per record type.

    `data_cutoff` is the latest `reported_at` of any record: the backtest scores only forecasts
    whose horizon ended by then. Forecasts as of T never read it (that would let a record
    reported after T change them); they use what was reported by T.

    `windows` is None when no source declared what it observed: then every week of a track is
    taken as observed, with the track's coverage.
    """

    tracks: pl.DataFrame
    rounds: pl.DataFrame
    exchanges: pl.DataFrame
    statements: pl.DataFrame
    front_reports: pl.DataFrame
    data_cutoff: dt.date | None
    windows: pl.DataFrame | None = None

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of everything the forecaster reads (records and windows), independent of the
        order the records came in: equal fingerprints, equal forecasts."""
        h = hashlib.sha256()
        frames = [self.tracks, self.rounds, self.exchanges, self.statements, self.front_reports]
        frames.append(self.windows if self.windows is not None else pl.DataFrame({"windows": ["none"]}))
        for frame in frames:
            h.update(",".join(frame.columns).encode())
            for row in sorted(repr(r) for r in frame.iter_rows()):
                h.update(row.encode())
                h.update(b"\x1e")
            h.update(b"\x1d")
        return h.hexdigest()

    def window_list(self) -> list[ObservationWindow]:
        """The declared windows, sorted by track and start; empty when none were declared."""
        if self.windows is None:
            return []
        return [ObservationWindow(**row) for row in self.windows.sort("track", "start").iter_rows(named=True)]

    def known_by(self, as_of: dt.date) -> HistoryFrames:
        """The frames as they stood at `as_of`: records reported on or before it."""
        keep = pl.col("reported_at") <= as_of
        return _with_cutoff(
            tracks=self.tracks,
            rounds=self.rounds.filter(keep),
            exchanges=self.exchanges.filter(keep),
            statements=self.statements.filter(keep),
            front_reports=self.front_reports.filter(keep),
            windows=self.windows,
        )


def _reported(date: dt.date | None, reported_at: dt.date | None) -> dt.date | None:
    # EventFields.__post_init__ already defaults reported_at to date; this covers duck-typed
    # records built some other way.
    return reported_at if reported_at is not None else date


def _with_cutoff(
    *,
    tracks: pl.DataFrame,
    rounds: pl.DataFrame,
    exchanges: pl.DataFrame,
    statements: pl.DataFrame,
    front_reports: pl.DataFrame,
    windows: pl.DataFrame | None,
) -> HistoryFrames:
    latest: list[dt.date] = []
    for frame in (rounds, exchanges, statements, front_reports):
        value = frame.get_column("reported_at").max()
        if isinstance(value, dt.date):
            latest.append(value)
    return HistoryFrames(
        tracks=tracks,
        rounds=rounds,
        exchanges=exchanges,
        statements=statements,
        front_reports=front_reports,
        data_cutoff=max(latest) if latest else None,
        windows=windows,
    )


def build_frames(
    tracks: Iterable[TrackLike],
    rounds: Iterable[RoundLike],
    exchanges: Iterable[ExchangeLike],
    statements: Iterable[StatementLike],
    front_reports: Iterable[FrontReportLike] = (),
    windows: Iterable[ObservationWindow] | None = None,
) -> HistoryFrames:
    """Records (create or stored Structs) and observation windows -> `HistoryFrames`.

    Records without a `reported_at` (and no date to default it from) cannot be placed in time
    and are dropped; Parley's own Structs never produce one. `windows=None`: every week of every
    track observed; a track with no window among those given was never observed.
    """
    track_rows = [
        {"track": t.id, "coverage": _text(t.coverage), "mediators": list(t.mediators)} for t in tracks
    ]
    round_rows = [
        {
            "track": r.track,
            "date": r.date,
            "reported_at": _reported(r.date, r.reported_at),
            "agreed_to_meet_again": r.agreed_to_meet_again,
        }
        for r in rounds
    ]
    exchange_rows = [
        {
            "track": e.track,
            "status": _text(e.status),
            "date": e.date,
            "agreed_on": e.agreed_on,
            "executed_on": e.executed_on,
            "reported_at": _reported(e.date, e.reported_at),
        }
        for e in exchanges
    ]
    statement_rows = [
        {
            "actor": s.actor,
            "track": s.track,
            "kind": _text(s.kind),
            "leader_level": bool(s.leader_level),
            "date": s.date,
            "reported_at": _reported(s.date, s.reported_at),
        }
        for s in statements
    ]
    front_rows = [
        {
            "front": f.front,
            "status": _text(f.status),
            "date": f.date,
            "reported_at": _reported(f.date, f.reported_at),
        }
        for f in front_reports
    ]
    placed = pl.col("reported_at").is_not_null()
    return _with_cutoff(
        tracks=pl.DataFrame(track_rows, schema=TRACK_SCHEMA, orient="row").sort("track"),
        rounds=pl.DataFrame(round_rows, schema=ROUND_SCHEMA, orient="row").filter(placed),
        exchanges=pl.DataFrame(exchange_rows, schema=EXCHANGE_SCHEMA, orient="row").filter(placed),
        statements=pl.DataFrame(statement_rows, schema=STATEMENT_SCHEMA, orient="row").filter(placed),
        front_reports=pl.DataFrame(front_rows, schema=FRONT_REPORT_SCHEMA, orient="row").filter(placed),
        windows=None if windows is None else _window_frame(windows),
    )


def _window_frame(windows: Iterable[ObservationWindow]) -> pl.DataFrame:
    rows = [
        {"track": w.track, "start": w.start, "end": w.end, "coverage": _text(w.coverage), "basis": w.basis}
        for w in windows
    ]
    for w in rows:
        if w["end"] is not None and w["end"] < w["start"]:
            raise ValueError(f"observation window of {w['track']} ends before it starts")
    return pl.DataFrame(rows, schema=WINDOW_SCHEMA, orient="row").sort("track", "start")

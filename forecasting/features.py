"""Risk set and covariates: one row per track per ISO week at risk of its next round.

Time is counted in ISO weeks (see `forecasting.frames`). A track enters the risk set the week
after a round and leaves it in the week its next round starts (outcome 1); the open gap after
its last round is censored at the last complete week of the training window.

Only observed weeks count: a week is observed when it lies wholly inside one of the track's
observation windows whose coverage is fitted (complete or partial). A spell is censored at the
last observed week before an unobserved one, because a round could have happened unseen in the
gap, so its "weeks since the last round" cannot be carried across it; after the gap the track
re-enters the risk set only from a round on an observed day.

Every covariate of week w is built from records that had happened *and* been reported before
week w started: a record first counts in the week after max(week of its date, week of its
`reported_at`). The duration terms are the exception by construction: they measure the gap from
the round that opened the risk-set spell, which is what the risk set is defined by.

All the arithmetic is numpy over small per-track arrays; the frames are read once per
`HistoryFrames` object and cached, so refitting at a hundred backtest origins only masks arrays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import polars as pl
from numpy.typing import NDArray

from forecasting.frames import (
    EXCHANGE_ROUND_TRACKS,
    HistoryFrames,
    day_number,
    last_complete_week,
)
from schemas.vocab import Coverage

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

DECAY_HALF_LIFE_WEEKS: Final = 4.0
LONG_GAP_WEEKS: Final = 52
# The recent-rate covariate (and the recent-rate rule baseline) count round weeks in this many
# weeks before the week forecast: rate = (count + 0.5) / (RECENT_WEEKS + 1).
RECENT_WEEKS: Final = 26
# A sentinel "never" for event days; far beyond any real date yet still exact in int64 and float.
NEVER: Final = 10**9
# Complete and partial weeks are fitted; milestones windows record too few of their rounds to
# say anything about gaps between them.
FITTED_COVERAGES: Final = frozenset({Coverage.COMPLETE.value, Coverage.PARTIAL.value})


@dataclass(frozen=True)
class CovariateSpec:
    name: str
    label: str
    penalised: bool
    # Nullable covariates get a missing-indicator term and a neutral fill (see hazard.py).
    nullable: bool = False


COVARIATES: Final[tuple[CovariateSpec, ...]] = (
    CovariateSpec("log_weeks_since_round", "log(1 + weeks since the last round)", penalised=False),
    CovariateSpec(
        "recent_rate_logit",
        f"logit of the recent rate, (weeks with a round in the last {RECENT_WEEKS} + 0.5) / {RECENT_WEEKS + 1}",
        penalised=False,
    ),
    CovariateSpec("years_since_round", "weeks since the last round / 52", penalised=False),
    CovariateSpec("gap_over_52_weeks", "gap longer than 52 weeks (0/1)", penalised=True),
    CovariateSpec("log_rounds_held", "log(1 + rounds held so far)", penalised=True),
    CovariateSpec("exchanges_executed", "executed exchanges, decayed (half-life 4 weeks)", penalised=True),
    CovariateSpec("exchanges_pending", "agreed, not yet executed exchanges, decayed", penalised=True),
    CovariateSpec("leader_proposals", "leader-level proposals to meet, decayed", penalised=True),
    CovariateSpec("rejections", "rejections, decayed", penalised=True),
    CovariateSpec("mediator_statements", "mediator statements and mediation offers, decayed", penalised=True),
    CovariateSpec("suspended", "suspension or withdrawal since the last round (0/1)", penalised=True),
    CovariateSpec("meet_again", "last round agreed to meet again (0/1)", penalised=True, nullable=True),
    CovariateSpec(
        "front_stalemate", "share of latest front reports static or frozen", penalised=True, nullable=True
    ),
)
COVARIATE_NAMES: Final[tuple[str, ...]] = tuple(c.name for c in COVARIATES)
_COL: Final[dict[str, int]] = {name: i for i, name in enumerate(COVARIATE_NAMES)}

_SUSPENDING_KINDS: Final = frozenset({"suspension", "withdrawal"})
_STALEMATE_STATUSES: Final = frozenset({"static", "frozen"})


def _first_usable_week(day: IntArray, rep: IntArray) -> IntArray:
    """The first week a record may enter covariates: after it happened and was reported."""
    latest = np.maximum(day, rep)
    return (latest - 4) // 7 + 1


@dataclass(frozen=True)
class EventTable:
    """Dated events: the day each happened, the day it was reported, and one value column."""

    day: IntArray
    rep: IntArray
    value: FloatArray

    @staticmethod
    def empty() -> EventTable:
        return EventTable(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64))

    @staticmethod
    def of(day: Iterable[int], rep: Iterable[int], value: Iterable[float] | None = None) -> EventTable:
        d = np.fromiter(day, np.int64)
        r = np.fromiter(rep, np.int64)
        v = np.zeros(len(d), np.float64) if value is None else np.fromiter(value, np.float64)
        return EventTable(d, r, v)

    @property
    def week(self) -> IntArray:
        return (self.day - 4) // 7

    @property
    def usable(self) -> IntArray:
        return _first_usable_week(self.day, self.rep)

    def by(self, t: int) -> EventTable:
        keep = (self.rep <= t) & (self.day <= t)
        return EventTable(self.day[keep], self.rep[keep], self.value[keep])

    def plus(self, other: EventTable) -> EventTable:
        return EventTable(
            np.concatenate([self.day, other.day]),
            np.concatenate([self.rep, other.rep]),
            np.concatenate([self.value, other.value]),
        )

    def __len__(self) -> int:
        return len(self.day)

    def canonical(self) -> EventTable:
        """Sorted by (day, rep, value): sums over the table then do not depend on input order,
        so neither do the fingerprint and the fit."""
        order = np.lexsort((self.value, self.rep, self.day))
        return EventTable(self.day[order], self.rep[order], self.value[order])


@dataclass(frozen=True)
class Observation:
    """A track's observation windows as inclusive day ranges, each with its coverage."""

    start: IntArray
    end: IntArray  # NEVER: still observed
    coverage: tuple[str, ...]

    @staticmethod
    def everywhere(coverage: str) -> Observation:
        return Observation(np.array([-NEVER], np.int64), np.array([NEVER], np.int64), (coverage,))

    def weeks(self, coverages: frozenset[str]) -> ObservedWeeks:
        """The weeks wholly inside windows of these coverages, as runs of consecutive weeks."""
        keep = [i for i, c in enumerate(self.coverage) if c in coverages]
        order = sorted(keep, key=lambda i: int(self.start[i]))
        merged: list[list[int]] = []
        for i in order:
            a, b = int(self.start[i]), int(self.end[i])
            # Adjacent windows (one ends the day before the next starts) observe the week between.
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        # Week w runs from day 7w + 4 (Monday) to 7w + 10 (Sunday).
        lo = [-((4 - a) // 7) for a, _ in merged]  # ceil((a - 4) / 7)
        hi = [(b - 10) // 7 for _, b in merged]
        runs = [(x, y) for x, y in zip(lo, hi, strict=True) if x <= y]
        days = [(a, b) for a, b in merged]
        return ObservedWeeks(
            np.array([r[0] for r in runs], np.int64),
            np.array([r[1] for r in runs], np.int64),
            np.array([d[0] for d in days], np.int64),
            np.array([d[1] for d in days], np.int64),
        )


def _inside(first: IntArray, last: IntArray, values: IntArray) -> NDArray[np.bool_]:
    """Whether each value lies in one of the sorted, disjoint inclusive ranges [first, last]."""
    i = np.searchsorted(first, values, side="right") - 1
    ok = i >= 0
    out = np.zeros(values.shape, bool)
    out[ok] = values[ok] <= last[i[ok]]
    return out


@dataclass(frozen=True)
class ObservedWeeks:
    """Runs of observed weeks (inclusive week numbers) and the observed days they came from."""

    first: IntArray
    last: IntArray
    day_first: IntArray
    day_last: IntArray

    def contains(self, weeks: IntArray) -> NDArray[np.bool_]:
        return _inside(self.first, self.last, weeks)

    def on_day(self, days: IntArray) -> NDArray[np.bool_]:
        return _inside(self.day_first, self.day_last, days)

    def through(self, week: int) -> int:
        """The last week of the run of observed weeks that starts at `week` (week − 1 if none)."""
        i = int(np.searchsorted(self.first, week, side="right")) - 1
        if i < 0 or week > int(self.last[i]):
            return week - 1
        return int(self.last[i])

    def all_observed(self, first: int, last: int) -> bool:
        """Every week from `first` to `last` (inclusive) observed; True for an empty range."""
        return last < first or self.through(first) >= last


@dataclass(frozen=True)
class TrackEvents:
    """One track's records reduced to what the covariates read."""

    track: str
    coverage: str
    observation: Observation
    # Dated rounds (on exchange-round tracks, executed exchanges too); value = agreed to meet
    # again: 1, 0 or NaN for unknown.
    rounds: EventTable
    # Undated rounds: day is a copy of rep, only so `by` can mask them the same way.
    undated_rounds: EventTable
    exchanges_executed: EventTable
    # value = the day the exchange was executed, NEVER if it has not been.
    exchanges_agreed: EventTable
    leader_proposals: EventTable
    rejections: EventTable
    mediator_statements: EventTable
    suspensions: EventTable
    # Every dated record on the track: the anchor of a track with no dated round yet.
    any_event: EventTable

    def by(self, t: int) -> TrackEvents:
        agreed = self.exchanges_agreed.by(t)
        # An execution after t was not known at t: the exchange was still pending then.
        agreed = replace(agreed, value=np.where(agreed.value <= t, agreed.value, float(NEVER)))
        return TrackEvents(
            track=self.track,
            coverage=self.coverage,
            observation=self.observation,
            rounds=self.rounds.by(t),
            undated_rounds=self.undated_rounds.by(t),
            exchanges_executed=self.exchanges_executed.by(t),
            exchanges_agreed=agreed,
            leader_proposals=self.leader_proposals.by(t),
            rejections=self.rejections.by(t),
            mediator_statements=self.mediator_statements.by(t),
            suspensions=self.suspensions.by(t),
            any_event=self.any_event.by(t),
        )

    @property
    def round_weeks(self) -> IntArray:
        return np.unique(self.rounds.week)

    def observed(self, coverages: frozenset[str] = FITTED_COVERAGES) -> ObservedWeeks:
        return self.observation.weeks(coverages)

    def observed_starts(self, observed: ObservedWeeks) -> NDArray[np.bool_]:
        """Per distinct round week: whether some round of that week fell on an observed day."""
        weeks = self.round_weeks
        on = observed.on_day(self.rounds.day)
        return np.array([bool(on[self.rounds.week == w].any()) for w in weeks], bool)


@dataclass(frozen=True)
class FrontEvents:
    """All front reports (front-line covariates are global): value = 1 if static or frozen."""

    reports: EventTable
    front: IntArray

    def by(self, t: int) -> FrontEvents:
        keep = (self.reports.rep <= t) & (self.reports.day <= t)
        return FrontEvents(
            EventTable(self.reports.day[keep], self.reports.rep[keep], self.reports.value[keep]),
            self.front[keep],
        )

    def plus(self, reports: EventTable, front: IntArray) -> FrontEvents:
        return FrontEvents(self.reports.plus(reports), np.concatenate([self.front, front]))


@dataclass(frozen=True)
class HistoryIndex:
    tracks: dict[str, TrackEvents]
    front: FrontEvents
    front_codes: dict[str, int]
    track_mediators: dict[str, frozenset[str]]
    data_cutoff: dt.date | None

    def by(self, as_of: dt.date) -> HistoryIndex:
        t = day_number(as_of)
        latest = self.latest_report_by(t)
        return HistoryIndex(
            tracks={k: v.by(t) for k, v in self.tracks.items()},
            front=self.front.by(t),
            front_codes=self.front_codes,
            track_mediators=self.track_mediators,
            data_cutoff=latest,
        )

    def fingerprint(self) -> str:
        """sha256 of every event the index holds (per track, in canonical order) and its windows:
        two indexes with equal fingerprints give equal forecasts."""
        h = hashlib.sha256()
        for tid in sorted(self.tracks):
            ev = self.tracks[tid]
            h.update(f"{tid}\x1f{ev.coverage}\x1f{ev.observation.coverage}".encode())
            for arr in (ev.observation.start, ev.observation.end):
                h.update(np.ascontiguousarray(arr, dtype="<i8").tobytes())
            for tab in _tables(ev):
                for arr in (tab.day, tab.rep):
                    h.update(np.ascontiguousarray(arr, dtype="<i8").tobytes())
                h.update(np.ascontiguousarray(np.nan_to_num(tab.value, nan=-1.0), dtype="<f8").tobytes())
        for arr in (self.front.reports.day, self.front.reports.rep):
            h.update(np.ascontiguousarray(arr, dtype="<i8").tobytes())
        # Front names, not codes: the codes number every front in the frames, including fronts
        # first reported later, which must not change what is known by an earlier day.
        names = {code: name for name, code in self.front_codes.items()}
        h.update("\x1f".join(names[int(c)] for c in self.front.front).encode())
        h.update(np.ascontiguousarray(self.front.reports.value, dtype="<f8").tobytes())
        return h.hexdigest()

    def latest_report_by(self, t: int) -> dt.date | None:
        reps = [tab.rep[tab.rep <= t] for ev in self.tracks.values() for tab in _tables(ev)]
        reps.append(self.front.reports.rep[self.front.reports.rep <= t])
        flat = np.concatenate(reps) if reps else np.zeros(0, np.int64)
        return None if flat.size == 0 else dt.date(1970, 1, 1) + dt.timedelta(days=int(flat.max()))


def _tables(ev: TrackEvents) -> tuple[EventTable, ...]:
    return (
        ev.rounds,
        ev.undated_rounds,
        ev.exchanges_executed,
        ev.exchanges_agreed,
        ev.any_event,
        ev.leader_proposals,
        ev.rejections,
        ev.mediator_statements,
        ev.suspensions,
    )


# --- reading the frames -------------------------------------------------------------------------


def _days(series: pl.Series) -> IntArray:
    return series.cast(pl.Int64).fill_null(NEVER).to_numpy().astype(np.int64)


def _table(frame: pl.DataFrame, day_col: str = "date", value: FloatArray | None = None) -> EventTable:
    day = _days(frame.get_column(day_col))
    rep = _days(frame.get_column("reported_at"))
    v = np.zeros(len(day), np.float64) if value is None else value
    return EventTable(day, rep, v).canonical()


def _build_index(frames: HistoryFrames) -> HistoryIndex:
    rounds = frames.rounds
    exchanges = frames.exchanges.with_columns(
        # An executed exchange happened on executed_on, else on its date (schemas require one).
        pl.coalesce("executed_on", "date").alias("exec_day"),
        # Agreed on agreed_on; an exchange still only agreed dates its agreement by `date`.
        pl.when(pl.col("agreed_on").is_not_null())
        .then(pl.col("agreed_on"))
        .when(pl.col("status") == "agreed")
        .then(pl.col("date"))
        .otherwise(None)
        .alias("agree_day"),
    )
    statements = frames.statements.filter(pl.col("date").is_not_null())
    fronts = frames.front_reports.filter(pl.col("date").is_not_null()).sort(
        "date", "reported_at", "front", "status"
    )

    front_names = sorted(set(fronts.get_column("front").to_list()))
    front_codes = {name: i for i, name in enumerate(front_names)}
    # Not `_table`: the front codes must stay aligned with the rows, which the sort above fixes.
    front = FrontEvents(
        EventTable(
            _days(fronts.get_column("date")),
            _days(fronts.get_column("reported_at")),
            fronts.get_column("status").is_in(list(_STALEMATE_STATUSES)).cast(pl.Float64).to_numpy(),
        ),
        np.array([front_codes[f] for f in fronts.get_column("front").to_list()], np.int64),
    )

    windows = frames.windows
    tracks: dict[str, TrackEvents] = {}
    mediators_of: dict[str, frozenset[str]] = {}
    for row in frames.tracks.iter_rows(named=True):
        tid: str = row["track"]
        if windows is None:
            observation = Observation.everywhere(str(row["coverage"]))
        else:
            own = windows.filter(pl.col("track") == tid)
            observation = Observation(
                _days(own.get_column("start")),
                _days(own.get_column("end")),
                tuple(own.get_column("coverage").to_list()),
            )
        mediators = frozenset(row["mediators"] or [])
        mediators_of[tid] = mediators
        r = rounds.filter(pl.col("track") == tid)
        dated = r.filter(pl.col("date").is_not_null())
        # Nulls become NaN: "not known whether they agreed to meet again".
        meet = dated.get_column("agreed_to_meet_again").cast(pl.Float64).to_numpy().astype(np.float64)
        round_table = _table(dated, value=meet)
        x = exchanges.filter(pl.col("track") == tid)
        executed = x.filter((pl.col("status") == "executed") & pl.col("exec_day").is_not_null())
        exec_table = _table(executed, "exec_day")
        if tid in EXCHANGE_ROUND_TRACKS:
            round_table = round_table.plus(
                replace(exec_table, value=np.full(len(exec_table), np.nan))
            ).canonical()
        agreed = x.filter((pl.col("status") != "cancelled") & pl.col("agree_day").is_not_null())
        agreed_exec = np.where(
            agreed.get_column("status").to_numpy() == "executed", _days(agreed.get_column("exec_day")), NEVER
        ).astype(np.float64)
        s = statements.filter(pl.col("track").is_null() | (pl.col("track") == tid))
        own = statements.filter(pl.col("track") == tid)
        kind = pl.col("kind")
        tracks[tid] = TrackEvents(
            track=tid,
            coverage=str(row["coverage"]),
            observation=observation,
            rounds=round_table,
            undated_rounds=_table(r.filter(pl.col("date").is_null()), "reported_at"),
            exchanges_executed=exec_table,
            exchanges_agreed=_table(agreed, "agree_day", agreed_exec),
            leader_proposals=_table(s.filter((kind == "proposal") & pl.col("leader_level"))),
            rejections=_table(s.filter(kind == "rejection")),
            mediator_statements=_table(
                s.filter(pl.col("actor").is_in(sorted(mediators)) | (kind == "mediation_offer"))
            ),
            # A suspension belongs to the track it suspends; an untracked one names none.
            suspensions=_table(own.filter(kind.is_in(list(_SUSPENDING_KINDS)))),
            any_event=EventTable.of(
                np.concatenate([round_table.day, _days(x.get_column("date")), _days(own.get_column("date"))]),
                np.concatenate(
                    [
                        round_table.rep,
                        _days(x.get_column("reported_at")),
                        _days(own.get_column("reported_at")),
                    ]
                ),
            ).canonical(),
        )
    return HistoryIndex(tracks, front, front_codes, mediators_of, frames.data_cutoff)


_INDEX_CACHE: weakref.WeakKeyDictionary[HistoryFrames, HistoryIndex] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()


def history_index(frames: HistoryFrames) -> HistoryIndex:
    """The frames read into per-track numpy arrays, once per frames object."""
    with _INDEX_LOCK:
        cached = _INDEX_CACHE.get(frames)
    if cached is not None:
        return cached
    built = _build_index(frames)
    with _INDEX_LOCK:
        _INDEX_CACHE[frames] = built
    return built


# --- covariates -----------------------------------------------------------------------------------


def _decayed(table: EventTable, weeks: IntArray, active_until: IntArray | None = None) -> FloatArray:
    """Σ 2^(−Δweeks/4) over events usable by each week (and, if given, still active in it)."""
    if len(table) == 0 or weeks.size == 0:
        return np.zeros(weeks.size, np.float64)
    w = weeks[:, None]
    on = table.usable[None, :] <= w
    if active_until is not None:
        on &= w < active_until[None, :]
    age = (w - table.week[None, :]).astype(np.float64)
    return np.where(on, np.exp2(-age / DECAY_HALF_LIFE_WEEKS), 0.0).sum(axis=1)


def _front_share(front: FrontEvents, weeks: IntArray) -> FloatArray:
    """Share of fronts whose latest usable report is static/frozen; NaN before any report."""
    out = np.full(weeks.size, np.nan)
    if len(front.reports) == 0 or weeks.size == 0:
        return out
    usable = front.reports.usable
    order = np.lexsort((front.reports.rep, front.reports.day, usable))
    steps: list[int] = []
    shares: list[float] = []
    latest: dict[int, tuple[int, int, float]] = {}
    for i in order:
        key = (int(front.reports.day[i]), int(front.reports.rep[i]))
        f = int(front.front[i])
        # "Latest" per front is by event date, then by report date: a late report of an old
        # week must not override a newer one.
        if f not in latest or key >= latest[f][:2]:
            latest[f] = (key[0], key[1], float(front.reports.value[i]))
        share = sum(v[2] for v in latest.values()) / len(latest)
        if steps and steps[-1] == int(usable[i]):
            shares[-1] = share
        else:
            steps.append(int(usable[i]))
            shares.append(share)
    idx = np.searchsorted(np.asarray(steps, np.int64), weeks, side="right") - 1
    ok = idx >= 0
    out[ok] = np.asarray(shares)[idx[ok]]
    return out


def recent_rate(count: FloatArray | float) -> FloatArray:
    """The recent-rate rule's weekly rate from a count of round weeks in the last RECENT_WEEKS."""
    return (np.asarray(count, np.float64) + 0.5) / (RECENT_WEEKS + 1)


def rate_logit(count: FloatArray | float) -> FloatArray:
    r = recent_rate(count)
    return np.log(r / (1.0 - r))


def recent_round_weeks(ev: TrackEvents, weeks: IntArray) -> FloatArray:
    """Per week w: distinct weeks w − RECENT_WEEKS .. w − 1 holding a round usable by week w."""
    if len(ev.rounds) == 0 or weeks.size == 0:
        return np.zeros(weeks.size, np.float64)
    rweeks = ev.rounds.week
    usable = ev.rounds.usable
    uniq = np.unique(rweeks)
    first_usable = np.array([usable[rweeks == u].min() for u in uniq], np.int64)
    w = weeks[:, None]
    on = (uniq[None, :] < w) & (uniq[None, :] >= w - RECENT_WEEKS) & (first_usable[None, :] <= w)
    return on.sum(axis=1).astype(np.float64)


def covariates(ev: TrackEvents, front: FrontEvents, weeks: IntArray, spell_start: IntArray) -> FloatArray:
    """Raw covariates (rows × COVARIATES, NaN = missing) for `ev` in the given weeks.

    `spell_start[i]` is the week of the round that opened row i's gap.
    """
    n = weeks.size
    x = np.zeros((n, len(COVARIATES)), np.float64)
    if n == 0:
        return x
    gap = (weeks - spell_start).astype(np.float64)
    x[:, _COL["log_weeks_since_round"]] = np.log1p(gap)
    x[:, _COL["years_since_round"]] = gap / 52.0
    x[:, _COL["gap_over_52_weeks"]] = (gap > LONG_GAP_WEEKS).astype(np.float64)

    # Rounds held: distinct dated round weeks (first usable when the earliest of a week's
    # records is) plus undated rounds, which count though they cannot be placed in time.
    held = np.zeros(n, np.float64)
    if len(ev.rounds):
        rweeks = ev.rounds.week
        usable = ev.rounds.usable
        uniq = np.unique(rweeks)
        first_usable = np.sort(np.array([usable[rweeks == u].min() for u in uniq], np.int64))
        held += np.searchsorted(first_usable, weeks, side="right")
    if len(ev.undated_rounds):
        held += np.searchsorted(np.sort(ev.undated_rounds.usable), weeks, side="right")
    x[:, _COL["log_rounds_held"]] = np.log1p(held)
    x[:, _COL["recent_rate_logit"]] = rate_logit(recent_round_weeks(ev, weeks))

    x[:, _COL["exchanges_executed"]] = _decayed(ev.exchanges_executed, weeks)
    agreed = ev.exchanges_agreed
    exec_day = agreed.value.astype(np.int64)
    exec_usable = np.where(
        exec_day >= NEVER, np.iinfo(np.int64).max, _first_usable_week(exec_day, agreed.rep)
    )
    x[:, _COL["exchanges_pending"]] = _decayed(agreed, weeks, active_until=exec_usable)
    x[:, _COL["leader_proposals"]] = _decayed(ev.leader_proposals, weeks)
    x[:, _COL["rejections"]] = _decayed(ev.rejections, weeks)
    x[:, _COL["mediator_statements"]] = _decayed(ev.mediator_statements, weeks)

    # The spell's opening round: its latest day (several rounds can share a week) and whether
    # it agreed to meet again, known only once every round of that week is usable.
    r_week = ev.rounds.week
    open_day = np.empty(n, np.int64)
    meet = np.full(n, np.nan)
    for s in np.unique(spell_start):
        rows = spell_start == s
        in_week = r_week == s
        if not in_week.any():
            # A track with no round yet is anchored on its first event (see predict.anchor):
            # any suspension since then counts.
            open_day[rows] = int(s) * 7 + 4
            continue
        open_day[rows] = int(ev.rounds.day[in_week].max())
        values = ev.rounds.value[in_week]
        known = values[~np.isnan(values)]
        if known.size:
            ready = weeks[rows] >= int(ev.rounds.usable[in_week].max())
            meet_rows = np.where(ready, float(known.max()), np.nan)
            meet[rows] = meet_rows
    if len(ev.suspensions):
        sus = (ev.suspensions.day[None, :] >= open_day[:, None]) & (
            ev.suspensions.usable[None, :] <= weeks[:, None]
        )
        x[:, _COL["suspended"]] = sus.any(axis=1).astype(np.float64)
    x[:, _COL["meet_again"]] = meet
    x[:, _COL["front_stalemate"]] = _front_share(front, weeks)
    return x


# --- the risk set -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Design:
    """The training risk set as of `as_of`: raw covariates (NaN = missing), outcome, track."""

    as_of: dt.date
    last_week: int
    tracks: tuple[str, ...]
    coverage: tuple[str, ...]
    x: FloatArray
    y: FloatArray
    track_code: IntArray
    week: IntArray
    undated_rounds: tuple[int, ...]
    spells: tuple[tuple[int, int, int], ...] = field(default=())  # (track code, length, event)

    @property
    def rows(self) -> int:
        return int(self.y.size)

    @property
    def events(self) -> int:
        return int(self.y.sum())


def spell_rows(
    round_weeks: IntArray,
    last_week: int,
    observed: ObservedWeeks | None = None,
    observed_starts: NDArray[np.bool_] | None = None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """(week, spell start, outcome) rows for one track's sorted distinct round weeks.

    With `observed`, a spell runs only through observed weeks: it is censored at the last one
    before an unobserved week, and a spell whose opening round is not on an observed day
    (`observed_starts`, aligned with `round_weeks`) is left out: its start is not known to be
    the previous round.
    """
    weeks: list[IntArray] = []
    starts: list[IntArray] = []
    ys: list[FloatArray] = []
    for k, start in enumerate(round_weeks):
        start = int(start)
        if start >= last_week:
            break
        if observed_starts is not None and not observed_starts[k]:
            continue
        nxt = int(round_weeks[k + 1]) if k + 1 < len(round_weeks) else None
        event = nxt is not None and nxt <= last_week
        end = nxt if event and nxt is not None else last_week
        if observed is not None:
            through = observed.through(start + 1)
            if through < end:
                end, event = through, False
            if end <= start:
                continue
        w = np.arange(start + 1, end + 1, dtype=np.int64)
        y = np.zeros(w.size, np.float64)
        if event:
            y[-1] = 1.0
        weeks.append(w)
        starts.append(np.full(w.size, start, np.int64))
        ys.append(y)
    if not weeks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    return np.concatenate(weeks), np.concatenate(starts), np.concatenate(ys)


def build_design(
    index_at: HistoryIndex,
    as_of: dt.date,
    tracks: Sequence[str],
    coverages: frozenset[str] = FITTED_COVERAGES,
) -> Design:
    """The risk set of `tracks` from an index already restricted to records known by `as_of`:
    their observed weeks (in windows of `coverages`) at risk of a round."""
    last = last_complete_week(as_of)
    xs: list[FloatArray] = []
    ys: list[FloatArray] = []
    codes: list[IntArray] = []
    wk: list[IntArray] = []
    spells: list[tuple[int, int, int]] = []
    names = tuple(sorted(tracks))
    for code, tid in enumerate(names):
        ev = index_at.tracks[tid]
        observed = ev.observed(coverages)
        weeks, starts, y = spell_rows(ev.round_weeks, last, observed, ev.observed_starts(observed))
        xs.append(covariates(ev, index_at.front, weeks, starts))
        ys.append(y)
        codes.append(np.full(weeks.size, code, np.int64))
        wk.append(weeks)
        for s in np.unique(starts):
            in_spell = starts == s
            spells.append((code, int(in_spell.sum()), int(y[in_spell].max())))
    return Design(
        as_of=as_of,
        last_week=last,
        tracks=names,
        coverage=tuple(index_at.tracks[t].coverage for t in names),
        x=np.concatenate(xs) if xs else np.zeros((0, len(COVARIATES))),
        y=np.concatenate(ys) if ys else np.zeros(0),
        track_code=np.concatenate(codes) if codes else np.zeros(0, np.int64),
        week=np.concatenate(wk) if wk else np.zeros(0, np.int64),
        undated_rounds=tuple(len(index_at.tracks[t].undated_rounds) for t in names),
        spells=tuple(spells),
    )


def fitted_tracks(index: HistoryIndex, coverages: frozenset[str] = FITTED_COVERAGES) -> list[str]:
    """Tracks with an observation window of these coverages (by default: complete or partial)."""
    return sorted(t for t, ev in index.tracks.items() if any(c in coverages for c in ev.observation.coverage))


def week_day(week: int, weekday: int = 0) -> int:
    """Day number of a weekday (0 = Monday) in an ISO week."""
    return week * 7 + 4 + weekday


@dataclass(frozen=True)
class WeekStates:
    """Per week of one track, from its first round week to `last`: whether the gap since its last
    round is known (a round on an observed day, and no unobserved week since), that round's
    week, the next round week and the next unobserved week after it (NEVER: none)."""

    weeks: IntArray
    gap_known: NDArray[np.bool_]
    anchor: IntArray
    next_round: IntArray
    next_unobserved: IntArray

    def window_observed(self, horizon: int) -> NDArray[np.bool_]:
        """The weeks after each week, through `horizon` of them, are all observed."""
        return self.next_unobserved > self.weeks + horizon

    def at(self, week: int) -> int | None:
        """The row of `week`, or None outside the range."""
        if self.weeks.size == 0 or week < self.weeks[0] or week > self.weeks[-1]:
            return None
        return int(week - self.weeks[0])


def week_states(ev: TrackEvents, last: int, coverages: frozenset[str] = FITTED_COVERAGES) -> WeekStates:
    """`WeekStates` of one track (rounds as known to `ev`) for its weeks up to `last`."""
    rweeks = ev.round_weeks
    if rweeks.size == 0 or rweeks[0] > last:
        empty = np.zeros(0, np.int64)
        return WeekStates(empty, np.zeros(0, bool), empty, empty, empty)
    observed = ev.observed(coverages)
    weeks = np.arange(int(rweeks[0]), last + 1, dtype=np.int64)
    good = ev.observed_starts(observed)
    seen = observed.contains(weeks)
    # The latest unobserved week at or before each week, and the next one after it.
    run = np.searchsorted(observed.first, weeks, side="right") - 1
    run_first = np.where(run >= 0, observed.first[np.maximum(run, 0)], 0)
    prev_break = np.where(seen, run_first - 1, weeks)
    nxt = weeks + 1
    run_next = np.searchsorted(observed.first, nxt, side="right") - 1
    inside = (run_next >= 0) & (nxt <= observed.last[np.maximum(run_next, 0)])
    next_unobserved = np.where(inside, observed.last[np.maximum(run_next, 0)] + 1, nxt)
    # A round whose start was not observed breaks the chain like an unobserved week.
    bad = rweeks[~good]
    if bad.size:
        i = np.searchsorted(bad, weeks, side="right") - 1
        prev_break = np.maximum(prev_break, np.where(i >= 0, bad[np.maximum(i, 0)], np.iinfo(np.int64).min))
    good_weeks = rweeks[good]
    i = np.searchsorted(good_weeks, weeks, side="right") - 1
    # No observed round at all (a track whose rounds all fall outside its windows): no gap is known.
    last_good = (np.where(i >= 0, good_weeks[np.maximum(i, 0)], np.iinfo(np.int64).min) if good_weeks.size
                 else np.full(weeks.size, np.iinfo(np.int64).min))
    j = np.searchsorted(rweeks, weeks, side="right") - 1
    anchor = rweeks[np.maximum(j, 0)]
    k = np.searchsorted(rweeks, weeks, side="right")
    next_round = np.where(k < rweeks.size, rweeks[np.minimum(k, rweeks.size - 1)], NEVER)
    gap_known = (i >= 0) & (last_good >= prev_break)
    return WeekStates(weeks, gap_known, anchor, next_round.astype(np.int64), next_unobserved.astype(np.int64))

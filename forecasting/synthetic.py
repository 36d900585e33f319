"""Synthetic records with known structure, for tests and for checking the estimator.

`simulate` draws rounds from a known weekly hazard (so a fit can be checked against the truth);
`small_history` is a small irregular history with every record type. Both build real create
Structs with fixed seeds, and both go through `build_frames` like any other records.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from forecasting.features import DECAY_HALF_LIFE_WEEKS, RECENT_WEEKS
from forecasting.frames import HistoryFrames, build_frames
from schemas.records import (
    CoveragePeriod,
    ExchangeCreate,
    FrontReportCreate,
    RoundCreate,
    StatementCreate,
    TrackCreate,
)
from schemas.vocab import (
    Coverage,
    DatePrecision,
    ExchangeStatus,
    FrontStatus,
    StatementKind,
    TrackFormat,
)

SRC = ["src-synthetic"]
START = dt.date(2015, 1, 5)  # a Monday


def monday(week: int) -> dt.date:
    return START + dt.timedelta(weeks=week)


@dataclass
class Records:
    tracks: list[TrackCreate] = field(default_factory=list)
    rounds: list[RoundCreate] = field(default_factory=list)
    exchanges: list[ExchangeCreate] = field(default_factory=list)
    statements: list[StatementCreate] = field(default_factory=list)
    front_reports: list[FrontReportCreate] = field(default_factory=list)

    def frames(self) -> HistoryFrames:
        return build_frames(self.tracks, self.rounds, self.exchanges, self.statements, self.front_reports)


def track(tid: str, coverage: Coverage, mediators: list[str] | None = None) -> TrackCreate:
    return TrackCreate(
        id=tid,
        name=tid,
        parties=["russia", "ukraine"],
        mediators=mediators or [],
        format=TrackFormat.MEDIATED,
        coverage_periods=[CoveragePeriod(start=dt.date(2000, 1, 1), coverage=coverage)],
    )


def round_on(
    tid: str, day: dt.date, reported: dt.date | None = None, meet: bool | None = None
) -> RoundCreate:
    return RoundCreate(track=tid, date=day, reported_at=reported, sources=SRC, agreed_to_meet_again=meet)


def exchange_on(tid: str, day: dt.date, reported: dt.date | None = None) -> ExchangeCreate:
    return ExchangeCreate(
        track=tid,
        status=ExchangeStatus.EXECUTED,
        executed_on=day,
        date=day,
        reported_at=reported,
        sources=SRC,
    )


def statement_on(
    tid: str | None, day: dt.date, kind: StatementKind, actor: str = "russia", leader: bool = False
) -> StatementCreate:
    return StatementCreate(track=tid, date=day, kind=kind, actor=actor, leader_level=leader, sources=SRC)


def small_history(seed: int = 7, weeks: int = 160) -> Records:
    """Three fitted tracks with irregular rounds, exchanges, statements and (from half-way)
    front reports, plus a milestones track. Small enough to fit in milliseconds."""
    rng = np.random.default_rng(seed)
    rec = Records()
    rec.tracks = [
        track("alpha", Coverage.COMPLETE, ["osce"]),
        track("beta", Coverage.PARTIAL, ["turkey"]),
        track("gamma", Coverage.PARTIAL),
        track("milestone-talks", Coverage.MILESTONES),
    ]
    for tid, mean_gap in (("alpha", 3.0), ("beta", 5.0), ("gamma", 8.0)):
        w = int(rng.integers(0, 4))
        while w < weeks:
            day = monday(w) + dt.timedelta(days=int(rng.integers(0, 5)))
            rec.rounds.append(
                round_on(tid, day, meet=bool(rng.random() < 0.5) if rng.random() < 0.6 else None)
            )
            w += 1 + int(rng.geometric(1.0 / mean_gap))
    for w in range(weeks):
        if rng.random() < 0.08:
            rec.exchanges.append(
                exchange_on(str(rng.choice(["alpha", "beta"])), monday(w) + dt.timedelta(days=2))
            )
        if rng.random() < 0.04:
            rec.statements.append(
                statement_on(None, monday(w) + dt.timedelta(days=1), StatementKind.REJECTION)
            )
        if rng.random() < 0.03:
            rec.statements.append(
                statement_on(
                    "beta", monday(w) + dt.timedelta(days=3), StatementKind.ASSESSMENT, actor="turkey"
                )
            )
        if w >= weeks // 2 and w % 2 == 0:
            status = FrontStatus.STATIC if rng.random() < 0.5 else FrontStatus.ADVANCING
            rec.front_reports.append(
                FrontReportCreate(
                    front=str(rng.choice(["north", "south"])), status=status, date=monday(w), sources=SRC
                )
            )
    rec.statements.append(statement_on("gamma", monday(weeks - 20), StatementKind.SUSPENSION))
    rec.rounds.append(round_on("milestone-talks", monday(10)))
    rec.rounds.append(round_on("milestone-talks", monday(90)))
    # A round whose date is unknown: counted in rounds held, never placed in time.
    rec.rounds.append(
        RoundCreate(
            track="alpha",
            date=None,
            date_precision=DatePrecision.UNKNOWN,
            reported_at=monday(40),
            sources=SRC,
        )
    )
    return rec


@dataclass(frozen=True)
class Truth:
    exchanges: float  # per unit of the decayed executed-exchange count, on top of the rule


def simulate(
    truth: Truth, tracks: int = 40, weeks: int = 220, p_exchange: float = 0.12, seed: int = 11
) -> Records:
    """Records drawn from the hazard model with a known exchange effect:
    logit h = logit((k + 0.5) / 27) + exchanges·Σ 2^(−age/4), k = weeks with a round in the 26
    before the week. Rounds and exchanges happen mid-week and count from the next week, exactly
    as the model reads them."""
    rng = np.random.default_rng(seed)
    rec = Records()
    for k in range(tracks):
        tid = f"sim-{k:02d}"
        rec.tracks.append(track(tid, Coverage.COMPLETE))
        round_weeks = [0]
        rec.rounds.append(round_on(tid, monday(0) + dt.timedelta(days=1)))
        ex_weeks: list[int] = []
        for w in range(1, weeks):
            recent = sum(1 for r in round_weeks if w - RECENT_WEEKS <= r < w)
            rate = (recent + 0.5) / (RECENT_WEEKS + 1)
            decayed = sum(2.0 ** (-(w - e) / DECAY_HALF_LIFE_WEEKS) for e in ex_weeks)
            eta = math.log(rate / (1 - rate)) + truth.exchanges * decayed
            if rng.random() < 1.0 / (1.0 + math.exp(-eta)):
                rec.rounds.append(round_on(tid, monday(w) + dt.timedelta(days=1)))
                round_weeks.append(w)
            if rng.random() < p_exchange:
                rec.exchanges.append(exchange_on(tid, monday(w) + dt.timedelta(days=3)))
                ex_weeks.append(w)
    return rec


TRUTH = Truth(exchanges=0.8)

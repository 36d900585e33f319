"""Risk set, covariates and observation windows: the rows and values the models are fitted on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecasting import ObservationWindow, build_frames
from forecasting.evaluation import evaluate
from forecasting.features import (
    COVARIATE_NAMES,
    build_design,
    history_index,
    recent_round_weeks,
    spell_rows,
)
from forecasting.frames import HistoryFrames, day_number, last_complete_week, week_end, week_of, week_start
from forecasting.hazard import MIN_SUPPORT, fit_design
from forecasting.paths import hazard_path
from forecasting.synthetic import (
    Records,
    exchange_on,
    monday,
    round_on,
    statement_on,
    track,
)
from schemas.records import ExchangeCreate, RoundCreate
from schemas.vocab import Coverage, DatePrecision, ExchangeStatus, StatementKind

COL = {n: i for i, n in enumerate(COVARIATE_NAMES)}


def test_weeks_are_iso_weeks() -> None:
    for d in (dt.date(2014, 6, 6), dt.date(2020, 2, 29), dt.date(2024, 12, 30), dt.date(1969, 12, 31)):
        w = week_of(d)
        assert week_start(w).isocalendar()[:2] == d.isocalendar()[:2]
        assert week_start(w).weekday() == 0 and week_end(w).weekday() == 6
        assert week_start(w) <= d <= week_end(w)
    sunday = dt.date(2024, 12, 29)
    assert last_complete_week(sunday) == week_of(sunday)
    assert last_complete_week(sunday - dt.timedelta(days=1)) == week_of(sunday) - 1


def test_spell_rows_from_round_to_next_round_then_censored() -> None:
    weeks, starts, y = spell_rows(np.array([10, 13, 14], np.int64), last_week=20)
    assert weeks.tolist() == [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    assert starts.tolist() == [10, 10, 10, 13, 14, 14, 14, 14, 14, 14]
    assert y.tolist() == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]
    # A round after the last complete week censors the gap before it.
    weeks, _, y = spell_rows(np.array([10, 25], np.int64), last_week=20)
    assert weeks.tolist() == list(range(11, 21)) and y.sum() == 0


def test_executed_exchange_is_a_round_on_pow_exchanges_only() -> None:
    tracks = [track("pow-exchanges", Coverage.PARTIAL), track("other", Coverage.PARTIAL)]
    exchanges = [exchange_on(t, monday(w)) for t in ("pow-exchanges", "other") for w in (0, 5, 9)]
    frames = build_frames(tracks, [], exchanges, [], [])
    index = history_index(frames)
    assert index.tracks["pow-exchanges"].round_weeks.size == 3
    assert index.tracks["other"].round_weeks.size == 0
    assert len(index.tracks["other"].exchanges_executed) == 3


def test_undated_round_counts_in_rounds_held_but_is_not_placed() -> None:
    tracks = [track("t", Coverage.COMPLETE)]
    rounds = [round_on("t", monday(w)) for w in (0, 4)]
    undated = RoundCreate(
        track="t", date=None, date_precision=DatePrecision.UNKNOWN, reported_at=monday(2), sources=["s"]
    )
    frames = build_frames(tracks, [*rounds, undated], [], [], [])
    as_of = monday(10)
    index = history_index(frames).by(as_of)
    design = build_design(index, as_of, ["t"])
    assert design.events == 1  # only the dated resumption in week 4
    held = np.expm1(design.x[:, COL["log_rounds_held"]]).round().astype(int)
    # weeks 1..2: one round; week 3 (after the undated one is reported): two; from week 5: three.
    assert held.tolist()[:5] == [1, 1, 2, 2, 3]
    path = hazard_path(index.tracks["t"], index.front, as_of, 4)
    assert path.rounds_held == 3


def test_covariates_use_only_records_reported_before_the_week() -> None:
    tracks = [track("t", Coverage.COMPLETE)]
    rounds = [round_on("t", monday(0)), round_on("t", monday(20))]
    # Happened in week 3, reported in week 6: counts from week 7.
    late = ExchangeCreate(
        track="t",
        status=ExchangeStatus.EXECUTED,
        executed_on=monday(3),
        date=monday(3),
        reported_at=monday(6),
        sources=["s"],
    )
    frames = build_frames(tracks, rounds, [late], [], [])
    as_of = monday(21)
    design = build_design(history_index(frames).by(as_of), as_of, ["t"])
    ex = dict(zip(design.week.tolist(), design.x[:, COL["exchanges_executed"]].tolist(), strict=True))
    w0 = week_of(monday(0))
    assert ex[w0 + 6] == 0.0
    assert ex[w0 + 7] == pytest.approx(2.0 ** (-4 / 4))  # decayed from the week it happened


def test_suspension_flag_stays_until_the_next_round() -> None:
    tracks = [track("t", Coverage.COMPLETE)]
    rounds = [round_on("t", monday(w)) for w in (0, 10)]
    stmts = [statement_on("t", monday(4), StatementKind.WITHDRAWAL)]
    frames = build_frames(tracks, rounds, [], stmts, [])
    as_of = monday(20)
    design = build_design(history_index(frames).by(as_of), as_of, ["t"])
    rel = design.week - week_of(monday(0))
    flag = design.x[:, COL["suspended"]]
    assert flag[(rel >= 1) & (rel <= 4)].sum() == 0
    assert flag[(rel >= 5) & (rel <= 10)].min() == 1.0  # at risk, flagged
    assert flag[rel > 10].sum() == 0


def test_recent_rate_counts_round_weeks_in_the_26_before_the_week() -> None:
    tracks = [track("t", Coverage.COMPLETE)]
    rounds = [round_on("t", monday(w)) for w in (0, 1, 1, 10, 30)]  # two rounds share week 1
    frames = build_frames(tracks, rounds, [], [], [])
    ev = history_index(frames).tracks["t"]
    w0 = week_of(monday(0))
    counts = recent_round_weeks(ev, np.array([w0 + 2, w0 + 11, w0 + 27, w0 + 31], np.int64))
    # weeks 0 and 1; 0, 1 and 10; 1 and 10 (week 0 left the 26); 10 and 30.
    assert counts.tolist() == [2.0, 3.0, 2.0, 2.0]


# --- observation windows ----------------------------------------------------------------------


def window(tid: str, start: dt.date, end: dt.date | None, coverage: str = "complete") -> ObservationWindow:
    return ObservationWindow(tid, start, end, coverage, "test")


def test_observed_weeks_are_whole_weeks_inside_fitted_windows() -> None:
    frames = build_frames(
        [track("t", Coverage.COMPLETE)], [round_on("t", monday(0))], [], [], [],
        windows=[
            window("t", monday(0) + dt.timedelta(days=2), monday(3) + dt.timedelta(days=1)),  # Wed .. Tue
            window("t", monday(3) + dt.timedelta(days=2), monday(6) - dt.timedelta(days=1)),  # adjacent: merges
            window("t", monday(10), monday(12) - dt.timedelta(days=1), "milestones"),  # not fitted
        ],
    )  # fmt: skip
    observed = history_index(frames).tracks["t"].observed()
    w0 = week_of(monday(0))
    seen = observed.contains(np.arange(w0 - 1, w0 + 14, dtype=np.int64))
    assert [int(w) - w0 for w in np.arange(w0 - 1, w0 + 14)[seen]] == [1, 2, 3, 4, 5]
    assert observed.through(w0 + 1) == w0 + 5 and observed.through(w0 + 6) == w0 + 5
    assert observed.on_day(np.array([day_number(monday(0) + dt.timedelta(days=2))], np.int64)).all()


def _gap_history(extra_rounds: tuple[int, ...] = (), *, windowed: bool = True) -> HistoryFrames:
    """Rounds every third week, observed in weeks 0-59 and again from week 80; nothing is known of
    weeks 60-79 (like 2025, which no source covered). `windowed=False`: no windows declared."""
    tracks = [track(t, Coverage.COMPLETE) for t in ("a", "b")]
    rounds = [round_on(t, monday(w) + dt.timedelta(days=k)) for k, t in enumerate(("a", "b"))
              for w in (*range(0, 60, 3), *range(83, 140, 3), *extra_rounds)]  # fmt: skip
    windows = [window(t, monday(0), monday(60) - dt.timedelta(days=1)) for t in ("a", "b")]
    windows += [window(t, monday(80), None) for t in ("a", "b")]
    return build_frames(tracks, rounds, [], [], [], windows=windows if windowed else None)


def test_a_week_outside_every_observation_window_is_neither_trained_on_nor_scored() -> None:
    frames = _gap_history()
    w0 = week_of(monday(0))
    gap = set(range(w0 + 60, w0 + 80))
    as_of = monday(140) + dt.timedelta(days=6)
    design = build_design(history_index(frames).by(as_of), as_of, ["a", "b"])
    weeks = set(design.week.tolist())
    assert not weeks & gap  # never a training row
    # The spell open at week 57 is censored at week 59 (no outcome), and the track re-enters the
    # risk set only after its first round on an observed day (week 83), not at week 80.
    rel = {w - w0 for w in weeks}
    assert {58, 59} <= rel and not {80, 81, 82, 83} & rel and 84 in rel
    censored = [s for s in design.spells if s[1] == 2 and s[2] == 0]
    assert len(censored) >= 2

    table = evaluate(frames)
    assert table.horizon.size > 0
    for c, h in zip(table.week.tolist(), table.horizon.tolist(), strict=True):
        window_weeks = set(range(c + 1, c + h + 1))
        assert not window_weeks & gap, "a scored window reaches into unobserved weeks"
        assert not (w0 + 60 <= c < w0 + 83), "scored from an origin whose gap crosses unobserved weeks"

    # Whatever happened in the unobserved weeks changes no training row and no scored outcome.
    other = _gap_history(extra_rounds=(65, 70, 76))
    design2 = build_design(history_index(other).by(as_of), as_of, ["a", "b"])
    assert design2.week.tolist() == design.week.tolist() and design2.y.tolist() == design.y.tolist()
    table2 = evaluate(other)
    y1, _ = table.labels(as_of)
    y2, _ = table2.labels(as_of)
    assert table2.week.tolist() == table.week.tolist() and y2.tolist() == y1.tolist()

    # Without windows every week counts as observed, the gap included: the censoring is theirs.
    unwatched = _gap_history(windowed=False)
    everything = build_design(history_index(unwatched).by(as_of), as_of, ["a", "b"])
    assert gap <= set(everything.week.tolist())


def test_a_term_without_support_is_not_estimated_and_named(history: Records) -> None:
    frames = history.frames()
    assert frames.data_cutoff is not None
    index = history_index(frames).by(frames.data_cutoff)
    fit = fit_design(build_design(index, frames.data_cutoff, ["alpha", "beta", "gamma"]))
    dropped = {d.term: d.reason for d in fit.dropped}
    # small_history has one suspension and no leader-level proposal: no support for either.
    assert fit.support["suspended"] < MIN_SUPPORT and "suspended" in dropped
    assert "not estimated" in dropped["suspended"] and f"{MIN_SUPPORT} needed" in dropped["suspended"]
    assert "leader_proposals" in dropped
    assert all(t.name not in dropped for t in fit.terms)
    assert all(fit.support[t.name] >= MIN_SUPPORT for t in fit.terms)


def test_a_track_whose_rounds_all_fall_outside_its_windows_is_evaluated_without_any_row() -> None:
    # A track an analyst just created, say, with rounds but no period covering them: nothing of it
    # is observed, so it adds no scored forecast, and the other tracks are scored as before.
    frames = _gap_history()
    rounds = [round_on("c", monday(w)) for w in range(0, 40, 4)]
    lonely = build_frames(
        [track(t, Coverage.COMPLETE) for t in ("a", "b", "c")],
        [*(round_on(t, monday(w) + dt.timedelta(days=k)) for k, t in enumerate(("a", "b"))
           for w in (*range(0, 60, 3), *range(83, 140, 3))), *rounds], [], [], [],
        windows=[*(window(t, monday(0), monday(60) - dt.timedelta(days=1)) for t in ("a", "b")),
                 *(window(t, monday(80), None) for t in ("a", "b")),
                 window("c", monday(200), None)],
    )  # fmt: skip
    assert evaluate(lonely).week.tolist() == evaluate(frames).week.tolist()

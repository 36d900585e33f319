"""Risk set and covariates: the rows and values the model is fitted on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from forecasting import build_frames
from forecasting.features import (
    COVARIATE_NAMES,
    build_design,
    history_index,
    spell_rows,
)
from forecasting.frames import last_complete_week, week_end, week_of, week_start
from forecasting.hazard import fit_design
from forecasting.predict import hazard_path
from forecasting.synthetic import (
    Records,
    exchange_on,
    monday,
    round_on,
    small_history,
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


def test_missing_front_data_gets_indicator_and_neutral_value(history: Records) -> None:
    frames = history.frames()
    assert frames.data_cutoff is not None
    index = history_index(frames).by(frames.data_cutoff)
    design = build_design(index, frames.data_cutoff, ["alpha", "beta", "gamma"])
    front = design.x[:, COL["front_stalemate"]]
    assert np.isnan(front).any() and (~np.isnan(front)).any()
    fit = fit_design(design)
    names = [t.name for t in fit.terms]
    assert "front_stalemate" in names and "front_stalemate_missing" in names
    # Missing rows take the training mean: after standardising, exactly 0 (neutral).
    z = fit.matrix(design.x)
    col = names.index("front_stalemate")
    fill = fit.terms[col]
    assert fill.fill == pytest.approx(np.nanmean(front))
    assert np.allclose(z[np.isnan(front), col], (fill.fill - fill.mean) / fill.scale)
    assert fit.missing_rows["front_stalemate"] == int(np.isnan(front).sum())


def test_covariate_with_no_data_is_dropped_and_named() -> None:
    rec = small_history()
    rec.front_reports = []
    frames = rec.frames()
    assert frames.data_cutoff is not None
    index = history_index(frames).by(frames.data_cutoff)
    fit = fit_design(build_design(index, frames.data_cutoff, ["alpha", "beta", "gamma"]))
    dropped = {d.term: d.reason for d in fit.dropped}
    assert "front_stalemate" in dropped and "front_stalemate_missing" in dropped
    assert all("front" not in t.name for t in fit.terms)

"""Backtest: origins, scoring window, metrics, progress, determinism; and the real history."""

from __future__ import annotations

import datetime as dt
import math

import msgspec
import numpy as np
import pytest

from forecasting import backtest, build_frames, forecast_track, model_card, run_scenario
from forecasting.backtest import _auc, _logistic_fit, month_ends
from forecasting.frames import week_end, week_of
from forecasting.synthetic import Records, monday, round_on, track
from schemas.forecast import (
    BacktestReport,
    BacktestVariant,
    Estimate,
    HypotheticalStatement,
)
from schemas.vocab import Coverage, StatementKind
from seeds.history import load_history


def finite(e: Estimate) -> bool:
    return e.value is not None and math.isfinite(e.value)


def test_month_ends() -> None:
    assert month_ends(dt.date(2023, 11, 15), dt.date(2024, 3, 1)) == [
        dt.date(2023, 11, 30),
        dt.date(2023, 12, 31),
        dt.date(2024, 1, 31),
        dt.date(2024, 2, 29),
    ]


def test_metric_helpers_against_known_values() -> None:
    p = np.array([0.1, 0.4, 0.35, 0.8])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    assert _auc(p, y) == pytest.approx(0.75)
    assert _auc(p, np.zeros(4)) is None
    # Outcomes drawn from logit(p) exactly: recalibration slope ≈ 1, intercept ≈ 0.
    rng = np.random.default_rng(0)
    q = rng.uniform(0.02, 0.98, 20000)
    yy = (rng.random(20000) < q).astype(float)
    lq = np.log(q / (1 - q))
    slope = _logistic_fit(yy, lq, np.zeros_like(yy))
    icpt = _logistic_fit(yy, None, lq)
    assert slope is not None and icpt is not None
    assert slope[1] == pytest.approx(1.0, abs=0.05) and icpt[0] == pytest.approx(0.0, abs=0.05)


def test_backtest_on_synthetic_history(history: Records) -> None:
    frames = history.frames()
    calls: list[tuple[int, int]] = []
    report = backtest(frames, (2, 4), on_origin=lambda d, t: calls.append((d, t)), bootstrap=200)
    assert calls and calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == list(range(1, len(calls) + 1))
    fitted = next(v for v in report.variants if v.variant == BacktestVariant.FITTED)
    assert fitted.tracks == ["alpha", "beta", "gamma"]  # milestones excluded
    assert fitted.origins > 10 and fitted.last_origin is not None and fitted.first_origin is not None
    # Only forecasts whose window ended by the cutoff are scored.
    assert week_end(week_of(fitted.last_origin) + 2) <= report.data_cutoff
    m4 = next(m for m in fitted.metrics if m.horizon == 4)
    assert m4.forecasts > 0 and 0 < m4.events < m4.forecasts
    for e in (m4.brier, m4.brier_b0, m4.brier_b1, m4.brier_skill_b0, m4.brier_skill_b1, m4.log_loss, m4.auc):
        assert finite(e)
        assert e.ci_low is not None and e.ci_high is not None and e.ci_low <= e.ci_high
    assert 0 <= m4.brier.value <= 1  # type: ignore[operator]
    assert (
        fitted.reliability and sum(b.forecasts for b in fitted.reliability if b.horizon == 4) == m4.forecasts
    )
    complete = next(v for v in report.variants if v.variant == BacktestVariant.COMPLETE_ONLY)
    assert complete.tracks == ["alpha"]

    again = backtest(frames, (2, 4), bootstrap=200)
    # Identical but for the wall time.
    assert msgspec.json.encode(msgspec.structs.replace(again, elapsed_seconds=0.0)) == msgspec.json.encode(
        msgspec.structs.replace(report, elapsed_seconds=0.0)
    )


def test_backtest_with_too_little_data_reports_nothing_to_score() -> None:
    tracks = [track("t", Coverage.COMPLETE)]
    rounds = [round_on("t", monday(w)) for w in (0, 3, 9, 11)]
    report = backtest(build_frames(tracks, rounds, [], [], []), bootstrap=50)
    for v in report.variants:
        assert v.origins == 0 and v.metrics == [] and v.note


# --- the real history -------------------------------------------------------------------------

def test_real_history_backtest_reports_finite_metrics() -> None:
    # Its wall time is reported by `parley backtest`, not asserted: the machines are noisy.
    h = load_history()
    frames = build_frames(h.tracks, h.rounds, h.exchanges, h.statements, [])
    report = backtest(frames)
    fitted = next(v for v in report.variants if v.variant == BacktestVariant.FITTED)
    assert fitted.origins >= 100
    assert set(fitted.tracks) == {"minsk-tcg", "normandy-format", "pow-exchanges", "black-sea-grain"}
    m4 = next(m for m in fitted.metrics if m.horizon == 4)
    for e in (m4.brier, m4.brier_skill_b0, m4.brier_skill_b1, m4.log_loss, m4.auc, m4.calibration_slope):
        assert finite(e)

    cutoff = report.data_cutoff
    card = model_card(frames, cutoff, report)
    assert card.training_events > 100 and not card.separation.detected
    assert {t.track for t in card.excluded_tracks} == {
        "direct-talks-2022", "leader-contacts", "peace-proposals", "peace-summit", "zaporizhzhia-iaea"
    }  # fmt: skip
    assert any(d.term == "front_stalemate" for d in card.dropped_terms)  # no front reports in 2014-2024
    assert msgspec.json.decode(msgspec.json.encode(report), type=BacktestReport) == report
    for t in h.tracks:
        f = forecast_track(frames, t.id, cutoff)
        assert f.low_coverage == (t.coverage == Coverage.MILESTONES)

    # No rejection on a fitted track before 2023: in 2018 the covariate cannot be estimated,
    # and the scenario says so instead of reporting a silent zero.
    kremlin = HypotheticalStatement(kind=StatementKind.REJECTION, actor="russia", week_offset=0)
    res = run_scenario(frames, "minsk-tcg", dt.date(2018, 6, 30), [kremlin], [4])
    assert res.differences[0].difference == 0.0
    assert "not estimated, so no effect: rejections" in res.with_events.flags

"""Backtest: origins, scoring window, baselines, the nested choice, metrics, run ids; and the real
history with its observation windows."""

from __future__ import annotations

import datetime as dt
import math

import msgspec
import numpy as np
import pytest

from api.forecasts import held_rounds, windows_from_tracks
from forecasting import backtest, build_frames, forecast_track, model_card, run_scenario
from forecasting.backtest import _auc, _Blocks, _logistic_fit
from forecasting.evaluation import (
    BASELINES,
    CANDIDATES,
    FORECASTERS,
    MIN_SELECTION,
    SELECTION_HORIZONS,
    clear_cache,
    evaluate,
    month_ends,
)
from forecasting.features import history_index
from forecasting.frames import week_end, week_of
from forecasting.synthetic import Records, monday, round_on, track
from forecasting.track_record import LoggedForecast, score_log
from schemas.forecast import BacktestReport, Estimate, HypotheticalStatement, Population
from schemas.vocab import Coverage, StatementKind
from seeds.brief import brief_records
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


def test_year_blocks_resample_whole_years() -> None:
    years = np.array([2015] * 3 + [2016] * 3 + [2017] * 3)
    values = np.array([0.0] * 3 + [1.0] * 3 + [2.0] * 3)
    blocks = _Blocks(years, 400, 1)
    e = blocks.estimate(values, np.ones(9, bool))
    assert e.value == pytest.approx(1.0)
    assert e.ci_low is not None and e.ci_high is not None and 0.0 <= e.ci_low < 1.0 < e.ci_high <= 2.0
    # Replicates only ever mix whole years: every replicate mean is a mean of year means.
    assert np.allclose(blocks.weights.sum(axis=1), 3)
    one_year = blocks.estimate(values, years == 2016)
    assert one_year.value == 1.0 and one_year.ci_low is None  # one block: no interval


def test_backtest_on_synthetic_history(history: Records) -> None:
    frames = history.frames()
    clear_cache()  # so that the progress callback sees the evaluation run
    calls: list[tuple[int, int]] = []
    report = backtest(frames, on_origin=lambda d, t: calls.append((d, t)), bootstrap=200)
    assert calls and calls[-1][0] == calls[-1][1] and [c[0] for c in calls] == list(range(1, len(calls) + 1))
    assert report.tracks == ["alpha", "beta", "gamma"]  # milestones excluded
    assert report.origins > 10 and report.first_origin is not None and report.last_origin is not None
    # Only forecasts whose window ended by the cutoff are scored.
    assert week_end(week_of(report.last_origin) + 2) <= report.data_cutoff
    expected = {*FORECASTERS, "served"}
    for population in Population:
        for h in report.horizons:
            cells = [s for s in report.scores if s.population == population and s.horizon == h]
            assert {s.forecaster for s in cells} == expected
            best = {s.best_baseline for s in cells}
            assert len(best) == 1 and best <= set(BASELINES)
            brier = {s.forecaster: s.brier.value for s in cells}
            assert brier[best.pop()] == min(brier[b] for b in BASELINES)  # type: ignore[type-var]
            for s in cells:
                assert 0 < s.events < s.forecasts and s.tracks >= 1
                assert finite(s.brier) and finite(s.log_loss) and s.auc is not None
                assert s.brier_difference.value == pytest.approx(s.brier.value - min(brier[b] for b in BASELINES))  # type: ignore[operator, type-var]
    live = {(s.forecaster, s.horizon): s.forecasts for s in report.scores if s.population == Population.LIVE}
    every = {(s.forecaster, s.horizon): s.forecasts for s in report.scores if s.population == Population.ALL}
    assert all(live[k] <= every[k] for k in live)
    assert {(m.population, m.horizon) for m in report.margins} == {(p, h) for p in Population for h in report.horizons}
    assert sum(c.origins for c in report.served_choices) == len(evaluate(frames).origins)
    served = [b for b in report.reliability if b.forecaster == "served" and b.population == Population.ALL]
    assert sum(b.forecasts for b in served if b.horizon == 4) == every[("served", 4)]

    again = backtest(frames, on_origin=lambda d, t: calls.append((d, t)), bootstrap=200)
    assert calls[-1] == calls[-2]  # cached: told at once that every origin is done
    # Identical but for the wall time, under the same run id.
    assert again.run == report.run
    assert msgspec.json.encode(msgspec.structs.replace(again, elapsed_seconds=0.0)) == msgspec.json.encode(
        msgspec.structs.replace(report, elapsed_seconds=0.0)
    )
    history.rounds.append(round_on("alpha", monday(3)))
    changed = backtest(history.frames(), bootstrap=200).run
    assert changed.run_id != report.run.run_id and changed.data_fingerprint != report.run.data_fingerprint
    assert (changed.git_commit, changed.packages) == (report.run.git_commit, report.run.packages)


def test_the_served_choice_is_nested(history: Records) -> None:
    frames = history.frames()
    table = evaluate(frames)
    first, *_ = table.origins
    early = table.choose(first)
    assert early.forecaster == CANDIDATES[0] and min(early.forecasts.values()) < MIN_SELECTION
    late = table.choose(table.origins[-1])
    assert set(late.forecasts) == set(SELECTION_HORIZONS)
    # The choice as of T reads only forecasts resolved by T against rounds reported by T: rounds
    # reported later, even about earlier weeks, cannot change it.
    t = table.origins[len(table.origins) // 2]
    before = table.choose(t)
    later = t + dt.timedelta(days=1)
    history.rounds.extend(round_on(tid, t - dt.timedelta(days=20 + k), reported=later) for k, tid in
                          enumerate(("alpha", "beta", "gamma")))  # fmt: skip
    assert evaluate(history.frames()).choose(t) == before


def test_backtest_with_too_little_data_reports_nothing_to_score() -> None:
    tracks = [track("t", Coverage.COMPLETE)]
    rounds = [round_on("t", monday(w)) for w in (0, 3, 9, 11)]
    report = backtest(build_frames(tracks, rounds, [], [], []), bootstrap=50)
    assert report.origins == 0 and report.scores == [] and report.note


# --- the real history -------------------------------------------------------------------------


def real_frames() -> tuple[object, ...]:
    """The shipped history and brief as the API's service hands them to the forecaster: held
    rounds only, and each track's own coverage periods as its observation windows."""
    h, b = load_history(), brief_records()
    tracks = [*h.tracks, *b.tracks]
    frames = build_frames(
        tracks, held_rounds([*h.rounds, *b.rounds]), [*h.exchanges, *b.exchanges], [*h.statements, *b.statements],
        b.front_reports, windows=windows_from_tracks(tracks),
    )  # fmt: skip
    return frames, tracks


def fitted_in_periods(tracks: object) -> set[str]:
    """Tracks with a complete or partial period: the ones the model may be fitted on."""
    return {t.id for t in tracks if any(p.coverage != Coverage.MILESTONES for p in t.coverage_periods)}  # type: ignore[attr-defined]


def test_real_history_backtest_censors_the_gap_and_the_served_forecast_holds_its_own() -> None:
    # Its wall time is reported by `parley backtest`, not asserted: the machines are noisy.
    frames, tracks = real_frames()
    report = backtest(frames)  # type: ignore[arg-type]
    assert report.origins >= 100
    assert {"minsk-tcg", "normandy-format", "pow-exchanges"} <= set(report.tracks) <= fitted_in_periods(tracks)
    # Nothing scored reaches into 2025: the history stops at 2024, the brief covers one week.
    assert report.last_origin is not None and report.last_origin < dt.date(2024, 12, 31)
    assert {w.track for w in report.observation_windows} >= {"minsk-tcg", "istanbul-talks"}
    for m in report.margins:
        assert finite(m.difference) and m.forecasts > 200
    # The target the issue sets: on live tracks at H=2, 4 and 8 the served forecast is no worse
    # than the best baseline (here nested, over origins the choice never saw resolved).
    live = {m.horizon: m for m in report.margins if m.population == Population.LIVE}
    for h in (2, 4, 8):
        assert live[h].brier_served <= live[h].brier_baseline, live[h]

    cutoff = report.data_cutoff
    card = model_card(frames, cutoff, report)  # type: ignore[arg-type]
    assert card.training_events > 100 and not card.separation.detected
    assert {t.track for t in card.excluded_tracks} == {t.id for t in tracks} - fitted_in_periods(tracks)  # type: ignore[attr-defined]
    assert "suspended" in {d.term for d in card.dropped_terms}  # one training event with it: no support
    assert any("H=13" in limit and "Calibration" in limit for limit in card.known_limits)
    assert msgspec.json.decode(msgspec.json.encode(report), type=BacktestReport) == report
    for t in tracks:  # type: ignore[attr-defined]
        f = forecast_track(frames, t.id, cutoff)  # type: ignore[arg-type]
        assert f.low_coverage == (t.coverage == Coverage.MILESTONES)
        assert "horizon_beyond_observation" in f.flags  # nothing is observed after June 2026
    assert "gap_spans_unobserved_weeks" in forecast_track(frames, "minsk-tcg", cutoff).flags  # type: ignore[arg-type]

    # No rejection on a fitted track before 2023: in 2018 the term cannot be estimated, and the
    # scenario says so instead of reporting a silent zero.
    kremlin = HypotheticalStatement(kind=StatementKind.REJECTION, actor="russia", week_offset=0)
    res = run_scenario(frames, "minsk-tcg", dt.date(2018, 6, 30), [kremlin], [4])  # type: ignore[arg-type]
    assert res.differences[0].difference == 0.0
    assert "not estimated, so no effect: rejections" in res.with_events.flags


def test_the_log_is_scored_only_where_its_window_was_observed_and_over(history: Records) -> None:
    frames = history.frames()
    assert frames.data_cutoff is not None
    as_of = dt.date(2017, 3, 1)  # a Wednesday; its forecast window starts Monday 6 March
    served = forecast_track(frames, "alpha", as_of, [4]).horizons[0]
    entries = [
        LoggedForecast("alpha", as_of, "m", 4, served.probability, as_of),  # prospective
        LoggedForecast("alpha", as_of, "m", 2, 0.5, dt.date(2026, 1, 1)),  # served long after
        LoggedForecast("alpha", frames.data_cutoff, "m", 4, 0.5, frames.data_cutoff),  # not over yet
        LoggedForecast("milestone-talks", as_of, "m", 4, 0.5, as_of),  # milestones: never observed
    ]
    record = score_log(frames, entries, frames.data_cutoff)
    assert (record.logged, record.resolved, record.pending, record.unobservable, record.prospective) == (4, 2, 1, 1, 1)
    (prospective,) = record.prospective_horizons
    c = week_of(as_of)
    weeks = history_index(frames).tracks["alpha"].round_weeks
    y = float(((weeks > c) & (weeks <= c + 4)).any())
    assert prospective.horizon == 4 and prospective.events == y
    assert prospective.brier == pytest.approx((served.probability - y) ** 2)
    assert prospective.brier_recent_rate == pytest.approx((served.recent_rate_rule - y) ** 2)

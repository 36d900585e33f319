"""Forecasts, scenarios and the fit: look-ahead, bounds, determinism, known answer,
separation, support, flags and scenario sign."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting import (
    InvalidHorizonError,
    UnknownTrackError,
    build_frames,
    forecast_track,
    model_card,
    run_scenario,
)
from forecasting.features import build_design, history_index
from forecasting.frames import HistoryFrames
from forecasting.hazard import GAP_LOGIT, RULE_HAZARD, clear_cache, fingerprint, fit_design
from forecasting.predict import model_at
from forecasting.provenance import run_info
from forecasting.paths import hazard_path
from forecasting.synthetic import (
    TRUTH,
    Records,
    exchange_on,
    monday,
    round_on,
    simulate,
    small_history,
    track,
)
from schemas.forecast import (
    BacktestReport,
    Forecast,
    HypotheticalExchange,
    HypotheticalStatement,
    ScenarioRequest,
)
from schemas.records import (
    ExchangeCreate,
    FrontReportCreate,
    RoundCreate,
    StatementCreate,
)
from schemas.vocab import Coverage, ExchangeStatus, FrontStatus, StatementKind

AS_OF = dt.date(2017, 6, 14)  # a Wednesday, mid-history of small_history (2015-01 .. 2018-01)
EMPTY_BACKTEST = BacktestReport(
    run=run_info("x"), as_of=AS_OF, data_cutoff=AS_OF, horizons=[4], tracks=[], origins=0, first_origin=None,
    last_origin=None, skipped_origins=0, live_definition="", selection="", forecasters=[], scores=[], margins=[],
    served_choices=[], reliability=[], observation_windows=[], bootstrap_replicates=0, seed=0, elapsed_seconds=0.0,
)  # fmt: skip


def encode(f: object) -> bytes:
    return msgspec.json.encode(f)


# --- no look-ahead ------------------------------------------------------------------------------

late_day = st.integers(min_value=1, max_value=400).map(lambda d: AS_OF + dt.timedelta(days=d))
back_day = st.integers(min_value=0, max_value=700).map(lambda d: AS_OF - dt.timedelta(days=d))


@st.composite
def late_records(draw: st.DrawFn) -> tuple[str, object]:
    """A record reported after AS_OF: possibly about an event before it."""
    reported = draw(late_day)
    happened = draw(st.one_of(back_day, st.just(reported)))
    happened = min(happened, reported)
    kind = draw(st.sampled_from(["round", "exchange", "statement", "front"]))
    tid = draw(st.sampled_from(["alpha", "beta", "gamma", "milestone-talks"]))
    if kind == "round":
        return kind, RoundCreate(
            track=tid, date=happened, reported_at=reported, sources=["s"], agreed_to_meet_again=True
        )
    if kind == "exchange":
        return kind, ExchangeCreate(
            track=tid,
            status=ExchangeStatus.EXECUTED,
            executed_on=happened,
            date=happened,
            reported_at=reported,
            sources=["s"],
        )
    if kind == "statement":
        sk = draw(st.sampled_from(list(StatementKind)))
        return kind, StatementCreate(
            track=draw(st.sampled_from([tid, None])),
            actor="osce",
            kind=sk,
            leader_level=True,
            date=happened,
            reported_at=reported,
            sources=["s"],
        )
    return kind, FrontReportCreate(
        front="east", status=FrontStatus.FROZEN, date=happened, reported_at=reported, sources=["s"]
    )


# Each example re-runs the rolling-origin evaluation behind the served choice: few, but real.
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(late_records(), min_size=1, max_size=4))
def test_records_reported_after_as_of_never_change_a_forecast(
    history: Records, extra: list[tuple[str, object]]
) -> None:
    before = {
        t: encode(forecast_track(history.frames(), t, AS_OF, [1, 4, 13]))
        for t in ("alpha", "gamma", "milestone-talks")
    }
    for kind, rec in extra:
        {
            "round": history.rounds,
            "exchange": history.exchanges,
            "statement": history.statements,
            "front": history.front_reports,
        }[kind].append(rec)
    frames = history.frames()
    for t, b in before.items():
        assert encode(forecast_track(frames, t, AS_OF, [1, 4, 13])) == b


def test_model_card_has_no_look_ahead(history: Records) -> None:
    card = encode(model_card(history.frames(), AS_OF, EMPTY_BACKTEST))
    history.rounds.append(
        round_on("alpha", AS_OF - dt.timedelta(days=3), reported=AS_OF + dt.timedelta(days=1))
    )
    history.exchanges.append(exchange_on("beta", AS_OF + dt.timedelta(days=2)))
    assert encode(model_card(history.frames(), AS_OF, EMPTY_BACKTEST)) == card
    # ...whereas the same round reported on time does change it.
    history.rounds[-1] = round_on("alpha", AS_OF - dt.timedelta(days=3))
    assert encode(model_card(history.frames(), AS_OF, EMPTY_BACKTEST)) != card


# --- bounds, order, determinism -----------------------------------------------------------------


@pytest.mark.parametrize("track", ["alpha", "beta", "gamma", "milestone-talks"])
@pytest.mark.parametrize("as_of", [dt.date(2016, 3, 1), AS_OF, dt.date(2018, 5, 20)])
def test_probabilities_bounded_and_monotone_in_horizon(history: Records, track: str, as_of: dt.date) -> None:
    f = forecast_track(history.frames(), track, as_of, list(range(1, 53)))
    assert [h.weeks for h in f.horizons] == list(range(1, 53))
    for name in ("probability", "p10", "p50", "p90"):
        seq = np.array([getattr(h, name) for h in f.horizons])
        assert ((seq >= 0) & (seq <= 1)).all()
        assert (np.diff(seq) >= -1e-12).all(), name
    for h in f.horizons:
        assert h.p10 <= h.p50 <= h.p90
        assert h.window_start == f.horizons[0].window_start
        assert (h.window_end - h.window_start).days == 7 * h.weeks - 1
    assert f.horizons[0].window_start > as_of
    assert f.low_coverage == (track == "milestone-talks")


def test_drivers_add_up_to_the_served_fits_first_week_log_odds(history: Records) -> None:
    frames = history.frames()
    f = forecast_track(frames, "beta", AS_OF, [1])
    model = model_at(frames, AS_OF)
    assert f.forecaster == model.choice.forecaster and f.drivers[0].covariate == "recent_rate_logit"
    eta = sum(d.contribution for d in f.drivers if d.contribution is not None)
    fit = model.served_fit or model.posterior
    x = hazard_path(model.index.tracks["beta"], model.index.front, AS_OF, 1).x
    assert eta == pytest.approx(float(fit.linear_predictor(x)[0]))
    assert f.baseline_log_odds == f.drivers[0].contribution
    shares = [d.interval_share for d in f.drivers if d.estimated]
    assert all(s is not None for s in shares) and sum(shares) == pytest.approx(1.0)  # type: ignore[arg-type]
    for d in f.drivers:
        if not d.estimated:
            assert d.contribution is None and d.interval_share is None and d.note


def test_same_data_gives_identical_numbers() -> None:
    a = encode(forecast_track(small_history().frames(), "alpha", AS_OF))
    clear_cache()  # a fresh fit, not the cached one
    b = encode(forecast_track(small_history().frames(), "alpha", AS_OF))
    assert a == b
    card_a = model_card(small_history().frames(), AS_OF, EMPTY_BACKTEST)
    clear_cache()
    card_b = model_card(small_history().frames(), AS_OF, EMPTY_BACKTEST)
    assert encode(card_a) == encode(card_b)
    assert card_a.model_id == forecast_track(small_history().frames(), "alpha", AS_OF).model_id


def test_model_id_ignores_the_last_bits_of_computed_covariates() -> None:
    """numpy's SIMD log/exp differ in the last bit between CPUs (AVX-512 or not), so the same
    records gave a different model id, and a second forecast_log row, on another machine."""
    frames = small_history().frames()
    design = build_design(history_index(frames).by(AS_OF), AS_OF, ["alpha", "beta"])
    one_ulp = replace(design, x=np.nextafter(design.x, np.inf))
    assert fingerprint(one_ulp, RULE_HAZARD) == fingerprint(design, RULE_HAZARD)
    # A real change to one covariate still names another training set.
    changed = design.x.copy()
    changed[0, np.flatnonzero(~np.isnan(changed[0]))[0]] += 1.0
    assert fingerprint(replace(design, x=changed), RULE_HAZARD) != fingerprint(design, RULE_HAZARD)


def test_input_order_does_not_matter() -> None:
    rec = small_history()
    a = encode(forecast_track(rec.frames(), "beta", AS_OF))
    rec.rounds.reverse()
    rec.exchanges.reverse()
    rec.statements.reverse()
    assert encode(forecast_track(rec.frames(), "beta", AS_OF)) == a


def test_invalid_requests(history: Records) -> None:
    frames = history.frames()
    with pytest.raises(InvalidHorizonError):
        forecast_track(frames, "alpha", AS_OF, [0])
    with pytest.raises(InvalidHorizonError):
        forecast_track(frames, "alpha", AS_OF, [53])
    with pytest.raises(UnknownTrackError):
        forecast_track(frames, "no-such-track", AS_OF)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(
            b'{"track":"a","as_of":"2020-01-01","events":[{"event":"exchange","status":"executed","x":1}]}',
            type=ScenarioRequest,
        )
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(
            b'{"track":"a","as_of":"2020-01-01","horizons":[60],"events":[{"event":"exchange","status":"agreed"}]}',
            type=ScenarioRequest,
        )
    ok = msgspec.json.decode(
        b'{"track":"a","as_of":"2020-01-01","events":[{"event":"statement","kind":"rejection","actor":"russia"}]}',
        type=ScenarioRequest,
    )
    assert isinstance(ok.events[0], HypotheticalStatement) and ok.horizons == [2, 4, 8, 13]


def test_forecast_round_trips_through_its_schema(history: Records) -> None:
    f = forecast_track(history.frames(), "alpha", AS_OF)
    assert msgspec.json.decode(encode(f), type=Forecast) == f


# --- known answer ---------------------------------------------------------------------------


def test_recovers_a_known_exchange_effect_within_its_interval() -> None:
    frames = simulate(TRUTH).frames()
    assert frames.data_cutoff is not None
    index = history_index(frames).by(frames.data_cutoff)
    fit = fit_design(build_design(index, frames.data_cutoff, sorted(index.tracks)))
    i = [t.name for t in fit.terms].index("exchanges_executed")
    per_unit, half = fit.beta[i] / fit.terms[i].scale, 1.96 * fit.se[i] / fit.terms[i].scale
    assert per_unit - half <= TRUTH.exchanges <= per_unit + half
    assert 2 * half < 0.6  # informative, not trivially wide
    # No event terms in the simulation but exchanges: the others lack support.
    assert {d.term for d in fit.dropped} >= {"suspended", "rejections", "leader_proposals"}


def test_the_forecasters_probability_is_its_predictive_mean(history: Records) -> None:
    frames = history.frames()
    model = model_at(frames, AS_OF)
    path = hazard_path(model.index.tracks["alpha"], model.index.front, AS_OF, 8)
    from forecasting.paths import fit_probabilities, rule_probabilities

    point, drawn = fit_probabilities(model.fit, path)
    assert np.allclose(point, drawn.mean(axis=1))
    rule, rule_drawn = rule_probabilities(path)
    # The rule itself is the plug-in; its draws spread over the rate's posterior, whose mean is
    # the rule's rate, so the plug-in lies above the predictive mean (1 − (1 − r)^H is concave).
    assert rule[3] == pytest.approx(1 - (1 - path.rate) ** 4)
    assert rule_drawn[3].mean() <= rule[3] + 1e-12


# --- separation ---------------------------------------------------------------------------------


def _separated_history() -> HistoryFrames:
    """Every resumption comes exactly one week after the previous round, and every longer gap
    is censored: an unpenalised duration term runs off to infinity."""
    tracks = [track(f"s{k}", Coverage.COMPLETE) for k in range(3)]
    rounds = [round_on(f"s{k}", monday(w)) for k in range(3) for w in range(k, k + 12)]
    return build_frames(tracks, rounds, [], [], [])


def test_separation_is_detected_and_the_penalised_model_does_not_separate() -> None:
    frames = _separated_history()
    as_of = monday(60)
    model = model_at(frames, as_of)
    assert fit_design(model.design, GAP_LOGIT).separated  # the unpenalised gap logit does
    assert not fit_design(model.design, RULE_HAZARD).separated  # the log-F prior bounds the model
    forecast_track(frames, "s0", as_of)  # and is served
    card = model_card(frames, as_of, EMPTY_BACKTEST)
    assert not card.separation.detected


def test_well_posed_fit_is_not_flagged(history: Records) -> None:
    frames = history.frames()
    assert not model_at(frames, AS_OF).fit.separated


# --- flags --------------------------------------------------------------------------------------


def test_extrapolation_is_flagged(history: Records) -> None:
    # A new track with two rounds: no training weeks, fewer than five rounds, and an executed
    # exchange count far above anything in training.
    history.tracks.append(track("fresh", Coverage.COMPLETE))
    day = AS_OF - dt.timedelta(days=3)  # the Sunday before: both rounds in one week, no gap yet
    history.rounds.extend([round_on("fresh", day - dt.timedelta(days=1)), round_on("fresh", day)])
    history.exchanges.extend(exchange_on("fresh", day) for _ in range(12))
    f = forecast_track(history.frames(), "fresh", AS_OF, [4])
    assert {"no_training_weeks", "fewer_than_5_rounds"} <= set(f.flags)
    model = model_at(history.frames(), AS_OF)
    if "exchanges_executed" in {t.name for t in (model.served_fit.terms if model.served_fit else ())}:
        assert "outside_training_range:exchanges_executed" in f.flags
    established = forecast_track(history.frames(), "alpha", AS_OF, [4])
    assert not {"no_training_weeks", "fewer_than_5_rounds"} & set(established.flags)


# --- scenarios ----------------------------------------------------------------------------------


def test_executed_exchange_does_not_lower_the_forecast_when_its_coefficient_is_positive() -> None:
    frames = simulate(TRUTH, tracks=12, weeks=150).frames()
    assert frames.data_cutoff is not None
    as_of = frames.data_cutoff - dt.timedelta(days=30)
    model = model_at(frames, as_of)
    assert model.choice.forecaster == "rule_hazard"  # nested evaluation finds the exchange effect
    fit = model.fit
    coef = next(b for t, b in zip(fit.terms, fit.beta, strict=True) if t.name == "exchanges_executed")
    assert coef > 0
    for tid in ("sim-00", "sim-05"):
        for offset in (0, 1, 3):
            res = run_scenario(
                frames,
                tid,
                as_of,
                [HypotheticalExchange(status="executed", week_offset=offset)],
                [1, 2, 4, 8, 13],
            )
            for d in res.differences:
                assert d.difference >= -1e-12
                assert d.with_events == pytest.approx(d.without_events + d.difference)
            # Only weeks after the exchange can feel it.
            first = res.differences[0]
            if offset >= 1:
                assert first.difference == pytest.approx(0.0, abs=1e-12)
            else:
                assert first.difference > 0


def test_scenario_on_an_exchange_round_track_counts_the_exchange_as_the_round() -> None:
    tracks = [track("pow-exchanges", Coverage.PARTIAL)]
    # Irregular gaps (a fixed gap would separate the duration terms).
    weeks = np.cumsum(np.tile([2, 3, 5, 4, 6, 1, 8], 7)).tolist()
    exchanges = [exchange_on("pow-exchanges", monday(w)) for w in weeks]
    frames = build_frames(tracks, [], exchanges, [], [])
    as_of = monday(weeks[-1] + 2)
    res = run_scenario(
        frames, "pow-exchanges", as_of, [HypotheticalExchange(status="executed", week_offset=2)], [1, 2, 4]
    )
    assert [d.with_events for d in res.differences][1:] == [1.0, 1.0]
    assert res.differences[0].difference == 0.0


def test_scenario_rejection_moves_the_forecast_the_way_its_coefficient_points(history: Records) -> None:
    frames = history.frames()
    fit = model_at(frames, AS_OF).served_fit
    terms = zip(fit.terms, fit.beta, strict=True) if fit is not None else ()
    coef = {t.name: b for t, b in terms}.get("rejections")
    res = run_scenario(
        frames,
        "alpha",
        AS_OF,
        [HypotheticalStatement(kind=StatementKind.REJECTION, actor="russia", week_offset=0)],
        [4],
    )
    diff = res.differences[0].difference
    if coef is None:
        assert diff == 0.0
        assert "not estimated, so no effect: rejections" in res.with_events.flags
    else:
        assert np.sign(diff) == np.sign(coef) or diff == 0.0
    assert res.without_events == forecast_track(frames, "alpha", AS_OF, [4])

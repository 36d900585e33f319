"""Forecasts, scenarios and the fit: look-ahead, bounds, determinism, known answer,
separation and scenario sign."""

from __future__ import annotations

import datetime as dt

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting import (
    InvalidHorizonError,
    SeparationError,
    UnknownTrackError,
    build_frames,
    forecast_track,
    model_card,
    run_scenario,
)
from forecasting.frames import HistoryFrames
from forecasting.hazard import clear_cache
from forecasting.predict import model_at
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
    model_version="x",
    data_cutoff=AS_OF,
    data_fingerprint="x",
    horizons=[4],
    bootstrap_replicates=0,
    seed=0,
    elapsed_seconds=0.0,
    variants=[],
)


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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
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


def test_drivers_add_up_to_the_first_week_log_odds(history: Records) -> None:
    frames = history.frames()
    f = forecast_track(frames, "beta", AS_OF, [1])
    eta = f.baseline_log_odds + sum(d.contribution for d in f.drivers)
    assert f.horizons[0].probability == pytest.approx(1.0 / (1.0 + np.exp(-eta)))
    assert {d.covariate for d in f.drivers} >= {"log_weeks_since_round", "front_stalemate", "meet_again"}
    assert all(d.contribution == 0.0 for d in f.drivers if not d.estimated)


def test_same_data_gives_identical_numbers() -> None:
    a = encode(forecast_track(small_history().frames(), "alpha", AS_OF))
    clear_cache()  # a fresh fit, not the cached one
    b = encode(forecast_track(small_history().frames(), "alpha", AS_OF))
    assert a == b
    card_a = model_card(small_history().frames(), AS_OF, EMPTY_BACKTEST)
    clear_cache()
    card_b = model_card(small_history().frames(), AS_OF, EMPTY_BACKTEST)
    assert encode(card_a) == encode(card_b)
    assert card_a.model_id.endswith(card_a.fingerprint[:16])


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


# --- known answer -------------------------------------------------------------------------------


def test_recovers_known_coefficients_within_their_intervals() -> None:
    truth = TRUTH
    frames = simulate(truth).frames()
    card = model_card(frames, frames.data_cutoff, EMPTY_BACKTEST)
    assert not card.separation.detected
    coefs = {c.term: c for c in card.coefficients}
    for term, true in (
        ("log_weeks_since_round", truth.log_gap),
        ("exchanges_executed", truth.exchanges),
        ("years_since_round", 0.0),
        ("log_rounds_held", 0.0),
    ):
        c = coefs[term]
        assert c.per_unit_ci_low is not None and c.per_unit_ci_high is not None
        assert c.per_unit_ci_low <= true <= c.per_unit_ci_high, term
    # Informative, not trivially wide.
    ex = coefs["exchanges_executed"]
    assert ex.per_unit_ci_high - ex.per_unit_ci_low < 0.5  # type: ignore[operator]

    # The raw-scale intercept: β0 − Σ β_j·mean_j/scale_j, with its delta-method interval.
    fit = model_at(frames, frames.data_cutoff).fit
    c = np.array([1.0 if t.kind == "intercept" else -t.mean / t.scale for t in fit.terms])
    est, se = float(c @ fit.beta), float(np.sqrt(c @ fit.cov @ c))
    assert est - 1.96 * se <= truth.intercept <= est + 1.96 * se


# --- separation ---------------------------------------------------------------------------------


def _separated_history() -> HistoryFrames:
    """Every resumption comes exactly one week after the previous round, and every longer gap
    is censored: the duration terms (unpenalised) run off to infinity."""
    tracks = [track(f"s{k}", Coverage.COMPLETE) for k in range(3)]
    rounds = [round_on(f"s{k}", monday(w)) for k in range(3) for w in range(k, k + 12)]
    return build_frames(tracks, rounds, [], [], [])


def test_separation_is_detected_reported_and_not_served() -> None:
    frames = _separated_history()
    as_of = monday(60)
    model = model_at(frames, as_of)
    assert model.fit.separated
    with pytest.raises(SeparationError) as err:
        forecast_track(frames, "s0", as_of)
    assert err.value.terms == model.fit.separated
    card = model_card(frames, as_of, EMPTY_BACKTEST)
    assert card.separation.detected and card.separation.terms == list(model.fit.separated)


def test_well_posed_fit_is_not_flagged(history: Records) -> None:
    frames = history.frames()
    assert not model_at(frames, AS_OF).fit.separated


# --- scenarios ----------------------------------------------------------------------------------


def test_executed_exchange_does_not_lower_the_forecast_when_its_coefficient_is_positive() -> None:
    frames = simulate(TRUTH, tracks=12, weeks=150).frames()
    as_of = frames.data_cutoff - dt.timedelta(days=30)
    fit = model_at(frames, as_of).fit
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
    fit = model_at(frames, AS_OF).fit
    coef = {t.name: b for t, b in zip(fit.terms, fit.beta, strict=True)}.get("rejections")
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

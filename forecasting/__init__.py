"""Forecasting: will a stalled negotiation track resume talks?

The question: P(track X holds its next round within H weeks | as of date T), for the H whole
ISO weeks after the week containing T. A discrete-time hazard model (penalised logit, one row
per track per week at risk) is fitted on the records reported by T only, so a forecast as of T
never depends on anything reported later.

Public entry points (stable; the API and CLI call these):

    build_frames(tracks, rounds, exchanges, statements, front_reports=()) -> HistoryFrames
        Records -> polars frames. Accepts the create Structs (RoundCreate, ...) or the stored
        records (Round, ...): any objects with the fields the Protocols in `frames` name.

    forecast_track(frames, track_id, as_of, horizons=(2, 4, 8, 13)) -> Forecast
        Probabilities per horizon (point, and 10/50/90% from 2,000 coefficient draws), and
        each covariate's value and contribution to the log-odds. Tracks with `milestones`
        coverage are forecast too, marked `low_coverage`.

    run_scenario(frames, track_id, as_of, events, horizons=(2, 4, 8, 13)) -> ScenarioResult
        The forecast with and without hypothetical events (`HypotheticalExchange`,
        `HypotheticalStatement`, `HypotheticalFrontReport` in `schemas.forecast`), and the
        difference with paired intervals.

    model_card(frames, as_of, backtest_report=None) -> ModelCard
        Specification, coefficients with CIs, counts, fingerprint, excluded tracks, missing-data
        handling, separation diagnostics, backtest summary (run and cached if not given) and
        known limits — all read off the fitted objects.

    backtest(frames, horizons=(2, 4, 8, 13), on_origin=None) -> BacktestReport
        Rolling monthly origins, refit at each; baselines B0 (base rate) and B1 (Kaplan–Meier);
        Brier, skill, log loss, AUC, calibration, reliability, bootstrap-over-tracks CIs; for
        the fitted tracks and for complete-coverage tracks only. `on_origin(done, total)` is
        called after each origin (for a progress bar).

Errors (all subclasses of `ForecastError`, in `forecasting.errors`): `UnknownTrackError`,
`NoAnchorError` (no dated record on the track yet), `NotEnoughDataError` (< 10 resumptions
known), `SeparationError` (the fit separated; not served), `InvalidHorizonError`.

Modules: `frames` (records -> frames, week arithmetic), `features` (risk set, covariates),
`hazard` (fit, cache, fingerprint), `predict` (forecasts, scenarios), `backtest`, `card`.
"""

from forecasting.backtest import backtest
from forecasting.card import model_card
from forecasting.errors import (
    ForecastError,
    InvalidHorizonError,
    NoAnchorError,
    NotEnoughDataError,
    SeparationError,
    UnknownTrackError,
)
from forecasting.frames import HistoryFrames, build_frames
from forecasting.hazard import MODEL_VERSION
from forecasting.predict import forecast_track, run_scenario

__all__ = [
    "MODEL_VERSION",
    "ForecastError",
    "HistoryFrames",
    "InvalidHorizonError",
    "NoAnchorError",
    "NotEnoughDataError",
    "SeparationError",
    "UnknownTrackError",
    "backtest",
    "build_frames",
    "forecast_track",
    "model_card",
    "run_scenario",
]

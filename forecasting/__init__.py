"""Forecasting: will a stalled negotiation track resume talks?

The question: P(track X holds its next round within H weeks | as of date T), for the H whole
ISO weeks after the week containing T. Every forecaster is fitted on the records reported by T
only, so a forecast as of T never depends on anything reported later; weeks no source observed
(outside every observation window) are neither trained on nor scored.

Public entry points (stable; the API and CLI call these):

    build_frames(tracks, rounds, exchanges, statements, front_reports=(), windows=None) -> HistoryFrames
        Records and observation windows -> polars frames. Accepts the create Structs
        (RoundCreate, ...) or the stored records (Round, ...): any objects with the fields the
        Protocols in `frames` name.

    forecast_track(frames, track_id, as_of, horizons=(2, 4, 8, 13)) -> Forecast
        The served forecaster's probability per horizon (predictive mean; 10/50/90% over its
        draws), the recent-rate rule beside it, each term's contribution and share of the
        interval, and flags (extrapolation, unobserved weeks, low coverage, ...).

    run_scenario(frames, track_id, as_of, events, horizons=(2, 4, 8, 13)) -> ScenarioResult
        The forecast with and without hypothetical events (`HypotheticalExchange`,
        `HypotheticalStatement`, `HypotheticalFrontReport` in `schemas.forecast`), and the
        difference with paired intervals.

    model_card(frames, as_of, backtest_report=None) -> ModelCard
        Specification, served forecaster and how it was chosen, coefficients, terms not
        estimated, observation windows, the comparison table, margins, what was tried, limits.

    backtest(frames, as_of=None, on_origin=None) -> BacktestReport
        Rolling monthly origins, every forecaster refitted at each; baselines (B0, climatology,
        recent-rate rule, gap-only logit, Kaplan–Meier), the models and the nested served choice;
        Brier, log loss, AUC, calibration, paired differences against the best baseline with
        calendar-year block-bootstrap intervals, on all and on live tracks; a run id.

Errors (all subclasses of `ForecastError`, in `forecasting.errors`): `UnknownTrackError`,
`NoAnchorError` (no dated record on the track yet), `NotEnoughDataError` (< 10 resumptions
known), `SeparationError` (the fit separated; not served), `InvalidHorizonError`.

Modules: `frames` (records -> frames, windows, week arithmetic), `features` (risk set,
covariates, observed weeks), `hazard` (specifications, fits), `paths` (the weeks ahead and their
probabilities), `baselines`, `evaluation` (rolling origins, the nested choice), `predict`
(forecasts, scenarios), `backtest` (the report), `card`, `figures` (SVG), `provenance` (run ids).
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
from forecasting.frames import HistoryFrames, ObservationWindow, build_frames
from forecasting.hazard import MODEL_VERSION
from forecasting.predict import forecast_path, forecast_track, run_scenario

__all__ = [
    "MODEL_VERSION",
    "ForecastError",
    "HistoryFrames",
    "InvalidHorizonError",
    "NoAnchorError",
    "NotEnoughDataError",
    "ObservationWindow",
    "SeparationError",
    "UnknownTrackError",
    "backtest",
    "build_frames",
    "forecast_path",
    "forecast_track",
    "model_card",
    "run_scenario",
]

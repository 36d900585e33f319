"""Structs for the forecasting outputs (forecast, scenario, model card, backtest) and inputs.

The question every forecast answers: P(track X holds its next round within H weeks | as of T).
"Within H weeks" means in the H ISO weeks (Monday to Sunday) after the week containing `as_of`:
covariates are built from what was reported by `as_of`, so the first forecast week is the first
whole week that starts after it.

Inputs (`ForecastRequest`, `ScenarioRequest`, the hypothetical events) forbid unknown fields;
outputs do not, so a client written against one version keeps decoding the next. Depends on
msgspec (and the closed vocabularies in `schemas.vocab`) only.
"""

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from schemas.types import Slug
from schemas.vocab import Coverage, FrontStatus, StatementKind

Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
Horizon = Annotated[
    int, Meta(ge=1, le=52, description="Weeks ahead, counted in whole ISO weeks after `as_of`'s week.")
]
WeekOffset = Annotated[
    int,
    Meta(
        ge=0,
        le=52,
        description='0 = already happened by `as_of`; 1 = in the first week after `as_of`\'s week ("next week"); ...',
    ),
]
Horizons = Annotated[list[Horizon], Meta(min_length=1, max_length=52)]
DEFAULT_HORIZONS: tuple[int, ...] = (2, 4, 8, 13)


# --- inputs -----------------------------------------------------------------------------------


class ForecastRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    track: Slug
    as_of: dt.date
    horizons: Horizons = field(default_factory=lambda: list(DEFAULT_HORIZONS))


class HypotheticalExchange(
    Struct, kw_only=True, forbid_unknown_fields=True, tag_field="event", tag="exchange"
):
    """A prisoner exchange agreed or executed at `week_offset`. On the `pow-exchanges` track an
    executed exchange is itself a round, so the forecast for horizons covering it becomes 1."""

    status: Literal["agreed", "executed"]
    week_offset: WeekOffset = 1
    track: Annotated[Slug | None, Meta(description="Defaults to the forecast's track.")] = None


class HypotheticalStatement(
    Struct, kw_only=True, forbid_unknown_fields=True, tag_field="event", tag="statement"
):
    """A statement (e.g. `kind=rejection, actor=russia` for "the Kremlin rejects talks")."""

    kind: StatementKind
    actor: Slug
    leader_level: bool = False
    week_offset: WeekOffset = 1
    track: Annotated[Slug | None, Meta(description="Defaults to the forecast's track.")] = None


class HypotheticalFrontReport(
    Struct, kw_only=True, forbid_unknown_fields=True, tag_field="event", tag="front_report"
):
    front: Slug
    status: FrontStatus
    week_offset: WeekOffset = 1


HypotheticalEvent = HypotheticalExchange | HypotheticalStatement | HypotheticalFrontReport


class ScenarioRequest(Struct, kw_only=True, forbid_unknown_fields=True):
    track: Slug
    as_of: dt.date
    events: Annotated[list[HypotheticalEvent], Meta(min_length=1, max_length=20)]
    horizons: Horizons = field(default_factory=lambda: list(DEFAULT_HORIZONS))


# --- forecast ---------------------------------------------------------------------------------


class HorizonProbability(Struct, kw_only=True):
    weeks: Horizon
    window_start: Annotated[dt.date, Meta(description="Monday of the first forecast week.")]
    window_end: Annotated[dt.date, Meta(description="Sunday of the last forecast week.")]
    probability: Annotated[Probability, Meta(description="At the fitted coefficients.")]
    p10: Probability
    p50: Probability
    p90: Probability


class Driver(Struct, kw_only=True):
    """One covariate's value in the first forecast week and what it adds to the log-odds."""

    covariate: str
    label: str
    value: Annotated[float | None, Meta(description="Raw value; null when missing (see `missing`).")]
    missing: bool
    estimated: Annotated[
        bool,
        Meta(description="False when the covariate had no variation in the training window and was dropped."),
    ]
    contribution: Annotated[
        float, Meta(description="Added to the weekly log-odds, relative to the training mean.")
    ]


class Forecast(Struct, kw_only=True):
    track: Slug
    as_of: dt.date
    model_id: str
    coverage: Coverage
    low_coverage: Annotated[
        bool, Meta(description="True for tracks with `milestones` coverage: not fitted, forecast by analogy.")
    ]
    flags: list[str]
    last_round_on: dt.date | None
    weeks_since_last_round: Annotated[int, Meta(ge=0)]
    rounds_held: Annotated[int, Meta(ge=0, description="Rounds reported by `as_of`, undated ones included.")]
    data_through: Annotated[
        dt.date | None, Meta(description="Latest `reported_at` of any record by `as_of`.")
    ]
    baseline_log_odds: Annotated[
        float, Meta(description="Intercept: the weekly log-odds at the training means.")
    ]
    horizons: list[HorizonProbability]
    drivers: list[Driver]


class HorizonDifference(Struct, kw_only=True):
    weeks: Horizon
    without_events: Probability
    with_events: Probability
    difference: Annotated[float, Meta(ge=-1.0, le=1.0)]
    p10: Annotated[float, Meta(ge=-1.0, le=1.0)]
    p50: Annotated[float, Meta(ge=-1.0, le=1.0)]
    p90: Annotated[float, Meta(ge=-1.0, le=1.0)]


class ScenarioResult(Struct, kw_only=True):
    track: Slug
    as_of: dt.date
    model_id: str
    events: list[HypotheticalEvent]
    without_events: Forecast
    with_events: Forecast
    differences: list[HorizonDifference]


# --- backtest ---------------------------------------------------------------------------------


class BacktestVariant(StrEnum):
    FITTED = "fitted"  # complete and partial tracks: what the served model is fitted on
    COMPLETE_ONLY = "complete_only"  # partial tracks left out of both fitting and scoring


class Estimate(Struct, kw_only=True):
    """A metric and its 95% bootstrap interval (resampling tracks); null when undefined."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


class BacktestMetric(Struct, kw_only=True):
    horizon: Horizon
    forecasts: Annotated[int, Meta(ge=0)]
    events: Annotated[int, Meta(ge=0)]
    tracks: Annotated[int, Meta(ge=0)]
    brier: Estimate
    brier_b0: Estimate
    brier_b1: Estimate
    brier_skill_b0: Annotated[Estimate, Meta(description="1 - Brier / Brier of B0 (training base rate).")]
    brier_skill_b1: Annotated[
        Estimate, Meta(description="1 - Brier / Brier of B1 (Kaplan-Meier on gap length).")
    ]
    log_loss: Estimate
    auc: Estimate
    calibration_intercept: Annotated[
        Estimate, Meta(description="Calibration in the large: logit(y) offset by logit(p).")
    ]
    calibration_slope: Annotated[Estimate, Meta(description="Slope of y on logit(p); 1 is ideal.")]


class ReliabilityBin(Struct, kw_only=True):
    horizon: Horizon
    bin_low: Probability
    bin_high: Probability
    forecasts: Annotated[int, Meta(ge=1)]
    mean_forecast: Probability
    observed_rate: Probability


class BacktestVariantResult(Struct, kw_only=True):
    variant: BacktestVariant
    tracks: list[Slug]
    origins: Annotated[int, Meta(ge=0)]
    first_origin: dt.date | None
    last_origin: dt.date | None
    skipped_origins: Annotated[
        int, Meta(ge=0, description="Origins whose fit was separated or failed; not scored.")
    ]
    metrics: list[BacktestMetric]
    reliability: list[ReliabilityBin]
    note: str | None = None


class BacktestReport(Struct, kw_only=True):
    model_version: str
    data_cutoff: dt.date
    data_fingerprint: str
    horizons: list[Horizon]
    bootstrap_replicates: int
    seed: int
    elapsed_seconds: Annotated[
        float, Meta(ge=0.0, description="Wall time; the only non-deterministic field.")
    ]
    variants: list[BacktestVariantResult]


# --- model card -------------------------------------------------------------------------------


class ModelSpecification(Struct, kw_only=True):
    question: str
    unit: str
    outcome: str
    link: str
    estimator: str
    penalty: str
    unpenalised: list[str]
    penalised: list[str]
    standardisation: str
    covariance: str
    intervals: str
    decay_half_life_weeks: float
    seed: int


class Coefficient(Struct, kw_only=True):
    term: str
    label: str
    penalised: bool
    estimate: Annotated[
        float, Meta(description="Log-odds per `train_scale` (the intercept: at the training means).")
    ]
    std_error: float
    std_error_model: float
    std_error_cluster: float | None
    ci_low: float
    ci_high: float
    per_unit: Annotated[
        float | None, Meta(description="Log-odds per raw unit of the covariate; null for the intercept.")
    ]
    per_unit_ci_low: float | None
    per_unit_ci_high: float | None
    train_mean: float | None
    train_scale: Annotated[
        float | None,
        Meta(description="What the term is divided by: its training SD (penalised terms: at least 0.5)."),
    ]


class DroppedTerm(Struct, kw_only=True):
    term: str
    reason: str


class MissingDataRule(Struct, kw_only=True):
    covariate: str
    rule: str
    training_rows_missing: Annotated[int, Meta(ge=0)]
    training_rows: Annotated[int, Meta(ge=0)]


class TrackCount(Struct, kw_only=True):
    track: Slug
    coverage: Coverage
    weeks: Annotated[int, Meta(ge=0)]
    events: Annotated[int, Meta(ge=0)]
    undated_rounds: Annotated[int, Meta(ge=0)]


class ExcludedTrack(Struct, kw_only=True):
    track: Slug
    coverage: Coverage
    reason: str


class SeparationReport(Struct, kw_only=True):
    detected: bool
    terms: list[str]
    rule: str
    converged: bool


class BacktestSummary(Struct, kw_only=True):
    variant: BacktestVariant
    horizon: Horizon
    origins: int
    forecasts: int
    brier_skill_b0: Estimate
    brier_skill_b1: Estimate
    auc: Estimate
    calibration_slope: Estimate
    note: str | None = None


class ModelCard(Struct, kw_only=True):
    model_id: str
    model_version: str
    fingerprint: Annotated[str, Meta(description="sha256 of the canonical training data.")]
    as_of: dt.date
    data_through: dt.date | None
    training_weeks: Annotated[int, Meta(ge=0)]
    training_events: Annotated[int, Meta(ge=0)]
    training_tracks: Annotated[int, Meta(ge=0)]
    specification: ModelSpecification
    coefficients: list[Coefficient]
    dropped_terms: list[DroppedTerm]
    fitted_tracks: list[TrackCount]
    excluded_tracks: list[ExcludedTrack]
    missing_data: list[MissingDataRule]
    separation: SeparationReport
    backtest: list[BacktestSummary]
    known_limits: list[str]

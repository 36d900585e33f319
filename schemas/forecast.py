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

Forecaster = Annotated[
    str,
    Meta(
        description="`recent_rate` (the recent-rate rule), `rate_posterior` (the rule's predictive mean over "
        "the posterior of its rate) or `rule_hazard` (that, adjusted by supported event terms): the one "
        "nested rolling-origin evaluation chose as of `as_of` (see the model card)."
    ),
]


class HorizonProbability(Struct, kw_only=True):
    weeks: Horizon
    window_start: Annotated[dt.date, Meta(description="Monday of the first forecast week.")]
    window_end: Annotated[dt.date, Meta(description="Sunday of the last forecast week.")]
    probability: Annotated[
        Probability,
        Meta(
            description="The served forecaster's probability: its predictive mean over its draws (for "
            "`recent_rate`, the rule itself)."
        ),
    ]
    p10: Probability
    p50: Probability
    p90: Probability
    recent_rate_rule: Annotated[
        Probability, Meta(description="The recent-rate rule's probability, for comparison.")
    ]
    unobserved_weeks: Annotated[
        int,
        Meta(
            ge=0,
            description="Weeks of the window outside the track's observation windows: what happens in "
            "them will not be known from the sources declared so far.",
        ),
    ]


class Driver(Struct, kw_only=True):
    """One term's value in the first forecast week and what it adds to the weekly log-odds."""

    covariate: str
    label: str
    value: float
    estimated: Annotated[
        bool,
        Meta(description="False when the term is not part of the served forecaster or lacked support."),
    ]
    contribution: Annotated[
        float | None,
        Meta(description="Added to the weekly log-odds (the recent rate: its log-odds); null when not estimated."),
    ]
    interval_share: Annotated[
        float | None,
        Meta(description="Its share of the first week's log-odds variance (Euler allocation); null when not estimated."),
    ]
    support: Annotated[
        int | None,
        Meta(description="Training events (weeks with a round) in which it was non-zero; null for the rate."),
    ]
    note: str | None = None


class Forecast(Struct, kw_only=True):
    track: Slug
    as_of: dt.date
    model_id: str
    forecaster: Forecaster
    coverage: Coverage
    low_coverage: Annotated[
        bool, Meta(description="True for tracks with `milestones` coverage: not fitted, forecast by analogy.")
    ]
    flags: Annotated[
        list[str],
        Meta(
            description="Caveats: `no_training_weeks`, `fewer_than_5_rounds`, `outside_training_range:<term>`, "
            "`horizon_beyond_observation` (some window runs past the track's observation windows), "
            "`gap_spans_unobserved_weeks`, `low_coverage`, `no_round_yet`, `suspended_or_withdrawn`, "
            "`gap_over_52_weeks`, `stale_data`."
        ),
    ]
    last_round_on: dt.date | None
    weeks_since_last_round: Annotated[int, Meta(ge=0)]
    rounds_held: Annotated[int, Meta(ge=0, description="Rounds reported by `as_of`, undated ones included.")]
    recent_round_weeks: Annotated[
        int, Meta(ge=0, le=26, description="Weeks with a round in the 26 up to `as_of`'s week.")
    ]
    recent_rate: Annotated[Probability, Meta(description="(recent_round_weeks + 0.5) / 27: the rule's weekly rate.")]
    data_through: Annotated[
        dt.date | None, Meta(description="Latest `reported_at` of any record by `as_of`.")
    ]
    baseline_log_odds: Annotated[
        float, Meta(description="The recent rate's weekly log-odds, which the model's terms adjust.")
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


class Population(StrEnum):
    ALL = "all"  # every scored forecast of a fitted track
    LIVE = "live"  # those whose track's latest round was at most 52 weeks old at the origin


class ForecasterKind(StrEnum):
    BASELINE = "baseline"
    MODEL = "model"
    SERVED = "served"


class Estimate(Struct, kw_only=True):
    """A figure and its 95% interval from a bootstrap over calendar-year blocks of origins; the
    interval is null when undefined (fewer than two years, or no spread)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


class ForecasterInfo(Struct, kw_only=True):
    name: str
    kind: ForecasterKind
    description: str


class ForecasterScore(Struct, kw_only=True):
    """One row of the comparison table: a forecaster at one horizon, on one population."""

    forecaster: str
    kind: ForecasterKind
    population: Population
    horizon: Horizon
    forecasts: Annotated[int, Meta(ge=0, description="Scored forecasts (origin × track).")]
    events: Annotated[int, Meta(ge=0, description="Of those, windows that held a round.")]
    tracks: Annotated[int, Meta(ge=0)]
    origins: Annotated[int, Meta(ge=0)]
    brier: Estimate
    log_loss: Estimate
    auc: float | None
    calibration_intercept: Annotated[
        float | None, Meta(description="Calibration in the large: logit(y) offset by logit(p); 0 is ideal.")
    ]
    calibration_slope: Annotated[float | None, Meta(description="Slope of y on logit(p); 1 is ideal.")]
    best_baseline: Annotated[str, Meta(description="The baseline with the lowest Brier score in this column.")]
    brier_difference: Annotated[
        Estimate, Meta(description="Paired: this Brier score minus the best baseline's (negative is better).")
    ]


class Margin(Struct, kw_only=True):
    """The served forecast against the best baseline, at one horizon, on one population."""

    population: Population
    horizon: Horizon
    best_baseline: str
    brier_served: float
    brier_baseline: float
    difference: Estimate
    relative: Annotated[float, Meta(description="difference / brier_baseline.")]
    forecasts: int
    events: int


class ReliabilityBin(Struct, kw_only=True):
    forecaster: str
    population: Population
    horizon: Horizon
    bin_low: Probability
    bin_high: Probability
    forecasts: Annotated[int, Meta(ge=1)]
    mean_forecast: Probability
    observed_rate: Probability


class ObservationWindowInfo(Struct, kw_only=True):
    track: Slug
    start: dt.date
    end: Annotated[dt.date | None, Meta(description="Null: still observed.")]
    coverage: Coverage
    basis: str


class ServedChoice(Struct, kw_only=True):
    forecaster: str
    origins: Annotated[int, Meta(ge=0, description="Backtest origins at which it was the served forecaster.")]


class RunInfo(Struct, kw_only=True):
    """What a run's numbers depend on; the same run id reproduces the same numbers."""

    run_id: str
    data_fingerprint: Annotated[str, Meta(description="sha256 of every record and observation window read.")]
    git_commit: Annotated[str, Meta(description="The code's commit (`unknown` outside a git checkout).")]
    packages: dict[str, str]
    model_version: str


class BacktestReport(Struct, kw_only=True):
    run: RunInfo
    as_of: Annotated[dt.date, Meta(description="Scored against the rounds reported by this day.")]
    data_cutoff: dt.date
    horizons: list[Horizon]
    tracks: list[Slug]
    origins: Annotated[int, Meta(ge=0)]
    first_origin: dt.date | None
    last_origin: dt.date | None
    skipped_origins: Annotated[int, Meta(ge=0, description="Origins whose fit failed or separated.")]
    live_definition: str
    selection: Annotated[str, Meta(description="How the served forecaster is chosen at each origin.")]
    forecasters: list[ForecasterInfo]
    scores: list[ForecasterScore]
    margins: list[Margin]
    served_choices: list[ServedChoice]
    reliability: list[ReliabilityBin]
    observation_windows: list[ObservationWindowInfo]
    bootstrap_replicates: int
    seed: int
    elapsed_seconds: Annotated[
        float, Meta(ge=0.0, description="Wall time; the only non-deterministic field.")
    ]
    note: str | None = None


# --- model card -------------------------------------------------------------------------------


class ModelSpecification(Struct, kw_only=True):
    question: str
    unit: str
    outcome: str
    censoring: str
    link: str
    offset: str
    estimator: str
    penalty: str
    support: str
    terms: list[str]
    covariance: str
    probability: str
    intervals: str
    decay_half_life_weeks: float
    seed: int


class Coefficient(Struct, kw_only=True):
    term: str
    label: str
    estimate: Annotated[float, Meta(description="Log-odds per `train_scale` of the term.")]
    std_error: float
    std_error_model: float
    std_error_cluster: float | None
    ci_low: float
    ci_high: float
    per_unit: Annotated[float, Meta(description="Log-odds per raw unit of the covariate.")]
    per_unit_ci_low: float
    per_unit_ci_high: float
    train_scale: Annotated[float, Meta(description="What the term is divided by: max(training SD, 0.5).")]
    support: Annotated[int, Meta(ge=0, description="Training events with the term non-zero.")]


class DroppedTerm(Struct, kw_only=True):
    term: str
    reason: str


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


class ServedForecaster(Struct, kw_only=True):
    forecaster: Forecaster
    candidates: list[str]
    reason: str
    scores: Annotated[
        dict[str, float],
        Meta(description="Each candidate's mean Brier over H=2/4/8 on live forecasts resolved by as_of."),
    ]
    forecasts: Annotated[dict[str, int], Meta(description="Those forecasts per selection horizon.")]
    how_chosen: str


class ModelCard(Struct, kw_only=True):
    model_id: str
    model_version: str
    fingerprint: Annotated[str, Meta(description="sha256 of the specification and the canonical training data.")]
    run: RunInfo
    as_of: dt.date
    data_through: dt.date | None
    served: ServedForecaster
    training_weeks: Annotated[int, Meta(ge=0)]
    training_events: Annotated[int, Meta(ge=0)]
    training_tracks: Annotated[int, Meta(ge=0)]
    specification: ModelSpecification
    coefficients: list[Coefficient]
    dropped_terms: list[DroppedTerm]
    fitted_tracks: list[TrackCount]
    excluded_tracks: list[ExcludedTrack]
    observation_windows: list[ObservationWindowInfo]
    separation: SeparationReport
    backtest: Annotated[
        list[ForecasterScore], Meta(description="The comparison table over the records reported by as_of.")
    ]
    margins: list[Margin]
    tried: Annotated[list[str], Meta(description="What was tried and did not help, with its nested scores.")]
    known_limits: list[str]


# --- forecast log -----------------------------------------------------------------------------


class TrackRecordHorizon(Struct, kw_only=True):
    horizon: Horizon
    resolved: Annotated[int, Meta(ge=0, description="Logged forecasts whose window has ended and was observed.")]
    events: Annotated[int, Meta(ge=0)]
    brier: float | None
    brier_recent_rate: Annotated[float | None, Meta(description="The recent-rate rule on the same forecasts.")]
    log_loss: float | None
    mean_forecast: float | None
    observed_rate: float | None


class TrackRecord(Struct, kw_only=True):
    """The forecast log scored against what happened: Parley's own track record."""

    as_of: Annotated[dt.date, Meta(description="Outcomes as reported by this day.")]
    logged: Annotated[int, Meta(ge=0, description="Distinct (track, as_of, model, horizon) answers logged.")]
    resolved: Annotated[int, Meta(ge=0)]
    pending: Annotated[int, Meta(ge=0, description="Windows not over yet.")]
    unobservable: Annotated[
        int, Meta(ge=0, description="Windows over but outside the track's observation windows: not scored.")
    ]
    prospective: Annotated[
        int, Meta(ge=0, description="Resolved forecasts first served before their window started.")
    ]
    horizons: list[TrackRecordHorizon]
    prospective_horizons: list[TrackRecordHorizon]

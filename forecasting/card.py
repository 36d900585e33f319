"""The model card, built from the fitted objects and the backtest report (never by hand)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Final

import numpy as np

from forecasting.backtest import BOOTSTRAP, backtest, data_fingerprint
from forecasting.features import COVARIATES, DECAY_HALF_LIFE_WEEKS
from forecasting.frames import HistoryFrames
from forecasting.hazard import (
    DRAWS,
    MODEL_VERSION,
    PRIOR_M,
    SCALE_FLOOR,
    SEED,
    SEPARATION_BETA,
    SEPARATION_SE,
)
from forecasting.predict import FITTED_COVERAGES, model_at
from schemas.forecast import (
    DEFAULT_HORIZONS,
    BacktestReport,
    BacktestSummary,
    Coefficient,
    DroppedTerm,
    Estimate,
    ExcludedTrack,
    MissingDataRule,
    ModelCard,
    ModelSpecification,
    SeparationReport,
    TrackCount,
)
from schemas.vocab import Coverage

_Z95: Final = 1.959963984540054
HEADLINE_HORIZON: Final = 4

_BACKTESTS: OrderedDict[str, BacktestReport] = OrderedDict()
_BACKTEST_LOCK = threading.Lock()


def cached_backtest(frames: HistoryFrames, horizons: Sequence[int] = DEFAULT_HORIZONS) -> BacktestReport:
    """`backtest`, cached per data fingerprint (the backtest is the slow part of a card)."""
    key = f"{data_fingerprint(frames)}|{','.join(map(str, sorted(set(horizons))))}|{BOOTSTRAP}"
    with _BACKTEST_LOCK:
        hit = _BACKTESTS.get(key)
    if hit is not None:
        return hit
    report = backtest(frames, horizons)
    with _BACKTEST_LOCK:
        _BACKTESTS[key] = report
        while len(_BACKTESTS) > 16:
            _BACKTESTS.popitem(last=False)
    return report


def _specification() -> ModelSpecification:
    return ModelSpecification(
        question="P(track holds its next round within H weeks | records reported by as_of)",
        unit="track × ISO week at risk: from the week after a round to the week the next round starts",
        outcome="1 in the week a round starts (on pow-exchanges an executed exchange is a round); "
        "the open gap is censored at the last complete week by as_of",
        link="logit (discrete-time hazard)",
        estimator="statsmodels GLM Binomial, IRLS, with log-F pseudo-rows",
        penalty=f"log-F({PRIOR_M:g},{PRIOR_M:g}) prior on each penalised standardised coefficient, as "
        f"{PRIOR_M / 2:g} successes and {PRIOR_M / 2:g} failures of a pseudo-row",
        unpenalised=["intercept", *(c.name for c in COVARIATES if not c.penalised)],
        penalised=[c.name for c in COVARIATES if c.penalised],
        standardisation="every term but the intercept is centred on its training-window mean and divided "
        f"by its training-window SD (penalised terms: by max(SD, {SCALE_FLOOR:g}), the unit their prior is in)",
        covariance="model-based correlations (penalised information) scaled to per-term SE = "
        "max(model-based, cluster-robust by track, CR1)",
        intervals=f"10/50/90% percentiles over {DRAWS} draws from N(β̂, covariance), fixed seed",
        decay_half_life_weeks=DECAY_HALF_LIFE_WEEKS,
        seed=SEED,
    )


def _missing_rules(rows: int, missing_rows: dict[str, int]) -> list[MissingDataRule]:
    rules: list[MissingDataRule] = []
    for c in COVARIATES:
        if c.nullable:
            rule = (
                "missing (no front report yet, or round's answer unknown) -> training mean plus a "
                "missing-indicator term; a term with no variation in the training window is dropped "
                "and contributes nothing"
            )
            rules.append(
                MissingDataRule(
                    covariate=c.name,
                    rule=rule,
                    training_rows_missing=missing_rows.get(c.name, 0),
                    training_rows=rows,
                )
            )
    rules.append(
        MissingDataRule(
            covariate="rounds with unknown date",
            rule="cannot be placed in time: skipped for the risk set and gap length, counted in rounds held",
            training_rows_missing=0,
            training_rows=rows,
        )
    )
    return rules


def model_card(
    frames: HistoryFrames,
    as_of: dt.date,
    backtest_report: BacktestReport | None = None,
) -> ModelCard:
    """The card of the model fitted on records reported by `as_of`.

    Its backtest summary is the backtest over the same records (run and cached per data
    fingerprint unless `backtest_report` is given). A separated fit is reported, not raised.
    """
    model = model_at(frames, as_of)
    fit, design = model.fit, model.design
    se = fit.se
    coefficients: list[Coefficient] = []
    for i, t in enumerate(fit.terms):
        b, s = float(fit.beta[i]), float(se[i])
        is_icpt = t.kind == "intercept"
        label = (
            "intercept (weekly log-odds at the training means)"
            if is_icpt
            else next(c.label for c in COVARIATES if c.name == t.name.removesuffix("_missing"))
            + (" — missing indicator" if t.kind == "missing" else "")
        )
        coefficients.append(
            Coefficient(
                term=t.name,
                label=label,
                penalised=t.penalised,
                estimate=b,
                std_error=s,
                std_error_model=float(fit.se_model[i]),
                std_error_cluster=None if fit.se_cluster is None else float(fit.se_cluster[i]),
                ci_low=b - _Z95 * s,
                ci_high=b + _Z95 * s,
                per_unit=None if is_icpt else b / t.scale,
                per_unit_ci_low=None if is_icpt else (b - _Z95 * s) / t.scale,
                per_unit_ci_high=None if is_icpt else (b + _Z95 * s) / t.scale,
                train_mean=None if is_icpt else t.mean,
                train_scale=None if is_icpt else t.scale,
            )
        )

    fitted: list[TrackCount] = []
    for code, tid in enumerate(design.tracks):
        rows = design.track_code == code
        fitted.append(
            TrackCount(
                track=tid,
                coverage=Coverage(design.coverage[code]),
                weeks=int(rows.sum()),
                events=int(design.y[rows].sum()),
                undated_rounds=design.undated_rounds[code],
            )
        )
    excluded = [
        ExcludedTrack(
            track=tid,
            coverage=Coverage(ev.coverage),
            reason="milestones coverage: only milestone rounds are recorded, so gaps between records "
            "are not gaps between rounds; forecasts are served, marked low_coverage",
        )
        for tid, ev in sorted(model.index.tracks.items())
        if ev.coverage not in FITTED_COVERAGES
    ]

    if backtest_report is None:
        known = (
            frames if frames.data_cutoff is None or frames.data_cutoff <= as_of else frames.known_by(as_of)
        )
        backtest_report = cached_backtest(known)
    summaries: list[BacktestSummary] = []
    for v in backtest_report.variants:
        if not v.metrics:
            summaries.append(
                BacktestSummary(
                    variant=v.variant,
                    horizon=HEADLINE_HORIZON,
                    origins=v.origins,
                    forecasts=0,
                    brier_skill_b0=_none(),
                    brier_skill_b1=_none(),
                    auc=_none(),
                    calibration_slope=_none(),
                    note=v.note,
                )
            )
        for m in v.metrics:
            summaries.append(
                BacktestSummary(
                    variant=v.variant,
                    horizon=m.horizon,
                    origins=v.origins,
                    forecasts=m.forecasts,
                    brier_skill_b0=m.brier_skill_b0,
                    brier_skill_b1=m.brier_skill_b1,
                    auc=m.auc,
                    calibration_slope=m.calibration_slope,
                    note=v.note,
                )
            )

    return ModelCard(
        model_id=fit.model_id,
        model_version=MODEL_VERSION,
        fingerprint=fit.fingerprint,
        as_of=as_of,
        data_through=model.index.data_cutoff,
        training_weeks=design.rows,
        training_events=design.events,
        training_tracks=len(design.tracks),
        specification=_specification(),
        coefficients=coefficients,
        dropped_terms=[DroppedTerm(term=d.term, reason=d.reason) for d in fit.dropped],
        fitted_tracks=fitted,
        excluded_tracks=excluded,
        missing_data=_missing_rules(design.rows, fit.missing_rows),
        separation=SeparationReport(
            detected=bool(fit.separated),
            terms=list(fit.separated),
            rule=f"|β| > {SEPARATION_BETA:g} or SE > {SEPARATION_SE:g} on the standardised scale, "
            "or statsmodels' perfect-prediction warning; a separated model is not served",
            converged=fit.converged,
        ),
        backtest=summaries,
        known_limits=_known_limits(fit.clusters, fitted, [d.term for d in fit.dropped], backtest_report),
    )


def _none() -> Estimate:
    return Estimate(value=None, ci_low=None, ci_high=None)


def _known_limits(
    clusters: int, fitted: list[TrackCount], dropped: list[str], report: BacktestReport
) -> list[str]:
    limits = [
        (
            f"Only {clusters} tracks are fitted: cluster-robust SEs from so few clusters are themselves "
            "noisy (the clustered covariance has rank at most G-1), and the backtest's bootstrap over "
            "tracks has few distinct resamples."
        ),
    ]
    partial = [t.track for t in fitted if t.coverage == Coverage.PARTIAL]
    if partial:
        limits.append(
            f"Partial coverage ({', '.join(partial)}): rounds missing from the records lengthen the "
            "observed gaps, biasing the hazard of these tracks down."
        )
    if dropped:
        limits.append(
            f"No variation in the training window, so no effect on forecasts: {', '.join(dropped)}."
        )
    limits.extend(
        [
            (
                "Silence is read as no rounds: a forecast as of a date well after the latest record is "
                "flagged stale_data."
            ),
            (
                "Statements count for their own track and, when they name no track, for every track; "
                "exchanges only for their own track."
            ),
            "Cancelled exchanges have no cancellation date and are left out of the pending count.",
            "Forecasts for milestones tracks apply a model fitted on other tracks.",
        ]
    )
    for v in report.variants:
        for m in v.metrics:
            slope = m.calibration_slope.value
            if m.horizon == HEADLINE_HORIZON and slope is not None and np.isfinite(slope):
                if slope < 0.8:
                    limits.append(
                        f"Backtest ({v.variant.value}, H={m.horizon}): calibration slope {slope:.2f} < 1 — "
                        "forecasts are more extreme than the outcomes support."
                    )
                elif slope > 1.25:
                    limits.append(
                        f"Backtest ({v.variant.value}, H={m.horizon}): calibration slope {slope:.2f} > 1 — "
                        "forecasts are too timid."
                    )
    return limits

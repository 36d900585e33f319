"""The model card, built from the fitted objects and the backtest report (never by hand)."""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np

from forecasting.backtest import backtest, window_infos
from forecasting.evaluation import CANDIDATES, LIVE_WEEKS, MIN_RECALIBRATION, SELECTION_HORIZONS
from forecasting.features import COVARIATES, DECAY_HALF_LIFE_WEEKS, RECENT_WEEKS
from forecasting.hazard import (
    DRAWS,
    MIN_SUPPORT,
    MODEL_VERSION,
    PRIOR_M,
    RULE_HAZARD,
    SCALE_FLOOR,
    SEED,
    SEPARATION_BETA,
    SEPARATION_SE,
    SUPPORT_FLOOR,
)
from forecasting.frames import HistoryFrames
from forecasting.predict import model_at
from schemas.forecast import (
    BacktestReport,
    Coefficient,
    DroppedTerm,
    ExcludedTrack,
    ForecasterScore,
    Margin,
    ModelCard,
    ModelSpecification,
    Population,
    SeparationReport,
    ServedForecaster,
    TrackCount,
)
from schemas.vocab import Coverage

_Z95: Final = 1.959963984540054
TARGET_HORIZONS: Final = (2, 4, 8)


def _specification() -> ModelSpecification:
    return ModelSpecification(
        question="P(track holds its next round within H weeks | records reported by as_of)",
        unit="track × ISO week at risk and observed: from the week after a round to the week the next round starts",
        outcome="1 in the week a round starts (on pow-exchanges an executed exchange is a round); only held "
        "rounds are rounds",
        censoring="a week outside every observation window of its track (or in a milestones window) is neither "
        "a training row nor a scored outcome; a spell is censored at the last observed week before an unobserved "
        "one, and the track re-enters the risk set from its next round on an observed day",
        link="logit (discrete-time hazard)",
        offset=f"logit of the recent rate (k + 0.5) / {RECENT_WEEKS + 1}, k = weeks with a round in the "
        f"{RECENT_WEEKS} before the week: with no terms the model is the recent-rate rule",
        estimator="statsmodels GLM Binomial, IRLS, with log-F pseudo-rows; no intercept, terms not centred "
        "(0 = no such event)",
        penalty=f"log-F({PRIOR_M:g},{PRIOR_M:g}) prior on each term per max(training SD, {SCALE_FLOOR:g}), as "
        f"{PRIOR_M / 2:g} successes and {PRIOR_M / 2:g} failures of a pseudo-row",
        support=f"a term enters only with at least {MIN_SUPPORT} training events (weeks with a round) in which "
        f"it is at least {SUPPORT_FLOOR:g}; otherwise it is not estimated and contributes nothing",
        terms=list(RULE_HAZARD.terms),
        covariance="model-based correlations (penalised information) scaled to per-term SE = "
        "max(model-based, cluster-robust by track, CR1)",
        probability=f"predictive mean over {DRAWS} draws: the rate at the quantiles of its Jeffreys posterior "
        f"Beta(k + ½, {RECENT_WEEKS} − k + ½), paired with coefficient draws from N(β̂, covariance)",
        intervals="10/50/90% percentiles over the same draws",
        decay_half_life_weeks=DECAY_HALF_LIFE_WEEKS,
        seed=SEED,
    )


def _how_chosen() -> str:
    return (
        f"By nested rolling-origin evaluation: at each month-end origin every candidate "
        f"({', '.join(CANDIDATES)}) was refitted on the records reported by then; as of a day T the served "
        f"candidate is the one with the lowest mean Brier score over H={'/'.join(map(str, SELECTION_HORIZONS))} "
        f"on the live forecasts of earlier origins that had resolved by T, scored against the rounds reported by "
        f"T (the recent-rate rule until enough had resolved, and on ties). Full-sample scores choose nothing."
    )


def _tried(report: BacktestReport, support: dict[str, int]) -> list[str]:
    """What was tried and did not help, with its nested scores from this report."""
    brier = {
        (s.forecaster, s.population, s.horizon): s.brier.value for s in report.scores if s.brier.value is not None
    }

    def row(name: str) -> str:
        cells = [
            f"H={h} {brier.get((name, Population.LIVE, h), float('nan')):.4f}"
            f" (rule {brier.get(('recent_rate', Population.LIVE, h), float('nan')):.4f})"
            for h in report.horizons
        ]
        return ", ".join(cells)

    suspended = support.get("suspended", 0)
    return [
        f"Out-of-sample recalibration (a cloglog-Platt map fitted on the forecasts resolved by each origin, "
        f"from {MIN_RECALIBRATION} on): live Brier {row('rule_hazard_recalibrated')}. Where it does not help it "
        "is reported, not served.",
        "The hazard-1 model (duration terms, decayed event counts, front-line stalemate, no recent rate), "
        "which the issue 12 audit found losing to the recent-rate rule: replaced by the rule offset.",
        "Duration terms (log(1 + weeks since the last round), weeks/52), rounds held, or rates over 8, 13 or "
        "52 weeks added to the rule offset, with or without an intercept: in exploratory nested runs each "
        "raised the Brier at H=2 and H=4, so none is a term.",
        f"A suspension or withdrawal term helps at long horizons, but its training data hold {suspended} "
        f"events with it non-zero, fewer than {MIN_SUPPORT}: not estimated.",
        "Fixed and nested blends of the model and the rule: in exploratory runs no better than the nested "
        "choice between them.",
    ]


def _limits(report: BacktestReport, served: str, fitted: list[TrackCount], dropped: list[str]) -> list[str]:
    limits = [
        f"Only {len(fitted)} tracks are fitted and {len(report.tracks)} scored; minsk-tcg and normandy-format "
        "give most of the scored forecasts. Year-block intervals rest on about ten calendar years.",
        "Weeks outside the observation windows are censored, so most of 2025 to May 2026 is neither trained on "
        "nor scored; a forecast whose window runs past the windows says so (horizon_beyond_observation).",
    ]
    if dropped:
        limits.append(f"Not estimated (too little support), so no effect on forecasts: {', '.join(dropped)}.")
    partial = [t.track for t in fitted if t.coverage == Coverage.PARTIAL]
    if partial:
        limits.append(
            f"Partial coverage ({', '.join(partial)}): rounds missing from the records lower the recent rate of "
            "these tracks."
        )
    for m in report.margins:
        if m.population == Population.LIVE and m.difference.value is not None:
            # Every horizon, the ones the choice is not made on too: where the served forecast
            # loses to the baseline, the card says so.
            verdict = "at or below" if m.difference.value <= 0 else "ABOVE"
            ci = m.difference
            target = "" if m.horizon in TARGET_HORIZONS else (
                f" (H={m.horizon} is not one of the horizons the served forecaster is chosen on, "
                f"{'/'.join(map(str, TARGET_HORIZONS))})")
            limits.append(
                f"H={m.horizon}, live tracks: the served forecast's Brier {m.brier_served:.4f} is {verdict} the "
                f"best baseline's ({m.best_baseline}, {m.brier_baseline:.4f}){target}; paired difference "
                f"{ci.value:+.4f} [{_fmt(ci.ci_low, 4)}, {_fmt(ci.ci_high, 4)}]"
                + ("" if ci.ci_high is not None and ci.ci_low is not None and (ci.ci_high < 0 or ci.ci_low > 0) else
                   ": the interval includes zero.")
            )
    for s in report.scores:
        if s.forecaster != "served" or s.population != Population.ALL:
            continue
        parts = []
        if s.calibration_intercept is not None and abs(s.calibration_intercept) > 0.2:
            direction = "over" if s.calibration_intercept < 0 else "under"
            parts.append(f"intercept {s.calibration_intercept:+.2f} ({direction}-forecasts)")
        if s.calibration_slope is not None and not 0.8 <= s.calibration_slope <= 1.25:
            parts.append(
                f"slope {s.calibration_slope:.2f} ("
                + ("more extreme than the outcomes support" if s.calibration_slope < 0.8 else "too timid")
                + ")"
            )
        state = "; ".join(parts) if parts else "within intercept ±0.2 and slope 0.8–1.25"
        limits.append(
            f"Calibration of the served forecast at H={s.horizon}: intercept {_fmt(s.calibration_intercept)}, "
            f"slope {_fmt(s.calibration_slope)} — {state}."
        )
    limits.extend(
        [
            f"The served forecaster as of this card is {served}; it may change as forecasts resolve.",
            "Statements count for their own track and, when they name no track, for every track; exchanges "
            "only for their own track.",
            "Forecasts for milestones tracks apply a forecaster fitted on other tracks to the track's own rate.",
            f"Live means the track's latest round was at most {LIVE_WEEKS} weeks old at the origin.",
        ]
    )
    return limits


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:+.{digits}f}"


def model_card(frames: HistoryFrames, as_of: dt.date, backtest_report: BacktestReport | None = None) -> ModelCard:
    """The card of the forecaster served as of `as_of`, fitted on records reported by then, with the
    backtest over the same records (scored as of `as_of`) unless `backtest_report` is given."""
    model = model_at(frames, as_of)
    fit, design = model.fit, model.design
    se = fit.se
    coefficients: list[Coefficient] = []
    for i, t in enumerate(fit.terms):
        b, s = float(fit.beta[i]), float(se[i])
        label = next(c.label for c in COVARIATES if c.name == t.name)
        coefficients.append(
            Coefficient(
                term=t.name, label=label, estimate=b, std_error=s, std_error_model=float(fit.se_model[i]),
                std_error_cluster=None if fit.se_cluster is None else float(fit.se_cluster[i]),
                ci_low=b - _Z95 * s, ci_high=b + _Z95 * s, per_unit=b / t.scale,
                per_unit_ci_low=(b - _Z95 * s) / t.scale, per_unit_ci_high=(b + _Z95 * s) / t.scale,
                train_scale=t.scale, support=fit.support.get(t.name, 0),
            )
        )  # fmt: skip
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
            reason="no observation window with complete or partial coverage (milestones only): gaps between "
            "records are not gaps between rounds; forecasts are served, marked low_coverage",
        )
        for tid, ev in sorted(model.index.tracks.items())
        if tid not in design.tracks
    ]
    report = backtest_report if backtest_report is not None else backtest(frames, as_of)
    choice = model.choice
    served = ServedForecaster(
        forecaster=choice.forecaster,
        candidates=list(CANDIDATES),
        reason=choice.reason,
        scores=choice.scores,
        forecasts={str(h): n for h, n in choice.forecasts.items()},
        how_chosen=_how_chosen(),
    )
    table: list[ForecasterScore] = list(report.scores)
    margins: list[Margin] = list(report.margins)
    return ModelCard(
        model_id=model.model_id,
        model_version=MODEL_VERSION,
        fingerprint=fit.fingerprint,
        run=report.run,
        as_of=as_of,
        data_through=model.index.data_cutoff,
        served=served,
        training_weeks=design.rows,
        training_events=design.events,
        training_tracks=len(design.tracks),
        specification=_specification(),
        coefficients=coefficients,
        dropped_terms=[DroppedTerm(term=d.term, reason=d.reason) for d in fit.dropped],
        fitted_tracks=fitted,
        excluded_tracks=excluded,
        observation_windows=window_infos(frames),
        separation=SeparationReport(
            detected=bool(fit.separated),
            terms=list(fit.separated),
            rule=f"|β| > {SEPARATION_BETA:g} or SE > {SEPARATION_SE:g} on the standardised scale, or statsmodels' "
            "perfect-prediction warning; a separated model is not served",
            converged=fit.converged,
        ),
        backtest=table,
        margins=margins,
        tried=_tried(report, fit.support),
        known_limits=_limits(report, choice.forecaster, fitted, [d.term for d in fit.dropped]),
    )


"""The backtest report: every forecaster of the rolling-origin evaluation scored, side by side.

For each forecaster, horizon and population (all scored forecasts; live tracks only) the table
gives Brier score, log loss, AUC, calibration intercept and slope, the counts behind them, and
the paired Brier difference against the best baseline of that column. Intervals come from a
bootstrap over calendar-year blocks of origins: forecasts made in one year share that year's
politics, so years, not forecasts, are the units resampled. AUC and calibration are point
figures (a logistic fit per replicate per cell would cost more than the whole backtest).

The report as of a day T is the evaluation restricted to what was known by T: origins whose
windows had ended by T, scored against the rounds reported by T. So the card of the model as of
T and the served choice as of T read the same figures.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from forecasting.errors import NotEnoughDataError
from forecasting.evaluation import (
    BASELINES,
    CANDIDATES,
    FORECASTERS,
    HORIZONS,
    LIVE_DEFINITION,
    MIN_SELECTION,
    SELECTION_HORIZONS,
    SERVED,
    Evaluation,
    evaluation,
)
from forecasting.frames import HistoryFrames
from forecasting.hazard import SEED
from forecasting.provenance import run_info
from schemas.forecast import (
    BacktestReport,
    Estimate,
    ForecasterInfo,
    ForecasterKind,
    ForecasterScore,
    Margin,
    ObservationWindowInfo,
    Population,
    ReliabilityBin,
    ServedChoice,
)
from schemas.vocab import Coverage

FloatArray = NDArray[np.float64]

BOOTSTRAP: Final = 1000
# Log loss is undefined at 0 and 1; forecasts are clipped this far from them when scored.
CLIP: Final = 1e-6
RELIABILITY_BINS: Final = 10

DESCRIPTIONS: Final[dict[str, tuple[ForecasterKind, str]]] = {
    "base_rate": (ForecasterKind.BASELINE, "B0: the training risk set's weekly rate r, as 1 − (1 − r)^H"),
    "climatology": (
        ForecasterKind.BASELINE,
        "the share of earlier resolved H-week windows after observed track-weeks at risk that held a round",
    ),
    "recent_rate": (
        ForecasterKind.BASELINE,
        "the recent-rate rule: r = (weeks with a round in the last 26 + 0.5) / 27 per track, 1 − (1 − r)^H",
    ),
    "gap_logit": (ForecasterKind.BASELINE, "logit h = a + b·log(1 + weeks since the last round), pooled"),
    "kaplan_meier": (
        ForecasterKind.BASELINE,
        "Kaplan–Meier on the training gaps, conditional on the current gap: 1 − S(d + H)/S(d)",
    ),
    "rate_posterior": (
        ForecasterKind.MODEL,
        "the rule's predictive mean over the Jeffreys posterior of its rate, Beta(k + ½, 26 − k + ½)",
    ),
    "rule_hazard": (
        ForecasterKind.MODEL,
        "the hazard model: the rule's weekly log-odds as an offset plus supported event terms, predictive "
        "mean over the rate's posterior and the coefficient draws",
    ),
    "rule_hazard_recalibrated": (
        ForecasterKind.MODEL,
        "the hazard model mapped by a cloglog-Platt recalibration fitted on the forecasts resolved by each "
        "origin (all horizons); reported, not a candidate",
    ),
    SERVED: (
        ForecasterKind.SERVED,
        "at each origin, the candidate the nested choice picks as of that origin",
    ),
}

SELECTION_TEXT: Final = (
    f"At each origin T the candidates ({', '.join(CANDIDATES)}) are scored on the live forecasts of earlier "
    f"origins whose windows had ended by T, against the rounds reported by T: the one with the lowest mean "
    f"Brier over H={'/'.join(map(str, SELECTION_HORIZONS))} is served; until every selection horizon has "
    f"{MIN_SELECTION} such forecasts, and on ties, the first ({CANDIDATES[0]}). No origin's forecast depends "
    "on a score it is part of."
)

OnOrigin = Callable[[int, int], None]


def _logistic_fit(y: FloatArray, x: FloatArray | None, offset: FloatArray) -> FloatArray | None:
    """Newton-Raphson for logit P(y) = a [+ b x] + offset; None if it does not converge
    (one class only, or separation)."""
    if y.size == 0 or y.min() == y.max():
        return None
    cols = [np.ones_like(y)] if x is None else [np.ones_like(y), x]
    z = np.column_stack(cols)
    beta = np.zeros(z.shape[1])
    for _ in range(50):
        mu = 1.0 / (1.0 + np.exp(-(z @ beta + offset)))
        w = mu * (1.0 - mu)
        grad = z.T @ (y - mu)
        hess = (z * w[:, None]).T @ z
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            return None
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.abs(beta).max() > 50:
            return None
        if np.abs(step).max() < 1e-8:
            return beta
    return None


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, CLIP, 1.0 - CLIP)
    return np.log(q / (1.0 - q))


def _auc(p: FloatArray, y: FloatArray) -> float | None:
    pos = y == 1.0
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _log_loss(p: FloatArray, y: FloatArray) -> FloatArray:
    q = np.clip(p, CLIP, 1.0 - CLIP)
    return -(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))


class _Blocks:
    """Calendar-year block bootstrap of row means: replicate r weights each year by how often it
    was drawn."""

    def __init__(self, years: NDArray[np.int64], replicates: int, seed: int) -> None:
        self.labels, self.block = np.unique(years, return_inverse=True)
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, self.labels.size, (replicates, self.labels.size))
        self.weights = np.zeros((replicates, self.labels.size))
        for r in range(replicates):
            np.add.at(self.weights[r], picks[r], 1.0)

    def estimate(self, values: FloatArray, rows: NDArray[np.bool_]) -> Estimate:
        if not rows.any():
            return Estimate(value=None, ci_low=None, ci_high=None)
        v = values[rows]
        point = float(v.mean())
        block = self.block[rows]
        n = self.labels.size
        sums = np.bincount(block, weights=v, minlength=n)
        counts = np.bincount(block, minlength=n).astype(np.float64)
        if (counts > 0).sum() < 2:
            return Estimate(value=point, ci_low=None, ci_high=None)
        total = self.weights @ counts
        ok = total > 0
        means = (self.weights @ sums)[ok] / total[ok]
        lo, hi = np.percentile(means, [2.5, 97.5])
        return Estimate(value=point, ci_low=float(lo), ci_high=float(hi))


def _reliability(name: str, population: Population, h: int, p: FloatArray, y: FloatArray) -> list[ReliabilityBin]:
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    out: list[ReliabilityBin] = []
    for b in range(RELIABILITY_BINS):
        inb = which == b
        if inb.any():
            out.append(
                ReliabilityBin(
                    forecaster=name,
                    population=population,
                    horizon=h,
                    bin_low=b / RELIABILITY_BINS,
                    bin_high=(b + 1) / RELIABILITY_BINS,
                    forecasts=int(inb.sum()),
                    mean_forecast=float(p[inb].mean()),
                    observed_rate=float(y[inb].mean()),
                )
            )
    return out


def report(
    frames: HistoryFrames,
    table: Evaluation,
    as_of: dt.date,
    *,
    bootstrap: int = BOOTSTRAP,
    started: float | None = None,
) -> BacktestReport:
    """The report of an evaluation, scored as of `as_of`."""
    started = time.perf_counter() if started is None else started
    if frames.data_cutoff is None:
        raise NotEnoughDataError("no records to backtest")
    y, resolved = table.labels(as_of)
    served, picks = table.served()
    columns = {name: table.column(name) for name in FORECASTERS}
    columns[SERVED] = served
    years = np.array([o.year for o in table.origins], np.int64)[table.origin] if table.origin.size else table.origin
    blocks = _Blocks(years, bootstrap, SEED)
    origin_ids = table.origin
    scores: list[ForecasterScore] = []
    margins: list[Margin] = []
    reliability: list[ReliabilityBin] = []
    for population in Population:
        pop = resolved & (table.live if population == Population.LIVE else True)
        for h in HORIZONS:
            rows = pop & (table.horizon == h)
            if not rows.any():
                continue
            sq = {name: (p - y) ** 2 for name, p in columns.items()}
            brier = {name: float(v[rows].mean()) for name, v in sq.items()}
            best = min(BASELINES, key=lambda n: (brier[n], BASELINES.index(n)))
            for name, p in columns.items():
                q = p[rows]
                lp = _logit(q)
                slope = _logistic_fit(y[rows], lp, np.zeros_like(lp))
                intercept = _logistic_fit(y[rows], None, lp)
                kind = DESCRIPTIONS[name][0]
                scores.append(
                    ForecasterScore(
                        forecaster=name, kind=kind, population=population, horizon=h,
                        forecasts=int(rows.sum()), events=int(y[rows].sum()),
                        tracks=int(np.unique(table.track[rows]).size), origins=int(np.unique(origin_ids[rows]).size),
                        brier=blocks.estimate(sq[name], rows), log_loss=blocks.estimate(_log_loss(p, y), rows),
                        auc=_auc(q, y[rows]),
                        calibration_intercept=None if intercept is None else float(intercept[0]),
                        calibration_slope=None if slope is None else float(slope[1]),
                        best_baseline=best, brier_difference=blocks.estimate(sq[name] - sq[best], rows),
                    )
                )  # fmt: skip
            difference = blocks.estimate(sq[SERVED] - sq[best], rows)
            margins.append(
                Margin(
                    population=population, horizon=h, best_baseline=best, brier_served=brier[SERVED],
                    brier_baseline=brier[best], difference=difference,
                    relative=(brier[SERVED] - brier[best]) / brier[best] if brier[best] > 0 else 0.0,
                    forecasts=int(rows.sum()), events=int(y[rows].sum()),
                )
            )  # fmt: skip
            for name in (SERVED, "recent_rate"):
                reliability.extend(_reliability(name, population, h, columns[name][rows], y[rows]))
    scored_origins = sorted({table.origins[i] for i in np.unique(origin_ids[resolved])})
    choices = [ServedChoice(forecaster=c, origins=sum(1 for p in picks if p == c)) for c in CANDIDATES]
    note = None if scored_origins else "no forecast had resolved by as_of: nothing to score"
    return BacktestReport(
        run=run_info(frames.fingerprint),
        as_of=as_of,
        data_cutoff=frames.data_cutoff,
        horizons=list(HORIZONS),
        tracks=list(table.tracks),
        origins=len(scored_origins),
        first_origin=scored_origins[0] if scored_origins else None,
        last_origin=scored_origins[-1] if scored_origins else None,
        skipped_origins=table.skipped,
        live_definition=LIVE_DEFINITION,
        selection=SELECTION_TEXT,
        forecasters=[ForecasterInfo(name=n, kind=k, description=d) for n, (k, d) in DESCRIPTIONS.items()],
        scores=scores,
        margins=margins,
        served_choices=choices,
        reliability=reliability,
        observation_windows=window_infos(frames),
        bootstrap_replicates=bootstrap,
        seed=SEED,
        elapsed_seconds=time.perf_counter() - started,
        note=note,
    )


def window_infos(frames: HistoryFrames) -> list[ObservationWindowInfo]:
    return [
        ObservationWindowInfo(track=w.track, start=w.start, end=w.end, coverage=Coverage(w.coverage), basis=w.basis)
        for w in frames.window_list()
    ]


def backtest(
    frames: HistoryFrames,
    as_of: dt.date | None = None,
    on_origin: OnOrigin | None = None,
    *,
    bootstrap: int = BOOTSTRAP,
) -> BacktestReport:
    """The rolling-origin backtest of every forecaster, scored as of `as_of` (default: the data
    cutoff). The evaluation behind it is cached per data fingerprint; `on_origin(done, total)`
    watches its origins go by when it runs."""
    started = time.perf_counter()
    if frames.data_cutoff is None:
        raise NotEnoughDataError("no records to backtest")
    day = frames.data_cutoff if as_of is None else min(as_of, frames.data_cutoff)
    table = evaluation(frames, on_origin)
    return report(frames, table, day, bootstrap=bootstrap, started=started)


"""Rolling-origin backtest: refit at every month end on what was reported by then, forecast,
and score against what the full data says happened.

Origins are month ends, from the first one by which ≥ 10 resumptions on the variant's tracks
had been reported, to the last one whose shortest horizon has ended by the data cutoff. Only
forecasts whose whole window ended by the cutoff are scored. Baselines at every origin:

- B0: the training base rate (weekly), as an H-week probability 1 − (1 − rate)^H;
- B1: Kaplan–Meier on the training gap lengths (statsmodels `SurvfuncRight`), conditional on
  the current gap: 1 − S(d + H) / S(d). Where S(d) = 0 (every training gap that long ended)
  KM is silent and B1 falls back to B0.

Metric intervals are percentile intervals from a bootstrap that resamples tracks (forecasts of
one track are correlated across origins and horizons, so tracks are the independent units).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata
from statsmodels.duration.survfunc import SurvfuncRight

from forecasting.errors import NotEnoughDataError
from forecasting.features import Design, build_design, fitted_tracks, history_index
from forecasting.frames import (
    HistoryFrames,
    day_number,
    last_complete_week,
    week_end,
    week_of,
)
from forecasting.hazard import MIN_EVENTS, MODEL_VERSION, SEED, HazardFit, fingerprint
from forecasting.predict import FITTED_COVERAGES, check_horizons, hazard_path, model_at
from schemas.forecast import (
    DEFAULT_HORIZONS,
    BacktestMetric,
    BacktestReport,
    BacktestVariant,
    BacktestVariantResult,
    Estimate,
    ReliabilityBin,
)
from schemas.vocab import Coverage

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

BOOTSTRAP: Final = 1000
# Log loss is undefined at 0 and 1; forecasts are clipped this far from them when scored.
CLIP: Final = 1e-6
RELIABILITY_BINS: Final = 10

VARIANTS: Final[dict[BacktestVariant, frozenset[str]]] = {
    BacktestVariant.FITTED: FITTED_COVERAGES,
    BacktestVariant.COMPLETE_ONLY: frozenset({Coverage.COMPLETE.value}),
}

OnOrigin = Callable[[int, int], None]


@dataclass(frozen=True)
class Scored:
    """Scored forecasts of one variant: one row per (origin, track, horizon)."""

    horizon: IntArray
    track: IntArray
    p: FloatArray
    b0: FloatArray
    b1: FloatArray
    y: FloatArray


def month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    out: list[dt.date] = []
    y, m = first.year, first.month
    while True:
        nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
        end = nxt - dt.timedelta(days=1)
        if end > last:
            return out
        if end >= first:
            out.append(end)
        y, m = nxt.year, nxt.month


def _resumptions_known(frames: HistoryFrames, tracks: Sequence[str], as_of: dt.date) -> int:
    index = history_index(frames)
    t = day_number(as_of)
    last = last_complete_week(as_of)
    total = 0
    for tid in tracks:
        rounds = index.tracks[tid].rounds
        keep = (rounds.rep <= t) & (rounds.day <= t)
        weeks = np.unique(rounds.week[keep])
        total += max(0, int((weeks <= last).sum()) - 1)
    return total


def origins_for(frames: HistoryFrames, tracks: Sequence[str], horizons: Sequence[int]) -> list[dt.date]:
    cutoff = frames.data_cutoff
    index = history_index(frames)
    days = [int(d) for tid in tracks for d in index.tracks[tid].rounds.day]
    if cutoff is None or not days:
        return []
    start = dt.date(1970, 1, 1) + dt.timedelta(days=min(days))
    shortest = min(horizons)
    candidates = [t for t in month_ends(start, cutoff) if week_end(week_of(t) + shortest) <= cutoff]
    for i, t in enumerate(candidates):
        if _resumptions_known(frames, tracks, t) >= MIN_EVENTS:
            return candidates[i:]
    return []


def _km_conditional(design: Design, gap: int, horizon: int) -> float | None:
    """1 − S(gap + H) / S(gap) from a Kaplan–Meier fit on the training spells."""
    if not design.spells:
        return None
    lengths = np.array([s[1] for s in design.spells], np.float64)
    status = np.array([s[2] for s in design.spells], np.float64)
    sf = SurvfuncRight(lengths, status)
    times = np.asarray(sf.surv_times, np.float64)
    probs = np.asarray(sf.surv_prob, np.float64)

    def s(t: float) -> float:
        i = int(np.searchsorted(times, t, side="right")) - 1
        return 1.0 if i < 0 else float(probs[i])

    s0 = s(gap)
    if s0 <= 0.0:
        return None  # every training gap this long ended: KM says nothing about this one
    return float(np.clip(1.0 - s(gap + horizon) / s0, 0.0, 1.0))


def _point_probabilities(fit: HazardFit, x: FloatArray) -> FloatArray:
    h = 1.0 / (1.0 + np.exp(-(fit.matrix(x) @ fit.beta)))
    return np.clip(1.0 - np.cumprod(1.0 - h), 0.0, 1.0)


def _score_variant(
    frames: HistoryFrames,
    variant: BacktestVariant,
    origins: list[dt.date],
    horizons: list[int],
    tick: Callable[[], None],
) -> tuple[Scored, list[str], int]:
    cutoff = frames.data_cutoff
    assert cutoff is not None
    full = history_index(frames)
    tracks = fitted_tracks(full, VARIANTS[variant])
    final_weeks = {t: full.tracks[t].round_weeks for t in tracks}
    hmax = max(horizons)
    rows: dict[str, list[float]] = {k: [] for k in ("h", "track", "p", "b0", "b1", "y")}
    skipped = 0
    for origin in origins:
        try:
            model = model_at(frames, origin, VARIANTS[variant])
        except NotEnoughDataError:
            skipped += 1
            tick()
            continue
        if model.fit.separated:
            skipped += 1
            tick()
            continue
        design = model.design
        rate = design.events / max(design.rows, 1)
        c = week_of(origin)
        for code, tid in enumerate(tracks):
            ev = model.index.tracks[tid]
            if ev.round_weeks.size == 0:
                continue  # not yet at risk: no round reported by this origin
            path = hazard_path(ev, model.index.front, origin, hmax)
            p = _point_probabilities(model.fit, path.x)
            gap = c - path.anchor_week
            actual = final_weeks[tid]
            for h in horizons:
                if week_end(c + h) > cutoff:
                    continue
                b1 = _km_conditional(design, gap, h)
                rows["h"].append(h)
                rows["track"].append(code)
                rows["p"].append(float(p[h - 1]))
                rows["b0"].append(1.0 - (1.0 - rate) ** h)
                rows["b1"].append(1.0 - (1.0 - rate) ** h if b1 is None else b1)
                rows["y"].append(float(((actual > c) & (actual <= c + h)).any()))
        tick()
    scored = Scored(
        horizon=np.asarray(rows["h"], np.int64),
        track=np.asarray(rows["track"], np.int64),
        p=np.asarray(rows["p"], np.float64),
        b0=np.asarray(rows["b0"], np.float64),
        b1=np.asarray(rows["b1"], np.float64),
        y=np.asarray(rows["y"], np.float64),
    )
    return scored, tracks, skipped


# --- metrics ----------------------------------------------------------------------------------


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, CLIP, 1.0 - CLIP)
    return np.log(q / (1.0 - q))


def _logistic_fit(y: FloatArray, x: FloatArray | None, offset: FloatArray) -> FloatArray | None:
    """Newton-Raphson for logit P(y) = a [+ b x] + offset; None if it does not converge
    (one class only, or separation). Small enough to run inside the bootstrap."""
    if y.min() == y.max():
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


def _auc(p: FloatArray, y: FloatArray) -> float | None:
    pos = y == 1.0
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(p)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _metrics(p: FloatArray, b0: FloatArray, b1: FloatArray, y: FloatArray) -> dict[str, float | None]:
    brier = float(np.mean((p - y) ** 2))
    brier0 = float(np.mean((b0 - y) ** 2))
    brier1 = float(np.mean((b1 - y) ** 2))
    q = np.clip(p, CLIP, 1.0 - CLIP)
    lp = _logit(p)
    slope = _logistic_fit(y, lp, np.zeros_like(y))
    intercept = _logistic_fit(y, None, lp)
    return {
        "brier": brier,
        "brier_b0": brier0,
        "brier_b1": brier1,
        "brier_skill_b0": None if brier0 == 0 else 1.0 - brier / brier0,
        "brier_skill_b1": None if brier1 == 0 else 1.0 - brier / brier1,
        "log_loss": float(-np.mean(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))),
        "auc": _auc(p, y),
        "calibration_intercept": None if intercept is None else float(intercept[0]),
        "calibration_slope": None if slope is None else float(slope[1]),
    }


def _horizon_metric(s: Scored, h: int, rng: np.random.Generator, reps: int) -> BacktestMetric:
    sel = s.horizon == h
    p, b0, b1, y, tr = s.p[sel], s.b0[sel], s.b1[sel], s.y[sel], s.track[sel]
    point = _metrics(p, b0, b1, y)
    groups = np.unique(tr)
    members = [np.flatnonzero(tr == g) for g in groups]
    boot: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(reps):
        pick = rng.integers(0, len(groups), len(groups))
        idx = np.concatenate([members[i] for i in pick])
        m = _metrics(p[idx], b0[idx], b1[idx], y[idx])
        for k, v in m.items():
            if v is not None and np.isfinite(v):
                boot[k].append(v)

    def est(k: str) -> Estimate:
        v = point[k]
        draws = boot[k]
        # An interval from a minority of replicates would describe a different population.
        if v is None or len(draws) < reps // 2:
            return Estimate(value=v, ci_low=None, ci_high=None)
        lo, hi = np.percentile(draws, [2.5, 97.5])
        return Estimate(value=v, ci_low=float(lo), ci_high=float(hi))

    return BacktestMetric(
        horizon=h,
        forecasts=int(sel.sum()),
        events=int(y.sum()),
        tracks=len(groups),
        brier=est("brier"),
        brier_b0=est("brier_b0"),
        brier_b1=est("brier_b1"),
        brier_skill_b0=est("brier_skill_b0"),
        brier_skill_b1=est("brier_skill_b1"),
        log_loss=est("log_loss"),
        auc=est("auc"),
        calibration_intercept=est("calibration_intercept"),
        calibration_slope=est("calibration_slope"),
    )


def _reliability(s: Scored, h: int) -> list[ReliabilityBin]:
    sel = s.horizon == h
    p, y = s.p[sel], s.y[sel]
    edges = np.linspace(0.0, 1.0, RELIABILITY_BINS + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, RELIABILITY_BINS - 1)
    out: list[ReliabilityBin] = []
    for b in range(RELIABILITY_BINS):
        inb = which == b
        if inb.any():
            out.append(
                ReliabilityBin(
                    horizon=h,
                    bin_low=b / RELIABILITY_BINS,
                    bin_high=(b + 1) / RELIABILITY_BINS,
                    forecasts=int(inb.sum()),
                    mean_forecast=float(p[inb].mean()),
                    observed_rate=float(y[inb].mean()),
                )
            )
    return out


# --- entry point --------------------------------------------------------------------------------


def data_fingerprint(frames: HistoryFrames) -> str:
    """Fingerprint of all the data the backtest reads: the full fitted-tracks risk set."""
    cutoff = frames.data_cutoff
    if cutoff is None:
        raise NotEnoughDataError("no records")
    index = history_index(frames).by(cutoff)
    design = build_design(index, cutoff, fitted_tracks(index, FITTED_COVERAGES))
    return fingerprint(design) + "@" + cutoff.isoformat()


def backtest(
    frames: HistoryFrames,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
    on_origin: OnOrigin | None = None,
    *,
    bootstrap: int = BOOTSTRAP,
) -> BacktestReport:
    """Rolling monthly-origin backtest of both variants (fitted tracks; complete tracks only).

    `on_origin(done, total)` is called after each origin (both variants counted together).
    """
    started = time.perf_counter()
    hs = check_horizons(horizons)
    cutoff = frames.data_cutoff
    if cutoff is None:
        raise NotEnoughDataError("no records to backtest")
    full = history_index(frames)
    plan = {v: origins_for(frames, fitted_tracks(full, cov), hs) for v, cov in VARIANTS.items()}
    total = sum(len(o) for o in plan.values())
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_origin is not None:
            on_origin(done, total)

    results: list[BacktestVariantResult] = []
    for variant, origins in plan.items():
        rng = np.random.default_rng(SEED)
        scored, tracks, skipped = _score_variant(frames, variant, origins, hs, tick)
        note = None
        if not origins:
            note = f"fewer than {MIN_EVENTS} resumptions on these tracks by the data cutoff; nothing to score"
        metrics = [_horizon_metric(scored, h, rng, bootstrap) for h in hs if (scored.horizon == h).any()]
        reliability = [b for h in hs for b in _reliability(scored, h)]
        results.append(
            BacktestVariantResult(
                variant=variant,
                tracks=tracks,
                origins=len(origins),
                first_origin=origins[0] if origins else None,
                last_origin=origins[-1] if origins else None,
                skipped_origins=skipped,
                metrics=metrics,
                reliability=reliability,
                note=note,
            )
        )
    return BacktestReport(
        model_version=MODEL_VERSION,
        data_cutoff=cutoff,
        data_fingerprint=data_fingerprint(frames),
        horizons=hs,
        bootstrap_replicates=bootstrap,
        seed=SEED,
        elapsed_seconds=time.perf_counter() - started,
        variants=results,
    )

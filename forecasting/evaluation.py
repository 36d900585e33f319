"""Rolling-origin evaluation: every forecaster's forecasts at every month end, each made from
what had been reported by then, and the nested choice of the forecaster served.

At each origin (a month end) every forecaster is refitted on the records reported by then and
forecasts each fitted track that is at risk with a known gap (its last round on an observed day,
no unobserved week since) for the horizons whose weeks are all observed. Those forecasts do not
depend on anything reported later, so one table serves every `as_of`: what is known by a day
T is the rows of origins before T whose windows had ended by T, scored against the rounds
reported by T (`Evaluation.labels`).

The served forecaster as of T (`choose`) is the candidate with the lowest mean Brier score over
the selection horizons on live forecasts resolved by T; the recent-rate rule until each of those
horizons has `MIN_SELECTION` such forecasts, and whenever no model did better. The backtest's
`served` column makes that choice afresh at every origin, so it is nested: no origin's forecast
depends on a score it is itself part of.
"""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import statsmodels.api as sm
from numpy.typing import NDArray

from forecasting.baselines import KaplanMeier, base_rate, climatology
from forecasting.errors import NotEnoughDataError
from forecasting.features import (
    FITTED_COVERAGES,
    HistoryIndex,
    build_design,
    fitted_tracks,
    history_index,
    week_states,
)
from forecasting.frames import HistoryFrames, day_number, last_complete_week, week_end, week_of
from forecasting.hazard import GAP_LOGIT, MIN_EVENTS, RATE_POSTERIOR, RULE_HAZARD, fit_cached
from forecasting.paths import fit_probabilities, hazard_path, point_probabilities, rule_point

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

HORIZONS: Final = (2, 4, 8, 13)
BASELINES: Final = ("base_rate", "climatology", "recent_rate", "gap_logit", "kaplan_meier")
MODELS: Final = ("rate_posterior", "rule_hazard", "rule_hazard_recalibrated")
FORECASTERS: Final = (*BASELINES, *MODELS)
# The recalibration map is fitted once this many forecasts had resolved (identity before).
MIN_RECALIBRATION: Final = 120
SERVED: Final = "served"
# The served forecaster is chosen among these; the first is the default.
# The recalibrated model is evaluated (nested) but not a candidate: out of sample it scored worse
# than the model at every horizon (see the model card).
CANDIDATES: Final = ("recent_rate", "rate_posterior", "rule_hazard")
SELECTION_HORIZONS: Final = (2, 4, 8)
MIN_SELECTION: Final = 40
# A track is live at an origin when its latest round known then is at most this many weeks old.
LIVE_WEEKS: Final = 52
LIVE_DEFINITION: Final = (
    f"a forecast is on a live track when the track's latest round known at the origin is at most "
    f"{LIVE_WEEKS} weeks old (after a year of silence a track is dormant)"
)

OnOrigin = Callable[[int, int], None]


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


def _resumptions_known(index: HistoryIndex, tracks: Sequence[str], as_of: dt.date) -> int:
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
    """Month ends from the first by which MIN_EVENTS resumptions were known to the last whose
    shortest horizon ended by the data cutoff."""
    cutoff = frames.data_cutoff
    index = history_index(frames)
    days = [int(d) for tid in tracks for d in index.tracks[tid].rounds.day]
    if cutoff is None or not days:
        return []
    start = dt.date(1970, 1, 1) + dt.timedelta(days=min(days))
    shortest = min(horizons)
    candidates = [t for t in month_ends(start, cutoff) if week_end(week_of(t) + shortest) <= cutoff]
    for i, t in enumerate(candidates):
        if _resumptions_known(index, tracks, t) >= MIN_EVENTS:
            return candidates[i:]
    return []


def _cloglog(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.log(-np.log1p(-q))


@dataclass(frozen=True)
class Recalibration:
    """P' = 1 − exp(−exp(a + b·cloglog(P))): a Platt-style map on the complementary log-log
    scale, i.e. cumulative hazard Λ' = e^a Λ^b, so a map fitted across horizons keeps every
    forecast path increasing in H (b > 0)."""

    a: float = 0.0
    b: float = 1.0
    forecasts: int = 0

    def apply(self, p: FloatArray) -> FloatArray:
        if self.forecasts == 0:
            return p
        return np.clip(1.0 - np.exp(-np.exp(self.a + self.b * _cloglog(p))), 0.0, 1.0)


def fit_recalibration(p: FloatArray, y: FloatArray) -> Recalibration:
    """The map fitted by maximum likelihood (statsmodels GLM, binomial, cloglog link); the
    identity with too few forecasts, one outcome only, or a slope that is not positive."""
    if p.size < MIN_RECALIBRATION or y.min() == y.max():
        return Recalibration()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exog = np.column_stack([np.ones(p.size), _cloglog(p)])
        res = sm.GLM(y, exog, family=sm.families.Binomial(link=sm.families.links.CLogLog())).fit()
    a, b = (float(v) for v in res.params)
    if not (np.isfinite(a) and np.isfinite(b)) or b <= 0:
        return Recalibration()
    return Recalibration(a, b, int(p.size))


@dataclass(frozen=True)
class Choice:
    """The forecaster served as of a day, and the nested scores it was chosen on."""

    forecaster: str
    scores: dict[str, float]  # mean Brier over SELECTION_HORIZONS on live resolved forecasts
    forecasts: dict[int, int]  # live resolved forecasts per selection horizon
    reason: str


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One row per (origin, track, horizon) forecast; `p` has one column per FORECASTERS."""

    tracks: tuple[str, ...]
    origins: tuple[dt.date, ...]
    skipped: int
    origin: IntArray
    week: IntArray
    horizon: IntArray
    track: IntArray
    live: BoolArray
    p: FloatArray
    # Per track: its distinct round weeks and the day each first became known (happened and
    # reported), from every record: `labels(T)` keeps those known by T.
    round_weeks: tuple[IntArray, ...]
    round_known: tuple[IntArray, ...]

    @property
    def origin_day(self) -> IntArray:
        days = np.array([day_number(o) for o in self.origins], np.int64)
        return days[self.origin] if self.origin.size else np.zeros(0, np.int64)

    def column(self, forecaster: str) -> FloatArray:
        return self.p[:, FORECASTERS.index(forecaster)]

    def labels(self, as_of: dt.date) -> tuple[FloatArray, BoolArray]:
        """Outcomes as known on `as_of` (a round reported by then in the window) and which rows
        had resolved by then (their window ended by the last complete week)."""
        t = day_number(as_of)
        y = np.zeros(self.horizon.size)
        for code in range(len(self.tracks)):
            rows = self.track == code
            if not rows.any():
                continue
            weeks = self.round_weeks[code][self.round_known[code] <= t]
            c = self.week[rows][:, None]
            h = self.horizon[rows][:, None]
            y[rows] = ((weeks[None, :] > c) & (weeks[None, :] <= c + h)).any(axis=1)
        return y, self.week + self.horizon <= last_complete_week(as_of)

    def choose(self, as_of: dt.date) -> Choice:
        """The served forecaster as of `as_of`, from the forecasts resolved by then (nested)."""
        y, resolved = self.labels(as_of)
        use = resolved & self.live
        counts = {h: int((use & (self.horizon == h)).sum()) for h in SELECTION_HORIZONS}
        default = CANDIDATES[0]
        if min(counts.values()) < MIN_SELECTION:
            return Choice(
                default, {}, counts,
                f"fewer than {MIN_SELECTION} live forecasts resolved at some selection horizon: the default",
            )  # fmt: skip
        scores: dict[str, float] = {}
        for name in CANDIDATES:
            p = self.column(name)
            scores[name] = float(
                np.mean([np.mean((p[use & (self.horizon == h)] - y[use & (self.horizon == h)]) ** 2)
                         for h in SELECTION_HORIZONS])
            )  # fmt: skip
        best = min(CANDIDATES, key=lambda n: (scores[n], CANDIDATES.index(n)))
        reason = (
            "lowest mean Brier over H=" + "/".join(map(str, SELECTION_HORIZONS)) + " on live forecasts resolved by as_of"
        )
        return Choice(best, scores, counts, reason)

    def recalibration(self, as_of: dt.date) -> Recalibration:
        """The map for the model's forecasts, fitted on those resolved by `as_of` (all horizons)."""
        y, resolved = self.labels(as_of)
        return fit_recalibration(self.column("rule_hazard")[resolved], y[resolved])

    def served(self) -> tuple[FloatArray, list[str]]:
        """The served column: at each origin, the forecaster `choose` picks as of that origin."""
        out = np.zeros(self.horizon.size)
        picks: list[str] = []
        for i, origin in enumerate(self.origins):
            pick = self.choose(origin).forecaster
            picks.append(pick)
            rows = self.origin == i
            out[rows] = self.column(pick)[rows]
        return out, picks


def _track_rounds(index: HistoryIndex, tracks: Sequence[str]) -> tuple[tuple[IntArray, ...], tuple[IntArray, ...]]:
    weeks_out: list[IntArray] = []
    known_out: list[IntArray] = []
    for tid in tracks:
        rounds = index.tracks[tid].rounds
        known = np.maximum(rounds.day, rounds.rep)
        weeks = np.unique(rounds.week)
        weeks_out.append(weeks)
        known_out.append(np.array([known[rounds.week == w].min() for w in weeks], np.int64))
    return tuple(weeks_out), tuple(known_out)


def evaluate(frames: HistoryFrames, on_origin: OnOrigin | None = None) -> Evaluation:
    """Every forecaster at every origin (uncached; see `evaluation`)."""
    full = history_index(frames)
    tracks = tuple(fitted_tracks(full, FITTED_COVERAGES))
    origins = origins_for(frames, tracks, HORIZONS) if frames.data_cutoff is not None else []
    hmax = max(HORIZONS)
    cols: dict[str, list[float]] = {k: [] for k in ("origin", "week", "horizon", "track", "live")}
    probs: list[list[float]] = []
    kept: list[dt.date] = []
    skipped = 0
    for n, origin in enumerate(origins, start=1):
        if on_origin is not None:
            on_origin(n, len(origins))
        index = full.by(origin)
        c = week_of(origin)
        wanted: list[tuple[int, str, list[int], int]] = []
        for code, tid in enumerate(tracks):
            states = week_states(index.tracks[tid], c)
            row = states.at(c)
            if row is None or not states.gap_known[row]:
                continue
            hs = [h for h in HORIZONS if states.window_observed(h)[row]]
            if hs:
                wanted.append((code, tid, hs, int(states.anchor[row])))
        if not wanted:
            continue
        design = build_design(index, origin, tracks, FITTED_COVERAGES)
        if design.events < MIN_EVENTS:
            skipped += 1
            continue
        model = fit_cached(design, RULE_HAZARD)
        if model.separated:
            skipped += 1  # the served model would refuse this origin, so nothing is scored at it
            continue
        gap_fit = fit_cached(design, GAP_LOGIT)
        posterior = fit_cached(design, RATE_POSTERIOR)
        km = KaplanMeier(design)
        b0 = base_rate(design, HORIZONS)
        clim = climatology(index, tracks, last_complete_week(origin), HORIZONS)
        at = len(kept)
        kept.append(origin)
        for code, tid, hs, anchor in wanted:
            path = hazard_path(index.tracks[tid], index.front, origin, hmax)
            rule = rule_point(path)
            hazard = fit_probabilities(model, path)[0]
            smoothed = fit_probabilities(posterior, path)[0]
            gap = point_probabilities(gap_fit, path)
            for h in hs:
                i = HORIZONS.index(h)
                km_p = km.conditional(c - anchor, h)
                row = {
                    "base_rate": b0[i],
                    "climatology": b0[i] if np.isnan(clim[i]) else clim[i],
                    "recent_rate": rule[h - 1],
                    "gap_logit": gap[h - 1],
                    "kaplan_meier": b0[i] if km_p is None else km_p,
                    "rate_posterior": smoothed[h - 1],
                    "rule_hazard": hazard[h - 1],
                    "rule_hazard_recalibrated": hazard[h - 1],  # mapped once the table is built
                }
                probs.append([float(row[f]) for f in FORECASTERS])
                cols["origin"].append(at)
                cols["week"].append(c)
                cols["horizon"].append(h)
                cols["track"].append(code)
                cols["live"].append(c - anchor <= LIVE_WEEKS)
    weeks, known = _track_rounds(full, tracks)
    table = Evaluation(
        tracks=tracks,
        origins=tuple(kept),
        skipped=skipped,
        origin=np.asarray(cols["origin"], np.int64),
        week=np.asarray(cols["week"], np.int64),
        horizon=np.asarray(cols["horizon"], np.int64),
        track=np.asarray(cols["track"], np.int64),
        live=np.asarray(cols["live"], bool),
        p=np.asarray(probs, np.float64).reshape(-1, len(FORECASTERS)),
        round_weeks=weeks,
        round_known=known,
    )
    # The recalibrated model: each origin's forecasts mapped by the map as of that origin.
    recalibrated = table.column("rule_hazard_recalibrated")
    for i, origin in enumerate(table.origins):
        rows = table.origin == i
        recalibrated[rows] = table.recalibration(origin).apply(table.column("rule_hazard")[rows])
    return table


_CACHE: OrderedDict[str, Evaluation] = OrderedDict()
_CACHE_SIZE: Final = 4
# Held while an evaluation runs: concurrent requests on the same data share one run.
_LOCK = threading.Lock()


def evaluation(frames: HistoryFrames, on_origin: OnOrigin | None = None) -> Evaluation:
    """`evaluate`, once per data fingerprint (so every app over the same records shares it);
    `on_origin` watches a run, or hears at once that the evaluation was already there."""
    key = frames.fingerprint
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is None:
            hit = _CACHE[key] = evaluate(frames, on_origin)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        elif on_origin is not None:
            on_origin(len(hit.origins), len(hit.origins))
        _CACHE.move_to_end(key)
        return hit


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def choose(frames: HistoryFrames, as_of: dt.date) -> Choice:
    """The forecaster served as of `as_of` (see the module docstring)."""
    if frames.data_cutoff is None:
        raise NotEnoughDataError("no records")
    return evaluation(frames).choose(as_of)

"""The baselines every forecast is judged against, each computed from what was known at an origin.

- `base_rate` (B0): the training risk set's weekly rate r, as 1 − (1 − r)^H. It assumes a
  constant hazard, so it grows with H much faster than resumptions do: a strawman, kept because
  earlier versions reported skill against it.
- `climatology`: the share of earlier, resolved H-week windows (every observed track-week at
  risk, pooled) that held a round.
- the recent-rate rule: weekly rate (weeks with a round in the last 26 + 0.5) / 27 per track,
  then 1 − (1 − rate)^H (`forecasting.paths.rule_probabilities`).
- the gap-only logit: logit h = a + b·log(1 + weeks since the last round)
  (`forecasting.hazard.GAP_LOGIT`).
- `kaplan_meier`: Kaplan–Meier on the training gap lengths (statsmodels `SurvfuncRight`),
  conditional on the current gap: 1 − S(d + H) / S(d); where S(d) = 0 (every training gap that
  long ended) it is silent and falls back to B0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from statsmodels.duration.survfunc import SurvfuncRight

from forecasting.features import FITTED_COVERAGES, Design, HistoryIndex, week_states

FloatArray = NDArray[np.float64]


def base_rate(design: Design, horizons: Sequence[int]) -> FloatArray:
    rate = design.events / max(design.rows, 1)
    return 1.0 - (1.0 - rate) ** np.asarray(horizons, np.float64)


def climatology(
    index_at: HistoryIndex, tracks: Sequence[str], last_week: int, horizons: Sequence[int]
) -> FloatArray:
    """Per horizon: the share of resolved H-week windows after observed track-weeks at risk (up
    to `last_week`, from the rounds in `index_at`) that held a round; NaN with none."""
    held = np.zeros(len(horizons))
    windows = np.zeros(len(horizons))
    for tid in tracks:
        states = week_states(index_at.tracks[tid], last_week, FITTED_COVERAGES)
        for i, h in enumerate(horizons):
            ok = states.gap_known & states.window_observed(h) & (states.weeks + h <= last_week)
            windows[i] += ok.sum()
            held[i] += (ok & (states.next_round <= states.weeks + h)).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(windows > 0, held / np.maximum(windows, 1), np.nan)


class KaplanMeier:
    """Kaplan–Meier on the training spells of a design."""

    def __init__(self, design: Design) -> None:
        if design.spells:
            lengths = np.array([s[1] for s in design.spells], np.float64)
            status = np.array([s[2] for s in design.spells], np.float64)
            sf = SurvfuncRight(lengths, status)
            self.times = np.asarray(sf.surv_times, np.float64)
            self.probs = np.asarray(sf.surv_prob, np.float64)
        else:
            self.times = self.probs = np.zeros(0)

    def _s(self, t: float) -> float:
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        return 1.0 if i < 0 else float(self.probs[i])

    def conditional(self, gap: int, horizon: int) -> float | None:
        """1 − S(gap + H) / S(gap); None where KM has nothing to say."""
        if self.times.size == 0:
            return None
        s0 = self._s(gap)
        if s0 <= 0.0:
            return None  # every training gap this long ended: KM says nothing about this one
        return float(np.clip(1.0 - self._s(gap + horizon) / s0, 0.0, 1.0))

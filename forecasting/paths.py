"""The weeks after `as_of`, and P(round by week k) along them for each forecaster.

P(round within H weeks) = 1 − Π_{k=1..H} (1 − h_k), with h_k the weekly hazard of the k-th ISO
week after the week containing `as_of`. Over the horizon the gap lengthens and the decayed
counts decay; the recent rate is held at its value as of `as_of`, as the recent-rate rule holds
it; nothing else is assumed to change (no new records, except a scenario's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.stats import beta

from forecasting.errors import NoAnchorError
from forecasting.features import (
    COVARIATE_NAMES,
    FITTED_COVERAGES,
    RECENT_WEEKS,
    FrontEvents,
    TrackEvents,
    covariates,
    recent_rate,
    recent_round_weeks,
)
from forecasting.frames import week_of
from forecasting.hazard import DRAWS, HazardFit

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

RATE: Final = COVARIATE_NAMES.index("recent_rate_logit")


@dataclass(frozen=True)
class HazardPath:
    """Covariates of the weeks after `as_of`'s week, for one track."""

    weeks: IntArray
    x: FloatArray
    forced: NDArray[np.bool_]  # weeks holding a (hypothetical) round: hazard 1
    observed: NDArray[np.bool_]  # weeks inside the track's observation windows (fitted coverage)
    anchor_week: int
    last_round_day: int | None
    rounds_held: int
    recent_round_weeks: int  # weeks with a round in the RECENT_WEEKS up to as_of's week
    gap_observed: bool  # no unobserved week between the last round and as_of's week
    flags: tuple[str, ...]

    @property
    def rate(self) -> float:
        return float(recent_rate(self.recent_round_weeks))


def hazard_path(ev: TrackEvents, front: FrontEvents, as_of: dt.date, weeks_ahead: int) -> HazardPath:
    c = week_of(as_of)
    rweeks = ev.round_weeks
    past = rweeks[rweeks <= c]
    flags: list[str] = []
    if past.size:
        anchor = int(past.max())
        in_past = ev.rounds.week <= c
        last_day: int | None = int(ev.rounds.day[in_past].max())
    elif len(ev.any_event):
        # No dated round yet: the gap is measured from the track's first dated record.
        anchor = int(ev.any_event.week.min())
        last_day = None
        flags.append("no_round_yet")
    else:
        raise NoAnchorError(f"track {ev.track!r} has no dated record reported by {as_of.isoformat()}")
    weeks = np.arange(c + 1, c + 1 + weeks_ahead, dtype=np.int64)
    x = covariates(ev, front, weeks, np.full(weeks.size, anchor, np.int64))
    count = int(recent_round_weeks(ev, weeks[:1])[0])
    x[:, RATE] = x[0, RATE]
    forced = np.isin(weeks, rweeks[rweeks > c])
    observed = ev.observed(FITTED_COVERAGES)
    gap_observed = bool(past.size) and observed.all_observed(anchor + 1, c)
    if past.size and gap_observed:
        on = ev.rounds.week == anchor
        gap_observed = bool(observed.on_day(ev.rounds.day[on]).any())
    # Reported as a count of rounds (the model's covariate counts distinct round weeks instead).
    held = int((ev.rounds.week <= c).sum()) + len(ev.undated_rounds)
    return HazardPath(
        weeks, x, forced, observed.contains(weeks), anchor, last_day, held, count, gap_observed, tuple(flags)
    )


@lru_cache(maxsize=RECENT_WEEKS + 1)
def rate_draws(count: int) -> FloatArray:
    """DRAWS weekly rates spread over Beta(count + ½, RECENT_WEEKS − count + ½), the Jeffreys
    posterior whose mean is the rule's rate: how uncertain a rate read off RECENT_WEEKS weeks is.
    Its quantiles at (i + ½) / DRAWS, not random draws: the same for every call, and the mean over
    them has next to no Monte Carlo error."""
    draws = np.asarray(beta.ppf((np.arange(DRAWS) + 0.5) / DRAWS, count + 0.5, RECENT_WEEKS - count + 0.5))
    draws.setflags(write=False)
    return draws


def _cumulative(h: FloatArray, forced: NDArray[np.bool_]) -> FloatArray:
    """1 − Π(1 − h) down axis 0, with forced weeks at hazard 1."""
    shaped = forced if h.ndim == 1 else forced[:, None]
    h = np.where(shaped, 1.0, h)
    return np.clip(1.0 - np.cumprod(1.0 - h, axis=0), 0.0, 1.0)


def rule_point(path: HazardPath) -> FloatArray:
    """The recent-rate rule along the path: 1 − (1 − rate)^k."""
    return _cumulative(np.full(path.weeks.size, path.rate), path.forced)


def rule_probabilities(path: HazardPath) -> tuple[FloatArray, FloatArray]:
    """The recent-rate rule along the path: the point (k,) and (k, draws) over the rate's draws."""
    drawn = _cumulative(np.broadcast_to(rate_draws(path.recent_round_weeks), (path.weeks.size, DRAWS)), path.forced)
    return rule_point(path), drawn


def _logistic(eta: FloatArray) -> FloatArray:
    return 1.0 / (1.0 + np.exp(-eta))


def fit_probabilities(fit: HazardFit, path: HazardPath) -> tuple[FloatArray, FloatArray]:
    """A fit along the path: the predictive mean (k,) over its draws (k, draws): coefficient
    draws and, for a rule-offset fit, the rate's draws paired with them."""
    z = fit.matrix(path.x)
    if fit.spec.rule_offset:
        rates = rate_draws(path.recent_round_weeks)
        offset = np.log(rates / (1.0 - rates))[None, :]
    else:
        offset = fit.offset(path.x)[:, None]
    drawn = _cumulative(_logistic(offset + z @ fit.draws.T), path.forced)
    return drawn.mean(axis=1), drawn


def point_probabilities(fit: HazardFit, path: HazardPath) -> FloatArray:
    """A fit along the path at its fitted coefficients (for the baselines: no draws needed)."""
    return _cumulative(_logistic(fit.linear_predictor(path.x)), path.forced)

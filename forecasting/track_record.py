"""Scoring the forecast log: every answer served, against what happened since.

A logged forecast (track, as_of, horizon, probability) resolves once its window has ended by the
scoring day and every week of it was observed; its outcome is whether a round of the track
started in the window, by the records reported by the scoring day. Windows that ended outside
the track's observation windows cannot be scored and are counted apart. Each is compared with
the recent-rate rule as of the same day, so the log shows whether serving the model paid off.
A forecast is prospective when it was first served before its window started.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from forecasting.features import FITTED_COVERAGES, history_index, recent_rate, recent_round_weeks
from forecasting.frames import HistoryFrames, day_number, last_complete_week, week_of
from schemas.forecast import DEFAULT_HORIZONS, TrackRecord, TrackRecordHorizon

CLIP = 1e-6


@dataclass(frozen=True)
class LoggedForecast:
    track: str
    as_of: dt.date
    model_id: str
    horizon: int
    probability: float
    served_on: dt.date


def _horizon_rows(rows: list[tuple[int, float, float, float]], horizons: Sequence[int]) -> list[TrackRecordHorizon]:
    out: list[TrackRecordHorizon] = []
    for h in sorted({*horizons, *(r[0] for r in rows)}):
        sel = [r for r in rows if r[0] == h]
        if not sel:
            continue
        p = np.array([r[1] for r in sel])
        rule = np.array([r[2] for r in sel])
        y = np.array([r[3] for r in sel])
        q = np.clip(p, CLIP, 1 - CLIP)
        out.append(
            TrackRecordHorizon(
                horizon=h,
                resolved=len(sel),
                events=int(y.sum()),
                brier=float(np.mean((p - y) ** 2)),
                brier_recent_rate=float(np.mean((rule - y) ** 2)),
                log_loss=float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))),
                mean_forecast=float(p.mean()),
                observed_rate=float(y.mean()),
            )
        )
    return out


def score_log(frames: HistoryFrames, entries: Sequence[LoggedForecast], as_of: dt.date) -> TrackRecord:
    """The logged forecasts scored against the rounds reported by `as_of`."""
    full = history_index(frames)
    now = full.by(as_of)
    last = last_complete_week(as_of)
    resolved: list[tuple[int, float, float, float]] = []
    prospective: list[tuple[int, float, float, float]] = []
    pending = unobservable = 0
    for e in entries:
        c = week_of(e.as_of)
        if c + e.horizon > last:
            pending += 1
            continue
        ev = now.tracks.get(e.track)
        if ev is None or not ev.observed(FITTED_COVERAGES).all_observed(c + 1, c + e.horizon):
            unobservable += 1
            continue
        weeks = ev.round_weeks
        y = float(((weeks > c) & (weeks <= c + e.horizon)).any())
        then = full.tracks[e.track].by(day_number(e.as_of))
        count = recent_round_weeks(then, np.array([c + 1], np.int64))[0]
        rule = 1.0 - (1.0 - float(recent_rate(count))) ** e.horizon
        row = (e.horizon, e.probability, rule, y)
        resolved.append(row)
        if e.served_on < e.as_of + dt.timedelta(days=(7 - e.as_of.weekday())):
            prospective.append(row)
    return TrackRecord(
        as_of=as_of,
        logged=len(entries),
        resolved=len(resolved),
        pending=pending,
        unobservable=unobservable,
        prospective=len(prospective),
        horizons=_horizon_rows(resolved, DEFAULT_HORIZONS),
        prospective_horizons=_horizon_rows(prospective, DEFAULT_HORIZONS),
    )

"""Forecasts and scenarios from a model fitted on what was reported by `as_of`.

P(round within H weeks) = 1 − Π_{k=1..H} (1 − h_k), with h_k the weekly hazard of the k-th
ISO week after the week containing `as_of`. Over the horizon the gap lengthens and the decayed
counts decay; nothing else is assumed to change (no new records, except a scenario's).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from numpy.typing import NDArray

from forecasting.errors import (
    InvalidHorizonError,
    NoAnchorError,
    SeparationError,
    UnknownTrackError,
)
from forecasting.features import (
    COVARIATES,
    LONG_GAP_WEEKS,
    NEVER,
    Design,
    EventTable,
    FrontEvents,
    HistoryIndex,
    TrackEvents,
    build_design,
    covariates,
    fitted_tracks,
    history_index,
    week_day,
)
from forecasting.frames import (
    EXCHANGE_ROUND_TRACKS,
    HistoryFrames,
    day_number,
    week_end,
    week_of,
    week_start,
)
from forecasting.hazard import HazardFit, fit_cached
from schemas.forecast import (
    DEFAULT_HORIZONS,
    Driver,
    Forecast,
    HorizonDifference,
    HorizonProbability,
    HypotheticalEvent,
    HypotheticalExchange,
    HypotheticalFrontReport,
    HypotheticalStatement,
    ScenarioResult,
)
from schemas.vocab import Coverage

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Complete and partial tracks are fitted; milestones tracks record too few of their rounds to
# say anything about gaps between them.
FITTED_COVERAGES: Final = frozenset({Coverage.COMPLETE.value, Coverage.PARTIAL.value})
# A forecast made this long after the latest record treats the silence since as "no rounds".
STALE_AFTER_WEEKS: Final = 8


@dataclass(frozen=True)
class ModelAt:
    """The model as it could have been fitted at `as_of`."""

    as_of: dt.date
    index: HistoryIndex  # restricted to records reported by as_of
    design: Design
    fit: HazardFit


def model_at(frames: HistoryFrames, as_of: dt.date, coverages: frozenset[str] = FITTED_COVERAGES) -> ModelAt:
    index = history_index(frames).by(as_of)
    design = build_design(index, as_of, fitted_tracks(index, coverages))
    return ModelAt(as_of, index, design, fit_cached(design))


def check_horizons(horizons: Sequence[int]) -> list[int]:
    hs = sorted({int(h) for h in horizons})
    if not hs or hs[0] < 1 or hs[-1] > 52:
        raise InvalidHorizonError(f"horizons must be 1..52 weeks, got {list(horizons)}")
    return hs


@dataclass(frozen=True)
class HazardPath:
    """Covariates of the weeks after `as_of`'s week, for one track."""

    weeks: IntArray
    x: FloatArray
    forced: NDArray[np.bool_]  # weeks holding a (hypothetical) round: hazard 1
    anchor_week: int
    last_round_day: int | None
    rounds_held: int
    flags: tuple[str, ...]


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
    forced = np.isin(weeks, rweeks[rweeks > c])
    # Reported as a count of rounds (the model's covariate counts distinct round weeks instead).
    held = int((ev.rounds.week <= c).sum()) + len(ev.undated_rounds)
    return HazardPath(weeks, x, forced, anchor, last_day, held, tuple(flags))


def _probabilities(fit: HazardFit, path: HazardPath) -> tuple[FloatArray, FloatArray]:
    """Cumulative P(round by week k) at β̂ (k,) and for every coefficient draw (k, draws)."""
    z = fit.matrix(path.x)
    h = 1.0 / (1.0 + np.exp(-(z @ fit.beta)))
    h = np.where(path.forced, 1.0, h)
    hd = 1.0 / (1.0 + np.exp(-(z @ fit.draws.T)))
    hd = np.where(path.forced[:, None], 1.0, hd)
    point = 1.0 - np.cumprod(1.0 - h)
    drawn = 1.0 - np.cumprod(1.0 - hd, axis=0)
    return np.clip(point, 0.0, 1.0), np.clip(drawn, 0.0, 1.0)


def _drivers(fit: HazardFit, x_first: FloatArray) -> list[Driver]:
    z = fit.matrix(x_first[None, :])[0]
    out: list[Driver] = []
    for j, spec in enumerate(COVARIATES):
        idx = [i for i, t in enumerate(fit.terms) if t.source == j]
        value = float(x_first[j])
        missing = bool(np.isnan(value))
        out.append(
            Driver(
                covariate=spec.name,
                label=spec.label,
                value=None if missing else value,
                missing=missing,
                estimated=bool(idx),
                contribution=float(sum(fit.beta[i] * z[i] for i in idx)),
            )
        )
    # Largest effect first; the spec order breaks ties so the list is stable.
    return sorted(out, key=lambda d: -abs(d.contribution))


def _forecast(
    model: ModelAt,
    track: str,
    ev: TrackEvents,
    front: FrontEvents,
    horizons: list[int],
    extra_flags: Sequence[str] = (),
) -> tuple[Forecast, FloatArray, FloatArray]:
    fit = model.fit
    path = hazard_path(ev, front, model.as_of, max(horizons))
    point, drawn = _probabilities(fit, path)
    c = week_of(model.as_of)
    hp: list[HorizonProbability] = []
    for h in horizons:
        p10, p50, p90 = np.percentile(drawn[h - 1], [10.0, 50.0, 90.0])
        hp.append(
            HorizonProbability(
                weeks=h,
                window_start=week_start(c + 1),
                window_end=week_end(c + h),
                probability=float(point[h - 1]),
                p10=float(p10),
                p50=float(p50),
                p90=float(p90),
            )
        )
    coverage = Coverage(ev.coverage)
    flags = list(path.flags)
    if coverage == Coverage.MILESTONES:
        flags.append("low_coverage")
    first = path.x[0]
    if first[[s.name for s in COVARIATES].index("suspended")] == 1.0:
        flags.append("suspended_or_withdrawn")
    if c - path.anchor_week > LONG_GAP_WEEKS:
        flags.append("gap_over_52_weeks")
    through = model.index.data_cutoff
    if through is None or (model.as_of - through).days > 7 * STALE_AFTER_WEEKS:
        flags.append("stale_data")
    flags.extend(extra_flags)
    intercept = next(i for i, t in enumerate(fit.terms) if t.kind == "intercept")
    forecast = Forecast(
        track=track,
        as_of=model.as_of,
        model_id=fit.model_id,
        coverage=coverage,
        low_coverage=coverage == Coverage.MILESTONES,
        flags=flags,
        last_round_on=None
        if path.last_round_day is None
        else dt.date(1970, 1, 1) + dt.timedelta(days=path.last_round_day),
        weeks_since_last_round=c - path.anchor_week,
        rounds_held=path.rounds_held,
        data_through=through,
        baseline_log_odds=float(fit.beta[intercept]),
        horizons=hp,
        drivers=_drivers(fit, first),
    )
    return forecast, point, drawn


def _served_model(frames: HistoryFrames, track: str, as_of: dt.date) -> ModelAt:
    if track not in history_index(frames).tracks:
        raise UnknownTrackError(f"no track {track!r}")
    model = model_at(frames, as_of)
    if model.fit.separated:
        raise SeparationError(
            f"the model fitted on records reported by {as_of.isoformat()} separated on "
            f"{', '.join(model.fit.separated)}; not served",
            model.fit.separated,
        )
    return model


def forecast_track(
    frames: HistoryFrames,
    track_id: str,
    as_of: dt.date,
    horizons: Sequence[int] = DEFAULT_HORIZONS,
) -> Forecast:
    """P(`track_id` holds its next round within H weeks), as of `as_of`, for each horizon."""
    hs = check_horizons(horizons)
    model = _served_model(frames, track_id, as_of)
    return _forecast(model, track_id, model.index.tracks[track_id], model.index.front, hs)[0]


# --- scenarios ----------------------------------------------------------------------------------


def _event_day(as_of: dt.date, offset: int) -> int:
    # Offset 0: already happened by as_of. Otherwise the Monday of the offset-th week after.
    return day_number(as_of) if offset == 0 else week_day(week_of(as_of) + offset)


def _one(day: int, value: float = 0.0) -> EventTable:
    return EventTable(np.array([day], np.int64), np.array([day], np.int64), np.array([value], np.float64))


def apply_events(
    ev: TrackEvents,
    front: FrontEvents,
    front_codes: dict[str, int],
    mediators: frozenset[str],
    as_of: dt.date,
    events: Sequence[HypotheticalEvent],
) -> tuple[TrackEvents, FrontEvents, list[str]]:
    """`ev` and `front` with the hypothetical events added as records reported when they happen."""
    codes = dict(front_codes)
    ignored: list[str] = []
    for e in events:
        day = _event_day(as_of, e.week_offset)
        if isinstance(e, HypotheticalFrontReport):
            code = codes.setdefault(e.front, len(codes))
            stalemate = 1.0 if e.status.value in ("static", "frozen") else 0.0
            front = front.plus(_one(day, stalemate), np.array([code], np.int64))
        elif isinstance(e, HypotheticalExchange):
            if e.track not in (None, ev.track):
                ignored.append(f"exchange on {e.track}")
                continue
            if e.status == "executed":
                ev = replace(ev, exchanges_executed=ev.exchanges_executed.plus(_one(day)))
                if ev.track in EXCHANGE_ROUND_TRACKS:
                    ev = replace(ev, rounds=ev.rounds.plus(_one(day, float("nan"))))
            else:
                ev = replace(ev, exchanges_agreed=ev.exchanges_agreed.plus(_one(day, float(NEVER))))
        elif isinstance(e, HypotheticalStatement):
            if e.track not in (None, ev.track):
                ignored.append(f"statement on {e.track}")
                continue
            kind = e.kind.value
            if kind == "proposal" and e.leader_level:
                ev = replace(ev, leader_proposals=ev.leader_proposals.plus(_one(day)))
            if kind == "rejection":
                ev = replace(ev, rejections=ev.rejections.plus(_one(day)))
            if e.actor in mediators or kind == "mediation_offer":
                ev = replace(ev, mediator_statements=ev.mediator_statements.plus(_one(day)))
            if kind in ("suspension", "withdrawal"):
                ev = replace(ev, suspensions=ev.suspensions.plus(_one(day)))
    return ev, front, ignored


def run_scenario(
    frames: HistoryFrames,
    track_id: str,
    as_of: dt.date,
    events: Sequence[HypotheticalEvent],
    horizons: Sequence[int] = DEFAULT_HORIZONS,
) -> ScenarioResult:
    """The forecast with and without hypothetical events, and the difference (with paired
    intervals from the same coefficient draws). The model is the one fitted on real records."""
    hs = check_horizons(horizons)
    model = _served_model(frames, track_id, as_of)
    ev = model.index.tracks[track_id]
    base, base_point, base_drawn = _forecast(model, track_id, ev, model.index.front, hs)
    ev2, front2, ignored = apply_events(
        ev, model.index.front, model.index.front_codes, model.index.track_mediators[track_id], as_of, events
    )
    extra = [f"no effect on this track: {i}" for i in ignored]
    # An event can move a covariate the model could not estimate (no variation in the training
    # window); say so rather than let a zero difference pass for "no effect".
    before = hazard_path(ev, model.index.front, as_of, max(hs)).x
    after = hazard_path(ev2, front2, as_of, max(hs)).x
    estimated = {t.source for t in model.fit.terms}
    for j, spec in enumerate(COVARIATES):
        moved = not np.array_equal(before[:, j], after[:, j], equal_nan=True)
        if moved and j not in estimated:
            extra.append(f"not estimated, so no effect: {spec.name}")
    alt, alt_point, alt_drawn = _forecast(model, track_id, ev2, front2, hs, extra)
    diffs: list[HorizonDifference] = []
    for h in hs:
        d = alt_drawn[h - 1] - base_drawn[h - 1]
        p10, p50, p90 = np.percentile(d, [10.0, 50.0, 90.0])
        diffs.append(
            HorizonDifference(
                weeks=h,
                without_events=float(base_point[h - 1]),
                with_events=float(alt_point[h - 1]),
                difference=float(alt_point[h - 1] - base_point[h - 1]),
                p10=float(p10),
                p50=float(p50),
                p90=float(p90),
            )
        )
    return ScenarioResult(
        track=track_id,
        as_of=as_of,
        model_id=model.fit.model_id,
        events=list(events),
        without_events=base,
        with_events=alt,
        differences=diffs,
    )

"""Forecasts and scenarios from the forecaster served as of `as_of`, fitted on what was reported
by then.

The served forecaster is the one nested rolling-origin evaluation chose as of `as_of`
(`forecasting.evaluation.choose`): the recent-rate rule, its predictive mean over the posterior
of its rate, or that adjusted by the supported event terms of the hazard model. Its probability
is its predictive mean over its draws; 10/50/90% are percentiles over the same draws.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Final

import numpy as np
from numpy.typing import NDArray

from forecasting.errors import InvalidHorizonError, SeparationError, UnknownTrackError
from forecasting.evaluation import Choice, choose
from forecasting.features import (
    COVARIATE_NAMES,
    COVARIATES,
    FITTED_COVERAGES,
    LONG_GAP_WEEKS,
    NEVER,
    Design,
    EventTable,
    FrontEvents,
    HistoryIndex,
    TrackEvents,
    build_design,
    fitted_tracks,
    history_index,
    week_day,
)
from forecasting.frames import EXCHANGE_ROUND_TRACKS, HistoryFrames, day_number, week_end, week_of, week_start
from forecasting.hazard import EVENT_TERMS, MODEL_VERSION, RATE_POSTERIOR, RULE_HAZARD, HazardFit, fit_cached
from forecasting.paths import HazardPath, fit_probabilities, hazard_path, rate_draws, rule_probabilities
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

# A forecast made this long after the latest record treats the silence since as "no rounds".
STALE_AFTER_WEEKS: Final = 8
FEW_ROUNDS: Final = 5
_RATE = COVARIATE_NAMES.index("recent_rate_logit")
_SUSPENDED = COVARIATE_NAMES.index("suspended")


@dataclass(frozen=True)
class ModelAt:
    """The model as it could have been fitted at `as_of`, and the forecaster served then."""

    as_of: dt.date
    index: HistoryIndex  # restricted to records reported by as_of
    design: Design
    fit: HazardFit  # the hazard model (rule offset + event terms)
    posterior: HazardFit  # the rate's posterior alone (no terms)
    choice: Choice

    @property
    def served_fit(self) -> HazardFit | None:
        """The fit behind the served forecaster; None for the plain rule."""
        return {"rule_hazard": self.fit, "rate_posterior": self.posterior}.get(self.choice.forecaster)

    @cached_property
    def model_id(self) -> str:
        """Version, served forecaster and a digest of its fit and of every record known by as_of:
        any change to what a forecast as of this day reads gives a new id."""
        fit = self.served_fit or self.posterior
        digest = hashlib.sha256(f"{fit.fingerprint}|{self.index.fingerprint()}".encode()).hexdigest()
        return f"{MODEL_VERSION}/{self.choice.forecaster}+{digest[:16]}"


def model_at(frames: HistoryFrames, as_of: dt.date, coverages: frozenset[str] = FITTED_COVERAGES) -> ModelAt:
    index = history_index(frames).by(as_of)
    design = build_design(index, as_of, fitted_tracks(index, coverages), coverages)
    fit = fit_cached(design, RULE_HAZARD)
    return ModelAt(as_of, index, design, fit, fit_cached(design, RATE_POSTERIOR), choose(frames, as_of))


def check_horizons(horizons: Sequence[int]) -> list[int]:
    hs = sorted({int(h) for h in horizons})
    if not hs or hs[0] < 1 or hs[-1] > 52:
        raise InvalidHorizonError(f"horizons must be 1..52 weeks, got {list(horizons)}")
    return hs


def served_probabilities(model: ModelAt, path: HazardPath) -> tuple[FloatArray, FloatArray]:
    """The served forecaster along the path: predictive mean (k,) and draws (k, draws)."""
    fit = model.served_fit
    if fit is None:
        return rule_probabilities(path)
    return fit_probabilities(fit, path)


def _drivers(model: ModelAt, path: HazardPath) -> list[Driver]:
    fit = model.served_fit
    first = path.x[0]
    rate_logit = float(first[_RATE])
    rates = rate_draws(path.recent_round_weeks)
    rate_var = float(np.var(np.log(rates / (1.0 - rates))))
    z = np.zeros(0) if fit is None else fit.matrix(first[None, :])[0]
    shares = z * (fit.cov @ z) if fit is not None and z.size else np.zeros(0)
    total = rate_var + float(shares.sum())
    out = [
        Driver(
            covariate="recent_rate_logit",
            label=COVARIATES[_RATE].label,
            value=rate_logit,
            estimated=True,
            contribution=rate_logit,
            interval_share=rate_var / total if total > 0 else None,
            support=None,
            note="the offset: the recent-rate rule's weekly log-odds",
        )
    ]
    served = model.choice.forecaster
    for name in EVENT_TERMS:
        j = COVARIATE_NAMES.index(name)
        value = float(np.nan_to_num(first[j]))
        idx = [i for i, t in enumerate(fit.terms) if t.name == name] if fit is not None else []
        support = model.fit.support.get(name)
        if idx:
            i = idx[0]
            out.append(
                Driver(
                    covariate=name, label=COVARIATES[j].label, value=value, estimated=True,
                    contribution=float(fit.beta[i] * z[i]),  # type: ignore[union-attr]
                    interval_share=float(shares[i] / total) if total > 0 else None, support=support,
                )
            )  # fmt: skip
            continue
        reason = next((d.reason for d in model.fit.dropped if d.term == name), None)
        if served != "rule_hazard":
            reason = f"not part of the served forecaster ({served})"
        out.append(
            Driver(
                covariate=name, label=COVARIATES[j].label, value=value, estimated=False, contribution=None,
                interval_share=None, support=support, note=reason,
            )
        )  # fmt: skip
    return out


def _extrapolation_flags(model: ModelAt, track: str, path: HazardPath) -> list[str]:
    flags: list[str] = []
    code = model.design.tracks.index(track) if track in model.design.tracks else None
    if code is None or not (model.design.track_code == code).any():
        flags.append("no_training_weeks")
    if path.rounds_held < FEW_ROUNDS:
        flags.append(f"fewer_than_{FEW_ROUNDS}_rounds")
    rates = model.design.x[:, _RATE]
    if rates.size and not rates.min() <= path.x[0, _RATE] <= rates.max():
        flags.append("outside_training_range:recent_rate_logit")
    fit = model.served_fit
    for term in fit.terms if fit is not None else ():
        value = float(np.nan_to_num(path.x[0, term.source]))
        if not term.low <= value <= term.high:
            flags.append(f"outside_training_range:{term.name}")
    return flags


def _forecast(
    model: ModelAt,
    track: str,
    ev: TrackEvents,
    front: FrontEvents,
    horizons: list[int],
    extra_flags: Sequence[str] = (),
) -> tuple[Forecast, FloatArray, FloatArray]:
    path = hazard_path(ev, front, model.as_of, max(horizons))
    point, drawn = served_probabilities(model, path)
    rule, _ = rule_probabilities(path)
    c = week_of(model.as_of)
    unobserved = np.cumsum(~path.observed)
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
                recent_rate_rule=float(rule[h - 1]),
                unobserved_weeks=int(unobserved[h - 1]),
            )
        )
    coverage = Coverage(ev.coverage)
    flags = list(path.flags)
    flags.extend(_extrapolation_flags(model, track, path))
    if unobserved[max(horizons) - 1] > 0:
        flags.append("horizon_beyond_observation")
    if not path.gap_observed and "no_round_yet" not in flags:
        flags.append("gap_spans_unobserved_weeks")
    if coverage == Coverage.MILESTONES:
        flags.append("low_coverage")
    if path.x[0, _SUSPENDED] == 1.0:
        flags.append("suspended_or_withdrawn")
    if c - path.anchor_week > LONG_GAP_WEEKS:
        flags.append("gap_over_52_weeks")
    through = model.index.data_cutoff
    if through is None or (model.as_of - through).days > 7 * STALE_AFTER_WEEKS:
        flags.append("stale_data")
    flags.extend(extra_flags)
    forecast = Forecast(
        track=track,
        as_of=model.as_of,
        model_id=model.model_id,
        forecaster=model.choice.forecaster,
        coverage=coverage,
        low_coverage=coverage == Coverage.MILESTONES,
        flags=flags,
        last_round_on=None
        if path.last_round_day is None
        else dt.date(1970, 1, 1) + dt.timedelta(days=path.last_round_day),
        weeks_since_last_round=c - path.anchor_week,
        rounds_held=path.rounds_held,
        recent_round_weeks=path.recent_round_weeks,
        recent_rate=path.rate,
        data_through=through,
        baseline_log_odds=float(path.x[0, _RATE]),
        horizons=hp,
        drivers=_drivers(model, path),
    )
    return forecast, point, drawn


def _served_model(frames: HistoryFrames, track: str, as_of: dt.date) -> ModelAt:
    if track not in history_index(frames).tracks:
        raise UnknownTrackError(f"no track {track!r}")
    model = model_at(frames, as_of)
    fit = model.served_fit
    if fit is not None and fit.separated:
        raise SeparationError(
            f"the model fitted on records reported by {as_of.isoformat()} separated on "
            f"{', '.join(fit.separated)}; not served",
            fit.separated,
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


def forecast_path(frames: HistoryFrames, track_id: str, as_of: dt.date, weeks: int = 26) -> Forecast:
    """The forecast at every horizon from 1 to `weeks`: the path the figure draws."""
    return forecast_track(frames, track_id, as_of, range(1, weeks + 1))


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
    intervals from the same draws). The forecaster is the one served on the real records."""
    hs = check_horizons(horizons)
    model = _served_model(frames, track_id, as_of)
    ev = model.index.tracks[track_id]
    base, base_point, base_drawn = _forecast(model, track_id, ev, model.index.front, hs)
    ev2, front2, ignored = apply_events(
        ev, model.index.front, model.index.front_codes, model.index.track_mediators[track_id], as_of, events
    )
    extra = [f"no effect on this track: {i}" for i in ignored]
    # An event can move a covariate the served forecaster does not use (not estimated, or not
    # part of it); say so rather than let a zero difference pass for "no effect".
    before = hazard_path(ev, model.index.front, as_of, max(hs)).x
    after = hazard_path(ev2, front2, as_of, max(hs)).x
    fit = model.served_fit
    used = {t.source for t in fit.terms} if fit is not None else set()
    for j, spec in enumerate(COVARIATES):
        moved = not np.array_equal(before[:, j], after[:, j], equal_nan=True)
        if moved and j != _RATE and spec.name in EVENT_TERMS and j not in used:
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
        model_id=model.model_id,
        events=list(events),
        without_events=base,
        with_events=alt,
        differences=diffs,
    )

"""Serving the forecaster: store records -> cached frames -> forecasts, scenarios, model card, backtest.

The frames are rebuilt only when the store changes: every write appends to `revisions`, so
`MAX(seq)` names the data a set of frames was built from. The frames (never changed once built)
and a cache of the answers computed from them live in one `Snapshot`; a request takes the current
snapshot once and computes from it alone, so concurrent readers at one revision give
byte-identical answers, and a write replaces the snapshot, answers and all.

Reads from the store are awaited on the event loop; model fits and the backtest (a second or
a few) run in worker threads, so other requests are served meanwhile.

Each answer is the JSON the API serves; the CLI decodes the same bytes to print its tables, so
both show the same numbers. Every distinct forecast served is appended to the forecast log
(`api.forecast_log`) before it is answered, so the track record covers every answer given.

Only held rounds are rounds (announced and cancelled ones never reach the forecaster), and the
weeks each track was observed come from `windows_from_tracks`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar.exceptions import ValidationException
from litestar.plugins.problem_details import ProblemDetailsException

from api.db import Connection, Store, read_transaction
from api.forecast_log import ForecastLog
from api.problems import AS_OF_IN_FUTURE, INSUFFICIENT_DATA, MODEL_SEPARATED, from_validation, problem
from forecasting import (
    ForecastError,
    HistoryFrames,
    InvalidHorizonError,
    ObservationWindow,
    SeparationError,
    UnknownTrackError,
    backtest,
    build_frames,
    forecast_path,
    forecast_track,
    model_card,
    run_scenario,
)
from forecasting.track_record import score_log
from schemas import records as r
from schemas.forecast import (
    DEFAULT_HORIZONS,
    BacktestReport,
    Forecast,
    ForecasterKind,
    Population,
    ScenarioRequest,
)
from schemas.types import Slug

OnOrigin = Callable[[int, int], None]


class StoredTrack(r.TrackFields, kw_only=True):
    """A track as stored: `Track` without the `status` and `last_round_on` derived per read."""

    id: Slug
    revision: r.Revision
    recorded_at: r.RecordedAt


_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "track": msgspec.json.Decoder(StoredTrack),
    "round": msgspec.json.Decoder(r.Round),
    "exchange": msgspec.json.Decoder(r.Exchange),
    "statement": msgspec.json.Decoder(r.Statement),
    "front_report": msgspec.json.Decoder(r.FrontReport),
}
_encode = msgspec.json.Encoder().encode

# Answers kept per snapshot; a write starts a new snapshot with an empty cache.
RESULTS_PER_SNAPSHOT = 512


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass(eq=False)
class Snapshot:
    """Frames built from the store at one revision, and the answers computed from them."""

    revision: int
    frames: HistoryFrames
    results: OrderedDict[tuple[object, ...], asyncio.Future[bytes | ForecastError]] = field(
        default_factory=OrderedDict
    )


async def latest_revision(conn: Connection) -> int:
    """The data fingerprint: every write appends a revision, so MAX(seq) names a state of the store."""
    row = await conn.fetchone("SELECT COALESCE(MAX(seq), 0) FROM revisions")
    assert row is not None
    return int(row[0])


def windows_from_tracks(tracks: Sequence[Any]) -> list[ObservationWindow]:
    """The observation windows of the stored tracks: their `coverage_periods`. The one place the
    forecaster learns what was observed; a track without periods observed nothing."""
    return [
        ObservationWindow(track.id, p.start, p.end, str(p.coverage), p.basis or "")
        for track in tracks for p in track.coverage_periods
    ]


def held_rounds(rounds: Sequence[Any]) -> list[Any]:
    """Only held rounds are rounds: announced and cancelled ones never reach the forecaster (a
    round from before rounds had a status was held)."""
    return [x for x in rounds if getattr(x, "status", "held") == "held"]


def _frames(rows: list[tuple[Any, ...]]) -> HistoryFrames:
    records: dict[str, list[Any]] = {kind: [] for kind in _DECODERS}
    for kind, body in rows:
        records[kind].append(_DECODERS[kind].decode(body))
    held = held_rounds(records["round"])
    # Every record goes in, whatever its reported_at: the forecaster fits on those reported
    # by the forecast's as_of only, so one set of frames serves every as_of.
    return build_frames(
        records["track"], held, records["exchange"], records["statement"], records["front_report"],
        windows=windows_from_tracks(records["track"]),
    )


def _encoded(compute: Callable[[], msgspec.Struct | bytes]) -> bytes | ForecastError:
    try:
        answer = compute()
    except ForecastError as exc:
        return exc
    return answer if isinstance(answer, bytes) else _encode(answer)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def as_problem(exc: ForecastError, *, horizon_source: str = "query") -> ProblemDetailsException:
    """The RFC 9457 problem for each thing the forecaster refuses to do."""
    if isinstance(exc, UnknownTrackError):
        return problem(404, _sentence(exc))
    if isinstance(exc, InvalidHorizonError):
        name = "horizon" if horizon_source == "query" else "horizons"
        return from_validation(
            ValidationException(detail=str(exc), extra=[{"key": name, "source": horizon_source, "message": str(exc)}])
        )
    if isinstance(exc, SeparationError):
        # The data are fine; the model fitted on them is not fit to serve.
        return problem(409, _sentence(exc), MODEL_SEPARATED, terms=list(exc.terms))
    # NoAnchorError, NotEnoughDataError: the records reported by as_of cannot support a forecast.
    return problem(422, _sentence(exc), INSUFFICIENT_DATA)


class ForecastService:
    """Forecasts, scenarios, the model card and the backtest, as the JSON the API serves."""

    def __init__(self, store: Store, today: Callable[[], dt.date] = utc_today) -> None:
        self.store = store
        self.today = today
        self._load_lock = asyncio.Lock()  # one rebuild at a time
        self._snapshot: Snapshot | None = None
        self.log = ForecastLog(store)

    # --- the data ---------------------------------------------------------------------------

    async def revision(self) -> int:
        async with self.store.connection() as conn:
            return await latest_revision(conn)

    async def snapshot(self) -> Snapshot:
        """The frames of the store's latest revision, rebuilt when a write has happened since."""
        current = self._snapshot
        if current is not None and current.revision == await self.revision():
            return current
        async with self._load_lock:
            current = self._snapshot
            if current is None or current.revision != await self.revision():
                current = self._snapshot = await self._load()
            return current

    async def _load(self) -> Snapshot:
        # One read transaction: the revision and the records are the same state of the store.
        async with self.store.connection() as conn, read_transaction(conn):
            revision = await latest_revision(conn)
            rows = await conn.fetchall(
                f"SELECT collection, body FROM records WHERE collection IN ({', '.join('?' * len(_DECODERS))})"
                " ORDER BY collection, sort_key, id",
                tuple(_DECODERS),
            )
        return Snapshot(revision, await asyncio.to_thread(_frames, rows))

    async def _answer(
        self, snap: Snapshot, key: tuple[object, ...], compute: Callable[[], msgspec.Struct | bytes],
        horizon_source: str = "query",
    ) -> bytes:
        """`compute()` encoded, or its refusal as a problem; cached in the snapshot either way.

        `compute` runs in a worker thread (a cold fit takes about a second, the backtest a few)
        and its future is cached at once, so concurrent requests for one answer share one
        computation. The cache itself is only touched on the event loop.
        """
        pending = snap.results.get(key)
        if pending is not None:
            snap.results.move_to_end(key)
        else:
            pending = snap.results[key] = asyncio.get_running_loop().run_in_executor(None, _encoded, compute)
            while len(snap.results) > RESULTS_PER_SNAPSHOT:
                snap.results.popitem(last=False)
        # A request that goes away must not cancel the computation the others are waiting for.
        hit = await asyncio.shield(pending)
        if isinstance(hit, ForecastError):
            raise as_problem(hit, horizon_source=horizon_source)
        return hit

    def _as_of(self, as_of: dt.date | None) -> dt.date:
        """`as_of`, today (UTC) by default; a day still to come cannot be forecast from."""
        today = self.today()
        if as_of is None:
            return today
        if as_of > today:
            raise problem(
                422, f"as_of {as_of.isoformat()} is after today ({today.isoformat()}): a forecast uses what "
                "has been reported by as_of, and that is not known yet.", AS_OF_IN_FUTURE,
            )
        return as_of

    @staticmethod
    def _horizons(horizons: Sequence[int] | None, source: str = "query") -> tuple[int, ...]:
        hs = tuple(sorted(set(horizons))) if horizons else DEFAULT_HORIZONS
        if hs[0] < 1 or hs[-1] > 52:
            raise as_problem(InvalidHorizonError(f"horizons must be 1..52 weeks, got {list(horizons or ())}"),
                             horizon_source=source)
        return hs

    # --- the answers ------------------------------------------------------------------------

    async def forecast(self, track_id: str, as_of: dt.date | None = None, horizons: Sequence[int] | None = None) -> bytes:
        """`Forecast` JSON: P(the track holds its next round within H weeks), as of `as_of`;
        logged before it is answered."""
        day, hs = self._as_of(as_of), self._horizons(horizons)
        snap = await self.snapshot()
        body = await self._answer(snap, ("forecast", track_id, day, hs), lambda: forecast_track(snap.frames, track_id, day, hs))
        await self.log.record(body)
        return body

    async def path_svg(self, track_id: str, as_of: dt.date | None = None, weeks: int = 26) -> bytes:
        """SVG of the forecast path: P(next round by week k) for k = 1..weeks, as of `as_of`."""
        from forecasting.figures import path_svg

        day = self._as_of(as_of)
        snap = await self.snapshot()
        return await self._answer(
            snap, ("path.svg", track_id, day, weeks), lambda: path_svg(forecast_path(snap.frames, track_id, day, weeks))
        )

    async def reliability_svg(self, population: Population = Population.LIVE) -> bytes:
        """SVG of the backtest's reliability diagrams (served forecast and the rule) per horizon."""
        from forecasting.figures import reliability_svg

        today = self.today()
        snap = await self.snapshot()
        return await self._answer(
            snap, ("reliability.svg", today, population), lambda: reliability_svg(self._backtest(snap, today), population)
        )

    async def track_record(self) -> bytes:
        """`TrackRecord` JSON: the forecast log scored against the rounds reported by today."""
        today = self.today()
        snap = await self.snapshot()
        entries = await self.log.entries()
        return await self._answer(
            snap, ("track-record", today, len(entries)), lambda: score_log(snap.frames, entries, today)
        )

    async def scenario(self, request: ScenarioRequest) -> bytes:
        """`ScenarioResult` JSON: the forecast with and without hypothetical events. Writes nothing."""
        day, hs = self._as_of(request.as_of), self._horizons(request.horizons, "body")
        snap = await self.snapshot()
        key = ("scenario", _encode(request), day, hs)
        return await self._answer(
            snap, key, lambda: run_scenario(snap.frames, request.track, day, request.events, hs), horizon_source="body"
        )

    async def model_card(self, as_of: dt.date | None = None) -> bytes:
        """`ModelCard` JSON of the model fitted on the records reported by `as_of`."""
        day = self._as_of(as_of)
        snap = await self.snapshot()
        return await self._answer(snap, ("model", day), lambda: model_card(snap.frames, day))

    async def backtest(self, on_origin: OnOrigin | None = None) -> bytes:
        """`BacktestReport` JSON over the records reported by today.

        Cached per data fingerprint (shared with the model card's backtest summary); with
        `on_origin` the backtest is run afresh so the caller can watch its origins go by.
        """
        today = self.today()
        snap = await self.snapshot()
        if on_origin is not None:
            try:
                return _encode(await asyncio.to_thread(self._backtest, snap, today, on_origin))
            except ForecastError as exc:
                raise as_problem(exc) from exc
        return await self._answer(snap, ("backtest", today), lambda: self._backtest(snap, today))

    @staticmethod
    def _backtest(snap: Snapshot, today: dt.date, on_origin: OnOrigin | None = None) -> BacktestReport:
        # Scored as of today: a record reported after today (a typo, or a date still to come)
        # must not resolve a forecast yet.
        return backtest(snap.frames, as_of=today, on_origin=on_origin)


# --- tables for the command line -------------------------------------------------------------


def _pct(p: float | None) -> str:
    return "–" if p is None else f"{100 * p:.1f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def render_forecast(body: bytes) -> list[Any]:
    """`Forecast` JSON -> rich renderables: the probabilities, then the drivers."""
    from rich.table import Table

    f = msgspec.json.decode(body, type=Forecast)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("track", f"{f.track} (coverage {f.coverage.value})")
    head.add_row("as of", f.as_of.isoformat())
    head.add_row("model", f"{f.model_id} (served: {f.forecaster})")
    last = f.last_round_on.isoformat() if f.last_round_on else "none dated"
    head.add_row("last round", f"{last} ({f.weeks_since_last_round} whole weeks before as_of's week)")
    head.add_row("rounds held", f"{f.rounds_held} (undated ones included)")
    head.add_row("recent rate", f"{f.recent_round_weeks} of the last 26 weeks had a round: {_pct(f.recent_rate)} a week")
    head.add_row("data through", f.data_through.isoformat() if f.data_through else "–")
    if f.flags:
        head.add_row("flags", ", ".join(f.flags))
    probs = Table(title="P(next round within H weeks)", title_justify="left")
    for name in ("H", "window", "P", "p10", "p50", "p90", "rule", "unobserved"):
        probs.add_column(name, justify="left" if name == "window" else "right")
    for h in f.horizons:
        probs.add_row(
            str(h.weeks), f"{h.window_start.isoformat()} – {h.window_end.isoformat()}", _pct(h.probability),
            _pct(h.p10), _pct(h.p50), _pct(h.p90), _pct(h.recent_rate_rule), f"{h.unobserved_weeks} wk",
        )
    drivers = Table(title=f"Drivers (weekly log-odds; recent rate {f.baseline_log_odds:+.2f})", title_justify="left")
    for name in ("term", "value", "contribution", "share of interval", "support"):
        drivers.add_column(name, justify="left" if name == "term" else "right")
    for d in f.drivers:
        contribution = f"{d.contribution:+.3f}" if d.contribution is not None else "not estimated"
        share = "–" if d.interval_share is None else f"{100 * d.interval_share:.0f}%"
        drivers.add_row(d.label, _num(d.value, 3), contribution, share, "–" if d.support is None else str(d.support))
    return [head, probs, drivers]


def render_backtest(body: bytes) -> list[Any]:
    """`BacktestReport` JSON -> rich renderables: the comparison table per population, then the
    served forecast's margins over the best baseline."""
    from rich.table import Table
    from rich.text import Text

    report = msgspec.json.decode(body, type=BacktestReport)
    run = report.run
    span = f"{report.first_origin} – {report.last_origin}" if report.first_origin else "none"
    out: list[Any] = [Text(
        f"{run.model_version} backtest  ·  run {run.run_id}  ·  data {run.data_fingerprint[:16]}  ·  "
        f"commit {run.git_commit[:12]}\n{report.origins} origins ({span}), {report.skipped_origins} skipped  ·  "
        f"tracks {', '.join(report.tracks)}  ·  scored as of {report.as_of}\n95% intervals from "
        f"{report.bootstrap_replicates} bootstrap replicates over calendar-year blocks  ·  took "
        f"{report.elapsed_seconds:.1f} s\nlive: {report.live_definition}"
    )]
    for population in Population:
        rows = [s for s in report.scores if s.population == population]
        if not rows:
            continue
        table = Table(title=f"{population.value} tracks: Brier [95%] · Δ vs best baseline · log loss · AUC · "
                            "calibration intercept / slope", title_justify="left", show_lines=False)
        table.add_column("forecaster")
        for h in report.horizons:
            table.add_column(f"H={h}", justify="right")
        names = list(dict.fromkeys(s.forecaster for s in rows))
        cell = {(s.forecaster, s.horizon): s for s in rows}
        counts = [cell.get((names[0], h)) for h in report.horizons]
        table.add_row("forecasts / events", *("–" if c is None else f"{c.forecasts} / {c.events}" for c in counts))
        for name in names:
            values = []
            for h in report.horizons:
                s = cell.get((name, h))
                if s is None or s.brier.value is None:
                    values.append("–")
                    continue
                best = " (best)" if s.forecaster == s.best_baseline else ""
                values.append(
                    f"{s.brier.value:.4f}{best} {_ci(s.brier.ci_low, s.brier.ci_high, signed=False)}\n"
                    f"Δ {_signed(s.brier_difference.value)} {_ci(s.brier_difference.ci_low, s.brier_difference.ci_high)}\n"
                    f"{_num(s.log_loss.value, 3)} · {_num(s.auc, 3)} · {_signed(s.calibration_intercept, 2)} / "
                    f"{_num(s.calibration_slope, 2)}"
                )
            style = "bold" if report.forecasters and any(
                f.name == name and f.kind == ForecasterKind.SERVED for f in report.forecasters) else None
            table.add_row(name, *values, style=style)
        out.append(table)
    margins = Table(title="Served forecast against the best baseline (paired Brier difference)", title_justify="left")
    for name in ("population", "H", "best baseline", "served", "baseline", "difference [95%]", "relative"):
        margins.add_column(name, justify="left" if name in ("population", "best baseline") else "right")
    for m in report.margins:
        margins.add_row(
            m.population.value, str(m.horizon), m.best_baseline, f"{m.brier_served:.4f}", f"{m.brier_baseline:.4f}",
            f"{_signed(m.difference.value)} {_ci(m.difference.ci_low, m.difference.ci_high)}", f"{100 * m.relative:+.1f}%",
        )
    out.append(margins)
    out.append(Text("served at the origins: " + ", ".join(f"{c.forecaster} {c.origins}" for c in report.served_choices)))
    return out


def _signed(x: float | None, digits: int = 4) -> str:
    return "–" if x is None else f"{x:+.{digits}f}"


def _ci(low: float | None, high: float | None, *, signed: bool = True) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:+.4f}, {high:+.4f}]" if signed else f"[{low:.4f}, {high:.4f}]"

"""Serving the forecaster: store records -> cached frames -> forecasts, scenarios, model card, backtest.

The frames are rebuilt only when the store changes: every write appends to `revisions`, so
`MAX(seq)` names the data a set of frames was built from. The frames (never changed once built)
and a cache of the answers computed from them live in one `Snapshot`; a request takes the current
snapshot once and computes from it alone, so concurrent readers at one revision give
byte-identical answers, and a write replaces the snapshot, answers and all.

Reads from the store are awaited on the event loop; model fits and the backtest (a second or
a few) run in worker threads, so other requests are served meanwhile.

Each answer is the JSON the API serves; the CLI decodes the same bytes to print its tables, so
both show the same numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar.exceptions import ValidationException
from litestar.plugins.problem_details import ProblemDetailsException

from api.db import Connection, Store, read_transaction
from api.problems import AS_OF_IN_FUTURE, INSUFFICIENT_DATA, MODEL_SEPARATED, from_validation, problem
from forecasting import (
    ForecastError,
    HistoryFrames,
    InvalidHorizonError,
    SeparationError,
    UnknownTrackError,
    backtest,
    build_frames,
    forecast_track,
    model_card,
    run_scenario,
)
from forecasting.card import cached_backtest
from schemas import records as r
from schemas.forecast import DEFAULT_HORIZONS, BacktestReport, Forecast, ScenarioRequest
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
    results: OrderedDict[tuple[object, ...], asyncio.Future[bytes | ForecastError]] = field(default_factory=OrderedDict)


async def latest_revision(conn: Connection) -> int:
    """The data fingerprint: every write appends a revision, so MAX(seq) names a state of the store."""
    row = await conn.fetchone("SELECT COALESCE(MAX(seq), 0) FROM revisions")
    assert row is not None
    return int(row[0])


def _frames(rows: list[tuple[Any, ...]]) -> HistoryFrames:
    records: dict[str, list[Any]] = {kind: [] for kind in _DECODERS}
    for kind, body in rows:
        records[kind].append(_DECODERS[kind].decode(body))
    # Every record goes in, whatever its reported_at: the forecaster fits on those reported
    # by the forecast's as_of only, so one set of frames serves every as_of.
    return build_frames(
        records["track"], records["round"], records["exchange"], records["statement"], records["front_report"]
    )


def _encoded(compute: Callable[[], msgspec.Struct]) -> bytes | ForecastError:
    try:
        return _encode(compute())
    except ForecastError as exc:
        return exc


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
        self._backtest_lock = threading.Lock()  # the cold backtest runs once, not once per caller
        self._snapshot: Snapshot | None = None

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
        self, snap: Snapshot, key: tuple[object, ...], compute: Callable[[], msgspec.Struct],
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
        """`Forecast` JSON: P(the track holds its next round within H weeks), as of `as_of`."""
        day, hs = self._as_of(as_of), self._horizons(horizons)
        snap = await self.snapshot()
        return await self._answer(snap, ("forecast", track_id, day, hs), lambda: forecast_track(snap.frames, track_id, day, hs))

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

        def run() -> BacktestReport:
            frames = snap.frames
            # A record reported after today (a typo, or a date still to come) must not stretch
            # the backtest's origins into the future.
            if frames.data_cutoff is not None and frames.data_cutoff > today:
                frames = frames.known_by(today)
            with self._backtest_lock:
                return backtest(frames, on_origin=on_origin) if on_origin else cached_backtest(frames)

        if on_origin is not None:
            try:
                return _encode(await asyncio.to_thread(run))
            except ForecastError as exc:
                raise as_problem(exc) from exc
        return await self._answer(snap, ("backtest", today), run)


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
    head.add_row("model", f.model_id)
    last = f.last_round_on.isoformat() if f.last_round_on else "none dated"
    head.add_row("last round", f"{last} ({f.weeks_since_last_round} whole weeks before as_of's week)")
    head.add_row("rounds held", f"{f.rounds_held} (undated ones included)")
    head.add_row("data through", f.data_through.isoformat() if f.data_through else "–")
    if f.flags:
        head.add_row("flags", ", ".join(f.flags))
    probs = Table(title="P(next round within H weeks)", title_justify="left")
    for name in ("H", "window", "P", "p10", "p50", "p90"):
        probs.add_column(name, justify="left" if name == "window" else "right")
    for h in f.horizons:
        probs.add_row(
            str(h.weeks), f"{h.window_start.isoformat()} – {h.window_end.isoformat()}", _pct(h.probability),
            _pct(h.p10), _pct(h.p50), _pct(h.p90),
        )
    drivers = Table(title=f"Drivers (weekly log-odds; baseline {f.baseline_log_odds:+.2f})", title_justify="left")
    for name in ("covariate", "value", "contribution"):
        drivers.add_column(name, justify="left" if name == "covariate" else "right")
    for d in f.drivers:
        value = "missing" if d.missing else _num(d.value, 3)
        contribution = f"{d.contribution:+.3f}" if d.estimated else "not estimated"
        drivers.add_row(d.label, value, contribution)
    return [head, probs, drivers]


def render_backtest(body: bytes) -> list[Any]:
    """`BacktestReport` JSON -> rich renderables: one table per variant."""
    from rich.table import Table
    from rich.text import Text

    report = msgspec.json.decode(body, type=BacktestReport)
    out: list[Any] = [Text(
        f"{report.model_version} backtest  ·  data through {report.data_cutoff.isoformat()}  ·  "
        f"fingerprint {report.data_fingerprint[:16]}\n95% intervals from {report.bootstrap_replicates} bootstrap "
        f"replicates over tracks  ·  took {report.elapsed_seconds:.1f} s"
    )]

    def est(e: Any, digits: int = 3) -> str:
        if e.value is None:
            return "–"
        ci = "" if e.ci_low is None or e.ci_high is None else f"\n[{e.ci_low:.2f}, {e.ci_high:.2f}]"
        return f"{e.value:.{digits}f}{ci}"

    rows: list[tuple[str, Callable[[Any], str]]] = [
        ("forecasts", lambda m: str(m.forecasts)),
        ("events", lambda m: str(m.events)),
        ("Brier", lambda m: est(m.brier)),
        ("skill vs B0", lambda m: est(m.brier_skill_b0)),
        ("skill vs B1", lambda m: est(m.brier_skill_b1)),
        ("log loss", lambda m: est(m.log_loss)),
        ("AUC", lambda m: est(m.auc)),
        ("calib. slope", lambda m: est(m.calibration_slope, 2)),
    ]
    for v in report.variants:
        span = f", {v.first_origin.isoformat()} – {v.last_origin.isoformat()}" if v.first_origin and v.last_origin else ""
        title = f"{v.variant.value}: {', '.join(v.tracks)}; {v.origins} origins{span}, {v.skipped_origins} skipped"
        if not v.metrics:
            out.append(Text(f"{title}\n  {v.note or 'nothing scored'}"))
            continue
        table = Table(title=title, title_justify="left", caption=v.note, show_lines=True)
        table.add_column("")
        for m in v.metrics:
            table.add_column(f"H={m.horizon}", justify="right")
        for name, cell in rows:
            table.add_row(name, *(cell(m) for m in v.metrics))
        out.append(table)
    return out

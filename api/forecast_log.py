"""The forecast log (migration 0004): every distinct forecast answer served, recorded once.

An entry is (track, as_of, model id, horizon) with the probability served and the window it
covers; the first serving wins and the table is append-only (triggers refuse UPDATE and DELETE),
like `revisions`. The log is written through the store's write lock, before the answer leaves;
a process remembers what it has logged so repeated answers cost no write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Final

import msgspec

from api.db import Store, retrying, write_transaction
from forecasting.track_record import LoggedForecast
from schemas.forecast import Forecast

_decode = msgspec.json.Decoder(Forecast).decode
# Remembered per process; beyond this many keys the set starts afresh (the INSERT is idempotent).
_REMEMBERED: Final = 100_000

INSERT: Final = (
    "INSERT INTO forecast_log (track, as_of, model_id, horizon, probability, window_start, window_end, served_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (track, as_of, model_id, horizon) DO NOTHING"
)


class ForecastLog:
    """Appends served forecasts and reads them back for scoring."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._logged: set[tuple[str, str, str, int]] = set()
        # Concurrent requests for one answer: the first writes it, the others then find it logged.
        self._lock = asyncio.Lock()

    async def record(self, body: bytes) -> None:
        """Log each horizon of a `Forecast` answer not logged yet."""
        forecast = _decode(body)
        async with self._lock:
            served_at = dt.datetime.now(dt.UTC).isoformat()
            rows = [
                (forecast.track, forecast.as_of.isoformat(), forecast.model_id, h.weeks, h.probability,
                 h.window_start.isoformat(), h.window_end.isoformat(), served_at)
                for h in forecast.horizons
                if (forecast.track, forecast.as_of.isoformat(), forecast.model_id, h.weeks) not in self._logged
            ]  # fmt: skip
            if not rows:
                return

            async def attempt() -> None:
                async with self.store.connection() as conn, write_transaction(conn):
                    await conn.executemany(INSERT, rows)

            await retrying(attempt)
            if len(self._logged) > _REMEMBERED:
                self._logged.clear()
            self._logged.update((t, a, m, h) for t, a, m, h, *_ in rows)

    async def entries(self) -> list[LoggedForecast]:
        """Every logged forecast, in a stable order."""
        async with self.store.connection() as conn:
            rows = await conn.fetchall(
                "SELECT track, as_of, model_id, horizon, probability, served_at FROM forecast_log"
                " ORDER BY track, as_of, model_id, horizon"
            )
        return [
            LoggedForecast(
                track=t, as_of=dt.date.fromisoformat(a), model_id=m, horizon=int(h), probability=float(p),
                served_on=dt.datetime.fromisoformat(s).date(),
            )
            for t, a, m, h, p, s in rows
        ]  # fmt: skip

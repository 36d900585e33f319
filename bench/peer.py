"""The peer: a minimal, idiomatic FastAPI + pydantic v2 service over Parley's SQLite file.

It serves `GET /v1/rounds` and `GET /v1/timeline` the way a typical FastAPI service would:
pydantic models mirroring Parley's records (same fields, types and constraints as
schemas/records.py), every stored body parsed with `Model.model_validate_json`, and a pydantic
page model returned through `response_model`. To keep the comparison honest it runs the *same*
SQL against the same indexes with the same pragmas on one connection per process, builds its
cursor exactly as api/paging.py does, and caches nothing.

Handlers are `async def` calling sqlite3 directly, as Parley's are: a `def` handler would add a
thread-pool hop per request that Parley does not pay, making the peer look worse than it needs to.

Serve it with `PEER_DATABASE_PATH=/path/to.db granian --interface asgi --factory bench.peer:create_app`.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from pydantic import BaseModel, Field

# The closed vocabularies are plain stdlib StrEnums (no msgspec): share them so both apps agree.
from schemas.vocab import (
    Confidence,
    DatePrecision,
    ExchangeKind,
    ExchangeStatus,
    FrontStatus,
    Intensity,
    Outcome,
    Side,
    StatementKind,
)

# --- constrained scalars, as schemas/types.py ------------------------------------------------

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(pattern=SLUG_PATTERN, min_length=1, max_length=64)]
RoundId = Annotated[str, Field(pattern=r"^rnd_[0-9a-f]{16}$")]
ExchangeId = Annotated[str, Field(pattern=r"^exc_[0-9a-f]{16}$")]
StatementId = Annotated[str, Field(pattern=r"^stm_[0-9a-f]{16}$")]
FrontReportId = Annotated[str, Field(pattern=r"^frp_[0-9a-f]{16}$")]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
SequenceNo = Annotated[int, Field(ge=1, le=10_000)]
SourceIds = Annotated[list[Slug], Field(min_length=1, max_length=20)]
ActorIds = Annotated[list[Slug], Field(max_length=50)]
Labels = Annotated[list[ShortText], Field(max_length=50)]
ExternalId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]
Revision = Annotated[int, Field(ge=1)]
CURSOR_PATTERN = r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$"

# --- records, as schemas/records.py (the response shapes) -----------------------------------


class EventRecord(BaseModel):
    date: dt.date | None
    date_precision: DatePrecision = DatePrecision.DAY
    reported_at: dt.date | None = None
    sources: SourceIds
    confidence: Confidence = Confidence.HIGH
    external_id: ExternalId | None = None
    summary: LongText | None = None
    notes: LongText | None = None
    revision: Revision
    recorded_at: dt.datetime  # UTC, 'Z'-suffixed in the stored body


class Round(EventRecord):
    id: RoundId
    track: Slug
    sequence: SequenceNo | None = None
    end_date: dt.date | None = None
    venue: ShortText | None = None
    mediators: ActorIds = []
    delegation_heads: ActorIds = []
    topics: Labels = []
    outcome: Outcome = Outcome.UNKNOWN
    ceasefire_agreed: bool | None = None
    agreed_to_meet_again: bool | None = None


class Exchange(EventRecord):
    id: ExchangeId
    track: Slug
    round: RoundId | None = None
    kind: ExchangeKind = ExchangeKind.POW
    status: ExchangeStatus
    agreed_on: dt.date | None = None
    executed_on: dt.date | None = None
    returned_to_ukraine: Count | None = None
    returned_to_russia: Count | None = None
    mediators: ActorIds = []


class Statement(EventRecord):
    id: StatementId
    actor: Slug
    track: Slug | None = None
    kind: StatementKind
    leader_level: bool = False
    venue_proposals: Labels = []
    conditions: Labels = []
    quote: LongText | None = None


class FrontReport(EventRecord):
    id: FrontReportId
    front: Slug
    status: FrontStatus
    initiative: Side = Side.NONE
    intensity: Intensity | None = None
    events: Count | None = None
    fatalities: Count | None = None


# --- pages, as schemas/pages.py ----------------------------------------------------------------


class RoundEvent(BaseModel):
    kind: Literal["round"] = "round"
    record: Round


class ExchangeEvent(BaseModel):
    kind: Literal["exchange"] = "exchange"
    record: Exchange


class StatementEvent(BaseModel):
    kind: Literal["statement"] = "statement"
    record: Statement


class FrontReportEvent(BaseModel):
    kind: Literal["front_report"] = "front_report"
    record: FrontReport


TimelineEvent = Annotated[RoundEvent | ExchangeEvent | StatementEvent | FrontReportEvent, Field(discriminator="kind")]


class RoundPage(BaseModel):
    items: list[Round]
    next: str | None


class TimelinePage(BaseModel):
    items: list[TimelineEvent]
    next: str | None


# collection -> (record model, timeline wrapper), for parsing timeline rows.
TIMELINE_MODELS: dict[str, tuple[type[EventRecord], type[BaseModel]]] = {
    "round": (Round, RoundEvent),
    "exchange": (Exchange, ExchangeEvent),
    "statement": (Statement, StatementEvent),
    "front_report": (FrontReport, FrontReportEvent),
}

# --- store: the same SQL, pragmas and cursor as Parley -----------------------------------------

Row = tuple[str, str, str, str]  # collection, sort_key, id, body


def connect(path: str) -> sqlite3.Connection:
    """The pragmas of api/db.py: WAL, synchronous=FULL, busy_timeout, foreign keys; autocommit."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def encode_cursor(sort_key: str, record_id: str) -> str:
    return base64.urlsafe_b64encode(f"{sort_key}\x1f{record_id}".encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    sort_key, _, record_id = raw.decode("utf-8", errors="replace").partition("\x1f")
    return sort_key, record_id


def fetch(conn: sqlite3.Connection, condition: str, params: list[str], limit: int, cursor: str | None) -> list[Row]:
    """Rows in (sort_key, id) order after the cursor, limit+1 of them: the SQL RecordRepository.rows builds."""
    where = ["1=1", condition]
    if cursor:
        where.append("(sort_key, id) > (?, ?)")
        params = [*params, *decode_cursor(cursor)]
    sql = f"SELECT collection, sort_key, id, body FROM records WHERE {' AND '.join(where)} ORDER BY sort_key, id LIMIT ?"
    return conn.execute(sql, [*params, limit + 1]).fetchall()


def next_link(request: Request, rows: list[Row], limit: int) -> str | None:
    """The same request with `cursor` moved past the last row served, as api/paging.next_link."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    params: list[tuple[str, str]] = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", encode_cursor(last[1], last[2])))
    return f"{request.url.path}?{urlencode(params)}"


# --- the app -------------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(pattern=CURSOR_PATTERN, min_length=2, max_length=2048)]


def create_app(db_path: str | None = None) -> FastAPI:
    path = db_path or os.environ["PEER_DATABASE_PATH"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.conn = connect(path)  # one connection per process, like Parley
        yield
        app.state.conn.close()

    app = FastAPI(title="Parley peer (FastAPI + pydantic)", lifespan=lifespan)

    @app.get("/v1/rounds", response_model=RoundPage)
    async def list_rounds(request: Request, limit: Limit = 50, cursor: Cursor = None) -> RoundPage:
        rows = fetch(request.app.state.conn, "collection = ?", ["round"], limit, cursor)
        items = [Round.model_validate_json(body) for _, _, _, body in rows[:limit]]
        return RoundPage(items=items, next=next_link(request, rows, limit))

    @app.get("/v1/timeline", response_model=TimelinePage)
    async def timeline(request: Request, limit: Limit = 50, cursor: Cursor = None) -> TimelinePage:
        rows = fetch(request.app.state.conn, "is_event = 1", [], limit, cursor)
        return TimelinePage(items=list(timeline_items(rows[:limit])), next=next_link(request, rows, limit))

    @app.get("/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def timeline_items(rows: Iterable[Row]) -> Iterable[BaseModel]:
    for collection, _, _, body in rows:
        record_model, event_model = TIMELINE_MODELS[collection]
        yield event_model(record=record_model.model_validate_json(body))

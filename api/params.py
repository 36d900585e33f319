"""Query parameters shared by the list operations, declared once so every collection agrees."""

import datetime as dt
from typing import Annotated

from litestar.params import QueryParameter

from api.exports import ExportFormat
from api.paging import CURSOR_PATTERN
from schemas.types import SLUG_PATTERN

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size, 1 to 500.")]
Cursor = Annotated[
    str | None,
    QueryParameter(pattern=CURSOR_PATTERN, min_length=2, max_length=2048,
              description="Opaque position from a previous page's `next` link."),
]
DateFrom = Annotated[dt.date | None, QueryParameter(name="from", description="Only records dated on or after this day.")]
DateTo = Annotated[dt.date | None, QueryParameter(name="to", description="Only records dated on or before this day.")]
AsOf = Annotated[
    dt.date | None,
    QueryParameter(description="Only records reported (made public) on or before this day: no look-ahead."),
]
TrackFilter = Annotated[str | None, QueryParameter(name="track", pattern=SLUG_PATTERN, max_length=64, description="Only records of this track.")]
FrontFilter = Annotated[str | None, QueryParameter(name="front", pattern=SLUG_PATTERN, max_length=64, description="Only records of this front.")]
ActorFilter = Annotated[str | None, QueryParameter(name="actor", pattern=SLUG_PATTERN, max_length=64, description="Only records involving this actor, or an actor affiliated to it (`russia` finds Peskov's statements).")]
TextSearch = Annotated[
    str | None,
    QueryParameter(
        name="q", min_length=1, max_length=500,
        description="Full-text search of summary, quote and notes: records containing every word (stemmed, "
        "any case); \"double quotes\" match a phrase. Other punctuation separates words.",
    ),
]

Format = Annotated[
    ExportFormat | None,
    QueryParameter(
        name="format",
        description="json (default), csv, ndjson or parquet; overrides Accept. In CSV, list and object "
        "fields are JSON text (`[]` is an empty list, an empty cell a null); the timeline's tables name a "
        "record's own `kind` `subkind`.",
    ),
]
Everything = Annotated[
    bool,
    QueryParameter(
        name="all",
        description="Return every matching record from `cursor` on instead of one page (streamed; `limit` "
        "then only sets the batch size).",
    ),
]

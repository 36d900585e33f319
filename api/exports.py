"""Lists in other formats: CSV, NDJSON and Parquet besides JSON, one page or the whole result.

The format comes from `format=` or, failing that, from `Accept`. A whole result (`all=true`)
streams batch by batch for JSON, CSV and NDJSON, so memory stays flat however large it is.
Parquet keeps its index in a footer written last, so a whole result is first written batch by
batch to temporary files, merged by polars' streaming engine into one file, and then sent from
disk; memory stays flat there too.
Tables (CSV, Parquet) are built with polars from the record's own Struct, so their columns and
types follow the schema. In Parquet, list and object fields are list and struct columns. In CSV
they are JSON text (`["Donetsk; Luhansk","neutrality"]`, `[]`), which `parley import` reads back:
a `;` inside an item survives, and an empty list (`[]`) differs from a null (an empty cell).
"""

import datetime as dt
import functools
import io
import shutil
import tempfile
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec
import polars as pl
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.datastructures.headers import MediaTypeHeader
from litestar.response import File, Stream

from api.paging import decode_cursor, next_link, page_body
from api.reads import ReadService
from api.store import ListQuery
from schemas.records import Exchange, FrontReport, Round, Statement
from schemas.vocab import TrackStatus

# With `all=true`, items are read and sent this many at a time.
BATCH_SIZE = 1000
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    NDJSON = "ndjson"
    PARQUET = "parquet"


MEDIA_TYPES = {
    ExportFormat.JSON: "application/json",
    # Litestar adds `; charset=utf-8` to every text/* type itself.
    ExportFormat.CSV: "text/csv",
    ExportFormat.NDJSON: "application/x-ndjson",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}
TIMELINE_TYPES: tuple[type[msgspec.Struct], ...] = (Round, Exchange, Statement, FrontReport)


def _quality(accepted: list[MediaTypeHeader], media_type: str) -> tuple[float, int]:
    """(q, specificity) of the most specific Accept range that matches `media_type` (RFC 9110
    §12.5.1: `text/csv;q=0` refuses CSV even when `*/*` accepts everything)."""
    maintype, _, subtype = media_type.partition("/")
    best: tuple[int, float] | None = None
    for range_ in accepted:
        if range_.maintype == "*":
            specificity = 0
        elif range_.maintype == maintype and range_.subtype == "*":
            specificity = 1
        elif range_.maintype == maintype and range_.subtype == subtype:
            specificity = 2
        else:
            continue
        try:
            q = float(range_.params.get("q", "1"))
        except ValueError:
            q = 0.0
        if best is None or specificity > best[0]:
            best = (specificity, q)
    return (0.0, -1) if best is None else (best[1], best[0])


def negotiate(requested: ExportFormat | None, accept: str | None) -> ExportFormat:
    """`format=` wins; else the format Accept prefers (highest q, then the most specific range,
    then JSON, CSV, NDJSON, Parquet in that order); else JSON.

    An Accept header that refuses everything Parley serves gets JSON rather than 406: every
    client can read the default, and RFC 9110 allows ignoring Accept.
    """
    if requested is not None:
        return requested
    if not accept or not accept.strip():
        return ExportFormat.JSON
    accepted = [MediaTypeHeader(part.strip()) for part in accept.split(",") if part.strip()]
    ranked = [(_quality(accepted, MEDIA_TYPES[fmt]), -order, fmt) for order, fmt in enumerate(ExportFormat)]
    (q, _), _, best = max(ranked)
    return best if q > 0 else ExportFormat.JSON


def polars_type(info: msgspec.inspect.Type, inside: bool = False) -> pl.DataType:
    """The polars column type for a Struct field's msgspec type. Dates inside lists and objects
    stay ISO text, as they are in JSON."""
    if isinstance(info, msgspec.inspect.Metadata):  # Annotated[..., Meta(...)]
        return polars_type(info.type, inside)
    if isinstance(info, msgspec.inspect.UnionType):
        concrete = [t for t in info.types if not isinstance(t, msgspec.inspect.NoneType)]
        return polars_type(concrete[0], inside) if len(concrete) == 1 else pl.String()
    if isinstance(info, msgspec.inspect.BoolType):
        return pl.Boolean()
    if isinstance(info, msgspec.inspect.IntType):
        return pl.Int64()
    if isinstance(info, msgspec.inspect.DateType) and not inside:
        return pl.Date()
    if isinstance(info, msgspec.inspect.DateTimeType) and not inside:
        return pl.Datetime("us", "UTC")
    if isinstance(info, msgspec.inspect.ListType):
        return pl.List(polars_type(info.item_type, inside=True))
    if isinstance(info, msgspec.inspect.StructType):
        return pl.Struct({field.encode_name: polars_type(field.type, inside=True) for field in info.fields})
    return pl.String()


def nested(dtype: pl.DataType) -> bool:
    return isinstance(dtype, (pl.List, pl.Struct))


@functools.cache
def table_schema(record_types: tuple[type[msgspec.Struct], ...], timeline: bool) -> dict[str, pl.DataType]:
    """Columns in field order; the timeline adds its `kind` first and calls a record's own `kind`
    `subkind` (an exchange's pow/bodies/civilians, a statement's proposal/rejection/...)."""
    schema: dict[str, pl.DataType] = {"kind": pl.String()} if timeline else {}
    for record_type in record_types:
        info = msgspec.inspect.type_info(record_type)
        assert isinstance(info, msgspec.inspect.StructType)
        for field in info.fields:
            name = "subkind" if timeline and field.name == "kind" else field.name
            schema.setdefault(name, polars_type(field.type))
    return schema


def table_rows(items: list[bytes], timeline: bool) -> list[dict[str, Any]]:
    if not timeline:
        return [_decode(item) for item in items]
    rows = []
    for item in items:
        wrapped = _decode(item)
        record = wrapped["record"]
        if "kind" in record:
            record["subkind"] = record.pop("kind")
        rows.append({"kind": wrapped["kind"], **record})
    return rows


def frame(items: list[bytes], schema: dict[str, pl.DataType], timeline: bool, as_text: bool = False) -> pl.DataFrame:
    """The items as a table of `schema`; `as_text` writes list and object fields as JSON text (CSV)."""
    rows = table_rows(items, timeline)
    columns = {name: [row.get(name) for row in rows] for name in schema}
    if as_text:
        schema = {name: pl.String() if nested(dtype) else dtype for name, dtype in schema.items()}
    for name, dtype in schema.items():
        if as_text and isinstance(schema[name], pl.String):
            columns[name] = [None if v is None else v if isinstance(v, str) else _encode(v).decode() for v in columns[name]]
        elif dtype == pl.Date():
            columns[name] = [dt.date.fromisoformat(v) if v else None for v in columns[name]]
        elif isinstance(dtype, pl.Datetime):
            columns[name] = [dt.datetime.fromisoformat(v) if v else None for v in columns[name]]
        elif dtype == pl.String() and any(isinstance(v, (list, dict)) for v in columns[name]):
            columns[name] = [v if v is None or isinstance(v, str) else _encode(v).decode() for v in columns[name]]
    return pl.DataFrame(columns, schema=schema)


def csv_chunk(items: list[bytes], schema: dict[str, pl.DataType], timeline: bool, header: bool) -> bytes:
    table = frame(items, schema, timeline, as_text=True)
    buffer = io.BytesIO()
    table.write_csv(buffer, include_header=header)
    return buffer.getvalue()


def parquet_file(items: list[bytes], schema: dict[str, pl.DataType], timeline: bool) -> bytes:
    buffer = io.BytesIO()
    frame(items, schema, timeline).write_parquet(buffer)
    return buffer.getvalue()


async def parquet_on_disk(batches: AsyncIterator[list[bytes]], schema: dict[str, pl.DataType], timeline: bool,
                          folder: Path) -> Path:
    """A whole result as one Parquet file, never holding more than a batch in memory."""
    parts = folder / "parts"
    parts.mkdir()
    count = 0
    async for items in batches:
        count += 1
        frame(items, schema, timeline).write_parquet(parts / f"{count:08d}.parquet")
    if count == 0:
        frame([], schema, timeline).write_parquet(parts / "00000000.parquet")
    path = folder / "export.parquet"
    pl.scan_parquet(parts / "*.parquet").sink_parquet(path)
    return path


async def encode_batches(fmt: ExportFormat, batches: AsyncIterator[list[bytes]], schema: dict[str, pl.DataType],
                         timeline: bool) -> AsyncIterator[bytes]:
    """A whole result as a byte stream in `fmt` (JSON, CSV or NDJSON)."""
    if fmt is ExportFormat.JSON:
        yield b'{"items":['
        first = True
        async for items in batches:
            yield (b"" if first else b",") + b",".join(items)
            first = False
        yield b'],"next":null}'
    elif fmt is ExportFormat.CSV:
        yield csv_chunk([], schema, timeline, header=True)
        async for items in batches:
            yield csv_chunk(items, schema, timeline, header=False)
    else:
        async for items in batches:
            yield b"\n".join(items) + b"\n"


async def list_export(
    reads: ReadService, request: Request[Any, Any, Any], query: ListQuery, cursor: str | None,
    requested: ExportFormat | None, everything: bool, record_types: tuple[type[msgspec.Struct], ...],
    track_status: TrackStatus | None = None,
) -> Response[Any]:
    """A list operation's answer in the negotiated format: one page, or everything from `cursor`."""
    fmt = negotiate(requested, request.headers.get("accept"))
    timeline = query.collection is None
    # Built once per record type and cached: inspecting Structs on every request costs as much
    # as serving a page.
    schema = table_schema(record_types, timeline)
    headers = {"Vary": "Accept"}
    # Decoded before anything is sent, so a bad cursor is a 400 and not a broken stream.
    query.after = decode_cursor(cursor) if cursor else None
    if everything:
        query.limit = BATCH_SIZE
        batches = reads.batches(query, track_status)
        if fmt is ExportFormat.PARQUET:
            folder = Path(tempfile.mkdtemp(prefix="parley-export-"))
            path = await parquet_on_disk(batches, schema, timeline, folder)
            return File(path, media_type=MEDIA_TYPES[fmt], headers=headers, content_disposition_type="inline",
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))
        chunks = encode_batches(fmt, batches, schema, timeline)
        return Stream(chunks, media_type=MEDIA_TYPES[fmt], headers=headers)
    path, params = request.url.path, request.query_params.multi_items()
    items, last = await reads.select(query, track_status)
    next_url = next_link(path, params, last) if last else None
    if fmt is ExportFormat.JSON:
        return Response(page_body(items, next_url), media_type=MEDIA_TYPES[fmt], headers=headers)
    if next_url is not None:
        # Other formats have no envelope to carry `next`, so it travels as a Link header (RFC 8288).
        headers["Link"] = f'<{next_url}>; rel="next"'
    if fmt is ExportFormat.CSV:
        body = csv_chunk(items, schema, timeline, header=True)
    elif fmt is ExportFormat.NDJSON:
        body = b"".join(item + b"\n" for item in items)
    else:
        body = parquet_file(items, schema, timeline)
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)

"""Bulk import: parse -> validate -> plan -> apply, each a function that tests can call alone.

- parse: CSV or NDJSON rows (polars) or an ACLED export (seeds.acled) become `RawRow`s, plain
  dicts with where they came from.
- validate: each row against its collection's Create Struct (lenient: "12" is an int), its
  references against the store plus the valid rows before it, and its natural key (events need
  an `external_id`; a key may appear once per file).
- plan: per valid row, create, correct (its natural key exists with other content) or leave
  unchanged (same content). A re-import therefore creates nothing.
- apply: the plan through RevisionWriter, corrections as `correct` revisions, never overwrites.

`run_import` does validate, plan and apply inside one write transaction, so the store cannot
change between the checks and the writes, and an import lands completely or not at all.
"""

import csv
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import msgspec
import polars as pl

from api.collections import BY_NAME, Collection
from api.db import Connection, write_transaction
from api.store import RecordRepository, RevisionWriter, mint_id
from api.problems import field_from_message
from schemas.records import SourceCreate
from schemas.types import SLUG_PATTERN
from seeds.acled import DEFAULT_FRONT_MAP, scan_acled, weekly_front_reports



def _nested_fields(types: list[type[msgspec.Struct]]) -> frozenset[str]:
    """Fields of any record type that hold a list or an object: their CSV cells are JSON."""
    names = set()
    for record_type in types:
        for field in msgspec.structs.fields(record_type):
            info = msgspec.inspect.type_info(field.type)
            while isinstance(info, msgspec.inspect.Metadata):
                info = info.type
            members = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
            if any(isinstance(m, (msgspec.inspect.ListType, msgspec.inspect.StructType, msgspec.inspect.DictType))
                   for m in members):
                names.add(field.name)
    return frozenset(names)


# CSV cells of these fields hold lists or objects: JSON text, as the CSV exports write them
# (`["Donetsk; Luhansk","neutrality"]`, `[]`); a hand-written cell that is not JSON separates
# list items with `;`.
LIST_FIELDS = _nested_fields([c.create_type for c in BY_NAME.values()])
COLLECTION_FIELD = "collection"

Tick = Callable[[], None]


def no_tick() -> None:
    pass


@dataclass(frozen=True, slots=True)
class RawRow:
    where: str  # "line 14": how errors point at the row
    collection: str | None  # from the row itself (NDJSON `collection`), if it says
    fields: dict[str, object]


@dataclass(frozen=True, slots=True)
class RowError:
    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class ValidRow:
    where: str
    collection: Collection
    record: msgspec.Struct


@dataclass(slots=True)
class Validation:
    valid: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({e.where for e in self.errors})


class Action(StrEnum):
    CREATE = "create"
    CORRECT = "correct"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Step:
    row: ValidRow
    action: Action
    record_id: str | None  # None for a create: the writer mints or takes the id
    revision: int  # the revision this step writes (or, unchanged, the current one)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    read: int
    created: int
    corrected: int
    unchanged: int
    rejected: int
    errors: tuple[RowError, ...]
    written: bool  # False when rejections stopped the import

    def line(self) -> str:
        return (f"read {self.read}, created {self.created}, corrected {self.corrected}, "
                f"unchanged {self.unchanged}, rejected {self.rejected}")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV/NDJSON, bad JSON, unknown format)."""


# --- parse --------------------------------------------------------------------------------------


def parse_file(path: Path, fmt: str | None = None) -> list[RawRow]:
    """CSV or NDJSON rows, by `fmt` or the file's extension."""
    fmt = fmt or {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}.get(path.suffix.lower())
    if fmt == "csv":
        return parse_csv(path)
    if fmt == "ndjson":
        return parse_ndjson(path)
    raise ImportFileError(f"{path.name}: cannot tell the format from the extension; pass --format csv|ndjson")


def list_cell(text: str) -> object:
    """A list field's CSV cell: JSON when it is JSON (`[]` is an empty list), else `;`-separated."""
    if text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except ValueError:
            pass  # not JSON after all: a hand-written list whose first item starts with a bracket
    return [p.strip() for p in text.split(";") if p.strip()]


def parse_csv(path: Path) -> list[RawRow]:
    """Every cell a string; empty cells are absent; list and object fields are JSON (or `;`-separated)."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise ImportFileError(f"{path.name}: not readable as CSV: {error}") from error
    # polars keeps blank lines as all-null rows, so row i is on line i + 2 unless a quoted cell
    # spans lines; only then pay for a second parse to learn where each record starts.
    multiline = frame.select(pl.any_horizontal(pl.all().str.contains("\n"))).to_series().any()
    lines = _csv_record_lines(path) if multiline else range(2, frame.height + 2)
    rows = []
    for line, cells in zip(lines, frame.iter_rows(named=True), strict=True):
        fields: dict[str, object] = {}
        for name, cell in cells.items():
            text = (cell or "").strip()
            if text:
                fields[name] = list_cell(text) if name in LIST_FIELDS else text
        if fields:
            rows.append(_raw(f"line {line}", fields))
    return rows


def _csv_record_lines(path: Path) -> list[int]:
    """The line on which each data record starts (header excluded), as the csv module counts."""
    starts = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        for _ in reader:
            starts.append(reader.line_num)
            break
        previous = reader.line_num
        for _ in reader:
            starts.append(previous + 1)
            previous = reader.line_num
    return starts[1:]


def parse_ndjson(path: Path) -> list[RawRow]:
    """One JSON object a line; null and absent are the same (polars cannot tell them apart)."""
    try:
        # The whole file informs the schema: a field first seen on line 500 must not be dropped.
        frame = pl.read_ndjson(path, infer_schema_length=None)
    except pl.exceptions.PolarsError as error:
        raise ImportFileError(f"{path.name}: {_first_bad_json_line(path) or error}") from error
    # polars skips blank lines; count the others to know each row's line.
    with path.open(encoding="utf-8") as handle:
        lines = [n for n, text in enumerate(handle, start=1) if text.strip()]
    if len(lines) != frame.height:
        raise ImportFileError(f"{path.name}: {frame.height} objects on {len(lines)} non-blank lines")
    rows = []
    for line, cells in zip(lines, frame.iter_rows(named=True), strict=True):
        fields = {k: v for k, v in cells.items() if v is not None}
        rows.append(_raw(f"line {line}", fields))
    return rows


def _first_bad_json_line(path: Path) -> str | None:
    with path.open(encoding="utf-8") as handle:
        for n, text in enumerate(handle, start=1):
            if text.strip():
                try:
                    if not isinstance(msgspec.json.decode(text), dict):
                        return f"line {n}: not a JSON object"
                except msgspec.DecodeError as error:
                    return f"line {n}: not valid JSON ({error})"
    return None


def _raw(where: str, fields: dict[str, object]) -> RawRow:
    collection = fields.pop(COLLECTION_FIELD, None)
    return RawRow(where, None if collection is None else str(collection), fields)


# --- ACLED --------------------------------------------------------------------------------------


def acled_source(path: Path) -> SourceCreate:
    """The source every weekly report of one export cites; keyed by file name so re-imports match."""
    digest = hashlib.sha1(path.name.encode()).hexdigest()[:12]
    return SourceCreate(id=f"acled-{digest}", outlet="ACLED", title=f"ACLED event export {path.name}",
                        url="https://acleddata.com/")


def read_front_map(path: Path | None) -> dict[str, str]:
    """The default oblast -> front map, updated by a JSON file; a null value drops an oblast."""
    front_map = dict(DEFAULT_FRONT_MAP)
    if path is None:
        return front_map
    try:
        overrides = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ImportFileError(f"{path.name}: not a JSON object: {error}") from error
    if not isinstance(overrides, dict):
        raise ImportFileError(f"{path.name}: expected a JSON object of ACLED admin1 -> front id")
    for admin1, front in overrides.items():
        if front is None:
            front_map.pop(admin1, None)
        elif not isinstance(front, str) or re.fullmatch(SLUG_PATTERN, front) is None:
            raise ImportFileError(f"{path.name}: {admin1!r} maps to {front!r}, which is not a front id")
        else:
            front_map[admin1] = front
    return front_map


async def missing_fronts(conn: Connection, front_map: Mapping[str, str]) -> list[str]:
    """Fronts the map names that the store does not hold: reports on them would be rejected."""
    records = RecordRepository(conn)
    return sorted({f for f in set(front_map.values()) if not await records.exists(BY_NAME["fronts"], f)})


def parse_acled(path: Path, front_map: Mapping[str, str]) -> list[RawRow]:
    """The export's source, then one row per front and week (aggregated lazily by seeds.acled)."""
    source = acled_source(path)
    try:
        reports = weekly_front_reports(scan_acled(path), front_map, source.id)
    except (ValueError, pl.exceptions.PolarsError) as error:
        raise ImportFileError(f"{path.name}: {error}") from error
    if not reports:  # no event in a mapped oblast: nothing would cite the source
        return []
    rows = [RawRow(f"{path.name} source", "sources", _builtins(source))]
    rows += [RawRow(f"{path.name} {r.external_id}", "front-reports", _builtins(r)) for r in reports]
    return rows


def _builtins(record: msgspec.Struct) -> dict[str, object]:
    fields: dict[str, object] = msgspec.to_builtins(record)
    return fields


# --- validate -----------------------------------------------------------------------------------


async def validate(
    conn: Connection, rows: list[RawRow], collection: str | None = None, tick: Tick = no_tick
) -> Validation:
    """Convert and check every row; references may name the store or valid rows above them."""
    result = Validation()
    records, writer = RecordRepository(conn), RevisionWriter(conn)
    known: set[tuple[str, str]] = set()  # (collection name, id) of valid rows so far
    keys: dict[tuple[str, str], str] = {}  # (collection name, natural key) -> where first seen
    for row in rows:
        errors = await _validate_row(row, collection, records, writer, known, keys, result)
        result.errors.extend(errors)
        tick()
    return result


async def _validate_row(
    row: RawRow, option: str | None, records: RecordRepository, writer: RevisionWriter,
    known: set[tuple[str, str]], keys: dict[tuple[str, str], str], result: Validation,
) -> list[RowError]:
    def error(field_name: str, message: str) -> list[RowError]:
        return [RowError(row.where, field_name, message)]

    name = row.collection or option
    if name is None:
        return error(COLLECTION_FIELD, "no collection: pass --collection or give each row a `collection`")
    if option is not None and row.collection is not None and row.collection != option:
        return error(COLLECTION_FIELD, f"is {row.collection!r}, but --collection is {option!r}")
    if name not in BY_NAME:
        return error(COLLECTION_FIELD, f"unknown collection {name!r}; one of {', '.join(BY_NAME)}")
    target = BY_NAME[name]
    # A row of a CSV or NDJSON export also carries the server's fields (revision, minted ids):
    # they are not the writer's to set, so they are left out, as a correction leaves them out.
    document = {**dict.fromkeys(_required_nullable(target.create_type)), **target.writable(row.fields)}
    try:
        record = msgspec.convert(document, target.create_type, strict=False)
    except msgspec.ValidationError as failure:
        message = str(failure)
        return error(field_from_message(message), message.split(" - at `$", 1)[0])

    natural = getattr(record, "external_id") if target.is_event else getattr(record, "id")
    if natural is None:
        return error("external_id", "is required for import: re-imports match event records on it")
    first = keys.get((name, natural))
    if first is not None:
        return error("external_id" if target.is_event else "id", f"{natural!r} already appears on {first}")
    errors = [
        RowError(row.where, path, f"names {other} {other_id!r}, which does not exist")
        for path, other, other_id in target.references(record)
        if (other, other_id) not in known and not await records.exists(BY_NAME[other], other_id)
    ]
    record_id = await writer.find_by_natural_key(target, record)
    if record_id is None:
        record_id = mint_id(target, natural) if target.is_event else natural
        if await records.revisions(target, record_id):  # created before, then retracted
            errors += error("external_id" if target.is_event else "id",
                            f"{natural!r} belongs to a retracted {target.record_kind} ({record_id}); restore it")
    if errors:
        return errors
    keys[(name, natural)] = row.where
    known.add((name, record_id))
    result.valid.append(ValidRow(row.where, target, record))
    return []


def _required_nullable(create_type: type[msgspec.Struct]) -> tuple[str, ...]:
    """Required fields that accept null (an event's `date`): an empty cell means null for them."""
    info = msgspec.inspect.type_info(create_type)
    assert isinstance(info, msgspec.inspect.StructType)
    found = []
    for f in info.fields:
        kind = f.type.type if isinstance(f.type, msgspec.inspect.Metadata) else f.type
        if f.required and isinstance(kind, msgspec.inspect.UnionType) and kind.includes_none:
            found.append(f.name)
    return tuple(found)


# --- plan and apply -----------------------------------------------------------------------------


async def plan(conn: Connection, valid: list[ValidRow]) -> list[Step]:
    """What each valid row does to the store: create, correct or nothing."""
    records, writer = RecordRepository(conn), RevisionWriter(conn)
    steps = []
    for row in valid:
        record_id = await writer.find_by_natural_key(row.collection, row.record)
        if record_id is None:
            steps.append(Step(row, Action.CREATE, None, 1))
            continue
        stored = await records.get(row.collection, record_id)
        assert stored is not None  # find_by_natural_key only finds live records
        current = msgspec.json.decode(stored)
        if row.collection.writable(current) == _builtins(row.record):
            steps.append(Step(row, Action.UNCHANGED, record_id, int(current["revision"])))
        else:
            steps.append(Step(row, Action.CORRECT, record_id, int(current["revision"]) + 1))
    return steps


async def apply(conn: Connection, steps: list[Step], reason: str, tick: Tick = no_tick) -> None:
    """Write the plan through the one revision path; the caller holds the transaction."""
    writer = RevisionWriter(conn)
    for step in steps:
        if step.action is Action.CREATE:
            await writer.create(step.row.collection, step.row.record, reason=reason)
        elif step.action is Action.CORRECT:
            assert step.record_id is not None
            await writer.correct(step.row.collection, step.record_id, step.row.record, step.revision, reason=reason,
                           key_id=None)
        tick()


async def run_import(
    conn: Connection, rows: list[RawRow], *, reason: str, collection: str | None = None,
    skip_invalid: bool = False, validate_tick: Tick = no_tick, write_tick: Tick = no_tick,
) -> ImportSummary:
    """Validate, plan and apply in one write transaction; nothing is written when a row is
    invalid, unless `skip_invalid`, when the valid rows are."""
    async with write_transaction(conn):
        checked = await validate(conn, rows, collection, validate_tick)
        if checked.errors and not skip_invalid:
            return ImportSummary(len(rows), 0, 0, 0, checked.rejected, tuple(checked.errors), written=False)
        steps = await plan(conn, checked.valid)
        await apply(conn, steps, reason, write_tick)
    count = {action: sum(s.action is action for s in steps) for action in Action}
    return ImportSummary(len(rows), count[Action.CREATE], count[Action.CORRECT], count[Action.UNCHANGED],
                         checked.rejected, tuple(checked.errors), written=True)

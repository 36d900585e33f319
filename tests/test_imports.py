"""`parley import`: CSV and NDJSON rows validated, matched by natural key, written as revisions."""

from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from api import db
from api.cli import main
from api.collections import BY_NAME
from api.imports import ImportSummary, parse_file, run_import
from api.store import RecordRepository

FIXTURES = Path(__file__).parent / "fixtures"
ROUNDS_CSV = FIXTURES / "import_rounds.csv"
MIXED_NDJSON = FIXTURES / "import_mixed.ndjson"


pytestmark = pytest.mark.anyio


async def load(conn: db.Connection, path: Path, collection: str | None = None, *, skip_invalid: bool = False,
               ) -> ImportSummary:
    return await run_import(conn, parse_file(path), reason=f"import {path.name}", collection=collection,
                      skip_invalid=skip_invalid)


async def counts(conn: db.Connection) -> tuple[int, int]:
    row = await conn.fetchone("SELECT (SELECT COUNT(*) FROM records), (SELECT COUNT(*) FROM revisions)")
    assert row is not None
    return row[0], row[1]


async def by_external_id(conn: db.Connection, external_id: str) -> dict[str, object]:
    row = await conn.fetchone("SELECT body FROM records WHERE external_id = ?", (external_id,))
    assert row is not None, external_id
    body: dict[str, object] = msgspec.json.decode(row[0])
    return body


def edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """A copy of a fixture with one edit, under the same file name (imports are keyed by name)."""
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    target = tmp_path / "edited" / source.name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


async def test_csv_import_creates_records_and_reports_counts(conn: db.Connection) -> None:
    before = await counts(conn)
    summary = await load(conn, ROUNDS_CSV, "rounds")
    assert (summary.read, summary.created, summary.corrected, summary.unchanged, summary.rejected) == (4, 4, 0, 0, 0)
    assert summary.line() == "read 4, created 4, corrected 0, unchanged 0, rejected 0"
    assert await counts(conn) == (before[0] + 4, before[1] + 4)
    third = await by_external_id(conn, "imp-istanbul-r3")
    # Strings became ints and bools; `;`-separated cells became lists; empty cells took defaults.
    assert third["sequence"] == 3 and third["ceasefire_agreed"] is False
    assert third["topics"] == ["prisoners", "ceasefire"]
    assert third["sources"] == ["brief-2026-06-07", "kyiv-independent-2026-06-07"]
    assert third["delegation_heads"] == [] and third["reported_at"] == "2026-06-16"
    # An empty `date` cell is a null date (precision unknown), not a missing field.
    side = await by_external_id(conn, "imp-istanbul-side")
    assert side["date"] is None and side["reported_at"] == "2026-07-20"


async def test_ndjson_rows_name_their_collection_and_cite_rows_above_them(conn: db.Connection) -> None:
    summary = await load(conn, MIXED_NDJSON)
    assert (summary.read, summary.created, summary.rejected) == (7, 7, 0)
    round_body = await by_external_id(conn, "imp-hum-r1")
    assert round_body["track"] == "imp-humanitarian-track"
    assert round_body["delegation_heads"] == ["umerov", "medinsky"]
    assert (await by_external_id(conn, "imp-front-donetsk-2026-06-16"))["events"] == 12  # "12" converted


async def test_reimport_creates_nothing(conn: db.Connection) -> None:
    await load(conn, ROUNDS_CSV, "rounds")
    await load(conn, MIXED_NDJSON)
    before = await counts(conn)
    again = await load(conn, ROUNDS_CSV, "rounds"), await load(conn, MIXED_NDJSON)
    assert [(s.created, s.corrected, s.unchanged) for s in again] == [(0, 0, 4), (0, 0, 7)]
    assert await counts(conn) == before


async def test_a_changed_row_becomes_a_correct_revision(conn: db.Connection, tmp_path: Path) -> None:
    await load(conn, ROUNDS_CSV, "rounds")
    record_id = str((await by_external_id(conn, "imp-istanbul-r4"))["id"])
    changed = edited(tmp_path, ROUNDS_CSV, "Fourth round ended without agreement.", "Fourth round: no agreement.")
    summary = await load(conn, changed, "rounds")
    assert (summary.created, summary.corrected, summary.unchanged) == (0, 1, 3)
    history = await RecordRepository(conn).revisions(BY_NAME["rounds"], record_id)
    assert [(h.revision, h.operation, h.reason) for h in history] == [
        (1, "create", "import import_rounds.csv"),
        (2, "correct", "import import_rounds.csv"),
    ]
    assert msgspec.json.decode(history[0].body)["summary"] == "Fourth round ended without agreement."
    assert (await by_external_id(conn, "imp-istanbul-r4"))["summary"] == "Fourth round: no agreement."


async def test_one_invalid_row_writes_nothing_and_names_line_and_field(conn: db.Connection, tmp_path: Path) -> None:
    before = await counts(conn)
    broken = edited(tmp_path, ROUNDS_CSV, "imp-istanbul-r4,istanbul-talks,4,", "imp-istanbul-r4,istanbul-talks,four,")
    summary = await load(conn, broken, "rounds")
    assert not summary.written and (summary.created, summary.rejected) == (0, 1)
    assert [(e.where, e.field) for e in summary.errors] == [("line 3", "sequence")]
    assert str(summary.errors[0]).startswith("line 3: sequence: Expected `int")
    assert await counts(conn) == before


async def test_skip_invalid_writes_the_valid_rows(conn: db.Connection, tmp_path: Path) -> None:
    broken = edited(tmp_path, ROUNDS_CSV, "2026-06-30,day", "2026-06-31,day")
    summary = await load(conn, broken, "rounds", skip_invalid=True)
    assert summary.written and (summary.read, summary.created, summary.rejected) == (4, 3, 1)
    assert [(e.where, e.field) for e in summary.errors] == [("line 3", "date")]
    assert await conn.fetchone("SELECT COUNT(*) FROM records WHERE external_id = 'imp-istanbul-r4'") == (0,)


async def test_unknown_track_and_source_are_rejected_with_their_field(conn: db.Connection, tmp_path: Path) -> None:
    broken = edited(tmp_path, ROUNDS_CSV, "imp-istanbul-r4,istanbul-talks", "imp-istanbul-r4,no-such-track")
    broken = edited(tmp_path, broken, "brief-2026-06-07;kyiv-independent-2026-06-07", "brief-2026-06-07;x")
    summary = await load(conn, broken, "rounds")
    assert [str(e) for e in summary.errors] == [
        "line 2: sources[1]: names sources 'x', which does not exist",
        "line 3: track: names tracks 'no-such-track', which does not exist",
    ]


async def test_references_resolve_only_to_rows_above(conn: db.Connection, tmp_path: Path) -> None:
    lines = MIXED_NDJSON.read_text(encoding="utf-8").splitlines()
    track = next(line for line in lines if '"tracks"' in line)
    reordered = tmp_path / "reordered.ndjson"
    reordered.write_text("\n".join([line for line in lines if line != track] + [track]) + "\n", encoding="utf-8")
    summary = await load(conn, reordered)
    assert {(e.where, e.field) for e in summary.errors} == {("line 5", "track"), ("line 6", "track")}


async def test_event_rows_need_an_external_id_and_keys_appear_once(conn: db.Connection, tmp_path: Path) -> None:
    broken = edited(tmp_path, ROUNDS_CSV, "imp-istanbul-r4,", ",")
    broken = edited(tmp_path, broken, "imp-istanbul-r5,", "imp-istanbul-r3,")
    summary = await load(conn, broken, "rounds")
    assert [str(e) for e in summary.errors] == [
        "line 3: external_id: is required for import: re-imports match event records on it",
        "line 4: external_id: 'imp-istanbul-r3' already appears on line 2",
    ]


async def test_ndjson_line_numbers_count_blank_lines_and_collection_must_agree(
    conn: db.Connection, tmp_path: Path
) -> None:
    broken = edited(tmp_path, MIXED_NDJSON, '"status": "contested"', '"status": "retreating"')
    summary = await load(conn, broken)
    assert [(e.where, e.field) for e in summary.errors] == [("line 8", "status")]
    mismatch = await load(conn, MIXED_NDJSON, "actors")
    assert mismatch.rejected == 5 and mismatch.errors[0].field == "collection"


async def test_csv_line_numbers_survive_multiline_cells(conn: db.Connection, tmp_path: Path) -> None:
    broken = edited(tmp_path, ROUNDS_CSV, "a further POW swap agreed,", "a further\nPOW swap\nagreed,")
    broken = edited(tmp_path, broken, "2026-06-30,day", "2026-06-31,day")
    assert [e.where for e in (await load(conn, broken, "rounds")).errors] == ["line 5"]


async def test_a_retracted_record_is_not_recreated_by_an_import(conn: db.Connection) -> None:
    from api.db import write_transaction
    from api.store import RevisionWriter

    await load(conn, ROUNDS_CSV, "rounds")
    record_id = str((await by_external_id(conn, "imp-istanbul-r5"))["id"])
    async with write_transaction(conn):
        await RevisionWriter(conn).retract(BY_NAME["rounds"], record_id, reason="wrong", key_id=None)
    summary = await load(conn, ROUNDS_CSV, "rounds")
    assert [(e.where, e.field) for e in summary.errors] == [("line 4", "external_id")]
    assert "retracted" in summary.errors[0].message


# --- the command ----------------------------------------------------------------------------------


def test_cli_imports_and_reimports(cli_store: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["import", str(ROUNDS_CSV), "--collection", "rounds"])
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == "read 4, created 4, corrected 0, unchanged 0, rejected 0"
    second = runner.invoke(main, ["import", "--format", "ndjson", str(MIXED_NDJSON)])
    assert second.exit_code == 0 and "created 7" in second.stdout
    again = runner.invoke(main, ["import", str(ROUNDS_CSV), "--collection", "rounds"])
    assert again.stdout.strip() == "read 4, created 0, corrected 0, unchanged 4, rejected 0"


def test_cli_exits_nonzero_on_rejected_rows_unless_skipping(cli_store: str, tmp_path: Path) -> None:
    broken = edited(tmp_path, ROUNDS_CSV, "imp-istanbul-r4,istanbul-talks", "imp-istanbul-r4,no-such-track")
    runner = CliRunner()
    strict = runner.invoke(main, ["import", str(broken), "--collection", "rounds"])
    assert strict.exit_code == 1
    assert "line 3: track: names tracks 'no-such-track', which does not exist" in strict.stderr
    assert "nothing written" in strict.stdout
    lenient = runner.invoke(main, ["import", str(broken), "--collection", "rounds", "--skip-invalid"])
    assert lenient.exit_code == 0 and "created 3" in lenient.stdout and "rejected 1" in lenient.stdout


def test_cli_needs_a_known_format(cli_store: str, tmp_path: Path) -> None:
    odd = tmp_path / "rounds.txt"
    odd.write_text(ROUNDS_CSV.read_text(encoding="utf-8"), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(odd), "--collection", "rounds"])
    assert result.exit_code != 0 and "--format csv|ndjson" in result.output


def test_a_line_that_is_not_json_names_its_line(tmp_path: Path) -> None:
    from api.imports import ImportFileError

    broken = edited(tmp_path, MIXED_NDJSON, '{"collection": "tracks"', '{"collection": "tracks",,')
    with pytest.raises(ImportFileError, match=r"line 5: not valid JSON"):
        parse_file(broken)

"""ACLED exports become weekly front reports: exact counts, week-end reporting, idempotent re-imports."""

import datetime as dt
import json
from pathlib import Path

import msgspec
import polars as pl
import pytest
from click.testing import CliRunner
from helpers import query

from api import db
from api.cli import main
from api.collections import BY_NAME
from api.db import write_transaction
from api.imports import (
    ImportSummary,
    acled_source,
    missing_fronts,
    parse_acled,
    read_front_map,
    run_import,
)
from api.store import ListQuery, RecordRepository, RevisionWriter
from schemas.records import FrontCreate
from schemas.vocab import Confidence, DatePrecision, FrontStatus
from seeds.acled import (
    DEFAULT_FRONT_MAP,
    FEW_BATTLES,
    front_status,
    scan_acled,
    weekly_front_reports,
)

ACLED_CSV = Path(__file__).parent / "fixtures" / "acled_sample.csv"

# Worked out by hand from the fixture: (date, events, fatalities, status, summary).
EXPECTED = {
    "acled:donetsk:2024-W03": (dt.date(2024, 1, 15), 6, 10, FrontStatus.ADVANCING,
                               "Battles 3; Explosions/Remote violence 2; Violence against civilians 1"),
    "acled:donetsk:2024-W04": (dt.date(2024, 1, 22), 13, 14, FrontStatus.CONTESTED,
                               "Battles 12; Explosions/Remote violence 1"),
    # 30 Dec 2024 - 5 Jan 2025 is ISO week 1 of 2025.
    "acled:donetsk:2025-W01": (dt.date(2024, 12, 30), 3, 3, FrontStatus.FROZEN,
                               "Battles 2; Explosions/Remote violence 1"),
    "acled:kherson:2024-W03": (dt.date(2024, 1, 15), 4, 3, FrontStatus.FROZEN,
                               "Explosions/Remote violence 3; Violence against civilians 1"),
    "acled:zaporizhzhia:2024-W03": (dt.date(2024, 1, 15), 3, 3, FrontStatus.FROZEN,
                                    "Explosions/Remote violence 2; Battles 1"),
    "acled:zaporizhzhia:2024-W04": (dt.date(2024, 1, 22), 2, 4, FrontStatus.ADVANCING,
                                    "Battles 1; Strategic developments 1"),
}

pytestmark = pytest.mark.anyio


async def import_acled(conn: db.Connection, path: Path, front_map: dict[str, str] = DEFAULT_FRONT_MAP,
                       ) -> ImportSummary:
    return await run_import(conn, parse_acled(path, front_map), reason=f"import {path.name}")


def acled_copy(tmp_path: Path, text: str) -> Path:
    """Same file name as the fixture, so it cites the same ACLED source."""
    target = tmp_path / "copy" / ACLED_CSV.name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def test_weekly_counts_and_fatalities_are_exact() -> None:
    reports = weekly_front_reports(scan_acled(ACLED_CSV), DEFAULT_FRONT_MAP, "acled-test")
    assert {r.external_id: (r.date, r.events, r.fatalities, r.status, r.summary) for r in reports} == EXPECTED
    for report in reports:
        assert report.front == str(report.external_id).split(":")[1]
        assert report.sources == ["acled-test"] and report.confidence is Confidence.MEDIUM


def test_a_week_is_dated_monday_and_reported_on_its_sunday() -> None:
    for report in weekly_front_reports(scan_acled(ACLED_CSV), DEFAULT_FRONT_MAP, "acled-test"):
        assert report.date is not None and report.date.isoweekday() == 1
        assert report.date_precision is DatePrecision.DAY
        assert report.reported_at == report.date + dt.timedelta(days=6)


def test_both_acled_date_styles_give_the_same_weeks() -> None:
    frame = pl.read_csv(ACLED_CSV, infer_schema=False)
    old_style = frame.with_columns(
        pl.col("event_date").str.to_date("%Y-%m-%d", strict=False).dt.strftime("%-d %B %Y")
        .fill_null(pl.col("event_date")).alias("event_date")
    )
    assert "15 January 2024" in old_style["event_date"].to_list()
    reports = weekly_front_reports(old_style.lazy(), DEFAULT_FRONT_MAP, "acled-test")
    assert {r.external_id: (r.date, r.events, r.fatalities, r.status, r.summary) for r in reports} == EXPECTED


def test_an_unreadable_date_is_an_error_naming_the_row() -> None:
    frame = pl.read_csv(ACLED_CSV, infer_schema=False).with_columns(
        pl.when(pl.col("event_id_cnty") == "UKR140003").then(pl.lit("sometime in January"))
        .otherwise(pl.col("event_date")).alias("event_date")
    )
    with pytest.raises(ValueError, match=r"row\(s\) 3 "):
        weekly_front_reports(frame.lazy(), DEFAULT_FRONT_MAP, "acled-test")


def test_status_rule() -> None:
    assert front_status(territory_changes=1, battles=0) is FrontStatus.ADVANCING
    assert front_status(territory_changes=0, battles=FEW_BATTLES) is FrontStatus.CONTESTED
    assert front_status(territory_changes=0, battles=FEW_BATTLES - 1) is FrontStatus.FROZEN


async def test_import_creates_the_source_and_reports_and_reimport_matches(conn: db.Connection) -> None:
    first = await import_acled(conn, ACLED_CSV)
    assert (first.read, first.created, first.rejected) == (1 + len(EXPECTED), 1 + len(EXPECTED), 0)
    source = await RecordRepository(conn).get(BY_NAME["sources"], acled_source(ACLED_CSV).id)
    assert source is not None and msgspec.json.decode(source)["outlet"] == "ACLED"
    second = await import_acled(conn, ACLED_CSV)
    assert (second.created, second.corrected, second.unchanged) == (0, 0, 1 + len(EXPECTED))


async def test_a_revised_export_corrects_only_the_weeks_that_changed(conn: db.Connection, tmp_path: Path) -> None:
    await import_acled(conn, ACLED_CSV)
    lines = ACLED_CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    revised = acled_copy(tmp_path, "".join(line for line in lines if not line.startswith("UKR140028,")))
    summary = await import_acled(conn, revised)
    assert (summary.created, summary.corrected, summary.unchanged) == (0, 1, len(EXPECTED))
    row = await conn.fetchone("SELECT id, body FROM records WHERE external_id = 'acled:kherson:2024-W03'")
    assert row is not None
    assert (msgspec.json.decode(row[1])["events"], msgspec.json.decode(row[1])["fatalities"]) == (3, 2)
    history = await RecordRepository(conn).revisions(BY_NAME["front-reports"], row[0])
    assert [(h.operation, h.reason) for h in history] == [
        ("create", "import acled_sample.csv"), ("correct", "import acled_sample.csv"),
    ]


async def test_a_week_is_invisible_before_it_ends(conn: db.Connection) -> None:
    await import_acled(conn, ACLED_CSV)

    async def visible(as_of: dt.date) -> set[str]:
        query = ListQuery(BY_NAME["front-reports"], limit=500, as_of=as_of, date_from=dt.date(2024, 1, 1),
                          date_to=dt.date(2024, 1, 31))
        rows = await RecordRepository(conn).rows(query, unbounded=True)
        return {msgspec.json.decode(r.body)["external_id"] for r in rows}

    assert await visible(dt.date(2024, 1, 20)) == set()
    assert await visible(dt.date(2024, 1, 21)) == {k for k, v in EXPECTED.items() if v[0] == dt.date(2024, 1, 15)}


async def test_front_map_override_adds_and_drops_oblasts(conn: db.Connection, tmp_path: Path) -> None:
    front_map_file = tmp_path / "fronts.json"
    front_map_file.write_text(json.dumps({"Luhansk": "luhansk", "Kherson": None}), encoding="utf-8")
    front_map = read_front_map(front_map_file)
    assert front_map["Luhansk"] == "luhansk" and "Kherson" not in front_map
    assert await missing_fronts(conn, front_map) == ["luhansk"]
    async with write_transaction(conn):
        await RevisionWriter(conn).create(BY_NAME["fronts"], FrontCreate(id="luhansk", name="Luhansk axis",
                                                                         oblasts=["Luhansk"]))
    assert await missing_fronts(conn, front_map) == []
    await import_acled(conn, ACLED_CSV, front_map)
    rows = await conn.fetchall("SELECT external_id, body FROM records WHERE front_id IN ('luhansk', 'kherson')"
                               " AND external_id LIKE 'acled:%' ORDER BY external_id")
    assert [(k, msgspec.json.decode(b)["events"], msgspec.json.decode(b)["fatalities"]) for k, b in rows] == [
        ("acled:luhansk:2024-W03", 2, 2), ("acled:luhansk:2024-W04", 2, 4),
    ]


# --- the command ----------------------------------------------------------------------------------


def test_cli_imports_an_acled_export(cli_store: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["import", "--format", "acled", str(ACLED_CSV)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "read 7, created 7, corrected 0, unchanged 0, rejected 0"
    again = runner.invoke(main, ["import", "--format", "acled", str(ACLED_CSV)])
    assert again.stdout.strip() == "read 7, created 0, corrected 0, unchanged 7, rejected 0"


def test_cli_rejects_a_front_map_naming_unknown_fronts(cli_store: str, tmp_path: Path) -> None:
    front_map_file = tmp_path / "fronts.json"
    front_map_file.write_text('{"Luhansk": "luhansk"}', encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "--format", "acled", "--front-map", str(front_map_file),
                                       str(ACLED_CSV)])
    assert result.exit_code != 0
    assert "the front map names fronts the store does not hold: luhansk" in result.output
    assert query(cli_store, "SELECT COUNT(*) FROM records WHERE external_id LIKE 'acled:%'") == [(0,)]


async def test_an_export_without_mapped_oblasts_imports_nothing(conn: db.Connection) -> None:
    assert parse_acled(ACLED_CSV, {"Crimea": "donetsk"}) == []

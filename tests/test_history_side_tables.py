"""seeds.history with the optional columns and side tables (speaker, round_status, actors.csv,
coverage_periods.csv, exchange_claims.csv), on the small fixture history in tests/fixtures/history."""

import datetime as dt
import shutil
from pathlib import Path

import msgspec
import polars as pl
import pytest

from schemas.records import CoveragePeriod, claims_differ
from schemas.vocab import Coverage, RoundStatus, StatementKind
from seeds.history import (
    ACTORS_FILE,
    CLAIMS_FILE,
    COVERAGE_FILE,
    STATEMENT_KINDS,
    HistoryRecords,
    SideTables,
    load_history,
    map_history,
    read_rows,
    read_side_tables,
)

FIXTURE = Path(__file__).parent / "fixtures" / "history"
TIMELINE = FIXTURE / "timeline_fixture.csv"


@pytest.fixture(scope="module")
def history() -> HistoryRecords:
    return load_history(FIXTURE)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the fixture history that a test may change."""
    shutil.copytree(FIXTURE, tmp_path / "history")
    return tmp_path / "history"


def rewrite(path: Path, change: pl.Expr) -> None:
    pl.read_csv(path, infer_schema_length=0).with_columns(change).write_csv(path)


def test_speaker_column_names_the_statement_actor_and_blank_keeps_the_first_party(history: HistoryRecords) -> None:
    actors = {s.external_id: s.actor for s in history.statements}
    assert actors == {"FX-004": "peskov", "FX-005": "lavrov", "FX-006": "turkey", "FX-007": "russia-defence-ministry"}


def test_every_statement_kind_is_an_event_type(history: HistoryRecords) -> None:
    assert {k for k in StatementKind} <= set(STATEMENT_KINDS.values())
    assert STATEMENT_KINDS["statement"] is StatementKind.ASSESSMENT
    kinds = {s.external_id: s.kind for s in history.statements}
    assert kinds["FX-005"] is StatementKind.DEMAND and kinds["FX-006"] is StatementKind.MEDIATION_OFFER


def test_round_status_column_sets_status_and_blank_is_held(history: HistoryRecords) -> None:
    assert {r.external_id: r.status for r in history.rounds} == {
        "FX-001": RoundStatus.HELD, "FX-002": RoundStatus.ANNOUNCED, "FX-003": RoundStatus.CANCELLED,
    }


def test_actors_file_adds_people_with_their_affiliation_chain(history: HistoryRecords) -> None:
    actors = {a.id: a for a in history.actors}
    assert actors["peskov"].affiliation == "kremlin" and actors["kremlin"].affiliation == "russia"
    assert actors["lavrov"].role == "Foreign Minister of Russia"
    assert {a.affiliation for a in history.actors} - {None} <= actors.keys()


def test_coverage_file_gives_each_track_its_periods_in_order(history: HistoryRecords) -> None:
    tracks = {t.id: t for t in history.tracks}
    talks = tracks["fixture-talks"]
    assert [(p.start, p.end, p.coverage) for p in talks.coverage_periods] == [
        (dt.date(2025, 1, 1), dt.date(2025, 2, 28), Coverage.COMPLETE),
        (dt.date(2025, 3, 1), None, Coverage.PARTIAL),
    ]
    assert talks.coverage is Coverage.PARTIAL  # the latest period's
    assert tracks["fixture-exchanges"].coverage is Coverage.MILESTONES


def test_a_track_the_coverage_file_leaves_out_has_no_periods(folder: Path) -> None:
    frame = pl.read_csv(folder / COVERAGE_FILE, infer_schema_length=0)
    frame.filter(pl.col("track") != "fixture-exchanges").write_csv(folder / COVERAGE_FILE)
    tracks = {t.id: t for t in load_history(folder).tracks}
    assert tracks["fixture-exchanges"].coverage_periods == []
    assert tracks["fixture-exchanges"].coverage is Coverage.MILESTONES


def test_without_a_coverage_file_each_track_has_one_period_spanning_its_rows(folder: Path) -> None:
    (folder / COVERAGE_FILE).unlink()
    tracks = {t.id: t for t in load_history(folder).tracks}
    (period,) = tracks["fixture-talks"].coverage_periods
    assert (period.start, period.end) == (dt.date(2025, 1, 10), dt.date(2025, 4, 1))
    assert period.coverage is Coverage.MILESTONES  # an unknown track's flag


def test_claims_file_attaches_each_sides_figures_and_sources(history: HistoryRecords) -> None:
    (exchange,) = history.exchanges
    assert [(c.claimant, c.returned_to_ukraine, c.returned_to_russia) for c in exchange.claims] == [
        ("russia", 150, 150), ("ukraine", 189, None),
    ]
    assert claims_differ(exchange)
    source_ids = {s.id for s in history.sources}
    assert all(set(c.sources) <= source_ids for c in exchange.claims)
    assert {"Ukraine's count", "Russia's count"} <= {s.title for s in history.sources}


def test_without_side_tables_the_mapping_is_the_plain_one() -> None:
    rows = read_rows([TIMELINE]).drop("speaker")
    plain = map_history(rows)
    assert plain == map_history(rows, SideTables())
    assert {s.external_id: s.actor for s in plain.statements}["FX-004"] == "ukraine"  # first party named
    assert all(x.claims == [] for x in plain.exchanges)


def test_side_tables_are_read_from_the_first_folder_that_has_them(folder: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_side_tables(empty, folder).actors is not None
    assert read_side_tables(empty) == SideTables()


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        (TIMELINE.name, pl.when(pl.col("id") == "FX-006").then(pl.lit("nobody")).otherwise(pl.col("speaker"))
         .alias("speaker"), "`speaker` 'nobody'"),
        (TIMELINE.name, pl.when(pl.col("id") == "FX-004").then(pl.lit("held")).otherwise(pl.col("round_status"))
         .alias("round_status"), "`round_status` is for round and agreement rows"),
        (TIMELINE.name, pl.when(pl.col("id") == "FX-001").then(pl.lit("postponed")).otherwise(pl.col("round_status"))
         .alias("round_status"), "FX-001"),
        (COVERAGE_FILE, pl.when(pl.col("start") == "2025-03-01").then(pl.lit("2025-02-01")).otherwise(pl.col("start"))
         .alias("start"), "track fixture-talks: .*must not overlap"),
        (COVERAGE_FILE, pl.lit("no-such-track").alias("track"), "track 'no-such-track' has no timeline row"),
        (CLAIMS_FILE, pl.lit("FX-999").alias("exchange"), "no timeline row has the id FX-999"),
        (CLAIMS_FILE, pl.lit("FX-001").alias("exchange"), "not an exchange"),
        (CLAIMS_FILE, pl.lit("atlantis").alias("claimant"), "claimant 'atlantis'"),
        (ACTORS_FILE, pl.lit("nowhere").alias("affiliation"), "affiliation 'nowhere'"),
    ],
)
def test_bad_side_data_is_rejected_by_name(folder: Path, file: str, change: pl.Expr, message: str) -> None:
    rewrite(folder / file, change)
    with pytest.raises(ValueError, match=message):
        load_history(folder)


def test_side_table_records_pass_their_schemas(history: HistoryRecords) -> None:
    for field in history.__struct_fields__:
        for record in getattr(history, field):
            assert msgspec.convert(msgspec.to_builtins(record), type(record)) == record
    assert all(isinstance(p, CoveragePeriod) for t in history.tracks for p in t.coverage_periods)

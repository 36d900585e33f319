"""Tests for seeds.history: the mapping from the shipped timeline CSVs to Parley create-records.

`history` maps everything shipped (every timeline file and the side tables present), so its
tests are generic over the files: they hold whatever rows the data gains. `bare` maps the two
original files without the optional columns and side tables, and pins the plain mapping rules
(first-party speaker, the notes' coverage flags) that apply when the data says nothing more.
"""

import datetime as dt
import hashlib
import re
import shutil
from collections import Counter
from pathlib import Path

import msgspec
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.records import ExchangeCreate, RoundCreate, StatementCreate
from schemas.vocab import Coverage, DatePrecision, Outcome, StatementKind
from seeds.history import (
    ACTORS,
    ACTORS_FILE,
    ALIASES,
    COLUMNS,
    DEFAULT_DATA_DIR,
    EXCHANGE_TYPES,
    OPTIONAL_COLUMNS,
    ROUND_TYPES,
    STATEMENT_KINDS,
    HistoryRecords,
    actor_slugs,
    history_files,
    infer_outcome,
    load_history,
    map_history,
    outlet_of,
    read_rows,
    read_side_tables,
    source_id,
)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
Event = RoundCreate | ExchangeCreate | StatementCreate
RowsById = dict[str, dict[str, str | None]]


ORIGINAL_FILES = ("timeline_2014_2024.csv", "timeline_tcg_normandy_2015_2022.csv")


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    return read_rows(sorted(DEFAULT_DATA_DIR.glob("timeline_*.csv")))


@pytest.fixture(scope="module")
def history(rows: pl.DataFrame) -> HistoryRecords:
    return map_history(rows, read_side_tables(DEFAULT_DATA_DIR))


@pytest.fixture(scope="module")
def bare_rows() -> pl.DataFrame:
    rows = read_rows([DEFAULT_DATA_DIR / name for name in ORIGINAL_FILES])
    return rows.drop([c for c in OPTIONAL_COLUMNS if c in rows.columns])


@pytest.fixture(scope="module")
def bare(bare_rows: pl.DataFrame) -> HistoryRecords:
    return map_history(bare_rows)


@pytest.fixture(scope="module")
def row_by_id(rows: pl.DataFrame) -> RowsById:
    return {r["id"]: r for r in rows.iter_rows(named=True)}


def events(h: HistoryRecords) -> list[Event]:
    return [*h.rounds, *h.exchanges, *h.statements]


def event(h: HistoryRecords, external_id: str) -> Event:
    (found,) = [e for e in events(h) if e.external_id == external_id]
    return found


# --- reading ------------------------------------------------------------------------------------


def test_shipped_data_has_both_csvs_and_their_notes() -> None:
    names = {p.name for p in DEFAULT_DATA_DIR.iterdir()}
    assert {
        "timeline_2014_2024.csv",
        "timeline_tcg_normandy_2015_2022.csv",
        "timeline_notes.md",
        "timeline_tcg_normandy_2015_2022_notes.md",
    } <= names


def test_read_rows_gives_string_columns_and_the_file_name(rows: pl.DataFrame) -> None:
    assert {*COLUMNS, "file"} <= set(rows.columns)
    assert all(dtype == pl.String for dtype in rows.dtypes)
    assert set(Counter(rows["file"])) == {p.name for p in DEFAULT_DATA_DIR.glob("timeline_*.csv")}
    assert set(ORIGINAL_FILES) <= set(rows["file"])


def test_load_history_picks_up_every_timeline_csv_in_the_directory(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DATA_DIR / "timeline_2014_2024.csv", tmp_path)
    if (DEFAULT_DATA_DIR / ACTORS_FILE).exists():  # the speakers its rows may name
        shutil.copy(DEFAULT_DATA_DIR / ACTORS_FILE, tmp_path)
    extra = pl.read_csv(DEFAULT_DATA_DIR / "timeline_2014_2024.csv", infer_schema_length=0).head(1)
    extra.with_columns(pl.lit("NEW-001").alias("id")).write_csv(tmp_path / "timeline_extra.csv")
    shutil.copy(DEFAULT_DATA_DIR / "timeline_tcg_normandy_2015_2022.csv", tmp_path / "other.csv")
    h = load_history(tmp_path)
    assert len(events(h)) == 129
    assert any(e.external_id == "NEW-001" for e in events(h))


# --- reconciliation -----------------------------------------------------------------------------


def test_total_records_equal_total_rows(rows: pl.DataFrame, history: HistoryRecords) -> None:
    assert len(events(history)) == rows.height >= 265


def expected_type(event_type: str) -> str:
    """The record type a row of this event_type becomes (a statement also by its kind)."""
    if event_type in ROUND_TYPES:
        return "round"
    if event_type in EXCHANGE_TYPES:
        return "exchange"
    return f"statement:{STATEMENT_KINDS[event_type].value}"


def test_each_row_is_exactly_one_record_of_its_type_and_track(rows: pl.DataFrame, history: HistoryRecords) -> None:
    expected = Counter((r["id"], r["track"], expected_type(r["event_type"])) for r in rows.iter_rows(named=True))
    got = Counter(
        [(r.external_id, r.track, "round") for r in history.rounds]
        + [(x.external_id, x.track, "exchange") for x in history.exchanges]
        + [(s.external_id, s.track, f"statement:{s.kind.value}") for s in history.statements]
    )
    assert got == expected


def test_agreement_rows_become_rounds_with_agreement_outcome(
    rows: pl.DataFrame, history: HistoryRecords
) -> None:
    agreement_ids = set(rows.filter(pl.col("event_type") == "agreement")["id"])
    assert len(agreement_ids) >= 31
    assert {r.external_id for r in history.rounds if r.external_id in agreement_ids} == agreement_ids
    assert all(r.outcome == Outcome.AGREEMENT for r in history.rounds if r.external_id in agreement_ids)


def test_external_ids_are_unique_across_event_records(history: HistoryRecords) -> None:
    ids = [e.external_id for e in events(history)]
    assert len(ids) == len(set(ids))


def test_duplicate_row_ids_are_rejected(bare_rows: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="duplicate id"):
        map_history(pl.concat([bare_rows, bare_rows.head(1)]))


def test_an_invalid_row_is_reported_by_its_id(bare_rows: pl.DataFrame) -> None:
    bad = bare_rows.filter(pl.col("id") == "TCG-196").with_columns(pl.lit("2020-03-01").alias("end_date"))
    with pytest.raises(ValueError, match=r"^TCG-196 \(timeline_tcg_normandy_2015_2022.csv\): .*end_date"):
        map_history(bad)


def test_an_unknown_track_defaults_to_milestones_coverage(bare_rows: pl.DataFrame) -> None:
    new = bare_rows.filter(pl.col("id") == "NOR-001").with_columns(pl.lit("new-track").alias("track"))
    (track,) = map_history(new).tracks
    assert (track.id, track.coverage) == ("new-track", Coverage.MILESTONES)
    assert track.parties == ["france", "germany", "russia", "ukraine"]


# --- referential integrity and validation ------------------------------------------------------


def test_every_event_cites_a_source_that_exists(history: HistoryRecords) -> None:
    source_ids = {s.id for s in history.sources}
    for e in events(history):
        assert e.sources and set(e.sources) <= source_ids
    assert all(set(c.sources) <= source_ids for x in history.exchanges for c in x.claims)


def test_every_referenced_actor_exists(history: HistoryRecords) -> None:
    actor_ids = {a.id for a in history.actors}
    referenced = {s.actor for s in history.statements} | {a.affiliation for a in history.actors if a.affiliation}
    referenced |= {c.claimant for x in history.exchanges for c in x.claims}
    for t in history.tracks:
        referenced |= {*t.parties, *t.mediators}
    for r in [*history.rounds, *history.exchanges]:
        referenced |= set(r.mediators)
    assert referenced <= actor_ids


def test_every_referenced_track_exists(history: HistoryRecords) -> None:
    track_ids = {t.id for t in history.tracks}
    assert {e.track for e in events(history)} <= track_ids


def test_every_record_passes_msgspec_validation(history: HistoryRecords) -> None:
    for field in history.__struct_fields__:
        for record in getattr(history, field):
            assert msgspec.convert(msgspec.to_builtins(record), type(record)) == record


def test_nothing_is_clipped_in_the_shipped_data(history: HistoryRecords, row_by_id: RowsById) -> None:
    for e in events(history):
        row = row_by_id[e.external_id or ""]
        assert e.summary == row["summary"]
        assert e.notes is not None and e.notes.endswith(row["notes"] or "")
        if isinstance(e, RoundCreate):
            assert e.venue == row["location"]
    claims = read_side_tables(DEFAULT_DATA_DIR).exchange_claims or []
    # A timeline row's title wins over a claim's for the same URL, as in the mapping.
    titles = {r["source_url"]: r["source_title"] for r in [*claims, *row_by_id.values()]}
    assert all(s.title == titles[s.url] for s in history.sources)


# --- tracks, actors, sources ---------------------------------------------------------------------


def test_without_coverage_periods_track_coverage_follows_the_notes(bare: HistoryRecords) -> None:
    coverage = {t.id: t.coverage for t in bare.tracks}
    assert coverage == {
        "minsk-tcg": Coverage.PARTIAL,
        "normandy-format": Coverage.PARTIAL,
        "pow-exchanges": Coverage.PARTIAL,
        "black-sea-grain": Coverage.COMPLETE,
        "direct-talks-2022": Coverage.MILESTONES,
        "leader-contacts": Coverage.MILESTONES,
        "peace-proposals": Coverage.MILESTONES,
        "peace-summit": Coverage.MILESTONES,
        "zaporizhzhia-iaea": Coverage.MILESTONES,
    }
    assert all(len(t.coverage_periods) == 1 for t in bare.tracks)


def test_every_track_has_valid_coverage_periods(history: HistoryRecords) -> None:
    for track in history.tracks:
        periods = track.coverage_periods
        assert all(p.end is None or p.end >= p.start for p in periods)
        assert all(a.end is not None and a.end < b.start for a, b in zip(periods, periods[1:]))
        assert track.coverage == (periods[-1].coverage if periods else Coverage.MILESTONES)


def test_track_parties_and_mediators_are_the_union_seen_in_rows(rows: pl.DataFrame, history: HistoryRecords) -> None:
    for track in history.tracks:
        cells = rows.filter(pl.col("track") == track.id)
        assert track.parties == sorted({a for cell in cells["parties"] for a in actor_slugs(cell)})
        assert track.mediators == sorted({a for cell in cells["mediator"] for a in actor_slugs(cell)})
    tracks = {t.id: t for t in history.tracks}
    assert {"russia", "ukraine"} <= set(tracks["pow-exchanges"].parties)
    assert {"saudi-arabia", "turkey", "uae"} <= set(tracks["pow-exchanges"].mediators)
    assert {"france", "germany"} <= set(tracks["normandy-format"].mediators)


def test_alias_table_actors_are_exactly_the_expected_set(bare: HistoryRecords) -> None:
    assert {a.id for a in bare.actors} == {
        "african-peace-mission", "belarus", "brazil", "china", "denmark", "dpr", "eu", "france",
        "g7", "germany", "hungary", "iaea", "icrc", "india", "israel", "italy", "lpr", "malta",
        "normandy-four", "osce", "qatar", "russia", "russian-orthodox-church", "saudi-arabia",
        "south-africa", "switzerland", "trilateral-contact-group", "turkey", "uae", "ukraine", "un",
        "un-security-council", "united-states",
    }  # fmt: skip


def test_every_parties_cell_names_at_least_one_actor(rows: pl.DataFrame) -> None:
    unnamed = [
        r["id"]
        for r in rows.iter_rows(named=True)
        if not actor_slugs(r["parties"]) or (r["mediator"] and not actor_slugs(r["mediator"]))
    ]
    assert unnamed == []


def test_alias_table_targets_known_slugs() -> None:
    targets = {slug for slugs in ALIASES.values() for slug in slugs}
    assert targets <= set(ACTORS)
    assert all(SLUG.match(slug) for slug in ACTORS)


def test_sources_are_deduplicated_by_url_with_hashed_ids(bare_rows: pl.DataFrame, bare: HistoryRecords) -> None:
    assert len(bare.sources) == bare_rows["source_url"].n_unique() == 257
    for s in bare.sources:
        assert s.url is not None
        assert s.id == "src-" + hashlib.sha1(s.url.encode()).hexdigest()[:12]


def test_outlet_is_the_host_without_www() -> None:
    assert outlet_of("https://www.aljazeera.com/news/x") == "aljazeera.com"
    assert outlet_of("https://ria.ru./20161018/1479470292.html?in=t") == "ria.ru"
    assert source_id("http://a.example/") == source_id("http://a.example/")


# --- spot checks ---------------------------------------------------------------------------------


def test_nor_001_keeps_date_venue_mediators_and_outcome(history: HistoryRecords) -> None:
    r = event(history, "NOR-001")
    assert isinstance(r, RoundCreate)
    assert r.date == dt.date(2014, 6, 6) and r.reported_at == r.date
    assert r.venue == "Benouville, Normandy, France"
    assert r.mediators == ["france", "germany"]
    assert r.outcome == Outcome.AGREEMENT
    assert r.notes is not None and r.notes.startswith("Outcome: Agreed that detailed ceasefire talks")


def test_exchange_counts_and_missing_russian_count(history: HistoryRecords) -> None:
    x = event(history, "POW-045")
    assert isinstance(x, ExchangeCreate)
    assert (x.returned_to_ukraine, x.returned_to_russia) == (189, 150)
    assert x.executed_on == x.date == dt.date(2024, 12, 30) and x.mediators == ["uae"]
    missing = event(history, "POW-005")
    assert isinstance(missing, ExchangeCreate) and missing.returned_to_russia is None


def test_multi_day_round_keeps_its_end_date(history: HistoryRecords) -> None:
    r = event(history, "TCG-196")
    assert isinstance(r, RoundCreate) and (r.date, r.end_date) == (dt.date(2020, 3, 24), dt.date(2020, 3, 26))


def test_month_precision_row_is_dated_the_first_of_the_month(history: HistoryRecords) -> None:
    r = event(history, "PROP-009")
    assert (r.date, r.date_precision) == (dt.date(2024, 8, 1), DatePrecision.MONTH)


def test_without_a_speaker_the_statement_actor_is_the_first_party_named(bare: HistoryRecords) -> None:
    actors = {s.external_id: (s.actor, s.kind) for s in bare.statements}
    assert actors["PROP-004"] == ("china", StatementKind.PROPOSAL)
    assert actors["ZNPP-003"] == ("iaea", StatementKind.PROPOSAL)
    assert actors["BSG-003"] == ("russia", StatementKind.SUSPENSION)
    assert actors["POW-035"] == ("ukraine", StatementKind.ASSESSMENT)


def test_only_zelenskys_no_talks_with_putin_decree_is_leader_level(bare: HistoryRecords) -> None:
    assert [s.external_id for s in bare.statements if s.leader_level] == ["DT22-009"]


def test_confidence_is_carried_over(history: HistoryRecords, row_by_id: RowsById) -> None:
    assert all(e.confidence.value == row_by_id[e.external_id or ""]["confidence"] for e in events(history))


# --- determinism --------------------------------------------------------------------------------


def test_mapping_twice_gives_equal_encodings(rows: pl.DataFrame) -> None:
    side = read_side_tables(DEFAULT_DATA_DIR)
    assert msgspec.json.encode(map_history(rows, side)) == msgspec.json.encode(map_history(rows, side))


def test_row_order_does_not_change_the_output(rows: pl.DataFrame, history: HistoryRecords) -> None:
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=7)
    assert msgspec.json.encode(map_history(shuffled, read_side_tables(DEFAULT_DATA_DIR))) == msgspec.json.encode(history)


def test_records_are_sorted_by_id(history: HistoryRecords) -> None:
    for records in (history.rounds, history.exchanges, history.statements):
        ids = [r.external_id or "" for r in records]
        assert ids == sorted(ids)
    for keyed in (history.actors, history.sources, history.tracks):
        assert [k.id for k in keyed] == sorted(k.id for k in keyed)


# --- the small functions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("Minsk II package signed by TCG", Outcome.AGREEMENT),
        ("Further de-escalation steps agreed", Outcome.AGREEMENT),
        ("No document signed; Kuchma blamed the separatists", Outcome.NONE),
        ("No agreement; delegations returned to capitals", Outcome.NONE),
        ("Talks broke down", Outcome.NONE),
        ("No Easter-truce statement agreed", Outcome.NONE),
        ("Three sessions over 8-9 June; no signed document reported", Outcome.NONE),
        ("Communiqué: ceasefire by end-2019; no deal on elections or border", Outcome.PARTIAL),
        ("Agreement in principle on withdrawing weapons; final document not signed", Outcome.PARTIAL),
        ("Agreed to meet again within weeks", Outcome.PARTIAL),
        ("Ukraine asked for a renewed ceasefire (measures agreed 22 July)", Outcome.PARTIAL),
        ("Next session set for 1 June", Outcome.PARTIAL),
        ("Not reported in the pages seen", Outcome.UNKNOWN),
        ("Preparatory contact; no result published", Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
    ],
)
def test_infer_outcome(text: str | None, outcome: Outcome) -> None:
    assert infer_outcome(text) == outcome


@pytest.mark.parametrize(
    ("text", "slugs"),
    [
        (
            "Russia (Putin); Ukraine (president-elect Poroshenko); France (Hollande)",
            ["russia", "ukraine", "france"],
        ),
        ("Ukraine; Russia; OSCE", ["ukraine", "russia", "osce"]),
        (
            "Foreign ministers of Germany, France, Russia and Ukraine",
            ["germany", "france", "russia", "ukraine"],
        ),
        ("United Arab Emirates", ["uae"]),
        ("Turkey; Saudi Arabia", ["turkey", "saudi-arabia"]),
        ("UN Security Council", ["un-security-council"]),
        ("UN (Guterres visit)", ["un"]),
        (
            "Ukraine; Russia; OSCE; representatives of certain areas of Donetsk and Luhansk",
            ["ukraine", "russia", "osce", "dpr", "lpr"],
        ),
        ("Ukraine; DPR; LPR", ["ukraine", "dpr", "lpr"]),
        (
            "Advisers: Germany (Plötner); France (Bonne); Russia (Kozak) - Ukraine not present",
            ["germany", "france", "russia"],
        ),
        ("Ukraine; ~65 countries (Russia absent)", ["ukraine"]),
        (
            "Diplomatic advisers of the four leaders (Russia: Surkov; Ukraine: FM Prystaiko)",
            ["russia", "ukraine"],
        ),
        ("African leaders' mission (South Africa, Senegal, Comoros, Zambia)", ["african-peace-mission"]),
        ("Russian Orthodox Church", ["russian-orthodox-church"]),
        ("Vatican", ["vatican"]),
        ("80 countries", []),
        (None, []),
    ],
)
def test_actor_slugs(text: str | None, slugs: list[str]) -> None:
    assert actor_slugs(text) == slugs


@given(st.text(max_size=200))
def test_actor_slugs_only_returns_known_unique_slugs(text: str) -> None:
    slugs = actor_slugs(text)
    assert len(slugs) == len(set(slugs)) and set(slugs) <= set(ACTORS)


@given(st.text(max_size=200))
def test_infer_outcome_accepts_any_text(text: str) -> None:
    assert infer_outcome(text) in set(Outcome)


def test_history_files_add_new_files_from_further_folders(tmp_path: Path) -> None:
    shipped, shared = tmp_path / "shipped", tmp_path / "shared"
    shipped.mkdir()
    shared.mkdir()
    for folder, name in [(shipped, "timeline_a.csv"), (shared, "timeline_a.csv"), (shared, "timeline_b.csv"),
                         (shared, "notes.csv")]:
        (folder / name).write_text("id\n", encoding="utf-8")
    assert history_files(shipped, shared, tmp_path / "missing") == [shipped / "timeline_a.csv",
                                                                     shared / "timeline_b.csv"]

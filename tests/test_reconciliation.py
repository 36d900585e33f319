"""Reconciliation: every row of every shipped `timeline_*.csv`, and every fact of the brief, is
exactly one record of the right type in a seeded store. Generic over the files, so it holds for
whatever rows the history gains."""

import json
from collections import Counter
from typing import Any

from helpers import query
from litestar import Litestar
from litestar.testing import TestClient

from api.settings import get_settings
from seeds.brief import brief_records
from seeds.history import DEFAULT_DATA_DIR, EXCHANGE_TYPES, ROUND_TYPES, STATEMENT_KINDS, history_files, read_rows

ROWS = read_rows(history_files(DEFAULT_DATA_DIR, *get_settings().extra_history_dirs))


def stored_kind(event_type: str) -> tuple[str, str | None]:
    """(collection, kind column) of the record a row of this event_type becomes."""
    if event_type in ROUND_TYPES:
        return "round", None
    if event_type in EXCHANGE_TYPES:
        return "exchange", "pow"
    return "statement", STATEMENT_KINDS[event_type].value


def test_every_history_row_and_brief_event_is_exactly_one_stored_record(seeded_url: str) -> None:
    expected: Counter[tuple[Any, ...]] = Counter()
    for row in ROWS.iter_rows(named=True):
        expected[(*stored_kind(row["event_type"]), row["id"], row["track"])] += 1
    brief = brief_records()
    for collection, kind_of, records in [("round", None, brief.rounds), ("exchange", "kind", brief.exchanges),
                                         ("statement", "kind", brief.statements),
                                         ("front_report", None, brief.front_reports)]:
        for record in records:
            kind = getattr(record, kind_of).value if kind_of else None
            expected[(collection, kind, record.external_id, getattr(record, "track", None))] += 1
    stored = Counter(
        (collection, kind if collection in ("exchange", "statement") else None, external_id, track_id)
        for collection, kind, external_id, track_id in query(
            seeded_url, "SELECT collection, kind, external_id, track_id FROM records WHERE is_event = 1"
        )
    )
    assert stored == expected
    assert sum(expected.values()) == ROWS.height + 12


def test_every_track_of_the_history_and_the_brief_is_stored_with_its_periods(seeded_url: str) -> None:
    tracks = {track: json.loads(body) for track, body in
              query(seeded_url, "SELECT id, body FROM records WHERE collection = 'track'")}
    assert tracks.keys() == set(ROWS["track"]) | {t.id for t in brief_records().tracks}
    for track in tracks.values():
        periods = track["coverage_periods"]
        assert track["coverage"] == (periods[-1]["coverage"] if periods else "milestones")


PESKOV_ROWS = set(ROWS.filter(ROWS["speaker"] == "peskov")["id"])


def test_actor_peskov_returns_his_history_statements(client: TestClient[Litestar]) -> None:
    assert len(PESKOV_ROWS) >= 7  # the audit counts at least seven Peskov statements filed under Russia
    peskov = {s["external_id"] for s in client.get("/v1/statements?actor=peskov&limit=500").json()["items"]}
    assert PESKOV_ROWS <= peskov
    russia = {s["external_id"] for s in client.get("/v1/statements?actor=russia&limit=500").json()["items"]}
    assert PESKOV_ROWS <= russia  # Peskov speaks for Russia: his affiliation is followed

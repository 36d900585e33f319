"""Cursor paging: walking every page returns each record exactly once, in order."""

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.collections import ROUNDS, STATEMENTS
from api.paging import decode_cursor, encode_cursor
from api.seeding import seed_record_sets
from api.store import Position, load_records
from schemas.records import RoundCreate, StatementCreate
from schemas.vocab import StatementKind

Client = TestClient[Litestar]
EXTRA_ROUNDS = 137


@pytest.fixture
def seeded_url(seeded_url: str) -> str:
    """The brief plus enough undated, same-day and spread-out records to span many pages."""
    start = dt.date(2020, 1, 1)
    rounds = [
        RoundCreate(track="istanbul-talks", date=start + dt.timedelta(days=i // 3), external_id=f"paging-{i}",
                    sources=["brief-2026-06-07"])
        for i in range(EXTRA_ROUNDS)
    ]
    statements = [
        StatementCreate(actor="peskov", kind=StatementKind.ASSESSMENT, date=None, date_precision="unknown",
                        reported_at=start, external_id=f"paging-s{i}", sources=["brief-2026-06-07"])
        for i in range(5)
    ]
    db.run_on_connection(
        seeded_url, lambda conn: load_records(conn, [(ROUNDS, rounds), (STATEMENTS, statements)], reason="test")
    )
    return seeded_url


def walk(client: Client, url: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(page["items"])
        url = page["next"]
    return seen


def identity(item: dict[str, Any]) -> str:
    return item["record"]["id"] if "record" in item else item["id"]


@pytest.mark.parametrize("limit", [1, 7, 50, 500])
@pytest.mark.parametrize("path", ["/v1/rounds", "/v1/timeline", "/v1/statements"])
def test_walking_all_pages_returns_each_record_once(client: Client, path: str, limit: int) -> None:
    everything = walk(client, f"{path}?limit=500")
    walked = walk(client, f"{path}?limit={limit}")
    assert [identity(i) for i in walked] == [identity(i) for i in everything]
    assert len({identity(i) for i in walked}) == len(walked)


def test_walk_covers_seeded_and_added_records(client: Client) -> None:
    seeded = sum(len(record_set.rounds) for record_set in seed_record_sets())
    assert len(walk(client, "/v1/rounds?limit=100")) == EXTRA_ROUNDS + seeded


def test_next_link_keeps_the_filters(client: Client) -> None:
    page = client.get("/v1/rounds?track=istanbul-talks&limit=3&from=2020-01-01").json()
    query = parse_qs(urlsplit(page["next"]).query)
    assert query["track"] == ["istanbul-talks"] and query["limit"] == ["3"] and query["from"] == ["2020-01-01"]
    assert "cursor" in query


def test_last_page_has_no_next_link(client: Client) -> None:
    assert client.get("/v1/rounds?limit=500").json()["next"] is None


@given(sort_key=st.text(max_size=20), record_id=st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_cursor_round_trips_any_position(sort_key: str, record_id: str) -> None:
    sort_key, record_id = sort_key.replace("\x1f", ""), record_id.replace("\x1f", "")
    position = Position(sort_key, record_id)
    # Surrogates cannot be encoded as UTF-8 and never occur in stored keys.
    if any("\ud800" <= ch <= "\udfff" for ch in sort_key + record_id):
        return
    assert decode_cursor(encode_cursor(position)) == position


@given(cursor=st.from_regex(r"\A(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?\Z").filter(lambda c: len(c) >= 2))
@settings(max_examples=200, deadline=None)
def test_any_cursor_matching_the_schema_decodes(cursor: str) -> None:
    assert isinstance(decode_cursor(cursor), Position)

"""The read API as a client sees it: records, filters, as-of, and problems for bad input."""

import datetime as dt
from typing import Any

import pytest
from helpers import backend
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.reads import track_status

Client = TestClient[Litestar]


def items(client: Client, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_istanbul_rounds_show_round_two_with_outcome_and_sources(client: Client) -> None:
    rounds = items(client, "/v1/rounds?track=istanbul-talks")
    assert [r["sequence"] for r in rounds] == [1, 2]  # the undated round sorts first
    round_two = rounds[1]
    assert round_two["date"] == "2026-06-02" and round_two["outcome"] == "partial"
    assert round_two["ceasefire_agreed"] is False
    assert "brief-2026-06-07" in round_two["sources"]


def test_statements_show_the_open_letter_and_the_rejection(client: Client) -> None:
    statements = {s["actor"]: s for s in items(client, "/v1/statements?limit=500")}
    assert statements["zelensky"]["kind"] == "proposal"
    assert statements["peskov"]["kind"] == "rejection"


def test_get_returns_the_same_record_as_the_list(client: Client) -> None:
    for listed in items(client, "/v1/rounds"):
        assert client.get(f"/v1/rounds/{listed['id']}").json() == listed


@pytest.mark.parametrize(
    ("url", "field", "expected"),
    [
        ("/v1/statements?kind=rejection", "kind", {"rejection"}),
        ("/v1/statements?actor=peskov", "actor", {"peskov"}),
        ("/v1/front-reports?front=kherson", "front", {"kherson"}),
        ("/v1/front-reports?status=frozen", "status", {"frozen"}),
        ("/v1/exchanges?status=agreed", "status", {"agreed"}),
        ("/v1/rounds?outcome=partial", "outcome", {"partial"}),
        ("/v1/actors?kind=media", "kind", {"media"}),
    ],
)
def test_filters_return_only_matching_records(client: Client, url: str, field: str, expected: set[str]) -> None:
    found = items(client, url)
    assert found and {record[field] for record in found} == expected


def test_filter_with_no_match_returns_an_empty_page(client: Client) -> None:
    assert client.get("/v1/rounds?track=no-such-track").json() == {"items": [], "next": None}


def test_actor_filter_reaches_mediators_of_rounds(client: Client) -> None:
    assert [r["sequence"] for r in items(client, "/v1/rounds?track=istanbul-talks&actor=turkey")] == [1, 2]


def test_date_range_excludes_undated_and_out_of_range_records(client: Client) -> None:
    dates = [s["date"] for s in items(client, "/v1/statements?track=istanbul-talks&from=2026-06-04&to=2026-06-04")]
    assert dates == ["2026-06-04"]
    assert all(r["date"] for r in items(client, "/v1/rounds?from=2000-01-01"))


def test_range_with_from_after_to_is_empty(client: Client) -> None:
    assert items(client, "/v1/rounds?from=2026-06-05&to=2026-06-01") == []


def test_as_of_hides_records_reported_later(client: Client) -> None:
    before_rejection = items(client, "/v1/statements?track=istanbul-talks&as_of=2026-06-05")
    assert [s["actor"] for s in before_rejection] == ["zelensky"]
    assert items(client, "/v1/rounds?track=istanbul-talks&as_of=2026-06-01") == []
    everything = items(client, "/v1/timeline?limit=500&from=2014-01-01")
    as_of = items(client, "/v1/timeline?limit=500&from=2014-01-01&as_of=2022-02-24")
    assert as_of and all(e["record"]["reported_at"] <= "2022-02-24" for e in as_of)
    assert [e for e in everything if e["record"]["reported_at"] <= "2022-02-24"] == as_of


def test_timeline_is_in_date_order_and_tagged_by_kind(client: Client) -> None:
    timeline = items(client, "/v1/timeline?limit=500")
    assert {event["kind"] for event in timeline} == {"round", "exchange", "statement", "front_report"}
    keys = [(e["record"]["date"] or "", e["record"]["id"]) for e in timeline]
    assert keys == sorted(keys)
    assert len(timeline) == sum(
        len(items(client, f"/v1/{c}?limit=500")) for c in ("rounds", "exchanges", "statements", "front-reports")
    )


def test_timeline_kind_filter_can_repeat(client: Client) -> None:
    kinds = {e["kind"] for e in items(client, "/v1/timeline?kind=round&kind=exchange&limit=500")}
    assert kinds == {"round", "exchange"}


def test_track_status_is_derived_as_of_the_read(client: Client) -> None:
    assert client.get("/v1/tracks/istanbul-talks?as_of=2026-06-07").json()["status"] == "active"
    assert client.get("/v1/tracks/istanbul-talks?as_of=2027-01-01").json()["status"] == "stalled"
    track = client.get("/v1/tracks/istanbul-talks?as_of=2026-06-01").json()
    assert track["last_round_on"] is None
    assert [t["id"] for t in items(client, "/v1/tracks?status=active&as_of=2026-06-07")] == ["istanbul-talks"]
    assert items(client, "/v1/tracks?status=active&as_of=2027-01-01") == []


def test_health_reports_the_schema_version(client: Client) -> None:
    latest = max(version for version, _ in db.migrations())
    assert client.get("/health").json() == {"status": "ok", "database": backend(), "schema_version": latest}


def assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"]
    if field is not None:
        assert field in [error["field"] for error in body["errors"]]
    return body


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/v1/rounds?trak=istanbul-talks", "trak"),
        # The name of an injected service is not a parameter either.
        ("/v1/rounds?reads=x", "reads"),
        ("/v1/forecasts/tracks/istanbul-talks?forecasts=x", "forecasts"),
        ("/v1/rounds?limit=0", "limit"),
        ("/v1/rounds?limit=501", "limit"),
        ("/v1/rounds?limit=ten", "limit"),
        ("/v1/rounds?limit=5&limit=6", "limit"),
        ("/v1/rounds?from=2026-13-01", "from"),
        ("/v1/rounds?outcome=victory", "outcome"),
        ("/v1/rounds?track=Istanbul%20Talks", "track"),
        ("/v1/rounds?cursor=%2B%2B%2B", "cursor"),
        ("/v1/timeline?kind=battle", "kind"),
        ("/v1/fronts?as_of=2026-06-07", "as_of"),
        ("/v1/rounds/not-a-round-id", "round_id"),
        ("/health?verbose=1", "verbose"),
    ],
)
def test_bad_parameters_are_400_problems_naming_the_field(client: Client, url: str, field: str) -> None:
    assert_problem(client.get(url), 400, field)


def test_unknown_record_is_a_404_problem(client: Client) -> None:
    body = assert_problem(client.get("/v1/rounds/rnd_0000000000000000"), 404)
    assert "rnd_0000000000000000" in body["detail"]
    assert_problem(client.get("/v1/actors/nobody"), 404)


def test_unknown_route_is_a_404_problem(client: Client) -> None:
    assert_problem(client.get("/v1/battles"), 404)


def test_wrong_method_is_a_405_problem_with_allow(client: Client) -> None:
    response = client.delete("/v1/rounds")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        ({}, "stalled"),
        ({"round": dt.date(2026, 6, 1)}, "active"),
        ({"round": dt.date(2026, 1, 1)}, "stalled"),
        ({"exchange": dt.date(2026, 6, 1)}, "active"),
        ({"round": dt.date(2026, 5, 1), "suspension": dt.date(2026, 5, 20)}, "suspended"),
        ({"round": dt.date(2026, 5, 1), "withdrawal": dt.date(2026, 5, 20), "suspension": dt.date(2026, 5, 2)}, "ended"),
        ({"round": dt.date(2026, 5, 21), "suspension": dt.date(2026, 5, 20)}, "active"),
    ],
)
def test_track_status_rules(latest: dict[str, dt.date], expected: str) -> None:
    assert track_status(latest, dt.date(2026, 6, 7))[0].value == expected

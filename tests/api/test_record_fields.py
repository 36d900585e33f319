"""Round status, coverage periods, exchange claims and affiliated actors, as a client sees them.

Reads run over a store holding only the fixture history (tests/fixtures/history): its rounds
are held, announced and cancelled, its statements are made by people affiliated (up a chain)
to Russia, and its exchange carries differing claims. Writes run over the seeded store.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from helpers import bearer
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.app import create_app
from api.seeding import batches
from api.settings import Settings
from api.store import load_records
from seeds.history import load_history
from seeds.recordset import RecordSet

Client = TestClient[Litestar]
FIXTURE = Path(__file__).parent.parent / "fixtures" / "history"


@pytest.fixture
def fixture_client(database_url: str) -> Iterator[Client]:
    """A client of a store holding the fixture history and nothing else."""
    record_set = RecordSet(**msgspec.structs.asdict(load_history(FIXTURE)))

    async def prepare(conn: db.Connection) -> None:
        await db.migrate(conn)
        await load_records(conn, batches(record_set), reason="fixture")

    db.run_on_connection(database_url, prepare)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client


def items(client: Client, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def external_ids(client: Client, url: str) -> list[str]:
    return [item["external_id"] for item in items(client, url)]


# --- round status ---------------------------------------------------------------------------


def test_status_filter_separates_held_announced_and_cancelled_rounds(fixture_client: Client) -> None:
    assert external_ids(fixture_client, "/v1/rounds?status=held") == ["FX-001"]
    assert external_ids(fixture_client, "/v1/rounds?status=announced") == ["FX-002"]
    assert external_ids(fixture_client, "/v1/rounds?status=cancelled&track=fixture-talks") == ["FX-003"]
    assert {r["status"] for r in items(fixture_client, "/v1/rounds")} == {"held", "announced", "cancelled"}
    assert fixture_client.get("/v1/rounds?status=postponed").status_code == 400


def test_announced_and_cancelled_rounds_are_not_track_activity(fixture_client: Client) -> None:
    # FX-001 (held) is 10 Jan 2025; the announced and cancelled rounds of March and April are not rounds.
    track = fixture_client.get("/v1/tracks/fixture-talks?as_of=2025-04-20").json()
    assert track["last_round_on"] == "2025-01-10"
    assert track["status"] == "stalled"  # 14 weeks after the last held round


def test_a_round_posted_as_announced_does_not_move_last_round_on(client: Client, keys: dict[str, str]) -> None:
    before = client.get("/v1/tracks/istanbul-talks").json()["last_round_on"]
    body = {"track": "istanbul-talks", "sequence": 3, "date": "2026-06-20", "status": "announced",
            "sources": ["brief-2026-06-07"], "summary": "A third round was announced."}
    created = client.post("/v1/rounds", json=body, headers=bearer(keys["write"]))
    assert created.status_code == 201 and created.json()["status"] == "announced"
    assert client.get("/v1/tracks/istanbul-talks").json()["last_round_on"] == before == "2026-06-02"
    assert [r["sequence"] for r in items(client, "/v1/rounds?track=istanbul-talks&status=announced")] == [3]


def test_a_round_without_status_is_held(client: Client) -> None:
    assert {r["status"] for r in items(client, "/v1/rounds?track=istanbul-talks")} == {"held"}


# --- coverage periods -----------------------------------------------------------------------


def test_track_coverage_is_derived_from_its_latest_period(fixture_client: Client) -> None:
    talks = fixture_client.get("/v1/tracks/fixture-talks").json()
    assert [p["coverage"] for p in talks["coverage_periods"]] == ["complete", "partial"]
    assert talks["coverage_periods"][1]["end"] is None and talks["coverage"] == "partial"
    assert [t["id"] for t in items(fixture_client, "/v1/tracks?coverage=partial")] == ["fixture-talks"]
    assert [t["id"] for t in items(fixture_client, "/v1/tracks?coverage=milestones")] == ["fixture-exchanges"]


TRACK = {"id": "test-track", "name": "Test talks", "parties": ["russia", "ukraine"], "format": "direct"}


OVERLAP = "must be sorted by `start` and must not overlap"


@pytest.mark.parametrize(
    ("periods", "field", "message"),
    [
        ([{"start": "2026-01-10", "end": "2026-01-01", "coverage": "complete"}], "coverage_periods[0]",
         "`end` must not be before `start`"),
        ([{"start": "2026-01-01", "end": "2026-03-01", "coverage": "complete"},
          {"start": "2026-02-01", "coverage": "partial"}], "coverage_periods", OVERLAP),
        ([{"start": "2026-02-01", "end": "2026-03-01", "coverage": "complete"},
          {"start": "2026-01-01", "end": "2026-01-15", "coverage": "partial"}], "coverage_periods", OVERLAP),
        ([{"start": "2026-01-01", "coverage": "complete"},
          {"start": "2026-02-01", "coverage": "partial"}], "coverage_periods", OVERLAP),
    ],
)
def test_periods_that_end_before_they_start_overlap_or_are_unsorted_are_422(
    client: Client, keys: dict[str, str], periods: list[dict[str, str]], field: str, message: str
) -> None:
    response = client.post("/v1/tracks", json={**TRACK, "coverage_periods": periods}, headers=bearer(keys["write"]))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    (error,) = response.json()["errors"]
    assert error["field"] == field and message in error["message"]


def test_coverage_is_the_servers_to_derive(client: Client, keys: dict[str, str]) -> None:
    sent = client.post("/v1/tracks", json={**TRACK, "coverage": "complete"}, headers=bearer(keys["write"]))
    assert sent.status_code == 422 and "coverage" in sent.text
    plain = client.post("/v1/tracks", json=TRACK, headers=bearer(keys["write"]))
    assert plain.status_code == 201 and plain.json()["coverage"] == "milestones"
    assert plain.json()["coverage_periods"] == []


def test_correcting_periods_changes_the_coverage_filter(client: Client, keys: dict[str, str]) -> None:
    created = client.post("/v1/tracks", json=TRACK, headers=bearer(keys["write"]))
    patch = {"reason": "observed since January", "coverage_periods": [
        {"start": "2026-01-01", "end": "2026-02-28", "coverage": "partial", "basis": "Thin in February."},
        {"start": "2026-03-01", "coverage": "complete"},
    ]}
    corrected = client.patch("/v1/tracks/test-track", json=patch,
                             headers={**bearer(keys["write"]), "If-Match": created.headers["etag"]})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["coverage"] == "complete" and corrected.json()["revision"] == 2
    assert "test-track" in [t["id"] for t in items(client, "/v1/tracks?coverage=complete")]
    assert "test-track" not in [t["id"] for t in items(client, "/v1/tracks?coverage=milestones")]


# --- exchange claims ------------------------------------------------------------------------


def test_exchange_claims_carry_each_sides_figures_and_flag_the_difference(fixture_client: Client) -> None:
    (exchange,) = items(fixture_client, "/v1/exchanges")
    assert [(c["claimant"], c["returned_to_ukraine"]) for c in exchange["claims"]] == [("russia", 150), ("ukraine", 189)]
    assert exchange["claims_differ"] is True
    for claim in exchange["claims"]:
        (source,) = claim["sources"]
        assert fixture_client.get(f"/v1/sources/{source}").status_code == 200


EXCHANGE = {"track": "istanbul-talks", "status": "executed", "date": "2026-06-10", "returned_to_ukraine": 300,
            "returned_to_russia": 300, "sources": ["brief-2026-06-07"]}


def test_claims_differ_only_when_the_figures_disagree(client: Client, keys: dict[str, str]) -> None:
    same = {**EXCHANGE, "claims": [{"claimant": "russia", "returned_to_ukraine": 300, "sources": ["brief-2026-06-07"]}]}
    created = client.post("/v1/exchanges", json=same, headers=bearer(keys["write"]))
    assert created.status_code == 201, created.text
    assert created.json()["claims_differ"] is False
    patch = {"reason": "Ukraine's own count", "claims": [
        *same["claims"], {"claimant": "ukraine", "returned_to_russia": 290, "sources": ["kyiv-independent-2026-06-07"]},
    ]}
    corrected = client.patch(created.headers["location"], json=patch,
                             headers={**bearer(keys["write"]), "If-Match": created.headers["etag"]})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["claims_differ"] is True and corrected.json()["revision"] == 2
    assert client.get(created.headers["location"]).json()["claims_differ"] is True


def test_claims_must_name_existing_actors_and_sources(client: Client, keys: dict[str, str]) -> None:
    for claim, field in [({"claimant": "atlantis", "sources": ["brief-2026-06-07"]}, "claims[0].claimant"),
                         ({"claimant": "russia", "sources": ["no-such-source"]}, "claims[0].sources[0]")]:
        response = client.post("/v1/exchanges", json={**EXCHANGE, "claims": [claim]}, headers=bearer(keys["write"]))
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field
    sent = client.post("/v1/exchanges", json={**EXCHANGE, "claims_differ": True}, headers=bearer(keys["write"]))
    assert sent.status_code == 422  # derived, not the writer's to say


# --- affiliations ---------------------------------------------------------------------------


def test_actor_filter_follows_the_affiliation_chain(fixture_client: Client) -> None:
    assert external_ids(fixture_client, "/v1/statements?actor=russia") == ["FX-007", "FX-004", "FX-005"]
    assert external_ids(fixture_client, "/v1/statements?actor=kremlin") == ["FX-004"]
    assert external_ids(fixture_client, "/v1/statements?actor=peskov") == ["FX-004"]
    assert external_ids(fixture_client, "/v1/statements?actor=turkey") == ["FX-006"]
    timeline = items(fixture_client, "/v1/timeline?actor=kremlin")
    assert [i["record"]["external_id"] for i in timeline] == ["FX-004"]


def test_actor_russia_finds_peskovs_statement_in_the_brief(client: Client) -> None:
    statements = items(client, "/v1/statements?actor=russia&limit=500")
    assert {"peskov", "russian-foreign-ministry"} <= {s["actor"] for s in statements}
    assert "zelensky" not in {s["actor"] for s in statements}


def test_an_actor_corrected_to_a_new_affiliation_moves_its_statements(client: Client, keys: dict[str, str]) -> None:
    actor = client.get("/v1/actors/rubio")
    assert "rubio" not in {s["actor"] for s in items(client, "/v1/statements?actor=russia")}
    corrected = client.patch("/v1/actors/rubio", json={"reason": "test of the filter", "affiliation": "russia"},
                             headers={**bearer(keys["write"]), "If-Match": actor.headers["etag"]})
    assert corrected.status_code == 200, corrected.text
    assert "rubio" in {s["actor"] for s in items(client, "/v1/statements?actor=russia")}
    assert "rubio" not in {s["actor"] for s in items(client, "/v1/statements?actor=united-states")}


def test_an_affiliation_cycle_does_not_hang_the_filter(client: Client, keys: dict[str, str]) -> None:
    russia = client.get("/v1/actors/russia")
    corrected = client.patch("/v1/actors/russia", json={"reason": "make a cycle", "affiliation": "peskov"},
                             headers={**bearer(keys["write"]), "If-Match": russia.headers["etag"]})
    assert corrected.status_code == 200
    assert "peskov" in {s["actor"] for s in items(client, "/v1/statements?actor=russia")}
    assert "russia" in {s["actor"] for s in items(client, "/v1/statements?actor=peskov&limit=500")}

"""Issue 13's record features through a real `parley serve` on a fresh store, as users run it:
text search with the actor filter, affiliations, round status, coverage periods and exchange
claims, and the search index following corrections, retractions and restores."""

import httpx
from helpers import bearer, running_server

from api import db
from api.keys import KeyRepository, Scope

SOURCE = ["brief-2026-06-07"]


def create_keys(url: str) -> tuple[str, str]:
    async def create(conn: db.Connection) -> tuple[str, str]:
        repository = KeyRepository(conn)
        return (await repository.create("writer", Scope.WRITE))[1], (await repository.create("admin", Scope.ADMIN))[1]

    return db.run_on_connection(url, create)


def test_served_records_search_affiliations_status_periods_and_claims(database_url: str) -> None:
    with running_server(database_url) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        write_key, admin_key = create_keys(database_url)
        write, admin = bearer(write_key), bearer(admin_key)

        def items(path: str, **params: str) -> list[dict[str, object]]:
            response = http.get(path, params=params)
            assert response.status_code == 200, response.text
            return response.json()["items"]

        # The seeded brief: Peskov speaks for Russia, and his quote is searchable.
        assert [s["actor"] for s in items("/v1/statements", actor="peskov", q="come to moscow")] == ["peskov"]
        assert "peskov" in {s["actor"] for s in items("/v1/statements", actor="russia")}
        track = http.get("/v1/tracks/istanbul-talks").json()
        assert track["coverage"] == "complete"
        assert track["coverage_periods"][0]["start"] == "2026-06-01"

        # "What did Peskov say about a ceasefire?"
        said = http.post("/v1/statements", headers=write, json={
            "actor": "peskov", "kind": "rejection", "date": "2026-06-09", "sources": SOURCE,
            "summary": "Peskov said a ceasefire now would only let Kyiv regroup.",
        })
        assert said.status_code == 201, said.text
        assert [s["id"] for s in items("/v1/statements", actor="peskov", q="ceasefire")] == [said.json()["id"]]
        assert said.json()["id"] in {s["id"] for s in items("/v1/statements", actor="russia", q="ceasefires")}
        assert http.get("/v1/statements", params={"q": 'ceasefire" OR NOT (*'}).status_code == 200

        # The index follows a correction, a retraction and a restore.
        url, tag = said.headers["location"], said.headers["etag"]
        corrected = http.patch(url, headers={**write, "If-Match": tag},
                               json={"reason": "wording", "summary": "Peskov said a pause now would give Kyiv a breather."})
        assert corrected.status_code == 200
        assert items("/v1/statements", q="regroup") == [] and len(items("/v1/timeline", q="breather")) == 1
        gone = http.delete(url, params={"reason": "test"}, headers={**admin, "If-Match": corrected.headers["etag"]})
        assert gone.status_code == 204 and items("/v1/timeline", q="breather") == []
        assert http.post(f"{url}/restore", json={"reason": "test"}, headers=admin).status_code == 200
        assert len(items("/v1/timeline", q="breather")) == 1

        # An announced round is listed by status and is no activity of its track.
        announced = http.post("/v1/rounds", headers=write, json={
            "track": "istanbul-talks", "sequence": 3, "date": "2026-06-20", "status": "announced", "sources": SOURCE})
        assert announced.status_code == 201, announced.text
        assert [r["sequence"] for r in items("/v1/rounds", track="istanbul-talks", status="announced")] == [3]
        assert http.get("/v1/tracks/istanbul-talks").json()["last_round_on"] == "2026-06-02"

        # Claims that differ are flagged.
        exchange = http.post("/v1/exchanges", headers=write, json={
            "track": "istanbul-talks", "status": "executed", "date": "2026-06-12", "returned_to_ukraine": 1200,
            "sources": SOURCE, "claims": [
                {"claimant": "ukraine", "returned_to_ukraine": 1200, "sources": SOURCE},
                {"claimant": "russia", "returned_to_ukraine": 1000, "sources": SOURCE},
            ]})
        assert exchange.status_code == 201, exchange.text
        assert exchange.json()["claims_differ"] is True

        # Overlapping coverage periods are a problem, not a 500.
        bad = http.post("/v1/tracks", headers=write, json={
            "id": "bad-periods", "name": "Bad", "parties": ["russia"], "format": "direct", "coverage_periods": [
                {"start": "2026-01-01", "coverage": "complete"}, {"start": "2026-02-01", "coverage": "partial"}]})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")

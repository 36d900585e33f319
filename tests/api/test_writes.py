"""Writes as an analyst sees them: keys, corrections with If-Match, retraction, idempotency."""

import datetime as dt
import hashlib
import logging
from typing import Any

import msgspec
import pytest
from helpers import bearer, query
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.app import create_app
from api.idempotency import IdempotencyLedger, Lease
from api.keys import KeyRepository
from api.settings import Settings
from schemas.records import RoundCreate

Client = TestClient[Litestar]
ROUND = {"track": "istanbul-talks", "date": "2026-06-20", "sources": ["brief-2026-06-07"], "outcome": "none"}


def create_round(client: Client, keys: dict[str, str], **changes: Any) -> Any:
    response = client.post("/v1/rounds", json={**ROUND, **changes}, headers=bearer(keys["write"]))
    assert response.status_code == 201, response.text
    return response


def test_create_answers_201_with_location_and_etag(client: Client, keys: dict[str, str]) -> None:
    response = create_round(client, keys)
    fetched = client.get(response.headers["location"])
    assert fetched.json() == response.json()
    assert fetched.headers["etag"] == response.headers["etag"]
    assert response.json()["revision"] == 1 and response.json()["id"].startswith("rnd_")


def test_writes_without_a_key_are_401(client: Client) -> None:
    response = client.post("/v1/rounds", json=ROUND)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", ["plk_000000000000_" + "0" * 64, "not-a-key", "revoked"])
def test_bad_or_revoked_keys_are_401(client: Client, keys: dict[str, str], token: str) -> None:
    response = client.post("/v1/rounds", json=ROUND, headers=bearer(keys.get(token, token)))
    assert response.status_code == 401


def test_basic_auth_is_401(client: Client) -> None:
    assert client.post("/v1/rounds", json=ROUND, headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_retraction_needs_the_admin_scope(client: Client, keys: dict[str, str]) -> None:
    location = create_round(client, keys).headers["location"]
    assert client.delete(f"{location}?reason=duplicate", headers=bearer(keys["write"])).status_code == 403
    assert client.delete(f"{location}?reason=duplicate", headers=bearer(keys["admin"])).status_code == 204


def test_reads_are_public_by_default(client: Client) -> None:
    assert client.get("/v1/rounds").status_code == 200


def test_private_reads_need_a_key(seeded_url: str, keys: dict[str, str]) -> None:
    app = create_app(Settings(database_url=seeded_url, reads_require_key=True))
    with TestClient(app) as client:
        assert client.get("/v1/rounds").status_code == 401
        assert client.get("/v1/rounds", headers=bearer(keys["write"])).status_code == 200
        assert client.get("/health").status_code == 200


def test_correction_needs_if_match(client: Client, keys: dict[str, str]) -> None:
    location = create_round(client, keys).headers["location"]
    response = client.patch(location, json={"reason": "wrong outcome", "outcome": "partial"},
                            headers=bearer(keys["write"]))
    assert response.status_code == 428


def test_correction_appends_a_revision(client: Client, keys: dict[str, str]) -> None:
    created = create_round(client, keys)
    location, tag = created.headers["location"], created.headers["etag"]
    corrected = client.patch(location, json={"reason": "talks ended in a partial deal", "outcome": "partial"},
                             headers={**bearer(keys["write"]), "If-Match": tag})
    assert corrected.status_code == 200
    assert corrected.json()["outcome"] == "partial" and corrected.json()["revision"] == 2
    assert corrected.headers["etag"] != tag
    history = client.get(f"{location}/revisions").json()["items"]
    assert [(h["revision"], h["operation"]) for h in history] == [(1, "create"), (2, "correct")]
    assert history[0]["record"] == created.json() and history[1]["record"] == corrected.json()
    assert history[1]["reason"] == "talks ended in a partial deal"


def test_stale_if_match_is_412_and_changes_nothing(client: Client, keys: dict[str, str]) -> None:
    created = create_round(client, keys)
    location, tag = created.headers["location"], created.headers["etag"]
    headers = {**bearer(keys["write"]), "If-Match": tag}
    assert client.patch(location, json={"reason": "first fix", "venue": "Istanbul"}, headers=headers).status_code == 200
    stale = client.patch(location, json={"reason": "second fix", "venue": "Ankara"}, headers=headers)
    assert stale.status_code == 412
    assert client.get(location).json()["venue"] == "Istanbul"


def test_correction_needs_a_reason(client: Client, keys: dict[str, str]) -> None:
    created = create_round(client, keys)
    response = client.patch(created.headers["location"], json={"outcome": "partial"},
                            headers={**bearer(keys["write"]), "If-Match": created.headers["etag"]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "reason"


def test_correction_that_breaks_a_rule_is_422(client: Client, keys: dict[str, str]) -> None:
    created = create_round(client, keys)
    response = client.patch(created.headers["location"], json={"reason": "typo", "end_date": "2026-06-01"},
                            headers={**bearer(keys["write"]), "If-Match": created.headers["etag"]})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "end_date"


def test_retracted_record_is_404_but_keeps_its_history_and_can_be_restored(client: Client, keys: dict[str, str]) -> None:
    created = create_round(client, keys)
    location = created.headers["location"]
    admin = bearer(keys["admin"])
    assert client.delete(f"{location}?reason=wrong%20meeting", headers=admin).status_code == 204
    assert client.get(location).status_code == 404
    assert created.json()["id"] not in {r["id"] for r in client.get("/v1/rounds?limit=500").json()["items"]}
    history = client.get(f"{location}/revisions").json()["items"]
    assert [h["operation"] for h in history] == ["create", "delete"]
    restored = client.post(f"{location}/restore", json={"reason": "it did happen"}, headers=admin)
    assert restored.status_code == 200 and restored.json()["revision"] == 3
    assert client.get(location).json() == restored.json()
    again = client.post(f"{location}/restore", json={"reason": "twice"}, headers=admin)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/rounds", {**ROUND, "bogus": 1}, "bogus"),
        ("/v1/rounds", {**ROUND, "track": "no-such-track"}, "track"),
        ("/v1/rounds", {**ROUND, "sources": ["no-such-source"]}, "sources[0]"),
        ("/v1/rounds", {**ROUND, "end_date": "2026-06-01"}, "end_date"),
        ("/v1/rounds", {**ROUND, "sources": []}, "sources"),
        ("/v1/exchanges", {**ROUND, "status": "executed", "returned_to_ukraine": -5, "outcome": None}, "returned_to_ukraine"),
        ("/v1/exchanges", {"track": "istanbul-talks", "date": "2026-06-20", "sources": ["brief-2026-06-07"],
                           "status": "agreed", "round": "rnd_0000000000000000"}, "round"),
        ("/v1/statements", {"actor": "nobody", "kind": "proposal", "date": "2026-06-20",
                            "sources": ["brief-2026-06-07"]}, "actor"),
        ("/v1/actors", {"id": "Bad Slug", "name": "x", "kind": "person"}, "id"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(client: Client, keys: dict[str, str], path: str,
                                                 body: dict[str, Any], field: str) -> None:
    body = {k: v for k, v in body.items() if not (path == "/v1/exchanges" and k == "outcome")}
    response = client.post(path, json=body, headers=bearer(keys["write"]))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


def test_duplicate_slug_is_409(client: Client, keys: dict[str, str]) -> None:
    body = {"id": "peskov", "name": "Dmitry Peskov", "kind": "person"}
    assert client.post("/v1/actors", json=body, headers=bearer(keys["write"])).status_code == 409


def test_idempotency_key_replays_the_first_response(client: Client, keys: dict[str, str]) -> None:
    headers = {**bearer(keys["write"]), "Idempotency-Key": "analyst-42"}
    first = client.post("/v1/rounds", json=ROUND, headers=headers)
    second = client.post("/v1/rounds", json=ROUND, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content and second.headers["location"] == first.headers["location"]
    dated = [r for r in client.get("/v1/rounds?from=2026-06-20&to=2026-06-20").json()["items"]]
    assert len(dated) == 1


def test_idempotency_key_with_another_body_is_422(client: Client, keys: dict[str, str]) -> None:
    headers = {**bearer(keys["write"]), "Idempotency-Key": "analyst-43"}
    assert client.post("/v1/rounds", json=ROUND, headers=headers).status_code == 201
    assert client.post("/v1/rounds", json={**ROUND, "venue": "Doha"}, headers=headers).status_code == 422


def test_idempotency_keys_are_per_api_key(client: Client, keys: dict[str, str]) -> None:
    first = client.post("/v1/rounds", json=ROUND, headers={**bearer(keys["write"]), "Idempotency-Key": "same"})
    second = client.post("/v1/rounds", json=ROUND, headers={**bearer(keys["admin"]), "Idempotency-Key": "same"})
    assert first.headers["location"] != second.headers["location"]


def test_if_none_match_answers_304(client: Client) -> None:
    url = "/v1/tracks/istanbul-talks"
    tag = client.get(url).headers["etag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_body_over_64_kib_is_413(client: Client, keys: dict[str, str]) -> None:
    body = b'{"summary": "' + b"x" * (64 * 1024) + b'"}'
    response = client.post("/v1/rounds", content=body,
                           headers={**bearer(keys["write"]), "Content-Type": "application/json"})
    assert response.status_code == 413


def test_non_json_body_is_415(client: Client, keys: dict[str, str]) -> None:
    response = client.post("/v1/rounds", content=b"track=istanbul-talks",
                           headers={**bearer(keys["write"]), "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415


def test_rate_limit_is_429_with_retry_after_and_ignores_forwarded_for(seeded_url: str) -> None:
    app = create_app(Settings(database_url=seeded_url, rate_limit_per_minute=3))
    with TestClient(app) as client:
        statuses = [client.get("/v1/fronts", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
                    for i in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        limited = client.get("/v1/fronts")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"


def test_trusted_proxy_forwarded_for_separates_clients(seeded_url: str) -> None:
    settings = Settings(database_url=seeded_url, rate_limit_per_minute=2,
                        trusted_proxies=frozenset({"testclient"}))
    with TestClient(create_app(settings)) as client:
        for address in ("192.0.2.1", "192.0.2.2"):
            statuses = [client.get("/v1/fronts", headers={"X-Forwarded-For": address}).status_code for _ in range(3)]
            assert statuses == [200, 200, 429]


def test_rate_limit_counts_per_key(seeded_url: str, keys: dict[str, str]) -> None:
    with TestClient(create_app(Settings(database_url=seeded_url, rate_limit_per_minute=2))) as client:
        assert [client.get("/v1/fronts").status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/v1/fronts", headers=bearer(keys["write"])).status_code == 200


def test_keys_are_stored_only_as_digests(seeded_url: str, keys: dict[str, str]) -> None:
    tables = ("api_keys", "records", "revisions", "idempotency_entries")
    dump = "\n".join(repr(row) for table in tables for row in query(seeded_url, f"SELECT * FROM {table}"))
    for token in keys.values():
        assert token.rsplit("_", 1)[1] not in dump


def test_keys_never_reach_the_logs(client: Client, keys: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    create_round(client, keys)
    client.post("/v1/rounds", json=ROUND, headers=bearer(keys["revoked"]))
    client.get("/v1/rounds", headers=bearer(keys["write"] + "x"))
    for token in keys.values():
        assert token not in caplog.text and token.rsplit("_", 1)[1] not in caplog.text


def apply_changes(client: Client) -> dict[tuple[str, str], dict[str, Any]]:
    """A mirror built only from /v1/changes."""
    mirror: dict[tuple[str, str], dict[str, Any]] = {}
    url = "/v1/changes?limit=200"
    while True:
        page = client.get(url).json()
        for change in page["items"]:
            key = (change["collection"], change["id"])
            if change["operation"] == "delete":
                del mirror[key]
            else:
                mirror[key] = change["record"]
        if not page["items"]:
            return mirror
        url = page["next"]


def everything(client: Client) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for collection in ("actors", "sources", "fronts", "tracks", "rounds", "exchanges", "statements", "front-reports"):
        url = f"/v1/{collection}?limit=500"
        while url:
            page = client.get(url).json()
            for item in page["items"]:
                item.pop("status", None) if collection == "tracks" else None
                item.pop("last_round_on", None) if collection == "tracks" else None
                found[(collection, item["id"])] = item
            url = page["next"]
    return found


def test_following_the_change_feed_reproduces_the_database(client: Client, keys: dict[str, str]) -> None:
    writer, admin = bearer(keys["write"]), bearer(keys["admin"])
    kept = create_round(client, keys)
    client.patch(kept.headers["location"], json={"reason": "venue found", "venue": "Istanbul"},
                 headers={**writer, "If-Match": kept.headers["etag"]})
    gone = create_round(client, keys, date="2026-06-21")
    client.delete(f"{gone.headers['location']}?reason=never%20held", headers=admin)
    back = create_round(client, keys, date="2026-06-22")
    client.delete(f"{back.headers['location']}?reason=unsure", headers=admin)
    client.post(f"{back.headers['location']}/restore", json={"reason": "confirmed"}, headers=admin)
    assert apply_changes(client) == everything(client)


def test_change_feed_next_link_waits_at_the_end(client: Client, keys: dict[str, str]) -> None:
    url = "/v1/changes?limit=500"
    while (page := client.get(url).json())["items"]:
        url = page["next"]
    assert client.get(url).json() == {"items": [], "next": url}
    create_round(client, keys)
    assert [c["operation"] for c in client.get(url).json()["items"]] == ["create"]


def test_recorded_at_is_the_write_time(client: Client, keys: dict[str, str]) -> None:
    before = dt.datetime.now(dt.UTC)
    recorded = dt.datetime.fromisoformat(create_round(client, keys).json()["recorded_at"])
    assert before - dt.timedelta(seconds=1) <= recorded <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def test_request_still_in_flight_is_409_until_its_lease_expires(client: Client, keys: dict[str, str],
                                                                seeded_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    headers = {**bearer(keys["write"]), "Idempotency-Key": "in-flight"}
    # Another worker has begun this request: its lease is committed, its write is not.
    fingerprint = hashlib.sha256(b"rounds\n" + msgspec.json.encode(msgspec.convert(ROUND, RoundCreate))).hexdigest()

    async def begin(store: db.Store) -> object:
        async with store.connection() as conn:
            key = await KeyRepository(conn).verify(keys["write"])
        assert key is not None
        return await IdempotencyLedger(store).begin(key.id, "in-flight", fingerprint)

    assert isinstance(db.run_on_store(seeded_url, begin), Lease)
    assert client.post("/v1/rounds", json=ROUND, headers=headers).status_code == 409
    # The other worker died: once the lease is over, a retry takes the key over and writes once.
    monkeypatch.setattr("api.idempotency.LEASE", dt.timedelta(0))
    retried = client.post("/v1/rounds", json=ROUND, headers=headers)
    assert retried.status_code == 201
    assert client.post("/v1/rounds", json=ROUND, headers=headers).content == retried.content


def test_failed_request_frees_its_idempotency_key(client: Client, keys: dict[str, str]) -> None:
    headers = {**bearer(keys["write"]), "Idempotency-Key": "fix-and-retry"}
    assert client.post("/v1/rounds", json={**ROUND, "track": "no-such-track"}, headers=headers).status_code == 422
    # Nothing was written under the key, so the corrected request may use it.
    assert client.post("/v1/rounds", json=ROUND, headers=headers).status_code == 201

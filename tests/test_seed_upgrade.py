"""`parley seed` on a store that already holds records: idempotent, corrections never overwrites,
and a store seeded by the previous version gains the new fields through correction revisions.

`fixtures/legacy_store_v2.json` is part of a store that the previous version (commit 4c60fa2,
schema 2) seeded: its records, their actor rows and their revisions, exactly as it wrote them.
"""

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from helpers import parley, query, running_server
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.app import create_app
from api.collections import EXCHANGES, STATEMENTS
from api.seeding import SEED_REASON, batches, seed, seed_record_sets
from api.settings import Settings
from api.store import LoadSummary, RevisionWriter, load_records
from schemas.ids import EXCHANGE_PREFIX, derived_id
from seeds.recordset import RecordSet

LEGACY = json.loads((Path(__file__).parent / "fixtures" / "legacy_store_v2.json").read_text(encoding="utf-8"))
POW_045 = derived_id(EXCHANGE_PREFIX, "POW-045")


def run(url: str, work: Any) -> Any:
    return db.run_on_connection(url, work)


def revision_counts(url: str) -> Counter[str]:
    return Counter(dict(query(url, "SELECT operation, COUNT(*) FROM revisions GROUP BY operation")))


def test_seeding_again_creates_and_corrects_nothing(seeded_url: str) -> None:
    before = revision_counts(seeded_url)
    summary: LoadSummary = run(seeded_url, seed)
    (record_set,) = seed_record_sets()
    total = sum(len(records) for _, records in batches(record_set))
    assert (summary.created, summary.corrected, summary.kept, summary.unchanged) == (0, 0, 0, total)
    assert revision_counts(seeded_url) == before


def test_changed_seed_data_is_loaded_as_a_correction(seeded_url: str) -> None:
    (record_set,) = seed_record_sets()
    (original,) = [x for x in record_set.exchanges if x.external_id == "POW-045"]
    changed = msgspec.structs.replace(original, summary="Exchange of 30 December 2024, recounted.")
    summary = run(seeded_url, lambda conn: load_records(conn, [(EXCHANGES, [changed])], reason=SEED_REASON))
    assert (summary.created, summary.corrected) == (0, 1)
    history = query(seeded_url, "SELECT revision, operation, reason, body FROM revisions WHERE record_id = ? "
                                "ORDER BY revision", (POW_045,))
    assert [(r, o, why) for r, o, why, _ in history] == [(1, "create", "seed"), (2, "correct", "seed")]
    assert json.loads(history[0][3])["summary"] == original.summary  # revision 1 is untouched
    assert json.loads(history[1][3])["summary"] == changed.summary


def test_seed_leaves_an_analysts_correction_alone(seeded_url: str) -> None:
    (record_set,) = seed_record_sets()
    (original,) = [x for x in record_set.exchanges if x.external_id == "POW-045"]
    fixed = msgspec.structs.replace(original, returned_to_russia=151)

    async def analyst(conn: db.Connection) -> None:
        async with db.write_transaction(conn):
            await RevisionWriter(conn).correct(EXCHANGES, POW_045, fixed, 2, reason="recounted", key_id="key_analyst")

    run(seeded_url, analyst)
    summary = run(seeded_url, seed)
    assert (summary.corrected, summary.kept) == (0, 1)
    ((body,),) = query(seeded_url, "SELECT body FROM records WHERE id = ?", (POW_045,))
    assert json.loads(body)["returned_to_russia"] == 151 and json.loads(body)["revision"] == 2


def test_seed_leaves_a_retracted_record_retracted(seeded_url: str) -> None:
    async def retract(conn: db.Connection) -> None:
        async with db.write_transaction(conn):
            await RevisionWriter(conn).retract(EXCHANGES, POW_045, reason="duplicate", key_id="key_admin")

    run(seeded_url, retract)
    summary = run(seeded_url, seed)
    assert (summary.created, summary.kept) == (0, 1)
    assert query(seeded_url, "SELECT 1 FROM records WHERE id = ?", (POW_045,)) == []


def build_legacy(url: str, extra: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    """A store at schema 2 holding what the previous version's seed wrote (and `extra` records,
    as it would have stored them), then migrated."""

    async def build(conn: db.Connection) -> None:
        for version, sql in db.migrations(conn.dialect):
            if version > 2:
                break
            async with db.write_transaction(conn):
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                                   "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                for statement in db.split_statements(sql) if conn.dialect == "sqlite" else [sql]:
                    await conn.execute(statement, None)
                await conn.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?, '2026-12-01')",
                                   (version,))
        async with db.write_transaction(conn):
            for table, rows in (("records", [*LEGACY["records"], *extra]), ("revisions", LEGACY["revisions"])):
                for row in rows:
                    await conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                                       list(row.values()))
            await conn.executemany("INSERT INTO record_actors (collection, record_id, actor_id) VALUES (?, ?, ?)",
                                   LEGACY["record_actors"])
        await db.migrate(conn)

    run(url, build)


@pytest.fixture
def legacy_url(database_url: str) -> str:
    build_legacy(database_url)
    return database_url


def test_migration_copes_with_escaped_nuls_the_previous_version_stored(database_url: str) -> None:
    (actor,) = [r for r in LEGACY["records"] if r["id"] == "peskov"]
    (said,) = [r for r in LEGACY["records"] if r["external_id"] == "brief-2026-06-07:peskov-come-to-moscow"]
    nul_actor = {**actor, "id": "nul-actor", "sort_key": "nul-actor",
                 "body": actor["body"].replace('"Dmitry Peskov"', '"Dmitry\\u0000Peskov"').replace('"peskov"', '"nul-actor"')}
    nul_said = {**said, "id": "stm_00000000000000aa", "external_id": "nul-statement",
                "body": said["body"].replace("refused a", "refused\\u0000a").replace(said["id"], "stm_00000000000000aa")}
    build_legacy(database_url, [nul_actor, nul_said])
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        assert "nul-actor" in {a["id"] for a in client.get("/v1/actors?limit=500").json()["items"]}
        found = client.get("/v1/statements?q=refused+neutral&limit=500").json()["items"]
        assert {s["id"] for s in found} >= {"stm_00000000000000aa", said["id"]}


@pytest.fixture
def legacy_client(legacy_url: str) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(Settings(database_url=legacy_url))) as client:
        yield client


def test_migration_indexes_what_the_previous_version_stored(legacy_client: TestClient[Litestar]) -> None:
    statements = legacy_client.get("/v1/statements?q=come+to+moscow").json()["items"]
    assert [s["actor"] for s in statements] == ["peskov"]
    assert "peskov" in {s["actor"] for s in legacy_client.get("/v1/statements?actor=russia").json()["items"]}
    assert len(legacy_client.get("/v1/rounds?status=held").json()["items"]) == 2
    assert legacy_client.get("/v1/tracks/istanbul-talks").json()["coverage"] == "complete"


def test_a_store_seeded_by_the_previous_version_gains_the_new_fields_by_correction(legacy_url: str) -> None:
    legacy_bodies = {(r["collection"], r["id"]): r["body"] for r in LEGACY["records"]}
    summary = run(legacy_url, seed)
    assert summary.kept == 0 and summary.corrected > 0

    revisions: dict[tuple[str, str], list[tuple[int, str, str, str]]] = {}
    for collection, record_id, revision, operation, reason, body in query(
        legacy_url, "SELECT collection, record_id, revision, operation, reason, body FROM revisions ORDER BY seq"
    ):
        revisions.setdefault((collection, record_id), []).append((revision, operation, reason, body))
    corrected = {key for key, history in revisions.items() if len(history) > 1}
    assert len(corrected) == summary.corrected
    for key, body in legacy_bodies.items():
        history = revisions[key]
        assert history[0][1:] == ("create", "seed", body)  # the previous version's revision, untouched
        assert len(history) <= 2 and all(h[1:3] == ("correct", "seed") for h in history[1:])
    stored = {(c, i): json.loads(b) for c, i, b in query(legacy_url, "SELECT collection, id, body FROM records")}
    kinds = {key[0] for key in corrected}
    assert {"round", "exchange", "track"} <= kinds
    assert all("status" in stored[k] for k in stored if k[0] == "round")
    assert all("claims" in stored[k] and "claims_differ" in stored[k] for k in stored if k[0] == "exchange")
    assert stored[("track", "istanbul-talks")]["coverage_periods"][0]["start"] == "2026-06-01"
    assert stored[("track", "istanbul-talks")]["coverage"] == "complete"

    again = run(legacy_url, seed)
    assert (again.created, again.corrected, again.kept) == (0, 0, 0)


def test_statements_of_the_previous_version_are_unchanged_unless_their_data_changed(legacy_url: str) -> None:
    run(legacy_url, seed)
    legacy = [r for r in LEGACY["records"] if r["collection"] == STATEMENTS.record_kind]
    (record_set,) = seed_record_sets()
    current = {s.external_id: s for s in record_set.statements}
    for row in legacy:
        history = query(legacy_url, "SELECT operation FROM revisions WHERE record_id = ? ORDER BY revision", (row["id"],))
        writable = STATEMENTS.writable(json.loads(row["body"]))
        expected = ["create"] if writable == msgspec.to_builtins(current[row["external_id"]]) else ["create", "correct"]
        assert [o for (o,) in history] == expected


def test_a_record_set_holds_each_record_once(seeded_url: str) -> None:
    (record_set,) = seed_record_sets()
    assert isinstance(record_set, RecordSet)
    for _, records in batches(record_set):
        keys = [getattr(r, "id", None) or getattr(r, "external_id") for r in records]
        assert len(keys) == len(set(keys))


def test_parley_seed_reports_what_it_created_and_corrected(database_url: str) -> None:
    # The command once printed created/unchanged only, hiding the corrections an upgrade makes.
    env = {"PARLEY_DATABASE_URL": database_url}
    first = parley("seed", env=env)
    assert first.returncode == 0, first.stderr
    created = int(first.stdout.split()[1].rstrip(","))
    assert created > 500 and "corrected 0," in first.stdout
    again = parley("seed", env=env)
    assert again.stdout.strip() == f"created 0, corrected 0, unchanged {created}, kept 0 changed by others since"


def test_serve_brings_a_store_of_the_previous_version_up_to_date(legacy_url: str) -> None:
    # `make run` on a store made by the previous version: the shipped data's corrections arrive
    # on start, without a separate `parley seed`, and the forecaster finds its windows.
    with running_server(legacy_url) as server:
        assert "corrected" in server.output() and "corrected 0," not in server.output()
        track = httpx.get(f"{server.url}/v1/tracks/minsk-tcg", timeout=10).json()
        assert track["coverage_periods"] and track["coverage"] == track["coverage_periods"][-1]["coverage"]
        forecast = httpx.get(f"{server.url}/v1/forecasts/tracks/minsk-tcg?as_of=2020-06-30&horizon=4", timeout=60)
        assert forecast.status_code == 200, forecast.text

"""The store: durable settings, migrations, idempotent seeding, append-only history."""

import pytest

from api import db
from api.seeding import seed


def test_store_runs_in_wal_mode_with_full_sync(seeded_url: str) -> None:
    conn = db.connect(seeded_url)
    if conn.dialect == "postgresql":
        settings = ("fsync", "synchronous_commit", "full_page_writes")
        assert [conn.execute(f"SHOW {name}").fetchone()[0] for name in settings] == ["on", "on", "on"]
        return
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_apply_once_and_record_their_version(database_url: str) -> None:
    conn = db.connect(database_url)
    latest = max(version for version, _ in db.migrations(conn.dialect))
    assert db.migrate(conn) == latest
    assert db.migrate(conn) == latest
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(db.migrations(conn.dialect))


def test_seeding_twice_creates_nothing_the_second_time(database_url: str) -> None:
    conn = db.connect(database_url)
    db.migrate(conn)
    first = seed(conn)
    second = seed(conn)
    assert first.created > 0
    assert second.created == 0 and second.unchanged == first.created + first.unchanged
    assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == first.created


def test_every_seeded_record_has_a_create_revision(seeded_url: str) -> None:
    conn = db.connect(seeded_url)
    missing = conn.execute(
        """SELECT COUNT(*) FROM records r WHERE NOT EXISTS (
             SELECT 1 FROM revisions v WHERE v.collection = r.collection AND v.record_id = r.id
             AND v.revision = r.revision AND v.operation = 'create' AND v.body = r.body)"""
    ).fetchone()[0]
    assert missing == 0


@pytest.mark.parametrize("statement", ["UPDATE revisions SET reason = 'x'", "DELETE FROM revisions"])
def test_revisions_table_refuses_changes(seeded_url: str, statement: str) -> None:
    conn = db.connect(seeded_url)
    with pytest.raises(Exception, match="append-only"):
        conn.execute(statement)
    assert conn.execute("SELECT COUNT(*) FROM revisions WHERE reason = 'x'").fetchone()[0] == 0


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    sql = "CREATE TABLE t (a INTEGER);\n-- note\nCREATE TRIGGER x BEFORE DELETE ON t\nBEGIN SELECT 1; SELECT 2; END;\n"
    assert db.split_statements(sql) == [
        "CREATE TABLE t (a INTEGER);",
        "CREATE TRIGGER x BEFORE DELETE ON t\nBEGIN SELECT 1; SELECT 2; END;",
    ]

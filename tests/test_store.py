"""The store: durable settings, migrations, idempotent seeding, append-only history."""

import pytest

from api import db
from api.seeding import seed

pytestmark = pytest.mark.anyio


async def test_store_runs_in_wal_mode_with_full_sync(conn: db.Connection) -> None:
    if conn.dialect == "postgresql":
        settings = ("fsync", "synchronous_commit", "full_page_writes")
        assert [(await conn.fetchone(f"SHOW {name}") or ())[0] for name in settings] == ["on", "on", "on"]
        return
    assert await conn.fetchone("PRAGMA journal_mode") == ("wal",)
    assert await conn.fetchone("PRAGMA synchronous") == (2,)  # FULL


async def test_migrations_apply_once_and_record_their_version(database_url: str) -> None:
    store = await db.open_store(database_url)
    async with store.connection() as conn:
        latest = max(version for version, _ in db.migrations(conn.dialect))
        assert await db.migrate(conn) == latest
        assert await db.migrate(conn) == latest
        assert await conn.fetchone("SELECT COUNT(*) FROM schema_migrations") == (len(db.migrations(conn.dialect)),)
    await store.close()


async def test_seeding_twice_creates_nothing_the_second_time(database_url: str) -> None:
    store = await db.open_store(database_url)
    async with store.connection() as conn:
        await db.migrate(conn)
        first = await seed(conn)
        second = await seed(conn)
        assert first.created > 0
        assert second.created == 0 and second.unchanged == first.created + first.unchanged
        assert await conn.fetchone("SELECT COUNT(*) FROM records") == (first.created,)
    await store.close()


async def test_every_seeded_record_has_a_create_revision(conn: db.Connection) -> None:
    missing = await conn.fetchone(
        """SELECT COUNT(*) FROM records r WHERE NOT EXISTS (
             SELECT 1 FROM revisions v WHERE v.collection = r.collection AND v.record_id = r.id
             AND v.revision = r.revision AND v.operation = 'create' AND v.body = r.body)"""
    )
    assert missing == (0,)


@pytest.mark.parametrize("statement", ["UPDATE revisions SET reason = 'x'", "DELETE FROM revisions"])
async def test_revisions_table_refuses_changes(conn: db.Connection, statement: str) -> None:
    with pytest.raises(Exception, match="append-only"):
        await conn.execute(statement)
    assert await conn.fetchone("SELECT COUNT(*) FROM revisions WHERE reason = 'x'") == (0,)


async def test_a_task_cannot_borrow_a_second_connection_while_it_holds_one(seeded_url: str) -> None:
    # Nested borrowing would deadlock on SQLite and read another transaction on PostgreSQL.
    store = await db.open_store(seeded_url)
    async with store.connection():
        with pytest.raises(RuntimeError, match="already holds"):
            async with store.connection():
                pass
    async with store.connection():  # once given back, it may borrow again
        pass
    await store.close()


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    sql = "CREATE TABLE t (a INTEGER);\n-- note\nCREATE TRIGGER x BEFORE DELETE ON t\nBEGIN SELECT 1; SELECT 2; END;\n"
    assert db.split_statements(sql) == [
        "CREATE TABLE t (a INTEGER);",
        "CREATE TRIGGER x BEFORE DELETE ON t\nBEGIN SELECT 1; SELECT 2; END;",
    ]

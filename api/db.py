"""The store's connections, for SQLite or PostgreSQL, chosen by `PARLEY_DATABASE_URL`.

One code path serves both: repositories call `conn.execute(sql, params)` with `?` placeholders
and iterate or `fetchone()` the result, as the sqlite3 module does. A PostgreSQL connection is a
thin wrapper over a psycopg 3 connection borrowed from a per-process pool; it translates `?` to
`%s` once per SQL string.

Writers are serialized the same way on both: SQLite's `BEGIN IMMEDIATE` takes the database's
write lock; on PostgreSQL `write_transaction` takes one transaction-scoped advisory lock. That
keeps `revisions.seq` in commit order (a PostgreSQL sequence alone is not: a transaction could
commit after a later one, and a mirror polling `/v1/changes` would skip it) and makes the
If-Match check under the lock correct across processes.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

MIGRATIONS_PACKAGE = "api.migrations"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
# The advisory lock every PostgreSQL writer holds until it commits (any fixed 64-bit number).
WRITE_LOCK = 0x7061726C6579  # "parley"
# Transient conflicts are retried this many times in all before the client gets a 503.
WRITE_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1

T = TypeVar("T")


class Connection(Protocol):
    """What repositories use: the sqlite3 connection API, on either dialect."""

    dialect: str
    body_bytes: str  # SQL for the `body` column as bytes

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def begin_write(self) -> None: ...
    def begin_read(self) -> None: ...
    def close(self) -> None: ...


def dialect_of(url: str) -> str:
    if url.startswith(SQLITE_PREFIX):
        return "sqlite"
    if url.startswith(POSTGRES_PREFIXES):
        return "postgresql"
    raise ValueError(f"unsupported database URL {url!r}: expected {SQLITE_PREFIX}PATH or postgresql://…")


def sqlite_path(url: str) -> Path:
    """The file behind a `sqlite:///relative` or `sqlite:////absolute` URL."""
    if not url.startswith(SQLITE_PREFIX):
        raise ValueError(f"not a SQLite URL: {url!r}")
    return Path(url[len(SQLITE_PREFIX) :])


def connect(url: str) -> Connection:
    """A connection to the store at `url`, in autocommit mode: transactions are explicit."""
    if dialect_of(url) == "sqlite":
        return _connect_sqlite(sqlite_path(url))
    return PostgresConnection(url)


# --- SQLite ------------------------------------------------------------------------------------


class SqliteConnection(sqlite3.Connection):
    dialect = "sqlite"
    # CAST to BLOB hands back the stored JSON as bytes, ready to be served without a detour via str.
    body_bytes = "CAST(body AS BLOB)"

    def begin_write(self) -> None:
        # BEGIN IMMEDIATE: a writer takes the lock up front instead of failing at COMMIT.
        self.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        self.execute("BEGIN")


def _connect_sqlite(path: Path) -> SqliteConnection:
    """WAL, `synchronous=FULL` and autocommit (isolation_level=None: the sqlite3 module must not
    open transactions behind our back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=SqliteConnection)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a COMMIT that returned is on disk, even on power loss
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn  # type: ignore[return-value]


# --- PostgreSQL --------------------------------------------------------------------------------

_pools: dict[str, Any] = {}
_pools_lock = threading.Lock()


def _pool(url: str) -> Any:
    """The process's connection pool for `url`, opened on first use."""
    from psycopg_pool import ConnectionPool

    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            pool = _pools[url] = ConnectionPool(
                url, min_size=1, max_size=8, kwargs={"autocommit": True}, open=True, name="parley",
            )
        return pool


def _forget_inherited_pools() -> None:
    # A forked worker (granian forks its workers after `parley serve` has migrated and seeded)
    # must not share the parent's sockets or use its pool threads, which do not survive fork.
    global _pools_lock
    _pools.clear()
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_inherited_pools)


def dispose(url: str) -> None:
    """Close the process's pool for `url` (tests drop their databases afterwards)."""
    with _pools_lock:
        pool = _pools.pop(url, None)
    if pool is not None:
        pool.close()


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` as `%%`); none of our SQL has a `?`
    inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresConnection:
    """A pooled psycopg connection that speaks the sqlite3 connection API the repositories use."""

    dialect = "postgresql"
    body_bytes = "convert_to(body, 'UTF8')"  # bytea, which psycopg hands back as bytes

    def __init__(self, url: str) -> None:
        self._pool = _pool(url)
        self._conn = self._pool.getconn()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        if params is None:
            return self._conn.execute(sql)
        return self._conn.execute(to_pyformat(sql), params)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any:
        cursor = self._conn.cursor()
        cursor.executemany(to_pyformat(sql), list(params))
        return cursor

    def begin_write(self) -> None:
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def begin_read(self) -> None:
        # One snapshot for every statement of the transaction, as a SQLite read transaction has.
        self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def close(self) -> None:
        if self._conn is not None:
            self._pool.putconn(self._conn)  # the pool rolls back anything left open
            self._conn = None


# --- transactions ------------------------------------------------------------------------------


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Connection]:
    """A write transaction holding the store's one write lock; rolled back on any exception."""
    conn.begin_write()
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors that a retry of the whole transaction can cure."""
    try:
        from psycopg import errors
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (errors.SerializationFailure, errors.DeadlockDetected, errors.LockNotAvailable)


class StoreBusy(Exception):
    """A write kept meeting transient conflicts; the client should retry after a pause."""


def retrying(work: Callable[[], T], attempts: int = WRITE_ATTEMPTS) -> T:
    """Run `work` (one whole transaction) again on a transient conflict, a bounded number of times."""
    retryable = transient_errors()
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except retryable as error:
            if attempt == attempts:
                raise StoreBusy(str(error)) from error
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


# --- migrations --------------------------------------------------------------------------------


def migrations(dialect: str = "sqlite") -> list[tuple[int, str]]:
    """(version, SQL) for every migration file of a dialect, in version order: `NNNN_name.sql`."""
    found = []
    for entry in resources.files(f"{MIGRATIONS_PACKAGE}.{dialect}").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: Connection) -> int:
    """Apply the migrations not yet applied, each in its own transaction; return the version.

    Check and apply happen under the write lock, so workers starting together apply each once.
    """
    with write_transaction(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    for version, sql in migrations(conn.dialect):
        with write_transaction(conn):
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
                continue
            if conn.dialect == "sqlite":
                # executescript would COMMIT our transaction first; run statement by statement.
                for statement in split_statements(sql):
                    conn.execute(statement)
            else:
                conn.execute(sql)  # psycopg sends a parameterless script as one simple query
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (version, datetime.now(UTC).isoformat()),
            )
    return schema_version(conn)


def schema_version(conn: Connection) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0])


def split_statements(sql: str) -> list[str]:
    """Split a SQLite migration into statements; `sqlite3.complete_statement` keeps triggers whole."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements

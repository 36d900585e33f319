"""The store: SQLite or PostgreSQL, chosen by `PARLEY_DATABASE_URL`, behind one async API.

One code path serves both. Code borrows a connection from the process's `Store` for one unit of
work (`async with store.connection() as conn`) and runs SQL with `?` placeholders through
`fetchall`, `fetchone`, `execute` and `executemany`:

- PostgreSQL connections come from a psycopg 3 `AsyncConnectionPool`, so a request waiting on
  the database leaves the event loop free for the others. `?` is translated to `%s` once per
  SQL string.
- SQLite connections are local and their calls take microseconds, so they run on the event
  loop itself: a hop to a thread would cost more than the query. The one wait that can be long,
  for the write lock another process holds, is a loop of short non-blocking attempts with
  `await asyncio.sleep` between them, so the worker keeps serving reads on its other
  connections meanwhile.

Writers are serialized the same way on both: SQLite's `BEGIN IMMEDIATE` takes the database's
write lock; on PostgreSQL `write_transaction` takes one transaction-scoped advisory lock. That
keeps `revisions.seq` in commit order (a PostgreSQL sequence alone is not: a transaction could
commit after a later one, and a mirror polling `/v1/changes` would skip it) and makes the
If-Match check under the lock correct across processes.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

MIGRATIONS_PACKAGE = "api.migrations"
SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
# The advisory lock every PostgreSQL writer holds until it commits (any fixed 64-bit number).
WRITE_LOCK = 0x7061726C6579  # "parley"
# Transient conflicts are retried this many times in all before the client gets a 503.
WRITE_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1
# PostgreSQL connections per worker process; a request waits this long for a free one.
DEFAULT_POOL_SIZE = 10
POOL_TIMEOUT_SECONDS = 10.0
# SQLite connections per process: one serves everything unless a writer waits for the lock.
SQLITE_CONNECTIONS = 4
# How long a writer waits for the write lock (per attempt on PostgreSQL) before giving up: a
# long import elsewhere makes writes answer 503 rather than hang.
WRITE_LOCK_TIMEOUT_SECONDS = 10.0
BUSY_TIMEOUT_MS = int(WRITE_LOCK_TIMEOUT_SECONDS * 1000)

T = TypeVar("T")
Row = tuple[Any, ...]


class Connection(Protocol):
    """What repositories use, on either dialect. `params=None` sends `sql` as a script (no
    placeholders; PostgreSQL runs several statements in one simple query)."""

    dialect: str
    body_bytes: str  # SQL for the `body` column as bytes

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    async def execute(self, sql: str, params: Sequence[Any] | None = ()) -> int: ...  # rows changed
    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None: ...
    async def begin_write(self) -> None: ...
    async def begin_read(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


class Store(Protocol):
    """A process's handle on the database: lends connections, one unit of work at a time."""

    url: str
    dialect: str

    def connection(self) -> AbstractAsyncContextManager[Connection]: ...
    async def close(self) -> None: ...


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


async def open_store(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Store:
    """The store at `url`, ready to lend connections. Close it when done."""
    if dialect_of(url) == "sqlite":
        return SqliteStore(url)
    return await PostgresStore.open(url, pool_size)


async def _borrow_and_run(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    store = await open_store(url, pool_size=2)
    try:
        return await work(store)
    finally:
        await store.close()


def run_on_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """`work(store)` from synchronous code (the command line, tests), on a store opened for it."""
    return asyncio.run(_borrow_and_run(url, work))


def run_on_connection(url: str, work: Callable[[Connection], Awaitable[T]]) -> T:
    """`work(conn)` from synchronous code, on one connection borrowed for it."""

    async def borrowing(store: Store) -> T:
        async with store.connection() as conn:
            return await work(conn)

    return run_on_store(url, borrowing)


class Borrowers:
    """The tasks holding one of a store's connections. A task that borrows a second would not see
    the first one's transaction (and, with every connection lent, would wait forever): code that
    holds a connection passes it down instead, and a second borrow fails loudly."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @contextmanager
    def one_each(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is None:  # not inside a task: nothing to tell borrowers apart by
            yield
            return
        if task in self._tasks:
            raise RuntimeError("this task already holds one of the store's connections")
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)


# --- SQLite ------------------------------------------------------------------------------------


class SqliteConnection:
    """sqlite3, called directly from the event loop (see the module docstring)."""

    dialect = "sqlite"
    # CAST to BLOB hands back the stored JSON as bytes, ready to be served without a detour via str.
    body_bytes = "CAST(body AS BLOB)"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.raw.execute(sql, params).fetchall()

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.raw.execute(sql, params).fetchone()
        return row

    async def execute(self, sql: str, params: Sequence[Any] | None = ()) -> int:
        cursor = self.raw.execute(sql) if params is None else self.raw.execute(sql, params)
        return cursor.rowcount

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        self.raw.executemany(sql, params)

    async def begin_write(self) -> None:
        """BEGIN IMMEDIATE: a writer takes the lock up front instead of failing at COMMIT.

        SQLite's own busy wait would block the event loop for as long as another process holds
        the lock, so the attempt is made without one and repeated after short async sleeps.
        """
        deadline = time.monotonic() + WRITE_LOCK_TIMEOUT_SECONDS
        pause = 0.001
        self.raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    self.raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes included
                        raise
                    if time.monotonic() >= deadline:
                        raise StoreBusy("the SQLite write lock stayed taken") from error
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            self.raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    async def begin_read(self) -> None:
        self.raw.execute("BEGIN")

    async def commit(self) -> None:
        self.raw.execute("COMMIT")

    async def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """WAL, `synchronous=FULL` and autocommit (isolation_level=None: the sqlite3 module must not
    open transactions behind our back)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a COMMIT that returned is on disk, even on power loss
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # for the rare wait outside begin_write
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SqliteStore:
    """A few connections, each lent to one task at a time, opened as they are needed.

    A borrower that never waits (every read, and a write once it has the lock) runs to the end
    without yielding the loop, so one connection serves them all; a second is opened only while
    a writer waits for the lock.
    """

    dialect = "sqlite"

    def __init__(self, url: str, size: int = SQLITE_CONNECTIONS) -> None:
        self.url = url
        self._path = sqlite_path(url)
        # LIFO: the most recently used connection, whose page cache is warm, is lent first.
        self._idle: asyncio.LifoQueue[SqliteConnection] = asyncio.LifoQueue()
        self._idle.put_nowait(SqliteConnection(connect_sqlite(self._path)))
        self._opened, self._size = 1, size
        self._borrowers = Borrowers()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        with self._borrowers.one_each():
            if self._idle.empty() and self._opened < self._size:
                self._opened += 1
                self._idle.put_nowait(SqliteConnection(connect_sqlite(self._path)))
            conn = await self._idle.get()
            try:
                yield conn
            finally:
                await conn.rollback()  # whatever the borrower left open
                self._idle.put_nowait(conn)

    async def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().raw.close()


# --- PostgreSQL --------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` as `%%`); none of our SQL has a `?`
    inside a string literal."""
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresConnection:
    """A pooled psycopg `AsyncConnection` (autocommit: transactions are explicit)."""

    dialect = "postgresql"
    body_bytes = "convert_to(body, 'UTF8')"  # bytea, which psycopg hands back as bytes

    def __init__(self, conn: Any) -> None:
        self.raw = conn

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = await self.raw.execute(to_pyformat(sql), params)
        rows: list[Row] = await cursor.fetchall()
        return rows

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = await self.raw.execute(to_pyformat(sql), params)
        row: Row | None = await cursor.fetchone()
        return row

    async def execute(self, sql: str, params: Sequence[Any] | None = ()) -> int:
        if params is None:
            cursor = await self.raw.execute(sql)
        else:
            cursor = await self.raw.execute(to_pyformat(sql), params)
        return int(cursor.rowcount)

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        async with self.raw.cursor() as cursor:
            await cursor.executemany(to_pyformat(sql), list(params))

    async def begin_write(self) -> None:
        await self.raw.execute("BEGIN")
        # A wait past the timeout fails with LockNotAvailable, which `retrying` retries and then
        # answers 503 (SET LOCAL takes no parameters, hence the literal).
        await self.raw.execute(f"SET LOCAL lock_timeout = {int(WRITE_LOCK_TIMEOUT_SECONDS * 1000)}")
        await self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    async def begin_read(self) -> None:
        # One snapshot for every statement of the transaction, as a SQLite read transaction has.
        await self.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    async def commit(self) -> None:
        await self.raw.execute("COMMIT")

    async def rollback(self) -> None:
        await self.raw.execute("ROLLBACK")


class PostgresStore:
    """A pool of psycopg async connections, opened in the event loop that will use it."""

    dialect = "postgresql"

    def __init__(self, url: str, pool: AsyncConnectionPool[Any]) -> None:
        self.url = url
        self._pool = pool
        self._borrowers = Borrowers()

    @classmethod
    async def open(cls, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> PostgresStore:
        pool = AsyncConnectionPool(
            url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=False, name="parley",
            timeout=POOL_TIMEOUT_SECONDS,
        )
        await pool.open(wait=True)
        return cls(url, pool)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        with self._borrowers.one_each():
            try:
                conn = await self._pool.getconn()
            except PoolTimeout as error:
                # Every connection stayed busy: the client should come back shortly, not see a 500.
                raise StoreBusy(str(error)) from error
            try:
                yield PostgresConnection(conn)
            finally:
                await self._pool.putconn(conn)  # the pool rolls back whatever the borrower left open

    async def close(self) -> None:
        await self._pool.close()


# --- transactions ------------------------------------------------------------------------------


@asynccontextmanager
async def write_transaction(conn: Connection) -> AsyncIterator[Connection]:
    """A write transaction holding the store's one write lock; rolled back on any exception."""
    await conn.begin_write()
    try:
        yield conn
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()


@asynccontextmanager
async def read_transaction(conn: Connection) -> AsyncIterator[Connection]:
    """Several reads that see one state of the store."""
    await conn.begin_read()
    try:
        yield conn
    finally:
        await conn.rollback()  # nothing to keep: the transaction only read


# Errors that a retry of the whole transaction can cure.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    pg_errors.SerializationFailure, pg_errors.DeadlockDetected, pg_errors.LockNotAvailable,
)


class StoreBusy(Exception):
    """The store stayed busy (conflicting writes, or no free connection); retry after a pause.
    The app answers it with a 503 and Retry-After."""


async def retrying(work: Callable[[], Awaitable[T]], attempts: int = WRITE_ATTEMPTS) -> T:
    """Run `work` (one whole transaction) again on a transient conflict, a bounded number of times."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except TRANSIENT_ERRORS as error:
            if attempt == attempts:
                raise StoreBusy(str(error)) from error
            await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


# --- migrations --------------------------------------------------------------------------------


def migrations(dialect: str = "sqlite") -> list[tuple[int, str]]:
    """(version, SQL) for every migration file of a dialect, in version order: `NNNN_name.sql`."""
    found = []
    for entry in resources.files(f"{MIGRATIONS_PACKAGE}.{dialect}").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: Connection) -> int:
    """Apply the migrations not yet applied, each in its own transaction; return the version.

    Check and apply happen under the write lock, so workers starting together apply each once.
    """
    async with write_transaction(conn):
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
    for version, sql in migrations(conn.dialect):
        async with write_transaction(conn):
            if await conn.fetchone("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)):
                continue
            if conn.dialect == "sqlite":
                # executescript would COMMIT our transaction first; run statement by statement.
                for statement in split_statements(sql):
                    await conn.execute(statement, None)
            else:
                await conn.execute(sql, None)  # one simple query holding the whole script
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (version, datetime.now(UTC).isoformat()),
            )
    return await schema_version(conn)


async def schema_version(conn: Connection) -> int:
    row = await conn.fetchone("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    assert row is not None
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

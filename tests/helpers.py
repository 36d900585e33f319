"""Small helpers shared by test modules (pytest's importlib mode cannot import conftest)."""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from api import db

# The backend under test: `pytest --backend postgresql` (conftest sets this for helpers).
BACKEND_ENV = "PARLEY_TEST_BACKEND"
# A PostgreSQL server where tests may create and drop databases of their own.
POSTGRES_ADMIN_URL = os.environ.get("PARLEY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def backend() -> str:
    return os.environ.get(BACKEND_ENV, "sqlite")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def postgres_url(database: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def create_postgres_database(template: str | None = None) -> str:
    """A new, empty (or templated) PostgreSQL database; returns its URL."""
    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return postgres_url(name)


def drop_postgres_database(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement, through a connection of its own, on either backend."""
    return db.run_on_connection(url, lambda conn: conn.fetchall(sql, params))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`parley serve` in its own process group on loopback, so a test can SIGKILL all of it."""

    def __init__(self, database_url: str, workers: int = 1) -> None:
        self.database_url, self.workers, self.port = database_url, workers, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PARLEY_DATABASE_URL": self.database_url, "PARLEY_RATE_LIMIT_PER_MINUTE": "1000000"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not start within 30 s")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown hooks, no flushing, like a power cut."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def running_server(database_url: str, workers: int = 1) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, workers)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def write_lock_held_elsewhere(url: str) -> Iterator[None]:
    """Another writer (a bulk import in another process, say) holds the store's write lock."""
    import sqlite3

    import psycopg

    if db.dialect_of(url) == "sqlite":
        outside = sqlite3.connect(db.sqlite_path(url), isolation_level=None)
        outside.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            outside.execute("COMMIT")
            outside.close()
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (db.WRITE_LOCK,))
        try:
            yield
        finally:
            conn.execute("COMMIT")

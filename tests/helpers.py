"""Small helpers shared by test modules (pytest's importlib mode cannot import conftest)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
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


# The console script `make run` starts, installed beside this interpreter.
PARLEY = Path(sys.executable).with_name("parley")


def parley(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the `parley` command to completion; its output is returned, not printed."""
    return subprocess.run([str(PARLEY), *args], env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


class ServerProcess:
    """`parley serve` in its own process group on loopback, started as `make run` starts it, so a
    test can stop it as a user would (SIGTERM) or SIGKILL all of it. Its output goes to `log`."""

    def __init__(self, database_url: str, workers: int = 1, env: dict[str, str] | None = None,
                 port: int | None = None) -> None:
        self.database_url, self.workers, self.port = database_url, workers, port or free_port()
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="parley-serve-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, "PARLEY_DATABASE_URL": self.database_url, "PARLEY_RATE_LIMIT_PER_MINUTE": "1000000",
               **self.env}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(PARLEY), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start within {timeout:g} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def terminate(self, timeout: float) -> int | None:
        """SIGTERM to the server, as a service manager stops it; its exit code, or None when it
        was still running after `timeout` seconds (it is then killed)."""
        assert self.process is not None
        self.process.terminate()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code

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
def running_server(database_url: str, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url, workers, env)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        server.log.unlink(missing_ok=True)


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

"""Small helpers shared by test modules (pytest's importlib mode cannot import conftest)."""

from pathlib import Path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`parley serve` in its own process group on loopback, so a test can SIGKILL all of it."""

    def __init__(self, database: Path, workers: int = 1) -> None:
        self.database, self.workers, self.port = database, workers, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PARLEY_DATABASE_URL": sqlite_url(self.database),
               "PARLEY_RATE_LIMIT_PER_MINUTE": "1000000"}
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
def running_server(database: Path, workers: int = 1) -> Iterator[ServerProcess]:
    server = ServerProcess(database, workers)
    server.start()
    try:
        yield server
    finally:
        server.kill()

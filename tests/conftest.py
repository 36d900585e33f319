"""Fixtures build real apps over real temporary SQLite files; nothing of ours is mocked."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import sqlite_url
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.app import create_app
from api.keys import KeyRepository, Scope
from api.seeding import seed
from api.settings import Settings, get_settings


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "parley.db"


@pytest.fixture
def seeded_path(database_path: Path) -> Path:
    conn = db.connect(database_path)
    db.migrate(conn)
    seed(conn)
    conn.close()
    return database_path


@pytest.fixture
def app(seeded_path: Path) -> Litestar:
    return create_app(Settings(database_url=sqlite_url(seeded_path)))


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(seeded_path: Path) -> dict[str, str]:
    """A live `write` key, a live `admin` key and a revoked `write` key, as full tokens."""
    conn = db.connect(seeded_path)
    repository = KeyRepository(conn)
    _, write = repository.create("test writer", Scope.WRITE)
    _, admin = repository.create("test admin", Scope.ADMIN)
    revoked_key, revoked = repository.create("revoked", Scope.WRITE)
    repository.revoke(revoked_key.id)
    conn.close()
    return {"write": write, "admin": admin, "revoked": revoked}


@pytest.fixture
def cli_store(seeded_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A seeded store that the `parley` command finds through PARLEY_DATABASE_URL."""
    monkeypatch.setenv("PARLEY_DATABASE_URL", sqlite_url(seeded_path))
    get_settings.cache_clear()
    yield seeded_path
    get_settings.cache_clear()

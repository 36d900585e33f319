"""Fixtures build real apps over real temporary SQLite files; nothing of ours is mocked."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.app import create_app
from api.seeding import seed
from api.settings import Settings


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


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

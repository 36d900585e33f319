"""Fixtures build real apps over real, fresh stores; nothing of ours is mocked.

`--backend sqlite` (the default) gives each test a temporary SQLite file; `--backend postgresql`
gives each test a PostgreSQL database of its own, and drops it afterwards. Seeded stores are
copied from a migrated and seeded template made once per session, on either backend.
"""

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from helpers import (
    BACKEND_ENV,
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.app import create_app
from api.keys import KeyRepository, Scope
from api.seeding import seed
from api.settings import Settings, get_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--backend", choices=["sqlite", "postgresql"], default=os.environ.get(BACKEND_ENV, "sqlite"),
                     help="the store the suite runs against")


def pytest_configure(config: pytest.Config) -> None:
    os.environ[BACKEND_ENV] = config.getoption("--backend")


def pytest_report_header(config: pytest.Config) -> str:
    return f"parley backend: {config.getoption('--backend')}"


def migrate_and_seed(url: str) -> None:
    async def prepare(conn: db.Connection) -> None:
        await db.migrate(conn)
        await seed(conn)

    db.run_on_connection(url, prepare)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated, seeded database that each test's database is copied from."""
    url = create_postgres_database()
    migrate_and_seed(url)  # its connections are closed again: a template must have none while copied
    yield url.rsplit("/", 1)[1]
    drop_postgres_database(url)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store, not yet migrated."""
    if request.config.getoption("--backend") == "sqlite":
        yield sqlite_url(tmp_path / "parley.db")
        return
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded SQLite file that each test's store is copied from. Its store is closed
    after seeding, which checkpoints the WAL into the file, so the file alone is the whole store."""
    path = tmp_path_factory.mktemp("template") / "parley.db"
    migrate_and_seed(sqlite_url(path))
    assert not path.with_name("parley.db-wal").exists()
    return path


@pytest.fixture
def seeded_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated store holding the seed records."""
    if request.config.getoption("--backend") == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "parley.db")
        yield sqlite_url(tmp_path / "parley.db")
        return
    url = create_postgres_database(template=request.getfixturevalue("postgres_template"))
    yield url
    drop_postgres_database(url)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (`pytest.mark.anyio`) run on asyncio, as the server does."""
    return "asyncio"


@pytest.fixture
async def conn(seeded_url: str) -> AsyncIterator[db.Connection]:
    """A connection to the seeded store, for async tests that talk to it directly."""
    store = await db.open_store(seeded_url)
    async with store.connection() as connection:
        yield connection
    await store.close()


@pytest.fixture
def app(seeded_url: str) -> Litestar:
    return create_app(Settings(database_url=seeded_url))


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(seeded_url: str) -> dict[str, str]:
    """A live `write` key, a live `admin` key and a revoked `write` key, as full tokens."""

    async def create(conn: db.Connection) -> dict[str, str]:
        repository = KeyRepository(conn)
        _, write = await repository.create("test writer", Scope.WRITE)
        _, admin = await repository.create("test admin", Scope.ADMIN)
        revoked_key, revoked = await repository.create("revoked", Scope.WRITE)
        await repository.revoke(revoked_key.id)
        return {"write": write, "admin": admin, "revoked": revoked}

    return db.run_on_connection(seeded_url, create)


@pytest.fixture
def cli_store(seeded_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A seeded store that the `parley` command finds through PARLEY_DATABASE_URL."""
    monkeypatch.setenv("PARLEY_DATABASE_URL", seeded_url)
    get_settings.cache_clear()
    yield seeded_url
    get_settings.cache_clear()

"""Schemathesis against every operation: all checks, all phases (examples, coverage, fuzzing and
stateful), with fixed seeds so a run is reproducible. Zero failures is the bar, and a 409, 412,
422 or 428 to schema-valid input counts as a failure unless its problem `type` is a rule the
operation documents (`problem_rules.py`).

The app runs in-process over a real, seeded temporary store of the backend under test.
"""

import atexit
import sqlite3
import tempfile
import tomllib
from pathlib import Path

import hypothesis
import schemathesis
from helpers import (
    backend,
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)
from schemathesis.config import SchemathesisConfig

from api import db
from api.app import create_app
from api.keys import KeyRepository, Scope
from api.seeding import seed
from api.settings import Settings

# Registers `documented_rules_only`, which every run below applies with the built-in checks.
from contract import problem_rules  # noqa: F401

SEED = 20260607
SECOND_SEED = 4242


TABLES = ("records", "record_actors", "revisions", "api_keys", "idempotency_entries")


def seeded_store() -> tuple[str, str]:
    """A seeded temporary store and an admin key for it (admin may call every operation), with a
    pristine copy to restore: a SQLite file beside it, or a `pristine` schema in the database."""
    # Module-level because schemathesis collects one test per operation at import time.
    if backend() == "sqlite":
        url = sqlite_url(Path(tempfile.mkdtemp(prefix="parley-contract-")) / "parley.db")
    else:
        url = create_postgres_database()
        atexit.register(drop_postgres_database, url)

    async def prepare(conn: db.Connection) -> str:
        await db.migrate(conn)
        await seed(conn)
        _, token = await KeyRepository(conn).create("schemathesis", Scope.ADMIN)
        if conn.dialect == "postgresql":
            await conn.execute("CREATE SCHEMA pristine")
            for table in TABLES:
                await conn.execute(f"CREATE TABLE pristine.{table} AS SELECT * FROM public.{table}")
        return token

    token = db.run_on_connection(url, prepare)
    if backend() == "sqlite":
        path = db.sqlite_path(url)
        live, pristine = sqlite3.connect(path), sqlite3.connect(path.with_name("pristine.db"))
        live.backup(pristine)
        live.close()
        pristine.close()
    return url, token


DATABASE_URL, ADMIN_KEY = seeded_store()
SETTINGS_FILE = Path(__file__).with_name("schemathesis.toml")


def contract_config(seed: int, max_examples: int, fuzzing_only: bool = False) -> SchemathesisConfig:
    """The shared settings file (also read by a hand-run of the CLI), with this run's seed and
    size, and the admin key. The file's `hooks` is the check that `problem_rules` registers on
    import, so it is dropped here. `fuzzing_only`: the examples and coverage phases draw the same
    cases whatever the seed, so another seed only changes what fuzzing sends."""
    shared = tomllib.loads(SETTINGS_FILE.read_text(encoding="utf-8"))
    shared.pop("hooks")
    phases = {"examples": {"enabled": False}, "coverage": {"enabled": False}} if fuzzing_only else {}
    return SchemathesisConfig.from_dict({
        **shared,
        **({"phases": phases} if phases else {}),
        "seed": seed,
        "generation": {"deterministic": True, "max-examples": max_examples},
        # OpenAPI-aware auth: the key goes only where the schema asks for it, so `ignored_auth`
        # can tell a valid credential from the invalid ones it generates.
        "auth": {"openapi": {"apiKey": {"bearer": ADMIN_KEY}}},
    })


# The rate limit is exercised by its own tests; here it would only turn fuzzing into 429s.
app = create_app(Settings(database_url=DATABASE_URL, rate_limit_per_minute=1_000_000))
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=contract_config(SEED, 60))
# A second seed explores other inputs on every run: fuzzing only, and smaller, to keep the suite's
# time in check (the CLI runs every phase with both seeds: README, "The HTTP contract").
second_schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app,
                                               config=contract_config(SECOND_SEED, 25, fuzzing_only=True))


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()


@second_schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_conforms_with_a_second_seed(case: schemathesis.Case) -> None:
    case.call_and_validate()


def restore_seeded_state() -> None:
    """Put the store back to its seeded state. Scenarios write, and Hypothesis replays each
    scenario while shrinking; it needs every replay to start from the same data."""
    # Through a connection of its own: the app's is opened and closed by its lifespan.
    if backend() == "sqlite":
        path = db.sqlite_path(DATABASE_URL)
        pristine, live = sqlite3.connect(path.with_name("pristine.db")), sqlite3.connect(path)
        pristine.backup(live)
        pristine.close()
        live.close()
        return

    async def restore(conn: db.Connection) -> None:
        async with db.write_transaction(conn):
            # Replica mode silences the append-only triggers for this one restoring transaction.
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
            for table in TABLES:
                overriding = " OVERRIDING SYSTEM VALUE" if table == "revisions" else ""
                await conn.execute(f"INSERT INTO {table}{overriding} SELECT * FROM pristine.{table}")

    db.run_on_connection(DATABASE_URL, restore)


class Workflows(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        restore_seeded_state()


TestStatefulWorkflows = Workflows.TestCase
TestStatefulWorkflows.settings = hypothesis.settings(
    max_examples=100, stateful_step_count=10, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)

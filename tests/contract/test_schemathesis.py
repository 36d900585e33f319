"""Schemathesis against every operation: all checks, all phases (examples, coverage, fuzzing and
stateful), with a fixed seed so a run is reproducible. Zero failures is the bar.

The app runs in-process over a real, seeded temporary store of the backend under test.
"""

import atexit
import sqlite3
import tempfile
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

SEED = 20260607


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
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        # A cold backtest takes seconds on a loaded 2-core machine; the default 10 s per request
        # has been seen to run out. Slowness is measured in bench/, not failed here.
        "request-timeout": 60,
        "generation": {"deterministic": True, "max-examples": 60},
        # OpenAPI-aware auth: the key goes only where the schema asks for it, so `ignored_auth`
        # can tell a valid credential from the invalid ones it generates.
        "auth": {"openapi": {"apiKey": {"bearer": ADMIN_KEY}}},
        # Every built-in check runs (ignored_auth and use_after_free included); two have their
        # expected statuses widened, each for a rule that OpenAPI cannot express:
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": [
                    "2xx", "401", "403", "404", "409", "429",
                    # 412/428: a schema-valid If-Match can still be stale, and the header is
                    # required for corrections although it is optional for the other operations.
                    "412", "428",
                    # 422: a schema-valid body can name records that do not exist (referential
                    # integrity), or break a cross-field rule such as end_date >= date.
                    "422",
                ]
            },
            "missing_required_header": {"expected-statuses": ["400", "401", "403", "406", "415", "422", "428"]},
        },
        # A record's history outlives its retraction by design (README, "Writing records"): after
        # DELETE /v1/<collection>/{id}, GET …/{id}/revisions answers 200 with the delete revision
        # last. use_after_free stays on for every other operation.
        "operations": [
            {"include-path-regex": "/revisions$", "checks": {"use_after_free": {"enabled": False}}},
        ],
    }
)

# The rate limit is exercised by its own tests; here it would only turn fuzzing into 429s.
app = create_app(Settings(database_url=DATABASE_URL, rate_limit_per_minute=1_000_000))
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=CONFIG)


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case) -> None:
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

"""Schemathesis against every operation: all checks, all phases (examples, coverage, fuzzing and
stateful), with a fixed seed so a run is reproducible. Zero failures is the bar.

The app runs in-process over a real, seeded temporary SQLite file.
"""

import tempfile
from pathlib import Path

import hypothesis
import schemathesis
from schemathesis.config import SchemathesisConfig

from api import db
from api.app import create_app
from api.seeding import seed
from api.settings import Settings

SEED = 20260607


def seeded_app_url() -> str:
    # Module-level because schemathesis collects one test per operation at import time.
    path = Path(tempfile.mkdtemp(prefix="parley-contract-")) / "parley.db"
    conn = db.connect(path)
    db.migrate(conn)
    seed(conn)
    conn.close()
    return f"sqlite:///{path}"


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"deterministic": True, "max-examples": 60},
        # Every built-in check is on by default; none is switched off here.
        "checks": {},
    }
)

app = create_app(Settings(database_url=seeded_app_url()))
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=CONFIG)


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate()


APIWorkflow = schema.as_state_machine()
TestStatefulWorkflows = APIWorkflow.TestCase
TestStatefulWorkflows.settings = hypothesis.settings(
    max_examples=100, stateful_step_count=10, deadline=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)

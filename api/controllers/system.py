"""Liveness and readiness."""

from litestar import get
from litestar.di import NamedDependency

from api.problems import problem_responses
from api.reads import ReadService
from schemas.pages import Health


@get("/health", operation_id="getHealth", tags=["system"], responses=problem_responses(400), opt={"public": True})
async def health(reads: NamedDependency[ReadService]) -> Health:
    """Whether the API and its store answer."""
    return Health(status="ok", database=reads.records.conn.dialect, schema_version=reads.records.schema_version())

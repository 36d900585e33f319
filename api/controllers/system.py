"""Liveness and readiness."""

from litestar import get
from litestar.di import NamedDependency

from api.problems import problem_responses
from api.reads import ReadService
from schemas.pages import Health


@get("/health", operation_id="getHealth", tags=["system"], responses=problem_responses(400, 503), opt={"public": True})
async def health(reads: NamedDependency[ReadService]) -> Health:
    """Whether the API and its store answer."""
    async with reads.repository() as records:
        version = await records.schema_version()
    return Health(status="ok", database=reads.store.dialect, schema_version=version)

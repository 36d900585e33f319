"""The single wiring point: `create_app()` returns the Litestar application."""

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Tag

from api import db
from api.controllers.records import (
    ActorController,
    ExchangeController,
    FrontController,
    FrontReportController,
    RoundController,
    SourceController,
    StatementController,
    TrackController,
)
from api.controllers.system import health
from api.controllers.timeline import timeline
from api.problems import problem_details_plugin
from api.query_guard import reject_undeclared_query
from api.reads import ReadService
from api.settings import Settings, get_settings, sqlite_path
from api.store import RecordRepository

API_VERSION = "0.1.0"


def provide_reads(state: State) -> ReadService:
    return state.reads


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Parley",
        version=API_VERSION,
        description="Typed records of the Russia–Ukraine war's diplomacy and front lines: negotiation tracks, "
        "rounds, exchanges, statements and front reports, with as-of reads and cursor paging.",
        path="/schema",
        tags=[
            Tag(name="negotiations", description="Tracks, rounds, exchanges and statements."),
            Tag(name="fronts", description="Front-line axes and reports on them."),
            Tag(name="timeline", description="Every event record in one date-ordered feed."),
            Tag(name="reference", description="Actors and sources."),
            Tag(name="system", description="Health."),
        ],
        use_handler_docstrings=True,
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app over the configured store; migrations run when it starts."""
    settings = settings or get_settings()

    def open_store(app: Litestar) -> None:
        conn = db.connect(sqlite_path(settings.database_url))
        db.migrate(conn)
        app.state.conn = conn
        app.state.reads = ReadService(RecordRepository(conn))

    def close_store(app: Litestar) -> None:
        app.state.conn.close()

    return Litestar(
        route_handlers=[
            ActorController, SourceController, FrontController, FrontReportController, TrackController,
            RoundController, ExchangeController, StatementController, timeline, health,
        ],
        dependencies={"reads": Provide(provide_reads, sync_to_thread=False)},
        before_request=reject_undeclared_query,
        on_startup=[open_store],
        on_shutdown=[close_store],
        plugins=[problem_details_plugin()],
        openapi_config=openapi_config(),
        cors_config=CORSConfig(allow_origins=["*"], allow_methods=["GET", "OPTIONS"]),
        debug=False,
    )

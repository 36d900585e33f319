"""The single wiring point: `create_app()` returns the Litestar application."""

from typing import Any

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, License, SecurityScheme, Tag

from api import db
from api.allow_header import AllowHeaderMiddleware
from api.auth import ApiKeyMiddleware, rate_limit_identity, require_any_key
from api.cache_control import CacheControlMiddleware
from api.controllers.changes import changes
from api.controllers.forecasts import ForecastController
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
from api.forecasts import ForecastService
from api.head_requests import HeadAsGet
from api.openapi_extras import complete_document
from api.problems import EXCEPTION_HANDLERS, problem_details_plugin
from api.rate_limit import RetryAfterRateLimitMiddleware, rate_limit_header_docs
from api.reads import ReadService
from api.request_checks import check_request
from api.settings import Settings, get_settings
from api.timeouts import DEFAULT, RequestTimeoutMiddleware
from api.writes import WriteService

# Request bodies are single records; anything larger is refused with 413 before it is read.
MAX_BODY_BYTES = 64 * 1024

API_VERSION = "0.1.0"


def provide_reads(state: State) -> ReadService:
    return state.reads


def provide_writes(state: State) -> WriteService:
    return state.writes


def provide_forecasts(state: State) -> ForecastService:
    return state.forecasts


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Parley",
        version=API_VERSION,
        description="Typed records of the Russia–Ukraine war's diplomacy and front lines: negotiation tracks, "
        "rounds, exchanges, statements and front reports, with as-of reads and cursor paging.",
        path="/schema",
        license=License(name="MIT", identifier="MIT"),
        tags=[
            Tag(name="negotiations", description="Tracks, rounds, exchanges and statements."),
            Tag(name="fronts", description="Front-line axes and reports on them."),
            Tag(name="timeline", description="Every event record in one date-ordered feed."),
            Tag(name="reference", description="Actors and sources."),
            Tag(name="changes", description="The revision feed for mirrors."),
            Tag(name="forecasts", description="Will a track hold its next round within H weeks? Model, scenarios, backtest."),
            Tag(name="system", description="Health."),
        ],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="plk_<id>_<secret>",
                    description="An API key from `parley keys create`, sent as `Authorization: Bearer …`.",
                )
            }
        ),
    )


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app over the configured store; migrations run when it starts."""
    settings = settings or get_settings()

    async def open_store(app: Litestar) -> None:
        store = await db.open_store(settings.database_url, settings.pool_size)
        async with store.connection() as conn:
            await db.migrate(conn)
        app.state.store = store
        app.state.settings = settings
        app.state.reads = ReadService(store)
        app.state.writes = WriteService(store)
        app.state.forecasts = ForecastService(store)

    async def close_store(app: Litestar) -> None:
        await app.state.store.close()

    def read_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        # Every operation needs some key (writes check their scope on top); /health and the
        # OpenAPI document stay public so probes and integrators can reach them.
        public = handler.opt.get("public") is True or connection.url.path.startswith("/schema")
        if not public and connection.scope.get("method") != "OPTIONS":
            require_any_key(connection, handler)

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        identifier_for_request=rate_limit_identity,
        middleware_class=RetryAfterRateLimitMiddleware,
        exclude=["/health"],
    )
    rate_limit_headers = rate_limit_header_docs(rate_limit)

    app = Litestar(
        route_handlers=[
            ActorController, SourceController, FrontController, FrontReportController, TrackController,
            RoundController, ExchangeController, StatementController, timeline, changes, health,
            ForecastController,
        ],
        dependencies={
            "reads": Provide(provide_reads, sync_to_thread=False),
            "writes": Provide(provide_writes, sync_to_thread=False),
            "forecasts": Provide(provide_forecasts, sync_to_thread=False),
        },
        guards=[read_guard] if settings.reads_require_key else [],
        middleware=[
            # Outermost, so the limit covers key checks and rate limiting too.
            RequestTimeoutMiddleware({DEFAULT: settings.request_timeout, "backtest": settings.backtest_timeout}),
            AllowHeaderMiddleware(), ApiKeyMiddleware(), rate_limit.middleware, CacheControlMiddleware(),
        ],
        request_max_body_size=MAX_BODY_BYTES,
        before_request=check_request,
        on_startup=[open_store],
        on_shutdown=[close_store],
        plugins=[problem_details_plugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        cors_config=CORSConfig(
            allow_origins=["*"], allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"],
            expose_headers=["ETag", "Location", "Link", "Retry-After", *rate_limit_headers],
        ),
        # Brotli where the client accepts it, else gzip; small bodies (a single record) go as they are.
        compression_config=CompressionConfig(backend="brotli", gzip_fallback=True, minimum_size=1024),
        debug=False,
    )
    # Outside the router: Litestar would answer HEAD with 405 before any middleware runs.
    app.asgi_handler = HeadAsGet(app.asgi_handler)
    complete_document(app, rate_limit_headers=rate_limit_headers, unlimited_paths=rate_limit.exclude or (),
                      reads_require_key=settings.reads_require_key)
    return app

"""List and get for the eight record collections."""

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.collections import (
    ACTORS,
    EXCHANGES,
    FRONT_REPORTS,
    FRONTS,
    ROUNDS,
    SOURCES,
    STATEMENTS,
    TRACKS,
)
from api.controllers.common import (
    GET_PROBLEMS,
    LIST_HEADERS,
    LIST_PROBLEMS,
    NOT_MODIFIED,
    RECORD_HEADERS,
    ActorIdPath,
    ExchangeIdPath,
    FrontIdPath,
    FrontReportIdPath,
    IfNoneMatch,
    RoundIdPath,
    SourceIdPath,
    StatementIdPath,
    TrackIdPath,
    list_response,
    record_response,
)
from api.controllers.writes import write_operations
from api.intensity import front_intensity
from api.params import (
    ActorFilter,
    AsOf,
    Cursor,
    DateFrom,
    DateTo,
    Everything,
    Format,
    FrontFilter,
    Limit,
    TextSearch,
    TrackFilter,
)
from api.problems import problem_responses
from api.reads import ReadService
from api.store import ListQuery
from schemas.pages import (
    ActorPage,
    ExchangePage,
    FrontPage,
    FrontReportPage,
    RoundPage,
    SourcePage,
    StatementPage,
    TrackPage,
)
from schemas.records import (
    Actor,
    Exchange,
    Front,
    FrontReport,
    Round,
    Source,
    Statement,
    Track,
)
from schemas.series import FrontIntensity, Interval
from schemas.vocab import (
    ActorKind,
    Coverage,
    ExchangeKind,
    ExchangeStatus,
    FrontStatus,
    Outcome,
    RoundStatus,
    StatementKind,
    TrackStatus,
)

Request_ = Request[Any, Any, Any]


def filters(**columns: object) -> dict[str, str]:
    """Equality filters on store columns, leaving out those the client did not send."""
    return {column: str(value) for column, value in columns.items() if value is not None}


def dated_query(collection: Any, limit: int, date_from: Any, date_to: Any, **kwargs: Any) -> ListQuery:
    # `from` after `to` is an empty range, not an error: the OpenAPI schema cannot express the
    # constraint, so a schema-valid request must be answered.
    return ListQuery(collection, limit, date_from=date_from, date_to=date_to, **kwargs)


class ActorController(write_operations(ACTORS)):
    path = "/v1/actors"
    tags = ["reference"]

    @get("/", operation_id="listActors", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_actors(
        self, request: Request_, reads: NamedDependency[ReadService],
        kind: Annotated[ActorKind | None, QueryParameter(description="Only actors of this kind.")] = None,
        limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[ActorPage]:
        """States, people, organisations and media named by the records, by id."""
        return await list_response(reads, request, ListQuery(ACTORS, limit, equals=filters(kind=kind)), cursor, export_format, all_)

    @get("/{actor_id:str}", operation_id="getActor", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_actor(self, reads: NamedDependency[ReadService], actor_id: ActorIdPath, if_none_match: IfNoneMatch = None) -> Response[Actor]:
        """One actor."""
        return record_response(await reads.one(ACTORS, actor_id), if_none_match)


class SourceController(write_operations(SOURCES)):
    path = "/v1/sources"
    tags = ["reference"]

    @get("/", operation_id="listSources", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_sources(
        self, request: Request_, reads: NamedDependency[ReadService], from_: DateFrom = None, to: DateTo = None,
        as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[SourcePage]:
        """Publications cited by the records, by id; `from`, `to` and `as_of` read `published_on`."""
        return await list_response(reads, request, dated_query(SOURCES, limit, from_, to, as_of=as_of), cursor, export_format, all_)

    @get("/{source_id:str}", operation_id="getSource", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_source(self, reads: NamedDependency[ReadService], source_id: SourceIdPath, if_none_match: IfNoneMatch = None) -> Response[Source]:
        """One source."""
        return record_response(await reads.one(SOURCES, source_id), if_none_match)


class FrontController(write_operations(FRONTS)):
    path = "/v1/fronts"
    tags = ["fronts"]

    @get("/", operation_id="listFronts", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_fronts(
        self, request: Request_, reads: NamedDependency[ReadService], limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[FrontPage]:
        """Front-line axes, by id."""
        return await list_response(reads, request, ListQuery(FRONTS, limit), cursor, export_format, all_)

    @get("/{front_id:str}", operation_id="getFront", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_front(self, reads: NamedDependency[ReadService], front_id: FrontIdPath, if_none_match: IfNoneMatch = None) -> Response[Front]:
        """One front."""
        return record_response(await reads.one(FRONTS, front_id), if_none_match)


    @get("/{front_id:str}/intensity", operation_id="getFrontIntensity", responses=problem_responses(*GET_PROBLEMS))
    async def get_front_intensity(
        self, reads: NamedDependency[ReadService], front_id: FrontIdPath,
        interval: Annotated[Interval, QueryParameter(description="Bucket per ISO week or per month.")] = Interval.WEEK,
        from_: DateFrom = None, to: DateTo = None, as_of: AsOf = None,
    ) -> FrontIntensity:
        """A front's reports per week or month: counts, summed figures and statuses, for dashboards."""
        return await front_intensity(reads, front_id, interval, from_, to, as_of)


class FrontReportController(write_operations(FRONT_REPORTS)):
    path = "/v1/front-reports"
    tags = ["fronts"]

    @get("/", operation_id="listFrontReports", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_front_reports(
        self, request: Request_, reads: NamedDependency[ReadService], front: FrontFilter = None,
        status: Annotated[FrontStatus | None, QueryParameter(description="Only reports with this status.")] = None,
        from_: DateFrom = None, to: DateTo = None, as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[FrontReportPage]:
        """Reports on the state of each front, in date order."""
        query = dated_query(FRONT_REPORTS, limit, from_, to, as_of=as_of, equals=filters(front_id=front, status=status))
        return await list_response(reads, request, query, cursor, export_format, all_)

    @get("/{front_report_id:str}", operation_id="getFrontReport", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_front_report(
        self, reads: NamedDependency[ReadService], front_report_id: FrontReportIdPath, if_none_match: IfNoneMatch = None) -> Response[FrontReport]:
        """One front report."""
        return record_response(await reads.one(FRONT_REPORTS, front_report_id), if_none_match)


class TrackController(write_operations(TRACKS)):
    path = "/v1/tracks"
    tags = ["negotiations"]

    @get("/", operation_id="listTracks", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_tracks(
        self, request: Request_, reads: NamedDependency[ReadService], actor: ActorFilter = None,
        status: Annotated[TrackStatus | None, QueryParameter(description="Only tracks with this derived status.")] = None,
        coverage: Annotated[Coverage | None, QueryParameter(description="Only tracks with this coverage.")] = None,
        as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[TrackPage]:
        """Negotiation tracks, by id, with status derived from what was reported by `as_of`."""
        # The store keeps a track's coverage in its generic `status` column (see api.collections).
        query = ListQuery(TRACKS, limit, equals=filters(status=coverage), actor=actor, as_of=as_of)
        return await list_response(reads, request, query, cursor, export_format, all_, track_status=status)

    @get("/{track_id:str}", operation_id="getTrack", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_track(self, reads: NamedDependency[ReadService], track_id: TrackIdPath, if_none_match: IfNoneMatch = None, as_of: AsOf = None) -> Response[Track]:
        """One track, with status derived as of `as_of` (default: today)."""
        return record_response(await reads.one(TRACKS, track_id, as_of), if_none_match)


class RoundController(write_operations(ROUNDS)):
    path = "/v1/rounds"
    tags = ["negotiations"]

    @get("/", operation_id="listRounds", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_rounds(
        self, request: Request_, reads: NamedDependency[ReadService], track: TrackFilter = None, actor: ActorFilter = None,
        outcome: Annotated[Outcome | None, QueryParameter(description="Only rounds with this outcome.")] = None,
        status: Annotated[RoundStatus | None, QueryParameter(description="Only rounds with this status.")] = None,
        q: TextSearch = None,
        from_: DateFrom = None, to: DateTo = None, as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[RoundPage]:
        """Rounds of talks, in date order (rounds of unknown date first)."""
        query = dated_query(ROUNDS, limit, from_, to, as_of=as_of, actor=actor, text=q,
                            equals=filters(track_id=track, outcome=outcome, status=status))
        return await list_response(reads, request, query, cursor, export_format, all_)

    @get("/{round_id:str}", operation_id="getRound", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_round(self, reads: NamedDependency[ReadService], round_id: RoundIdPath, if_none_match: IfNoneMatch = None) -> Response[Round]:
        """One round."""
        return record_response(await reads.one(ROUNDS, round_id), if_none_match)


class ExchangeController(write_operations(EXCHANGES)):
    path = "/v1/exchanges"
    tags = ["negotiations"]

    @get("/", operation_id="listExchanges", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_exchanges(
        self, request: Request_, reads: NamedDependency[ReadService], track: TrackFilter = None, actor: ActorFilter = None,
        kind: Annotated[ExchangeKind | None, QueryParameter(description="Only exchanges of this kind.")] = None,
        status: Annotated[ExchangeStatus | None, QueryParameter(description="Only exchanges with this status.")] = None,
        from_: DateFrom = None, to: DateTo = None, as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[ExchangePage]:
        """Exchanges of prisoners, bodies or civilians, in date order."""
        query = dated_query(EXCHANGES, limit, from_, to, as_of=as_of, actor=actor,
                            equals=filters(track_id=track, kind=kind, status=status))
        return await list_response(reads, request, query, cursor, export_format, all_)

    @get("/{exchange_id:str}", operation_id="getExchange", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_exchange(
        self, reads: NamedDependency[ReadService], exchange_id: ExchangeIdPath, if_none_match: IfNoneMatch = None) -> Response[Exchange]:
        """One exchange."""
        return record_response(await reads.one(EXCHANGES, exchange_id), if_none_match)


class StatementController(write_operations(STATEMENTS)):
    path = "/v1/statements"
    tags = ["negotiations"]

    @get("/", operation_id="listStatements", responses=problem_responses(*LIST_PROBLEMS), response_headers=LIST_HEADERS)
    async def list_statements(
        self, request: Request_, reads: NamedDependency[ReadService], track: TrackFilter = None, actor: ActorFilter = None,
        kind: Annotated[StatementKind | None, QueryParameter(description="Only statements of this kind.")] = None,
        q: TextSearch = None,
        from_: DateFrom = None, to: DateTo = None, as_of: AsOf = None, limit: Limit = 50, cursor: Cursor = None,
        export_format: Format = None, all_: Everything = False,
    ) -> Response[StatementPage]:
        """Proposals, rejections, assessments and other statements, in date order."""
        query = dated_query(STATEMENTS, limit, from_, to, as_of=as_of, actor=actor, text=q,
                            equals=filters(track_id=track, kind=kind))
        return await list_response(reads, request, query, cursor, export_format, all_)

    @get("/{statement_id:str}", operation_id="getStatement", responses={**problem_responses(*GET_PROBLEMS), **NOT_MODIFIED}, response_headers=RECORD_HEADERS)
    async def get_statement(
        self, reads: NamedDependency[ReadService], statement_id: StatementIdPath, if_none_match: IfNoneMatch = None) -> Response[Statement]:
        """One statement."""
        return record_response(await reads.one(STATEMENTS, statement_id), if_none_match)

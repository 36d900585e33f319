"""`/v1/forecasts`: will a negotiation track hold its next round within H weeks?

Every operation is a read-only computation over the records reported by `as_of`. A cold answer
needs a model fit (about a second; the backtest a few), which `ForecastService` runs in a worker
thread so the event loop keeps serving.
"""

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, QueryParameter

from api.controllers.common import TrackIdPath, json_response
from api.forecasts import ForecastService
from api.params import AsOf
from api.problems import (
    AS_OF_IN_FUTURE,
    INSUFFICIENT_DATA,
    MODEL_SEPARATED,
    VALIDATION,
    problem_responses,
)
from api.timeouts import TIMEOUT_OPT
from schemas.forecast import (
    BacktestReport,
    Forecast,
    Horizon,
    ModelCard,
    Population,
    ScenarioRequest,
    ScenarioResult,
    TrackRecord,
)

SVG = "image/svg+xml"
PathWeeks = Annotated[int, QueryParameter(ge=1, le=52, description="Weeks ahead the path runs to, 1 to 52.")]
PopulationParam = Annotated[
    Population,
    QueryParameter(description="`live` (tracks whose latest round is at most 52 weeks old at the origin) or `all`."),
]


def svg_response(body: bytes) -> Response[bytes]:
    return Response(content=body, media_type=SVG)


def svg_spec(description: str) -> dict[int, ResponseSpec]:
    return {200: ResponseSpec(data_container=str, media_type=SVG, description=description, generate_examples=False)}

# The bounds are stated twice: msgspec's (in `Horizon`) validate, the item's QueryParameter puts
# them in the OpenAPI document, which Litestar does not read from a list item's Meta.
Horizons = Annotated[
    list[Annotated[Horizon, QueryParameter(ge=1, le=52)]] | None,
    QueryParameter(
        max_items=52,
        description="Weeks ahead, 1 to 52, counted in whole ISO weeks after `as_of`'s week; repeat for "
        "several (`?horizon=4&horizon=13`). Default: 2, 4, 8 and 13.",
    ),
]

class ForecastController(Controller):
    path = "/v1/forecasts"
    tags = ["forecasts"]

    @get("/tracks/{track_id:str}", operation_id="getTrackForecast",
         responses=problem_responses(400, 404, 409, 422, 429, 503,
                                     types=(AS_OF_IN_FUTURE, INSUFFICIENT_DATA, MODEL_SEPARATED)))
    async def track_forecast(
        self, forecasts: NamedDependency[ForecastService], track_id: TrackIdPath, horizon: Horizons = None,
        as_of: AsOf = None,
    ) -> Response[Forecast]:
        """P(the track holds its next round within H weeks), as of `as_of` (default: today, UTC), with
        10/50/90% intervals and each covariate's contribution. The model is fitted on the records
        reported by `as_of` only: nothing reported later changes the answer.

        `422` when the records reported by `as_of` cannot support a forecast (the track has no dated
        record yet, or fewer than 10 resumptions were known) or `as_of` is after today; `409` when
        the model fitted on them separated, which is not served. Every distinct answer is appended to
        the forecast log (see `/v1/forecasts/track-record`) before it is sent."""
        return json_response(await forecasts.forecast(track_id, as_of, horizon))

    @get("/tracks/{track_id:str}/path.svg", operation_id="getTrackForecastPath", media_type=SVG,
         responses={**svg_spec("The forecast path as SVG."),
                    **problem_responses(400, 404, 409, 422, 429, 503,
                                        types=(AS_OF_IN_FUTURE, INSUFFICIENT_DATA, MODEL_SEPARATED))})
    async def track_forecast_path(
        self, forecasts: NamedDependency[ForecastService], track_id: TrackIdPath, as_of: AsOf = None,
        weeks: PathWeeks = 26,
    ) -> Response[bytes]:
        """The forecast path as an SVG figure: P(the track holds its next round by week k) for k = 1 to
        `weeks`, with its 10–90% band, the recent-rate rule beside it and the weeks beyond the
        observation windows shaded. Problems as for the track forecast."""
        return svg_response(await forecasts.path_svg(track_id, as_of, weeks))

    @post("/scenarios", operation_id="runForecastScenario", status_code=200,
          responses=problem_responses(400, 404, 409, 413, 415, 422, 429, 503,
                                      types=(VALIDATION, AS_OF_IN_FUTURE, INSUFFICIENT_DATA, MODEL_SEPARATED)))
    async def scenario(
        self, forecasts: NamedDependency[ForecastService], data: JSONBody[ScenarioRequest]
    ) -> Response[ScenarioResult]:
        """The forecast with and without hypothetical events (an exchange, a statement, a front
        report), and the difference with paired intervals. A computation: it writes nothing and
        needs no key. Problems as for the track forecast."""
        return json_response(await forecasts.scenario(data))

    @get("/model", operation_id="getForecastModelCard", opt={TIMEOUT_OPT: "backtest"},
         responses=problem_responses(400, 422, 429, 503, types=(AS_OF_IN_FUTURE, INSUFFICIENT_DATA)))
    async def model(self, forecasts: NamedDependency[ForecastService], as_of: AsOf = None) -> Response[ModelCard]:
        """The model card as of `as_of` (default: today, UTC): the served forecaster and how nested
        evaluation chose it, specification, coefficients and terms not estimated, fitted and excluded
        tracks, observation windows, the comparison table and margins over the best baseline, what
        was tried, and known limits. `422` when `as_of` is after today or too few resumptions were
        known by it."""
        return json_response(await forecasts.model_card(as_of))

    @get("/backtest", operation_id="getForecastBacktest", opt={TIMEOUT_OPT: "backtest"},
         responses=problem_responses(400, 422, 429, 503, types=(INSUFFICIENT_DATA,)))
    async def backtest(self, forecasts: NamedDependency[ForecastService]) -> Response[BacktestReport]:
        """Rolling monthly-origin backtest scored as of today: the baselines (B0, climatology, the
        recent-rate rule, a gap-only logit, Kaplan–Meier), the models and the served forecast, each
        with Brier, log loss, AUC, calibration and the paired difference from the best baseline
        (calendar-year block-bootstrap intervals), on all and on live tracks, with a run id. Cached
        per data fingerprint: the first call after a change takes a few seconds."""
        return json_response(await forecasts.backtest())

    @get("/backtest/reliability.svg", operation_id="getForecastReliability", media_type=SVG,
         opt={TIMEOUT_OPT: "backtest"},
         responses={**svg_spec("Reliability diagrams as SVG."),
                    **problem_responses(400, 422, 429, 503, types=(INSUFFICIENT_DATA,))})
    async def reliability(
        self, forecasts: NamedDependency[ForecastService], population: PopulationParam = Population.LIVE
    ) -> Response[bytes]:
        """The backtest's reliability diagrams as an SVG figure, one panel per horizon: mean forecast
        against the observed share with a round, per tenth, for the served forecast and the
        recent-rate rule."""
        return svg_response(await forecasts.reliability_svg(population))

    @get("/track-record", operation_id="getForecastTrackRecord", responses=problem_responses(400, 429, 503))
    async def track_record(self, forecasts: NamedDependency[ForecastService]) -> Response[TrackRecord]:
        """Parley's own track record: every forecast answer served so far (the forecast log), scored
        against the rounds reported by today, beside the recent-rate rule on the same forecasts;
        windows not over yet are pending, windows outside the observation windows unobservable."""
        return json_response(await forecasts.track_record())


"""`/v1/forecasts`: will a negotiation track hold its next round within H weeks?

Every operation is a read-only computation over the records reported by `as_of`. A cold answer
needs a model fit (about a second; the backtest a few), which `ForecastService` runs in a worker
thread so the event loop keeps serving.
"""

from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
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
    ScenarioRequest,
    ScenarioResult,
)

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
        the model fitted on them separated, which is not served."""
        return json_response(await forecasts.forecast(track_id, as_of, horizon))

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
        """The model card of the model fitted on the records reported by `as_of` (default: today,
        UTC): specification, coefficients, fitted and excluded tracks, missing-data rules,
        separation diagnostics, backtest summary and known limits. `422` when `as_of` is after
        today or too few resumptions were known by it."""
        return json_response(await forecasts.model_card(as_of))

    @get("/backtest", operation_id="getForecastBacktest", opt={TIMEOUT_OPT: "backtest"},
         responses=problem_responses(400, 422, 429, 503, types=(INSUFFICIENT_DATA,)))
    async def backtest(self, forecasts: NamedDependency[ForecastService]) -> Response[BacktestReport]:
        """Rolling monthly-origin backtest over the records reported by today, against a base-rate
        and a Kaplan–Meier baseline, with bootstrap intervals. Cached per data fingerprint: the
        first call after a change takes a few seconds."""
        return json_response(await forecasts.backtest())


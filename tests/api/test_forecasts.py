"""The forecaster as a client sees it: forecasts, scenarios, the model card and the backtest over
a real app and a real seeded SQLite file; and the CLI printing the same numbers."""

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import pytest
from click.testing import CliRunner
from helpers import bearer
from litestar import Litestar
from litestar.testing import TestClient

from api import cli
from api.forecasts import ForecastService
from forecasting import forecast_track
from schemas.forecast import BacktestReport, Forecast, ModelCard, ScenarioResult

Client = TestClient[Litestar]
T = "2026-06-07"
FORECAST = f"/v1/forecasts/tracks/istanbul-talks?as_of={T}"
PROBLEM = "application/problem+json"
R = TypeVar("R")


def forecast(client: Client, url: str = FORECAST) -> Forecast:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return msgspec.json.decode(response.content, type=Forecast)


def post_round(client: Client, keys: dict[str, str], **fields: Any) -> None:
    body = {"track": "istanbul-talks", "sources": ["brief-2026-06-07"], "outcome": "none", **fields}
    response = client.post("/v1/rounds", json=body, headers=bearer(keys["write"]))
    assert response.status_code == 201, response.text


def service(client: Client) -> ForecastService:
    return client.app.state.forecasts  # type: ignore[no-any-return]


def on_app_loop(client: Client, call: Callable[[], Awaitable[R]]) -> R:
    """Await `call()` in the app's event loop, where its store lives."""
    return client.blocking_portal.call(call)  # type: ignore[no-any-return]


# --- forecasts --------------------------------------------------------------------------------


def test_forecast_probabilities_are_in_the_unit_interval_and_rise_with_the_horizon(client: Client) -> None:
    f = forecast(client)
    assert (f.track, f.as_of, f.coverage.value, f.low_coverage) == ("istanbul-talks", dt.date(2026, 6, 7), "complete", False)
    assert f.last_round_on == dt.date(2026, 6, 2) and f.rounds_held == 2 and f.data_through == dt.date(2026, 6, 7)
    assert [h.weeks for h in f.horizons] == [2, 4, 8, 13]
    for h in f.horizons:
        assert 0.0 <= h.p10 <= h.p50 <= h.p90 <= 1.0 and 0.0 <= h.probability <= 1.0
        assert h.window_start == dt.date(2026, 6, 8)  # the Monday after as_of's week
    points = [h.probability for h in f.horizons]
    assert points == sorted(points) and len(set(points)) == len(points)
    assert f.drivers and all(isinstance(d.contribution, float) for d in f.drivers)


def test_horizon_repeats_and_is_answered_in_order(client: Client) -> None:
    f = forecast(client, f"{FORECAST}&horizon=13&horizon=4&horizon=4")
    assert [h.weeks for h in f.horizons] == [4, 13]
    default = {h.weeks: h.probability for h in forecast(client).horizons}
    assert {h.weeks: h.probability for h in f.horizons} == {4: default[4], 13: default[13]}


def test_unknown_track_is_a_404_problem(client: Client) -> None:
    response = client.get(f"/v1/forecasts/tracks/no-such-track?as_of={T}")
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert "no-such-track" in response.json()["detail"]


@pytest.mark.parametrize("horizon", ["0", "53", "x"])
def test_bad_horizon_is_a_400_naming_it(client: Client, horizon: str) -> None:
    response = client.get(f"{FORECAST}&horizon=4&horizon={horizon}")
    assert response.status_code == 400 and response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["horizon"]


def test_undeclared_query_parameter_is_a_400(client: Client) -> None:
    response = client.get(f"{FORECAST}&horizons=4")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "horizons"


@pytest.mark.parametrize(
    ("as_of", "detail"),
    [("9999-12-31", "after today"), ("2000-01-01", "resumptions known"), ("1970-01-01", "resumptions known")],
)
def test_as_of_the_data_cannot_support_is_a_422_problem(client: Client, as_of: str, detail: str) -> None:
    response = client.get(f"/v1/forecasts/tracks/istanbul-talks?as_of={as_of}")
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]


def test_milestones_track_is_forecast_marked_low_coverage(client: Client) -> None:
    f = forecast(client, f"/v1/forecasts/tracks/peace-summit?as_of={T}")
    assert f.low_coverage and "low_coverage" in f.flags


def test_no_look_ahead_a_round_reported_after_as_of_changes_nothing(client: Client, keys: dict[str, str]) -> None:
    before = client.get(FORECAST)
    assert before.status_code == 200
    revision = on_app_loop(client, service(client).snapshot).revision
    # Held before T, but made public only after it: a forecast as of T cannot know of it.
    post_round(client, keys, date="2026-05-20", reported_at="2026-06-20")
    after = client.get(FORECAST)
    assert on_app_loop(client, service(client).snapshot).revision > revision  # the frames were rebuilt...
    assert after.content == before.content  # ...and the forecast as of T is byte-identical
    later = forecast(client, "/v1/forecasts/tracks/istanbul-talks?as_of=2026-06-21")
    assert later.rounds_held == 3


def test_a_write_reported_by_as_of_invalidates_the_cache(client: Client, keys: dict[str, str]) -> None:
    before = forecast(client)
    post_round(client, keys, date="2026-05-20")
    after = forecast(client)
    assert after.rounds_held == 3 and after.last_round_on == dt.date(2026, 6, 2)
    assert [h.probability for h in after.horizons] != [h.probability for h in before.horizons]
    assert after.model_id != before.model_id


def test_concurrent_readers_agree_and_share_one_fit(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    forecasts = service(client)
    fits = []

    def counted(*args: Any) -> Any:
        fits.append(1)
        return forecast_track(*args)

    monkeypatch.setattr("api.forecasts.forecast_track", counted)

    async def sixteen_at_once() -> list[bytes]:
        return list(await asyncio.gather(
            *(forecasts.forecast("istanbul-talks", dt.date(2026, 6, 14)) for _ in range(16))
        ))

    assert len(set(on_app_loop(client, sixteen_at_once))) == 1
    assert len(fits) == 1  # the other fifteen waited for the first one's answer


# --- scenarios --------------------------------------------------------------------------------

SCENARIO = {
    "track": "istanbul-talks",
    "as_of": T,
    "horizons": [4, 13],
    "events": [
        {"event": "statement", "kind": "rejection", "actor": "russia", "leader_level": True, "week_offset": 1},
        {"event": "exchange", "status": "executed", "week_offset": 2},
    ],
}


def test_scenario_reports_with_without_and_difference_consistently(client: Client) -> None:
    revision = on_app_loop(client, service(client).revision)
    response = client.post("/v1/forecasts/scenarios", json=SCENARIO)  # no key: a read-only computation
    assert response.status_code == 200, response.text
    result = msgspec.json.decode(response.content, type=ScenarioResult)
    plain = forecast(client, f"{FORECAST}&horizon=4&horizon=13")
    assert result.without_events.horizons == plain.horizons
    assert len(result.events) == 2 and result.model_id == plain.model_id
    for d, without, with_ in zip(result.differences, result.without_events.horizons, result.with_events.horizons,
                                 strict=True):
        assert d.weeks == without.weeks == with_.weeks
        assert (d.without_events, d.with_events) == (without.probability, with_.probability)
        assert d.difference == pytest.approx(with_.probability - without.probability)
        assert -1.0 <= d.p10 <= d.p50 <= d.p90 <= 1.0
    assert any(d.difference != 0.0 for d in result.differences)
    assert on_app_loop(client, service(client).revision) == revision  # nothing was written


def test_scenario_problems(client: Client) -> None:
    unknown = client.post("/v1/forecasts/scenarios", json={**SCENARIO, "track": "no-such-track"})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    bad = client.post("/v1/forecasts/scenarios", json={**SCENARIO, "horizons": [0]})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["horizons[0]"]
    no_events = client.post("/v1/forecasts/scenarios", json={**SCENARIO, "events": []})
    assert no_events.status_code == 422


# --- model card and backtest ------------------------------------------------------------------


def test_model_card_lists_the_milestones_tracks_as_excluded(client: Client) -> None:
    response = client.get(f"/v1/forecasts/model?as_of={T}")
    assert response.status_code == 200, response.text
    card = msgspec.json.decode(response.content, type=ModelCard)
    excluded = {t.track for t in card.excluded_tracks}
    assert "peace-summit" in excluded and {t.coverage.value for t in card.excluded_tracks} == {"milestones"}
    assert not excluded & {t.track for t in card.fitted_tracks}
    assert card.model_id == forecast(client).model_id  # the card describes the model that forecasts
    assert card.backtest and card.coefficients[0].term == "intercept"


def test_backtest_is_served_and_cached(client: Client) -> None:
    first = client.get("/v1/forecasts/backtest")
    assert first.status_code == 200, first.text
    report = msgspec.json.decode(first.content, type=BacktestReport)
    assert report.data_cutoff == dt.date(2026, 6, 7) and report.horizons == [2, 4, 8, 13]
    assert report.variants[0].metrics
    assert client.get("/v1/forecasts/backtest").content == first.content


# --- the command line -------------------------------------------------------------------------


def test_cli_forecast_prints_the_api_numbers(client: Client, cli_store: str) -> None:
    result = CliRunner().invoke(cli.main, ["forecast", "istanbul-talks", "--as-of", T, "--horizon", "4",
                                           "--horizon", "13"])
    assert result.exit_code == 0, result.output
    f = forecast(client, f"{FORECAST}&horizon=4&horizon=13")
    for h in f.horizons:
        row = re.search(rf"│\s+{h.weeks} │.*", result.output)
        assert row, result.output
        assert f"{100 * h.probability:.1f}%" in row.group(0) and f"{100 * h.p90:.1f}%" in row.group(0)
    assert f.model_id in result.output


def test_cli_forecast_reports_the_problem(cli_store: str) -> None:
    result = CliRunner().invoke(cli.main, ["forecast", "no-such-track", "--as-of", T])
    assert result.exit_code == 1 and "No track 'no-such-track'" in result.output


def test_cli_backtest_prints_the_api_numbers(client: Client, cli_store: str) -> None:
    result = CliRunner().invoke(cli.main, ["backtest"])
    assert result.exit_code == 0, result.output
    report = msgspec.json.decode(client.get("/v1/forecasts/backtest").content, type=BacktestReport)
    fitted = report.variants[0]
    assert fitted.variant.value in result.output and report.data_fingerprint[:16] in result.output
    skills = [f"{m.brier_skill_b0.value:.3f}" for m in fitted.metrics]
    skill_row = next(line for line in result.output.splitlines() if "skill vs B0" in line)
    assert re.findall(r"-?\d+\.\d{3}", skill_row) == skills

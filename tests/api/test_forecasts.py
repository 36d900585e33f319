"""The forecaster as a client sees it: forecasts, scenarios, the model card, the backtest, the
figures and the forecast log over a real app and a real seeded store (and once through a real
`parley serve`); and the CLI printing the same numbers."""

import asyncio
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import httpx
import msgspec
import pytest
from click.testing import CliRunner
from helpers import bearer, query, running_server
from litestar import Litestar
from litestar.testing import TestClient

from api import cli, db
from api.forecasts import ForecastService, held_rounds, windows_from_tracks
from forecasting import forecast_track
from schemas.forecast import BacktestReport, Forecast, ModelCard, Population, ScenarioResult, TrackRecord

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
    assert f.drivers and f.drivers[0].covariate == "recent_rate_logit"


def test_istanbul_forecast_says_what_it_rests_on(client: Client) -> None:
    f = forecast(client)
    # No training week (round 2 is the brief's one observed week), two rounds, and every forecast
    # week after the brief's window: each is flagged.
    assert {"no_training_weeks", "fewer_than_5_rounds", "horizon_beyond_observation"} <= set(f.flags)
    assert all(h.unobserved_weeks == h.weeks for h in f.horizons)
    assert f.recent_round_weeks == 1 and f.recent_rate == pytest.approx(1.5 / 27)
    for h in f.horizons:
        assert h.recent_rate_rule == pytest.approx(1 - (1 - f.recent_rate) ** h.weeks)
    unsupported = [d for d in f.drivers if not d.estimated]
    assert unsupported and all(d.contribution is None and d.interval_share is None for d in unsupported)
    rejections = next(d for d in f.drivers if d.covariate == "rejections")
    assert rejections.value > 1 and not rejections.estimated  # the Kremlin's rejections: no support


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
    assert after.rounds_held == 3 and after.last_round_on == dt.date(2026, 6, 2) and after.recent_round_weeks == 2
    assert [h.probability for h in after.horizons] != [h.probability for h in before.horizons]
    assert after.model_id != before.model_id  # what the answer read changed, so its id does


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
    # Excluded: the tracks that have no complete or partial period, nothing else.
    tracks = client.get("/v1/tracks?limit=100").json()["items"]
    assert excluded == {t["id"] for t in tracks if all(p["coverage"] == "milestones" for p in t["coverage_periods"])}
    assert "peace-proposals" in excluded and {t.coverage.value for t in card.excluded_tracks} == {"milestones"}
    assert not excluded & {t.track for t in card.fitted_tracks}
    assert card.model_id == forecast(client).model_id  # the card describes the model that forecasts
    assert card.served.forecaster == forecast(client).forecaster and card.served.forecaster in card.served.candidates
    assert card.backtest and card.margins and card.tried
    windows = {w.track: w for w in card.observation_windows}
    assert (windows["istanbul-talks"].start, windows["istanbul-talks"].end) == (dt.date(2026, 6, 1), dt.date(2026, 6, 7))
    # The card's windows are the tracks' own coverage periods, as the tracks serve them.
    for track in ("minsk-tcg", "peace-summit"):
        periods = client.get(f"/v1/tracks/{track}").json()["coverage_periods"]
        assert [(w.start.isoformat(), w.end and w.end.isoformat(), w.coverage.value)
                for w in card.observation_windows if w.track == track] == [
            (p["start"], p["end"], p["coverage"]) for p in periods]
    assert any(d.term == "suspended" and "not estimated" in d.reason for d in card.dropped_terms)
    assert sum("Calibration of the served forecast" in limit for limit in card.known_limits) == 4


def test_backtest_is_served_and_cached(client: Client) -> None:
    first = client.get("/v1/forecasts/backtest")
    assert first.status_code == 200, first.text
    report = msgspec.json.decode(first.content, type=BacktestReport)
    assert report.data_cutoff == dt.date(2026, 6, 7) and report.horizons == [2, 4, 8, 13]
    assert report.scores and report.margins and len(report.run.run_id) == 16
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
    assert report.run.run_id in result.output and report.run.data_fingerprint[:16] in result.output
    for m in report.margins:
        row = next(line for line in result.output.splitlines()
                   if re.search(rf"│ {m.population.value}\s+│\s+{m.horizon} │", line))  # fmt: skip
        assert f"{m.brier_served:.4f}" in row and f"{m.brier_baseline:.4f}" in row and m.best_baseline in row


# --- figures ----------------------------------------------------------------------------------


def svg(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag.endswith("svg")
    return root


def test_figures_are_served_as_svg(client: Client) -> None:
    path = client.get(f"/v1/forecasts/tracks/istanbul-talks/path.svg?as_of={T}&weeks=13")
    text = ET.tostring(svg(path), encoding="unicode")
    assert "istanbul-talks" in text and "horizon_beyond_observation" in text
    assert client.get(f"/v1/forecasts/tracks/istanbul-talks/path.svg?as_of={T}&weeks=13").content == path.content
    reliability = client.get("/v1/forecasts/backtest/reliability.svg?population=all")
    report = msgspec.json.decode(client.get("/v1/forecasts/backtest").content, type=BacktestReport)
    assert report.run.run_id in ET.tostring(svg(reliability), encoding="unicode")


@pytest.mark.parametrize(
    ("url", "status", "detail"),
    [
        ("/v1/forecasts/tracks/no-such-track/path.svg?as_of=2026-06-07", 404, "No track 'no-such-track'"),
        ("/v1/forecasts/tracks/istanbul-talks/path.svg?as_of=2026-06-07&weeks=0", 400, "Invalid weeks"),
        ("/v1/forecasts/tracks/istanbul-talks/path.svg?as_of=2000-01-01", 422, "resumptions known"),
        ("/v1/forecasts/backtest/reliability.svg?population=some", 400, "Invalid population"),
    ],
)
def test_figure_problems(client: Client, url: str, status: int, detail: str) -> None:
    response = client.get(url)
    assert response.status_code == status and response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]


# --- observation windows and held rounds --------------------------------------------------------


def test_windows_are_the_tracks_coverage_periods_and_a_track_without_any_observed_nothing() -> None:
    period = SimpleNamespace(start=dt.date(2015, 1, 1), end=None, coverage="complete", basis="every session")
    tracks = [SimpleNamespace(id="minsk-tcg", coverage_periods=[period]),
              SimpleNamespace(id="new-track", coverage_periods=[])]  # fmt: skip
    (declared,) = windows_from_tracks(tracks)
    assert (declared.track, declared.start, declared.end, declared.coverage, declared.basis) == (
        "minsk-tcg", dt.date(2015, 1, 1), None, "complete", "every session"
    )  # fmt: skip


def test_only_held_rounds_are_rounds() -> None:
    rounds = [SimpleNamespace(status="held"), SimpleNamespace(status="announced"),
              SimpleNamespace(status="cancelled"), SimpleNamespace()]  # fmt: skip
    assert held_rounds(rounds) == [rounds[0], rounds[3]]  # no status yet: held


# --- the forecast log -------------------------------------------------------------------------


def log_rows(url: str) -> list[tuple[Any, ...]]:
    return query(url, "SELECT track, as_of, model_id, horizon, probability FROM forecast_log ORDER BY track, as_of, horizon")


def test_every_distinct_answer_is_logged_once(client: Client, seeded_url: str) -> None:
    f = forecast(client)
    forecast(client)  # the same answer again: not logged twice
    rows = log_rows(seeded_url)
    assert rows == [("istanbul-talks", T, f.model_id, h.weeks, h.probability) for h in f.horizons]
    other = forecast(client, f"{FORECAST}&horizon=26")
    assert len(log_rows(seeded_url)) == 5 and other.horizons[0].weeks == 26

    async def tamper(conn: db.Connection, sql: str) -> None:
        await conn.execute(sql)

    for sql in ("UPDATE forecast_log SET probability = 0.5", "DELETE FROM forecast_log"):
        with pytest.raises(Exception, match="append-only"):
            db.run_on_connection(seeded_url, lambda conn, sql=sql: tamper(conn, sql))  # type: ignore[misc]
    assert len(log_rows(seeded_url)) == 5


def test_the_track_record_scores_logged_forecasts_against_what_happened(client: Client) -> None:
    served = [forecast(client, f"/v1/forecasts/tracks/minsk-tcg?as_of={day}&horizon=4")
              for day in ("2016-03-16", "2019-03-15", "2020-07-01")]  # fmt: skip
    forecast(client)  # istanbul-talks: its window lies beyond the brief's week, so unobservable
    record = msgspec.json.decode(client.get("/v1/forecasts/track-record").content, type=TrackRecord)
    assert (record.logged, record.resolved, record.pending, record.unobservable) == (7, 3, 0, 4)
    assert record.prospective == 0  # all three were served long after their windows
    (h4,) = record.horizons
    outcomes = []
    for f in served:
        window = f.horizons[0]
        rounds = client.get(f"/v1/rounds?track=minsk-tcg&from={window.window_start}&to={window.window_end}").json()
        outcomes.append(1.0 if rounds["items"] else 0.0)
    probabilities = [f.horizons[0].probability for f in served]
    rules = [f.horizons[0].recent_rate_rule for f in served]
    assert h4.events == sum(outcomes)
    assert h4.brier == pytest.approx(sum((p - y) ** 2 for p, y in zip(probabilities, outcomes, strict=True)) / 3)
    assert h4.brier_recent_rate == pytest.approx(sum((p - y) ** 2 for p, y in zip(rules, outcomes, strict=True)) / 3)


# --- through a real server ----------------------------------------------------------------------


def test_a_fresh_server_forecasts_logs_and_draws(database_url: str) -> None:
    # An empty store, as `make run` starts: the server seeds it, then its workers forecast.
    with running_server(database_url) as server:
        base = f"{server.url}/v1/forecasts"
        get = lambda path: httpx.get(base + path, timeout=120)  # noqa: E731 - cold fits take seconds
        f = msgspec.json.decode(get(f"/tracks/istanbul-talks?as_of={T}").content, type=Forecast)
        assert {"no_training_weeks", "fewer_than_5_rounds", "horizon_beyond_observation"} <= set(f.flags)
        card = msgspec.json.decode(get(f"/model?as_of={T}").content, type=ModelCard)
        assert card.model_id == f.model_id and card.served.forecaster == f.forecaster
        assert {w.track for w in card.observation_windows} >= {"istanbul-talks", "minsk-tcg"}
        report = msgspec.json.decode(get("/backtest").content, type=BacktestReport)
        live4 = next(m for m in report.margins if m.population == Population.LIVE and m.horizon == 4)
        assert live4.brier_served <= live4.brier_baseline and live4.best_baseline == "recent_rate"
        svg(get("/backtest/reliability.svg"))
        svg(get(f"/tracks/istanbul-talks/path.svg?as_of={T}"))
        record = msgspec.json.decode(get("/track-record").content, type=TrackRecord)
        assert record.logged == len(f.horizons) and record.unobservable == len(f.horizons)
    assert log_rows(database_url) == [("istanbul-talks", T, f.model_id, h.weeks, h.probability) for h in f.horizons]


def test_a_server_on_another_cpu_path_names_the_same_model(client: Client, database_url: str) -> None:
    # numpy picks its log/exp kernels by CPU; a server limited to baseline SSE kernels stands in
    # for a machine without AVX: the same records must give the same model id (and log row).
    baseline = {"NPY_ENABLE_CPU_FEATURES": "SSE SSE2 SSE3 SSSE3 SSE41 POPCNT SSE42"}
    with running_server(database_url, env=baseline) as server:
        response = httpx.get(f"{server.url}{FORECAST}", timeout=120)
    assert response.status_code == 200, response.text
    assert msgspec.json.decode(response.content, type=Forecast).model_id == forecast(client).model_id


def test_cli_figures_writes_what_the_api_draws(client: Client, cli_store: str, tmp_path: Path) -> None:
    out = tmp_path / "figures"
    result = CliRunner().invoke(cli.main, ["figures", "--output", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["path-istanbul-talks-2026-06-07.svg", "reliability-all.svg", "reliability-live.svg"]
    assert (out / "reliability-live.svg").read_bytes() == client.get("/v1/forecasts/backtest/reliability.svg").content

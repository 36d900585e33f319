"""Front intensity series: per-period counts and sums, continuous periods, as-of honoured."""

import datetime as dt

import polars as pl
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api import db
from api.collections import FRONT_REPORTS
from api.intensity import intensity_series
from api.store import load_records
from schemas.records import FrontReportCreate
from schemas.series import Interval
from schemas.vocab import FrontStatus

Client = TestClient[Litestar]
REPORTS = [  # (date, status, events, fatalities)
    (dt.date(2024, 1, 1), "contested", 10, 2),
    (dt.date(2024, 1, 3), "static", 5, None),
    (dt.date(2024, 1, 22), "frozen", None, None),
    (dt.date(2024, 2, 5), "advancing", 7, 1),
]


@pytest.fixture
def seeded_url(seeded_url: str) -> str:
    reports = [
        FrontReportCreate(front="donetsk", date=day, status=FrontStatus(status), events=events, fatalities=fatalities,
                          external_id=f"intensity-{i}", sources=["brief-2026-06-07"])
        for i, (day, status, events, fatalities) in enumerate(REPORTS)
    ]
    db.run_on_connection(seeded_url, lambda conn: load_records(conn, [(FRONT_REPORTS, reports)], reason="test"))
    return seeded_url


def test_weekly_series_sums_and_fills_empty_weeks(client: Client) -> None:
    body = client.get("/v1/fronts/donetsk/intensity?to=2024-12-31").json()
    points = {p["period_start"]: p for p in body["points"]}
    assert list(points) == ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29", "2024-02-05"]
    assert points["2024-01-01"] == {"period_start": "2024-01-01", "reports": 2, "events": 15, "fatalities": 2,
                                         "advancing": 0, "contested": 1, "static": 1, "frozen": 0}
    assert points["2024-01-08"]["reports"] == 0 and points["2024-01-08"]["events"] is None
    assert points["2024-01-22"]["events"] is None and points["2024-01-22"]["frozen"] == 1


def test_monthly_series(client: Client) -> None:
    points = client.get("/v1/fronts/donetsk/intensity?interval=month&to=2024-12-31").json()["points"]
    assert [(p["period_start"], p["reports"], p["events"]) for p in points] == [
        ("2024-01-01", 3, 15), ("2024-02-01", 1, 7)]


def test_as_of_hides_later_reports(client: Client) -> None:
    points = client.get("/v1/fronts/donetsk/intensity?as_of=2024-01-10").json()["points"]
    assert [p["period_start"] for p in points] == ["2024-01-01"]


def test_unknown_front_is_404(client: Client) -> None:
    assert client.get("/v1/fronts/luhansk/intensity").status_code == 404


def test_empty_input_gives_no_points() -> None:
    empty = pl.DataFrame(schema={"date": pl.Date, "status": pl.String, "events": pl.Int64, "fatalities": pl.Int64})
    assert intensity_series(empty, Interval.WEEK).is_empty()

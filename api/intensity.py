"""Front intensity series: front reports counted and summed per week or month, with polars."""

import datetime as dt

import msgspec
import polars as pl

from api.collections import FRONT_REPORTS, FRONTS
from api.problems import problem
from api.reads import ReadService
from api.store import ListQuery
from schemas.series import FrontIntensity, IntensityPoint, Interval
from schemas.vocab import FrontStatus

TRUNCATE = {Interval.WEEK: "1w", Interval.MONTH: "1mo"}
_decode = msgspec.json.Decoder().decode


def intensity_series(reports: pl.DataFrame, interval: Interval) -> pl.DataFrame:
    """Per period: report count, summed figures (null when no report gives one), status counts.

    Empty periods between the first and the last report appear with zero reports, so a chart's
    x-axis is continuous.
    """
    if reports.is_empty():
        return pl.DataFrame()
    every = TRUNCATE[interval]
    grouped = (
        reports.with_columns(period_start=pl.col("date").dt.truncate(every))
        .group_by("period_start")
        .agg(
            pl.len().alias("reports"),
            pl.when(pl.col("events").is_not_null().any()).then(pl.col("events").sum()).alias("events"),
            pl.when(pl.col("fatalities").is_not_null().any()).then(pl.col("fatalities").sum()).alias("fatalities"),
            *[(pl.col("status") == status.value).sum().alias(status.value) for status in FrontStatus],
        )
    )
    periods = pl.DataFrame(
        {"period_start": pl.date_range(grouped["period_start"].min(), grouped["period_start"].max(), every, eager=True)}
    )
    counts = ["reports", *[status.value for status in FrontStatus]]
    return (
        periods.join(grouped, on="period_start", how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
        .sort("period_start")
    )


async def front_intensity(
    reads: ReadService, front_id: str, interval: Interval, date_from: dt.date | None, date_to: dt.date | None,
    as_of: dt.date | None,
) -> FrontIntensity:
    query = ListQuery(FRONT_REPORTS, 0, equals={"front_id": front_id}, date_from=date_from, date_to=date_to,
                      as_of=as_of)
    async with reads.repository() as records:
        if not await records.exists(FRONTS, front_id):
            raise problem(404, f"No front with id {front_id!r}.")
        rows = await records.rows(query, unbounded=True)
    documents = [_decode(row.body) for row in rows]
    reports = pl.DataFrame(
        {
            "date": [dt.date.fromisoformat(d["date"]) for d in documents if d["date"]],
            "status": [d["status"] for d in documents if d["date"]],
            "events": [d.get("events") for d in documents if d["date"]],
            "fatalities": [d.get("fatalities") for d in documents if d["date"]],
        },
        schema={"date": pl.Date, "status": pl.String, "events": pl.Int64, "fatalities": pl.Int64},
    )
    series = intensity_series(reports, interval)
    points = [IntensityPoint(**row) for row in series.iter_rows(named=True)] if not series.is_empty() else []
    return FrontIntensity(front=front_id, interval=interval, points=points)

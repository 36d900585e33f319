"""Aggregate an ACLED event export into weekly front reports, one per front and ISO week.

ACLED (acleddata.com) publishes one row per conflict event with the codebook columns in
`ACLED_COLUMNS`. Parley does not keep events; it keeps one FrontReport per front and week:

- `date` is the week's Monday (precision day) and `reported_at` its Sunday: a weekly aggregate
  is known only once the week is over, so an `as_of` read never sees a week still in progress.
- `events` counts the week's events, `fatalities` sums them, `summary` lists counts by
  `event_type` (most frequent first).
- `status` follows `front_status`: advancing when ground changed hands, contested when there
  was real fighting, frozen otherwise.
- `external_id` is `acled:<front>:<iso year>-W<week>`, so re-importing an export (or a later,
  longer one) matches the weeks already stored instead of duplicating them.

Everything is done in polars' lazy API, grouped before any Python object is built, so a
million-event export costs one streaming scan of the file. Pure: no I/O besides the scan the caller made,
and no `api` imports.
"""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from schemas.records import FrontReportCreate
from schemas.vocab import Confidence, DatePrecision, FrontStatus

ACLED_COLUMNS = (
    "event_id_cnty", "event_date", "disorder_type", "event_type", "sub_event_type", "actor1", "actor2",
    "admin1", "location", "latitude", "longitude", "fatalities", "notes", "source", "timestamp",
)  # fmt: skip

# ACLED `admin1` -> Parley front id. ACLED spells the oblast "Zaporizhia"; both spellings map.
DEFAULT_FRONT_MAP: dict[str, str] = {
    "Zaporizhia": "zaporizhzhia",
    "Zaporizhzhia": "zaporizhzhia",
    "Donetsk": "donetsk",
    "Kherson": "kherson",
}

# Sub-event types by which ACLED records ground changing hands.
TERRITORY_CHANGE = ("Government regains territory", "Non-state actor overtakes territory")
# Fewer battles than this in a week, with no ground changing hands, is a frozen line: shelling
# and skirmishes, no fight for positions. The threshold is a judgement, kept in one place.
FEW_BATTLES = 10

# Newer exports write ISO dates, older ones "15 January 2024".
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y")


def scan_acled(path: Path) -> pl.LazyFrame:
    """A lazy scan of an ACLED CSV, every column a string (dates come in two formats)."""
    return pl.scan_csv(path, infer_schema=False)


def front_status(territory_changes: int, battles: int) -> FrontStatus:
    """advancing: any territory-change event; contested: FEW_BATTLES battles or more; else frozen."""
    if territory_changes > 0:
        return FrontStatus.ADVANCING
    return FrontStatus.CONTESTED if battles >= FEW_BATTLES else FrontStatus.FROZEN


def weekly_front_reports(
    events: pl.LazyFrame, front_map: Mapping[str, str], source_id: str
) -> list[FrontReportCreate]:
    """One FrontReportCreate per (front, ISO week) for the events whose `admin1` is mapped.

    Raises ValueError naming the first rows when a mapped event has an unreadable date or
    fatality count: silently dropping events would make the weekly counts wrong.
    """
    day = pl.coalesce([pl.col("event_date").str.strip_chars().str.to_date(f, strict=False) for f in _DATE_FORMATS])
    unreadable = pl.col("day").is_null() | pl.col("killed").is_null()
    # The row number is taken before filtering, so error messages can point into the file.
    mapped = (
        events.select("event_date", "event_type", "sub_event_type", "admin1", "fatalities")
        .with_row_index("row", offset=1)
        .filter(pl.col("admin1").is_in(list(front_map)))
        .with_columns(
            pl.col("admin1").replace_strict(dict(front_map), return_dtype=pl.String).alias("front"),
            day.alias("day"),
            pl.col("fatalities").str.strip_chars().cast(pl.Int64, strict=False).alias("killed"),
        )
    )
    # One group-by over the file, to (front, week, event type, territory change) cells: a few
    # thousand rows however long the export. Weekly totals are summed from the cells, so the file
    # is scanned once; the streaming engine keeps the scan from materialising the columns.
    cells = (
        mapped.group_by(
            "front",
            pl.col("day").dt.truncate("1w").alias("monday"),  # ISO weeks start on Monday
            pl.col("event_type").fill_null("unknown"),
            pl.col("sub_event_type").is_in(TERRITORY_CHANGE).fill_null(False).alias("territory"),
        )
        .agg(
            pl.len().alias("n"),
            pl.col("killed").sum(),
            unreadable.sum().alias("bad"),
            pl.col("row").filter(unreadable).min().alias("first_bad"),
        )
        .collect(engine="streaming")
    )
    if cells["bad"].sum():
        first = sorted(cells["first_bad"].drop_nulls())[:5]
        raise ValueError(f"{cells['bad'].sum()} event(s) with unreadable event_date or fatalities, first in data "
                         f"row(s) {', '.join(map(str, first))} (1 = first after the header)")
    week_rows = cells.group_by("front", "monday").agg(
        pl.col("n").sum().alias("events"),
        pl.col("killed").sum().alias("fatalities"),
        pl.col("n").filter(pl.col("event_type") == "Battles").sum().alias("battles"),
        pl.col("n").filter(pl.col("territory")).sum().alias("territory"),
    )
    type_rows = cells.group_by("front", "monday", "event_type").agg(pl.col("n").sum())

    counts: dict[tuple[str, dt.date], list[tuple[int, str]]] = {}
    for front, monday, event_type, n in type_rows.iter_rows():
        counts.setdefault((front, monday), []).append((n, event_type))
    reports = []
    for front, monday, n_events, killed, battles, territory in week_rows.sort("front", "monday").iter_rows():
        year, week, _ = monday.isocalendar()
        by_kind = sorted(counts[(front, monday)], key=lambda c: (-c[0], c[1]))
        reports.append(
            FrontReportCreate(
                front=front,
                date=monday,
                date_precision=DatePrecision.DAY,
                reported_at=monday + dt.timedelta(days=6),
                status=front_status(territory, battles),
                events=n_events,
                fatalities=killed,
                summary="; ".join(f"{kind} {n}" for n, kind in by_kind),
                sources=[source_id],
                confidence=Confidence.MEDIUM,
                external_id=f"acled:{front}:{year}-W{week:02d}",
            )
        )
    return reports

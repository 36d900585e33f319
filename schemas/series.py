"""Time series derived from records, for dashboards."""

import datetime as dt
from enum import StrEnum
from typing import Annotated

from msgspec import Meta, Struct

Count = Annotated[int, Meta(ge=0)]


class Interval(StrEnum):
    WEEK = "week"
    MONTH = "month"


class IntensityPoint(Struct):
    period_start: Annotated[dt.date, Meta(description="Monday of the ISO week, or the first of the month.")]
    reports: Count
    events: Annotated[Count | None, Meta(description="Sum over reports that give it; null when none does.")]
    fatalities: Annotated[Count | None, Meta(description="Sum over reports that give it; null when none does.")]
    advancing: Count
    contested: Count
    static: Count
    frozen: Count


class FrontIntensity(Struct):
    front: str
    interval: Interval
    points: Annotated[list[IntensityPoint], Meta(description="One point per period from the first report to "
                                                             "the last, empty periods included.")]

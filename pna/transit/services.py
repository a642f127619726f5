"""Which services run on a date, and a representative weekday to assess."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..errors import InputError
from .gtfs import DAY_COLUMNS, Feed


def active_services(feed: Feed, date: dt.date | str | pd.Timestamp) -> set[str]:
    """Service ids running on ``date``.

    From the calendar's day and date range, then calendar_dates exceptions (type 1 adds the
    service that day, type 2 removes it).
    """
    day = pd.Timestamp(date).normalize()
    active: set[str] = set()
    if feed.calendar is not None and len(feed.calendar):
        cal = feed.calendar
        on = (cal[DAY_COLUMNS[day.weekday()]] == 1) & (cal["start_date"] <= day) & (cal["end_date"] >= day)
        active = set(cal.loc[on, "service_id"])
    if feed.calendar_dates is not None and len(feed.calendar_dates):
        cd = feed.calendar_dates[feed.calendar_dates["date"] == day]
        active |= set(cd.loc[cd["exception_type"] == 1, "service_id"])
        active -= set(cd.loc[cd["exception_type"] == 2, "service_id"])
    return active


def active_trips(feed: Feed, date: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """The trips that run on ``date``."""
    return feed.trips[feed.trips["service_id"].isin(active_services(feed, date))]


def trips_per_day(feed: Feed, dates: pd.DatetimeIndex) -> pd.Series:
    """Number of active trips on each date (vectorised over the calendar)."""
    per_service = feed.trips.groupby("service_id").size()
    counts = np.zeros(len(dates), dtype=np.int64)
    for i, d in enumerate(dates):
        counts[i] = int(per_service.reindex(sorted(active_services(feed, d))).fillna(0).sum())
    return pd.Series(counts, index=dates, name="trips")


def typical_day(feed: Feed, weekdays: tuple[int, ...] = (1, 2, 3)) -> dt.date:
    """The date in the feed's validity, on one of ``weekdays`` (0 = Monday), with the most active trips.

    Ties go to the earliest date, so the choice is deterministic.

    Raises
    ------
    InputError
        If no such date has any trips.
    """
    start, end = feed.validity()
    dates = pd.date_range(start, end, freq="D")
    dates = dates[dates.day_of_week.isin(list(weekdays))]
    names = "/".join(DAY_COLUMNS[d].capitalize() for d in weekdays)
    if len(dates) == 0:
        raise InputError(feed.source, f"no {names} inside the feed's validity period")
    counts = trips_per_day(feed, dates)
    if counts.max() == 0:
        raise InputError(feed.source, f"no trips run on any {names} of the validity period")
    return counts.idxmax().date()  # idxmax returns the first maximum: the earliest date


def typical_weekday(feed: Feed) -> dt.date:
    """A Tuesday, Wednesday or Thursday inside the feed's validity with the most active trips.

    Ties go to the earliest such date. Mondays and Fridays are avoided because their
    timetables more often differ (bank holidays, school-day variants).
    """
    return typical_day(feed, (1, 2, 3))

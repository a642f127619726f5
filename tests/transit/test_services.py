from __future__ import annotations

import datetime as dt

from pna.quality import QualityLog
from pna.transit.gtfs import load_feed
from pna.transit.services import active_services, active_trips, typical_day, typical_weekday

from .test_gtfs import NEWPORT, write_feed


def test_calendar_dates_remove_and_add(tmp_path):
    feed = load_feed(write_feed(tmp_path / "f"), QualityLog())
    assert active_services(feed, "2023-06-14") == {"WK"}           # ordinary Wednesday
    assert active_services(feed, "2023-06-13") == set()            # WK removed (type 2)
    assert active_services(feed, "2023-06-18") == {"SUN"}          # Sunday-only service added (type 1)
    assert active_services(feed, "2023-06-17") == set()            # Saturday: no service
    assert active_services(feed, "2023-07-05") == set()            # after end_date
    assert list(active_trips(feed, "2023-06-18")["trip_id"]) == ["T3"]


def test_typical_weekday_skips_removed_day(tmp_path):
    feed = load_feed(write_feed(tmp_path / "f"), QualityLog())
    # 6 June (Tue) is the first Tue-Thu with WK; every Tue-Thu has 2 trips except 13 June.
    assert typical_weekday(feed) == dt.date(2023, 6, 6)
    assert typical_day(feed, (6,)) == dt.date(2023, 6, 18)


def test_typical_weekday_newport_deterministic():
    feed = load_feed(NEWPORT, QualityLog())
    d = typical_weekday(feed)
    assert d.weekday() in (1, 2, 3) and d == typical_weekday(feed)
    assert d == dt.date(2023, 6, 6)
    assert len(active_trips(feed, d)) == 176
    assert len(active_trips(feed, typical_day(feed, (6,)))) < 176   # Sunday timetable is thinner

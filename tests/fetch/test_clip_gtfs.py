from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from pna.errors import InputError
from pna.fetch.clip_gtfs import clip_gtfs, looks_like_gtfs
from pna.quality import QualityLog
from pna.transit.gtfs import load_feed

AREA = box(-2.7, 51.4, -2.5, 51.5)   # Bristol: only some of the routes serving Newport reach it


def _read(path, name):
    with zipfile.ZipFile(path) as z:
        return pd.read_csv(io.BytesIO(z.read(name)), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def clipped(data_dir, tmp_path_factory):
    src = data_dir / "networks" / "newport-20230613_gtfs.zip"
    return src, clip_gtfs(sources=[src], area=AREA, dest=tmp_path_factory.mktemp("gtfs") / "newport_gtfs.zip")


def test_trips_calling_inside_are_kept_whole_and_no_others(clipped):
    src, clip = clipped
    stops = _read(src, "stops.txt")
    inside = set(stops.loc[shapely.contains_xy(AREA, stops["stop_lon"].astype(float),
                                                stops["stop_lat"].astype(float)), "stop_id"])
    st, cut = _read(src, "stop_times.txt"), _read(clip.path, "stop_times.txt")
    calling = set(st.loc[st["stop_id"].isin(inside), "trip_id"])
    assert 0 < len(calling) < st["trip_id"].nunique()       # some trips dropped
    assert set(cut["trip_id"]) == calling == set(_read(clip.path, "trips.txt")["trip_id"])
    whole = st[st["trip_id"].isin(calling)].reset_index(drop=True)
    assert cut.equals(whole[cut.columns])                   # every kept trip complete, in order
    kept_stops = set(_read(clip.path, "stops.txt")["stop_id"])
    assert set(cut["stop_id"]) <= kept_stops and inside & set(cut["stop_id"]) <= kept_stops
    assert kept_stops - inside                              # stops outside that kept trips call at
    assert (clip.trips, clip.trips_in, clip.stops_inside) == (len(calling), st["trip_id"].nunique(), len(inside))


def test_calendar_routes_and_feed_info_are_kept_for_the_kept_trips(clipped):
    src, clip = clipped
    trips = _read(clip.path, "trips.txt")
    cal = _read(clip.path, "calendar.txt")
    assert set(trips["service_id"]) == set(cal["service_id"])
    assert set(trips["route_id"]) == set(_read(clip.path, "routes.txt")["route_id"])
    assert set(trips["shape_id"]) - {""} == set(_read(clip.path, "shapes.txt")["shape_id"])
    assert _read(clip.path, "feed_info.txt").equals(_read(src, "feed_info.txt"))
    assert (str(clip.valid_from), str(clip.valid_to)) == ("2023-06-05", "2024-03-01")
    feed = load_feed(clip.path, QualityLog(), strict=True)   # the timetable engine reads it
    assert len(feed.trips) == clip.trips


def test_the_filter_is_deterministic_and_merging_a_feed_twice_changes_nothing(clipped, tmp_path):
    src, clip = clipped
    again = clip_gtfs(sources=[src], area=AREA, dest=tmp_path / "a.zip")
    assert again.path.read_bytes() == clip.path.read_bytes()
    twice = clip_gtfs(sources=[src, src], area=AREA, dest=tmp_path / "b.zip")
    for name in ("stop_times.txt", "trips.txt", "stops.txt", "calendar.txt"):
        assert _read(twice.path, name).equals(_read(clip.path, name)), name


def test_a_body_that_is_not_a_gtfs_zip_is_refused(tmp_path):
    html = tmp_path / "feed.zip"
    html.write_text("<html><body>Service unavailable</body></html>")
    assert "not a zip file" in looks_like_gtfs(html)
    with pytest.raises(InputError, match="not a zip file"):
        clip_gtfs(sources=[html], area=AREA, dest=tmp_path / "out.zip")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    assert "not a GTFS feed" in looks_like_gtfs(other)

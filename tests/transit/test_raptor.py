from __future__ import annotations

import numpy as np
import pytest

from pna.quality import QualityLog
from pna.transit.gtfs import load_feed
from pna.transit.raptor import INF, WalkLinks, build_timetable, route_many
from pna.transit.reference import TimeExpandedGraph

from .test_gtfs import BASE, write_feed

WED = "2023-06-14"
E = np.array([], np.int64)


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    return load_feed(write_feed(tmp_path_factory.mktemp("feed")), QualityLog())


def links_for(tt, direct_s=INF, access=(("S1", 60),), egress=(("S4", 60),), transfer=()):
    idx = {s: i for i, s in enumerate(tt.stop_ids)}
    acc = (np.zeros(len(access), np.int64), np.array([idx[s] for s, _ in access]),
           np.array([w for _, w in access], np.int32))
    eg = (np.array([idx[s] for s, _ in egress]), np.zeros(len(egress), np.int64),
          np.array([w for _, w in egress], np.int32))
    tr = (np.array([idx[a] for a, _, _ in transfer], np.int64), np.array([idx[b] for _, b, _ in transfer], np.int64),
          np.array([w for _, _, w in transfer], np.int32))
    return WalkLinks(access=acc, transfer=tr, egress=eg, direct=np.array([[direct_s]], np.int32))


def test_transfer_limit(feed):
    tt = build_timetable(feed, WED)
    links = links_for(tt)
    dep = np.array([6 * 3600 + 58 * 60])
    # T1 S1 07:00 -> S3 07:10, change at S3 (0 s) to T2 07:12 -> S4 07:20, walk 60 s
    assert route_many(tt, links, departures=dep, n_origins=1, max_transfers=1)[0, 0, 0] == 7 * 3600 + 21 * 60
    assert route_many(tt, links, departures=dep, n_origins=1, max_transfers=0)[0, 0, 0] == INF
    # too late for T1: nothing
    assert route_many(tt, links, departures=dep + 120, n_origins=1, max_transfers=3)[0, 0, 0] == INF


def test_walk_only_wins_when_faster(feed):
    tt = build_timetable(feed, WED)
    dep = np.array([6 * 3600 + 58 * 60])
    kw = {"departures": dep, "n_origins": 1, "max_transfers": 2}
    assert route_many(tt, links_for(tt, direct_s=300), **kw)[0, 0, 0] == dep[0] + 300
    assert route_many(tt, links_for(tt, direct_s=3600), **kw)[0, 0, 0] == 7 * 3600 + 21 * 60


def test_walking_transfer_between_stops(feed):
    tt = build_timetable(feed, WED)
    dep = np.array([6 * 3600 + 58 * 60])
    # alight T1 at S2 (07:05), walk 300 s to S3 (07:10) and still catch T2 at 07:12
    links = links_for(tt, transfer=(("S2", "S3", 300),))
    assert route_many(tt, links, departures=dep, n_origins=1, max_transfers=1)[0, 0, 0] == 7 * 3600 + 21 * 60
    # egress from S2 is allowed too: the site is reached by alighting at S2
    links = links_for(tt, egress=(("S2", 30),))
    assert route_many(tt, links, departures=dep, n_origins=1, max_transfers=0)[0, 0, 0] == 7 * 3600 + 5 * 60 + 30


def test_many_departures_one_call_matches_single_calls(feed):
    tt = build_timetable(feed, WED)
    links = links_for(tt, direct_s=1800)
    deps = np.arange(6 * 3600 + 50 * 60, 7 * 3600 + 5 * 60, 60)
    many = route_many(tt, links, departures=deps, n_origins=1, max_transfers=2)[0, 0]
    one = [route_many(tt, links, departures=deps[[i]], n_origins=1, max_transfers=2)[0, 0, 0]
           for i in range(len(deps))]
    assert many.tolist() == one
    ref = TimeExpandedGraph(feed, WED, stop_ids=tt.stop_ids, links=links, max_transfers=2)
    assert [int(ref.earliest_arrival(0, int(d))[0]) for d in deps] == many.tolist()


def test_overtaking_trips_split_into_fifo_patterns(tmp_path):
    # an express (T5) leaves after T1 but arrives before it: FIFO would be broken
    st = BASE["stop_times"] + ("T5,07:02:00,07:02:00,S1,1\nT5,07:03:00,07:03:00,S2,2\n"
                               "T5,07:04:00,07:04:00,S3,3\n")
    trips = BASE["trips"] + "R1,WK,T5\n"
    feed = load_feed(write_feed(tmp_path / "f", stop_times=st, trips=trips), QualityLog())
    tt = build_timetable(feed, WED)
    s1 = [p for p in tt.patterns if len(p.stops) == 3]
    assert len(s1) == 2 and sorted(len(p.trip_ids) for p in s1) == [1, 1]
    for p in tt.patterns:
        assert (np.diff(p.dep, axis=0) >= 0).all() and (np.diff(p.arr[:-1], axis=0) >= 0).all()
    links = links_for(tt, egress=(("S3", 0),))
    dep = np.array([6 * 3600 + 58 * 60])
    assert route_many(tt, links, departures=dep, n_origins=1, max_transfers=0)[0, 0, 0] == 7 * 3600 + 4 * 60

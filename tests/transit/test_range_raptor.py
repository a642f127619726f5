"""Range-RAPTOR must give exactly the vectorised router's arrivals, and the brute-force
time-expanded Dijkstra's, on the real Newport feed and on small synthetic feeds."""
from __future__ import annotations

import numpy as np
import pytest

from pna.quality import QualityLog
from pna.transit.gtfs import load_feed
from pna.transit.range_raptor import route_range
from pna.transit.raptor import INF, WalkLinks, build_timetable, route_many
from pna.transit.reference import TimeExpandedGraph
from pna.transit.services import typical_weekday
from pna.transit.synthetic import feed_statistics, write_regional_feed
from pna.transit.walk import straight_line_links

from .test_gtfs import BASE, NEWPORT, write_feed

WED = "2023-06-14"
H = 3600

# Overtaking (T4 leaves S1 after T1 and reaches S3 first), a change at S3 (T1/T4 -> T2), a
# set-down-only and pick-up-only stop (T6 neither sets down nor picks up at S2; T7 only sets
# down at S4 and only picks up at S2), and a trip that leaves S2 for S4 directly (T7).
STOP_TIMES = """trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type
T1,07:00:00,07:00:00,S1,1,0,0
T1,07:05:00,07:05:00,S2,2,0,0
T1,07:10:00,07:10:00,S3,3,0,0
T2,07:12:00,07:12:00,S3,1,0,0
T2,07:20:00,07:20:00,S4,2,0,0
T4,07:02:00,07:02:00,S1,1,0,0
T4,07:03:00,07:03:00,S2,2,0,0
T4,07:04:00,07:04:00,S3,3,0,0
T6,07:30:00,07:30:00,S1,1,0,0
T6,07:34:00,07:35:00,S2,2,1,1
T6,07:40:00,07:40:00,S3,3,0,0
T7,07:06:00,07:06:00,S2,1,0,0
T7,07:09:00,07:09:00,S3,2,1,0
T7,07:15:00,07:15:00,S4,3,1,0
T8,07:41:00,07:41:00,S3,1,0,0
T8,07:47:00,07:47:00,S4,2,0,0
"""
TRIPS = BASE["trips"] + "R1,WK,T4\nR1,WK,T6\nR2,WK,T7\nR2,WK,T8\n"


def _links(tt, access, egress, transfer, direct):
    idx = {s: i for i, s in enumerate(tt.stop_ids)}
    acc = (np.array([o for o, _, _ in access], np.int64), np.array([idx[s] for _, s, _ in access], np.int64),
           np.array([w for _, _, w in access], np.int32))
    eg = (np.array([idx[s] for s, _, _ in egress], np.int64), np.array([p for _, p, _ in egress], np.int64),
          np.array([w for _, _, w in egress], np.int32))
    tr = (np.array([idx[a] for a, _, _ in transfer], np.int64), np.array([idx[b] for _, b, _ in transfer], np.int64),
          np.array([w for _, _, w in transfer], np.int32))
    return WalkLinks(access=acc, transfer=tr, egress=eg, direct=np.asarray(direct, np.int32))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    feed = load_feed(write_feed(tmp_path_factory.mktemp("f"), stop_times=STOP_TIMES, trips=TRIPS), QualityLog())
    tt = build_timetable(feed, WED)
    # origin 0 next to S1, origin 1 next to S2 (and a 20 min walk from site 0), origin 2 next to no stop
    access = [(0, "S1", 60), (1, "S2", 30), (1, "S1", 400)]
    egress = [("S4", 0, 60), ("S2", 1, 30), ("S3", 1, 200)]
    links = _links(tt, access, egress, transfer=[("S2", "S3", 300), ("S3", "S2", 300)],
                   direct=[[INF, 1200, 900], [INF, INF, INF]])
    return feed, tt, links


@pytest.mark.parametrize("k", [0, 1, 3])
def test_small_feed_matches_vectorised_and_reference(small, k):
    feed, tt, links = small
    deps = np.arange(6 * H + 50 * 60, 7 * H + 50 * 60, 60)
    got = route_range(tt, links, departures=deps, n_origins=3, max_transfers=k, threads=1)
    assert got.tolist() == route_many(tt, links, departures=deps, n_origins=3, max_transfers=k).tolist()
    ref = TimeExpandedGraph(feed, WED, stop_ids=tt.stop_ids, links=links, max_transfers=k)
    want = np.stack([np.stack([ref.earliest_arrival(o, int(d)) for d in deps], axis=1) for o in range(3)], axis=1)
    assert got.tolist() == want.tolist()


def test_small_feed_journeys(small):
    feed, tt, links = small
    deps = np.array([6 * H + 58 * 60, 7 * H + 1 * 60, 7 * H + 20 * 60])

    def arr(k):
        return route_range(tt, links, departures=deps, n_origins=3, max_transfers=k, threads=1)

    a0, a1 = arr(0), arr(1)
    # 06:58 from S1: T4 07:02 -> S2 07:03, change, T7 07:06 -> S4 07:15, walk 60 s; one trip only: none
    assert a1[0, 0, 0] == 7 * H + 16 * 60 and a0[0, 0, 0] == INF
    # without T7's pick-up at S2 it would be T1/T4 -> S3, T2 -> S4 07:20; at 07:01 T1 is gone, T4 still runs
    assert a1[0, 0, 1] == 7 * H + 16 * 60
    # site 1 from origin 0 at 06:58: T4 sets down at S2 07:03, + 30 s (FIFO split kept T4 usable)
    assert a0[1, 0, 0] == 7 * H + 3 * 60 + 30
    # 07:20 from S1: T6 07:30 neither sets down nor picks up at S2, so site 1 via S3 07:40 + 200 s
    assert a0[1, 0, 2] == 7 * H + 43 * 60 + 20
    # origin 1 walks to site 0 in 20 min unless the bus is quicker; origin 2 can only walk (15 min)
    assert a1[0, 1, 2] == 7 * H + 40 * 60
    assert a1[0, 2].tolist() == (deps + 900).tolist() and a1[1, 2].tolist() == [INF] * 3


def test_departure_order_and_duplicates_do_not_matter(small):
    feed, tt, links = small
    deps = np.array([7 * H + 5 * 60, 6 * H + 55 * 60, 7 * H + 5 * 60, 7 * H + 31 * 60, 7 * H])
    got = route_range(tt, links, departures=deps, n_origins=3, max_transfers=2, threads=1)
    assert got.tolist() == route_many(tt, links, departures=deps, n_origins=3, max_transfers=2).tolist()


@pytest.fixture(scope="module")
def newport():
    feed = load_feed(NEWPORT, QualityLog())
    date = typical_weekday(feed)
    tt = build_timetable(feed, date, start_s=7 * H, end_s=11 * H)
    rng = np.random.default_rng(11)
    near = (np.abs(tt.stop_xy[:, 0] - 331000) < 6000) & (np.abs(tt.stop_xy[:, 1] - 188000) < 6000)
    at = tt.stop_xy[np.flatnonzero(near)]
    origins = at[rng.integers(0, len(at), 40)] + rng.normal(0, 150, (40, 2))
    sites = at[rng.integers(0, len(at), 10)] + rng.normal(0, 100, (10, 2))
    links = straight_line_links(origins, tt.stop_xy, site_xy=sites, speed_kmh=4.8, circuity=1.3, max_access_m=800,
                                max_transfer_m=400, max_direct_s=7200)
    return feed, date, tt, links


@pytest.mark.parametrize("k", [4, 1])
def test_newport_matches_vectorised_and_reference(newport, k):
    feed, date, tt, links = newport
    deps = np.arange(7 * H, 9 * H, 60)
    n = links.direct.shape[1]
    got = route_range(tt, links, departures=deps, n_origins=n, max_transfers=k)
    vec = route_many(tt, links, departures=deps, n_origins=n, max_transfers=k)
    assert got.tolist() == vec.tolist()
    direct = np.where(links.direct[:, :, None] < INF, links.direct[:, :, None] + deps[None, None, :], INF)
    assert (got < direct).sum() > 200           # not trivially walk-only
    ref = TimeExpandedGraph(feed, date, stop_ids=tt.stop_ids, links=links, max_transfers=k)
    rng = np.random.default_rng(k)
    for o, d in zip(rng.integers(0, n, 8), rng.integers(0, len(deps), 8)):
        r = ref.earliest_arrival(int(o), int(deps[d]), horizon_s=7200)
        r = np.where(r - deps[d] <= 7200, r, INF)
        v = np.where(got[:, o, d] - deps[d] <= 7200, got[:, o, d], INF)
        assert r.tolist() == v.tolist(), (o, d)


def test_synthetic_regional_feed_matches_vectorised_and_reference(tmp_path):
    stats = feed_statistics(load_feed(NEWPORT, QualityLog()))
    counts = write_regional_feed(tmp_path, stats, n_routes=10, n_trips=900, n_towns=3, region_km=6.0,
                                 stops_per_route=14, limited_share=0.3, share_m=80.0, trip_speed_sd=0.3,
                                 seed=5)
    assert counts["routes"] == 10 and abs(counts["trips"] - 900) <= 20
    feed = load_feed(tmp_path, QualityLog())
    assert (feed.stop_times["pickup_type"] == 1).any()           # limited-stop routes are there
    tt = build_timetable(feed, WED, start_s=7 * H, end_s=10 * H)
    assert len(tt.patterns) > 2 * counts["routes"]                # FIFO splits: some trips overtake
    rng = np.random.default_rng(1)
    origins = tt.stop_xy[rng.integers(0, tt.n_stops, 25)] + rng.normal(0, 150, (25, 2))
    sites = tt.stop_xy[rng.integers(0, tt.n_stops, 6)]
    links = straight_line_links(origins, tt.stop_xy, site_xy=sites, speed_kmh=4.8, circuity=1.3, max_access_m=600,
                                max_transfer_m=300, max_direct_s=3600)
    deps = np.arange(7 * H, 8 * H, 60)
    for k in (0, 2):
        got = route_range(tt, links, departures=deps, n_origins=25, max_transfers=k)
        assert got.tolist() == route_many(tt, links, departures=deps, n_origins=25, max_transfers=k).tolist()
    ref = TimeExpandedGraph(feed, WED, stop_ids=tt.stop_ids, links=links, max_transfers=2)
    for o, d in zip(rng.integers(0, 25, 12), rng.integers(0, len(deps), 12)):
        assert ref.earliest_arrival(int(o), int(deps[d])).tolist() == got[:, o, d].tolist(), (o, d)


def test_transit_model_engines_agree(newport):
    import geopandas as gpd

    from pna.config import TransitSpec
    from pna.transit.model import TransitModel

    feed, date, tt, links = newport
    rng = np.random.default_rng(3)
    pts = tt.stop_xy[rng.integers(0, tt.n_stops, 20)] + 50.0

    def gdf(xy):
        return gpd.GeoDataFrame({"point_id": np.arange(len(xy)).astype(str)}, geometry=gpd.points_from_xy(*xy.T),
                                crs=27700)

    spec = TransitSpec(thresholds_min=[10, 20], date=date, window_end="08:00")
    demand, sites = gdf(pts[:14]), gdf(pts[14:])
    m = {e: TransitModel(feed, demand, spec, 4.8, 1.3, engine=e) for e in ("range", "vectorised")}
    assert m["range"].engine == "range"
    a, b = (m[e].arrival_seconds(sites) for e in ("range", "vectorised"))
    assert a.shape == (6, 14, 60) and a.tolist() == b.tolist() and (a < INF).any()
    with pytest.raises(ValueError, match="unknown transit engine"):
        TransitModel(feed, demand, spec, 4.8, 1.3, engine="csa")

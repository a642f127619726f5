"""The street-network travel model on the real Newport extract."""

from __future__ import annotations

import functools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point

from pna.access.engine import NetworkModel, TravelModel, connector_speed_kmh
from pna.access.graph import build_graph, build_graphs
from pna.access.open_now import Scenario, nearest_open
from pna.access.stats import rank_stat
from pna.access.straightline import StraightLineModel
from pna.config import load_config
from pna.crs import BNG
from pna.loaders.osm import pharmacy_sites, read_highways
from pna.modes import Method, Mode
from pna.quality import QualityLog
from pna.transit.gtfs import load_feed
from pna.transit.model import TransitModel
from tests.access.test_demand import DATA, ROOT

SMALL = DATA / "networks" / "small-osm.pbf"


@functools.cache
def newport_cfg():
    return load_config(ROOT / "config" / "newport.yaml", data_dir=DATA)


@functools.cache
def newport_graphs():
    cfg = newport_cfg()
    return build_graphs(cfg.data_path(cfg.network.osm_extract), cfg, use_cache=False)


@functools.cache
def osm_sites() -> gpd.GeoDataFrame:
    """The pharmacies mapped in the Newport extract, as sites."""
    cfg = newport_cfg()
    return pharmacy_sites(cfg.data_path(cfg.network.osm_extract))[["ods_code", "geometry"]]


@pytest.fixture(scope="module")
def walk_model():
    g = newport_graphs()["walk"]
    rng = np.random.default_rng(3)
    xy = g.node_xy[rng.choice(g.n_nodes, 150, replace=False)] + rng.normal(0, 20, (150, 2))
    far = np.array([[g.node_xy[:, 0].max() + 5000, g.node_xy[:, 1].max() + 5000]])  # off the extract
    xy = np.vstack([xy, far])
    demand = gpd.GeoDataFrame({"point_id": [f"p{i:03d}" for i in range(len(xy))],
                               "population": np.full(len(xy), 10.0)},
                              geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    q = QualityLog()
    return NetworkModel(g, demand, newport_cfg(), "walk", q), q


def test_protocol_and_note(walk_model):
    m, _ = walk_model
    assert isinstance(m, TravelModel)
    assert m.method == "network" and not m.is_estimate
    assert "4.8 km/h" in m.method_note and "1 of 151 demand points" in m.method_note


def test_unsnapped_point_is_inf_and_reported(walk_model):
    m, q = walk_model
    minutes, idx = m.nearest(osm_sites())
    assert np.isinf(minutes[-1]) and idx[-1] == -1
    assert np.isfinite(minutes[:-1]).all()
    ex = q.table()
    assert ex["record"].tolist() == ["p150"] and ex["action"].eq("flagged").all()


def test_nearest_agrees_with_times_to(walk_model):
    m, _ = walk_model
    sites = osm_sites()
    minutes, idx = m.nearest(sites)
    t = m.times_to(sites)
    assert t.shape == (len(sites), len(m.demand))
    best = t.min(axis=0)
    ok = np.isfinite(best)
    # the nearest site is chosen between street nodes; site connector legs are a few metres
    max_conn_min = float(np.max(m._sites(sites, record=False)[1])) / 60
    assert np.all(minutes[ok] >= best[ok] - 1e-9)
    assert np.all(minutes[ok] <= best[ok] + max_conn_min + 1e-9)
    np.testing.assert_allclose(t[idx[ok], np.flatnonzero(ok)], minutes[ok], rtol=1e-9)


def test_times_match_networkx(walk_model):
    m, _ = walk_model
    g = m.graph
    sites = osm_sites().iloc[:1]
    t = m.times_to(sites)[0]
    site_node, site_conn = m._sites(sites, record=False)
    nxg = g.to_networkx()
    k = 5
    a = int(g.node_osmid[m.demand_node[k]])
    b = int(g.node_osmid[site_node[0]])
    secs = nx.shortest_path_length(nxg, a, b, weight="travel_time")
    expect = (secs + m.demand_snap_m[k] / (4.8 / 3.6) + site_conn[0]) / 60
    assert t[k] == pytest.approx(expect, rel=1e-9)


def test_drive_connector_and_one_way_asymmetry():
    cfg = newport_cfg()
    assert connector_speed_kmh(cfg, "drive") == min(cfg.travel.drive.highway_speeds_kmh.values())
    g = newport_graphs()["drive"]
    xy = g.node_xy[::997]
    demand = gpd.GeoDataFrame({"point_id": [f"d{i}" for i in range(len(xy))], "population": 1.0},
                              geometry=[Point(x, y) for x, y in xy], crs=27700)
    m = NetworkModel(g, demand, cfg, "drive")
    minutes, _ = m.nearest(osm_sites())
    assert np.isfinite(minutes).all()  # strongly connected graph: every node reaches a pharmacy
    assert np.all(minutes >= 0) and np.median(minutes) < 15


# --- every engine through the TravelModel protocol only ---------------------------------------

@functools.cache
def small_graphs():
    """Walk and drive graphs of the small Newport extract (built directly: no cache files)."""
    cfg = newport_cfg()
    ways = read_highways(SMALL)
    return {Mode.WALK: build_graph(ways, Mode.WALK, walk_speed_kmh=cfg.travel.walk.speed_kmh),
            Mode.DRIVE: build_graph(ways, Mode.DRIVE, drive_speeds_kmh=dict(cfg.travel.drive.highway_speeds_kmh),
                                    congestion_factor=cfg.travel.drive.congestion_factor)}


def _points(n: int, prefix: str, seed: int) -> gpd.GeoDataFrame:
    g = small_graphs()[Mode.WALK]
    rng = np.random.default_rng(seed)
    xy = g.node_xy[rng.choice(g.n_nodes, n, replace=False)] + rng.normal(0, 15, (n, 2))
    return gpd.GeoDataFrame({"point_id": [f"{prefix}{i:02d}" for i in range(n)], "population": 1.0,
                             "ods_code": [f"{prefix}{i:02d}" for i in range(n)]},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=BNG)


@pytest.fixture(scope="module")
def every_model():
    """(demand, sites, models): network walk and drive on the small extract, a straight-line
    estimate and a timetable model (real Newport GTFS, a five-minute window)."""
    cfg = newport_cfg()
    demand, sites = _points(40, "p", 11), _points(4, "S", 12)
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        sites[f"hours_{d}"] = "00:00-24:00"
    spec = cfg.travel.transit.model_copy(update={"window_start": "08:00", "window_end": "08:05"})
    feed = load_feed(cfg.data_path(cfg.network.gtfs), QualityLog())
    models = [NetworkModel(small_graphs()[m], demand, cfg, m) for m in (Mode.WALK, Mode.DRIVE)]
    models += [StraightLineModel(demand, Mode.WALK, 4.8, 1.3),
               TransitModel(feed, demand, spec, cfg.travel.walk.speed_kmh, cfg.travel.walk.circuity)]
    return demand, sites, models


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


def test_every_model_satisfies_the_protocol(every_model):
    _, _, models = every_model
    assert [(m.mode, m.method) for m in models] == [
        ("walk", "network"), ("drive", "network"), ("walk", "straight_line"), ("transit", "timetable")]
    for m in models:
        assert isinstance(m, TravelModel)
        assert isinstance(m.mode, Mode) and isinstance(m.method, Method)
        assert m.is_estimate == (m.method == Method.STRAIGHT_LINE) and m.method_note


def test_window_and_departures_agree_with_times_to(every_model):
    demand, sites, models = every_model
    for m in models:
        t = m.times_to(sites)
        w = m.window(sites)
        mins, deps, note = m.departures(sites, weekday=2, minute=8 * 60, window_min=3)
        assert w.shape[:2] == mins.shape[:2] == (len(sites), len(demand)) and len(deps) == mins.shape[2]
        if m.method == Method.TIMETABLE:   # k departures; times_to is their nearest-rank median
            assert w.shape[2] == 5 and _same(rank_stat(w, 50), t)
            assert deps.tolist() == [480.0, 481.0, 482.0] and note.startswith("service day ")
        else:                              # one departure: exactly times_to
            assert _same(w, t[:, :, None]) and _same(mins, t[:, :, None])
            assert deps.tolist() == [480.0] and note == "departing 08:00"
        # all sites open round the clock: the nearest open site is the nearest site
        # (up to rounding: arrival minus departure)
        open_min, open_note = nearest_open(m, sites, scenario=Scenario("Wed 08:00", 2, 8 * 60), window_min=3)
        want = rank_stat(mins.min(axis=0), 50)
        fin = np.isfinite(want)
        assert open_note == note and (np.isfinite(open_min) == fin).all()
        assert np.allclose(open_min[fin], want[fin], rtol=0, atol=1e-9)
        assert m.window(sites.iloc[:0]).shape[:2] == (0, len(demand))


def test_network_window_limit(every_model):
    _, sites, models = every_model
    m = models[0]
    t = m.times_to(sites)
    lim = float(np.nanmedian(t[np.isfinite(t)]))
    w = m.window(sites, limit_min=lim)[:, :, 0]
    inside = t <= lim
    assert np.allclose(w[inside], t[inside], rtol=0, atol=1e-9) and np.isinf(w[~inside]).all()


def test_for_points_rebuilds_the_engine(every_model):
    demand, sites, models = every_model
    sub = demand.iloc[::3].reset_index(drop=True)
    for m in models:
        other = m.for_points(sub)
        if m.method == Method.TIMETABLE:
            assert other is None
            continue
        assert isinstance(other, TravelModel) and (other.mode, other.method) == (m.mode, m.method)
        assert other.demand is sub and _same(other.times_to(sites), m.times_to(sites)[:, ::3])

"""The street-network travel model on the real Newport extract."""

from __future__ import annotations

import functools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point

from pna.access.engine import NetworkModel, TravelModel, connector_speed_kmh
from pna.access.graph import build_graphs
from pna.access.osm import pharmacy_sites
from pna.config import load_config
from pna.quality import QualityLog
from tests.access.test_demand import DATA, ROOT


@functools.lru_cache(maxsize=None)
def newport_cfg():
    return load_config(ROOT / "config" / "newport.yaml", data_dir=DATA)


@functools.lru_cache(maxsize=None)
def newport_graphs():
    cfg = newport_cfg()
    return build_graphs(cfg.data_path(cfg.network.osm_extract), cfg, use_cache=False)


@functools.lru_cache(maxsize=None)
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

"""Catchment polygons on the real Newport street network."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from scipy.sparse.csgraph import dijkstra

from pna.access.isochrones import ISOCHRONE_COLUMNS, network_isochrones, reached_segments, straightline_isochrones
from pna.access.routing import snap
from tests.access.test_engine import newport_graphs, osm_sites


@pytest.fixture(scope="module")
def walk_iso():
    sites = osm_sites().iloc[:3]
    return sites, network_isochrones(newport_graphs()["walk"], sites, [5, 10], buffer_m=50)


def test_columns_and_order(walk_iso):
    sites, iso = walk_iso
    assert list(iso.columns) == ISOCHRONE_COLUMNS and iso.crs.to_epsg() == 27700
    assert len(iso) == 6
    assert iso["ods_code"].is_monotonic_increasing


def test_nested_contains_site_and_reached_nodes(walk_iso):
    sites, iso = walk_iso
    g = newport_graphs()["walk"]
    for code, grp in iso.groupby("ods_code"):
        p5 = grp.set_index("threshold_min").geometry[5]
        p10 = grp.set_index("threshold_min").geometry[10]
        assert p10.buffer(6).contains(p5)  # within the 5 m polygon precision
        site = sites.set_index("ods_code").geometry[code]
        assert p5.contains(site) or p5.distance(site) < 60
        node, _ = snap(g, np.array([[site.x, site.y]]), max_snap_m=500)
        secs = dijkstra(g.csr_reverse, indices=int(node[0]), limit=900)
        inside = shapely.contains_xy(p5.buffer(6), g.node_xy[secs <= 300, 0], g.node_xy[secs <= 300, 1])
        assert inside.all()
        # a street catchment is smaller than the circle a crow could walk, and not a hull of it
        r = 4.8 / 3.6 * 600 + 50
        assert p10.area < np.pi * r * r
        assert p10.area < p10.convex_hull.area


def test_partial_edges_are_cut():
    g = newport_graphs()["walk"]
    secs = np.full(g.n_nodes, np.inf)
    e = g.edges.iloc[0]
    secs[int(e["v"])] = 0.0
    seg = reached_segments(g, secs, budget_s=e["time_s"] / 2)
    mine = [s for s in seg if np.allclose(s[1], g.node_xy[int(e["v"])])]
    lengths = [np.hypot(*(s[0] - s[1])) for s in mine]
    # the half of edge 0 next to v is reached (edge length is haversine, node_xy is projected)
    assert any(abs(ln - e["length_m"] / 2) < 0.01 * e["length_m"] + 0.5 for ln in lengths)


def test_straightline_circles():
    sites = osm_sites().iloc[:2]
    iso = straightline_isochrones(sites, [5, 10], 4.8, 1.3)
    assert len(iso) == 4
    r10 = 80 * 10 / 1.3
    a = iso[iso["threshold_min"] == 10].geometry.area.to_numpy()
    np.testing.assert_allclose(a, np.pi * r10 ** 2, rtol=0.01)


def test_incremental_catchments_equal_direct_union():
    """Each threshold's polygon, built by adding newly reached streets to the previous one,
    is the polygon of all streets reached at that threshold (drive, one-way streets)."""
    from pna.access.isochrones import catchment_polygon

    g = newport_graphs()["drive"]
    sites = osm_sites().head(1)
    iso = network_isochrones(g, sites, [5, 10], buffer_m=50)
    node, _ = snap(g, np.c_[sites.geometry.x, sites.geometry.y], max_snap_m=500)
    for code, n in zip(sites["ods_code"], node):
        secs = dijkstra(g.csr_reverse, directed=True, indices=int(n), limit=10 * 60)
        for th in (5, 10):
            direct = catchment_polygon(reached_segments(g, secs, budget_s=th * 60), 50)
            got = iso[(iso["ods_code"] == code) & (iso["threshold_min"] == th)].geometry.iloc[0]
            assert direct.symmetric_difference(got).area / direct.area < 0.005

"""Catchments contoured from the time surface: exact on a one-street graph, and within the
stated tolerance of the buffered-segment polygons on the real Newport network."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pna.access.contour import catchment_grid, contour_isochrones
from pna.access.graph import StreetGraph, _csr
from pna.access.isochrones import ISOCHRONE_COLUMNS, network_isochrones
from pna.crs import BNG
from pna.modes import Mode
from tests.access.test_engine import newport_graphs, osm_sites


def _one_street(one_way: bool) -> StreetGraph:
    """Two nodes 1 km apart on a west–east street taking 100 s."""
    xy = np.array([[400_000.0, 300_000.0], [401_000.0, 300_000.0]])
    u, v = ([0], [1]) if one_way else ([0, 1], [1, 0])
    t = np.full(len(u), 100.0)
    edges = pd.DataFrame({"u": u, "v": v, "length_m": 1000.0, "time_s": t, "highway": "residential",
                          "way_id": 1})
    return StreetGraph(mode=Mode.WALK, node_osmid=np.array([1, 2]), node_xy=xy,
                       csr=_csr(np.array(u), np.array(v), t, 2), edges=edges)


def _site_at(x: float, y: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"ods_code": ["FX001"]}, geometry=[shapely.Point(x, y)], crs=BNG)


def _region_hausdorff(a: shapely.Geometry, b: shapely.Geometry, step_m: float) -> float:
    """Largest distance from a point of either outline (densified to ``step_m``) to the other polygon."""
    def far(p: shapely.Geometry, q: shapely.Geometry) -> float:
        pts = shapely.points(shapely.get_coordinates(shapely.segmentize(p.boundary, step_m)))
        return float(shapely.distance(pts, q).max())
    return max(far(a, b), far(b, a))


def test_one_way_street_cell_centres_follow_the_buffer_rule_exactly():
    g = _one_street(one_way=True)
    cell, buffer = 10.0, 50.0
    iso = contour_isochrones(g, _site_at(401_000, 300_000), [1], cell_m=cell, buffer_m=buffer)
    assert list(iso.columns) == ISOCHRONE_COLUMNS and len(iso) == 1
    poly = iso.geometry.iloc[0]
    # 60 s of a 100 s street: the 600 m next to the pharmacy's end, and none of the rest
    reached = shapely.LineString([(400_400, 300_000), (401_000, 300_000)])
    xs, ys = np.meshgrid(np.arange(400_005, 401_100, cell), np.arange(299_905, 300_100, cell))
    pts = shapely.points(xs.ravel(), ys.ravel())
    expected = shapely.distance(pts, reached) <= buffer
    got = shapely.contains(poly, pts)
    assert expected.sum() > 500 and np.array_equal(got, expected)


def test_direction_matters_and_two_way_streets_reach_from_both_ends():
    # nothing leads to the west end of a street running east: as with the buffered polygons
    assert contour_isochrones(_one_street(True), _site_at(400_000, 300_000), [1]).empty
    two_way = contour_isochrones(_one_street(False), _site_at(400_000, 300_000), [1])
    minx, _, maxx, _ = two_way.geometry.iloc[0].bounds
    assert minx < 400_000 - 40 and abs(maxx - (400_600 + 50)) <= 10


def test_connector_time_and_unsnapped_sites():
    g = _one_street(False)
    near = contour_isochrones(g, _site_at(401_000, 300_100), [1], connector_kmh=3.6)  # 100 s away
    assert near.empty  # the connector uses the whole minute
    far = contour_isochrones(g, _site_at(405_000, 300_000), [1], max_snap_m=500)
    assert far.empty


@pytest.fixture(scope="module")
def compared():
    """Contoured and buffered polygons for the same Newport pharmacies, walk and drive."""
    graphs, sites = newport_graphs(), osm_sites()
    out = {}
    for mode, cell, n in ((Mode.WALK, 10.0, 4), (Mode.DRIVE, 20.0, 2)):
        g = graphs[mode]
        grid = catchment_grid(g, cell_m=cell, buffer_m=50.0)
        ths = [5, 10] if mode == Mode.WALK else [5]
        new = contour_isochrones(g, sites.iloc[:n], ths, grid=grid)
        old = network_isochrones(g, sites.iloc[:n], ths, buffer_m=50.0,
                                 grid_m=5.0 if mode == Mode.WALK else 10.0)
        out[mode] = (cell, new.merge(old, on=["ods_code", "threshold_min"], suffixes=("_new", "_old")), new)
    return out


@pytest.mark.parametrize("mode", [Mode.WALK, Mode.DRIVE])
def test_within_the_stated_tolerance_of_the_buffered_polygons(compared, mode):
    """The tolerance (also in docs/ARCHITECTURE.md): area within 1.5 %, no outline point more
    than one cell diagonal plus the old polygons' 5–10 m precision from the other polygon."""
    cell, both, new = compared[mode]
    assert len(both) == len(new) > 0
    for a, b in zip(both["geometry_new"], both["geometry_old"]):
        assert shapely.is_valid(a)
        assert abs(a.area / b.area - 1) < 0.015
        assert _region_hausdorff(a, b, cell / 2) <= cell * np.sqrt(2) + 10
        assert shapely.symmetric_difference(a, b).area / b.area < (0.04 if mode == Mode.WALK else 0.08)


def test_thresholds_nest_exactly(compared):
    _, _, new = compared[Mode.WALK]
    for _, grp in new.groupby("ods_code"):
        by = grp.set_index("threshold_min").geometry
        assert by[10].contains(by[5]) and by[10].area > by[5].area

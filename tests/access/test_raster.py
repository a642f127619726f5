"""Time rasters: GeoTIFF of minutes to the nearest pharmacy."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from pna.access.engine import NetworkModel
from pna.access.raster import NODATA, grid_for, write_time_raster
from pna.access.straightline import StraightLineModel
from tests.access.test_engine import newport_cfg, newport_graphs, osm_sites


@pytest.fixture(scope="module")
def area():
    # a real piece of central Newport round the mapped pharmacies, with a notch so some cells are outside
    b = osm_sites().total_bounds
    poly = box(b[0] - 500, b[1] - 500, b[2] + 500, b[3] + 500).difference(
        box(b[0] - 500, b[1] - 500, b[0] + 500, b[1] + 500))
    return gpd.GeoDataFrame(geometry=[poly], crs=27700)


def _empty_demand():
    return gpd.GeoDataFrame({"point_id": [], "population": []}, geometry=[], crs=27700)


def test_straightline_raster_values_and_bytes(tmp_path, area):
    sites = osm_sites()
    m = StraightLineModel(_empty_demand(), "walk", 4.8, 1.3)
    p1 = write_time_raster(m, sites, area, tmp_path / "a.tif", cell_m=100)
    p2 = write_time_raster(m, sites, area, tmp_path / "b.tif", cell_m=100)
    assert p1.read_bytes() == p2.read_bytes()  # deterministic: no date tags
    with rasterio.open(p1) as r:
        assert r.crs.to_epsg() == 27700 and r.dtypes[0] == "float32" and r.nodata == NODATA
        a = r.read(1)
        t = r.transform
    xy, inside, _ = grid_for(area, 100)
    assert (a[~inside] == NODATA).all() and (a[inside] >= 0).all()
    assert t.a == 100 and t.c % 100 == 0 and t.f % 100 == 0
    # one cell checked against the formula
    i = int(np.flatnonzero(inside.ravel())[10])
    d = np.hypot(*(np.column_stack([sites.geometry.x, sites.geometry.y]) - xy[i]).T).min()
    assert a.ravel()[i] == pytest.approx(d * 1.3 / 80, rel=1e-5)


def test_network_raster(tmp_path, area):
    cfg = newport_cfg()
    m = NetworkModel(newport_graphs()["walk"], _empty_demand(), cfg, "walk")
    sites = osm_sites()
    p = write_time_raster(m, sites, area, tmp_path / "walk.tif", cell_m=200)
    with rasterio.open(p) as r:
        a = r.read(1)
    sl = StraightLineModel(_empty_demand(), "walk", 4.8, 1.0)
    xy, inside, _ = grid_for(area, 200)
    crow, _ = sl.minutes_at(xy[inside.ravel()], sites)
    net = a[inside]
    ok = net != NODATA
    assert ok.mean() > 0.9
    # network time can never beat walking the straight line at the same speed
    assert np.all(net[ok] >= crow[ok] - 1e-3)
    assert np.median(net[ok] / np.maximum(crow[ok], 1e-6)) < 2.0

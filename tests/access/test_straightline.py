"""The straight-line estimate."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from pna.access.engine import TravelModel
from pna.access.straightline import StraightLineModel


def _pts(xy, **cols):
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in xy], crs=27700)


def test_minutes_formula_and_nearest():
    demand = _pts([(3000, 4000), (0, 100), (10000, 0)], point_id=["a", "b", "c"])
    sites = _pts([(0, 0), (10000, 1000)], ods_code=["F1", "F2"])
    m = StraightLineModel(demand, "walk", 4.8, 1.3)
    assert isinstance(m, TravelModel)
    t = m.times_to(sites)
    assert t.shape == (2, 3)
    assert t[0, 0] == pytest.approx(5000 * 1.3 / 80.0)  # 4.8 km/h = 80 m/min
    minutes, idx = m.nearest(sites)
    np.testing.assert_allclose(minutes, t.min(axis=0))
    np.testing.assert_array_equal(idx, t.argmin(axis=0))
    assert m.is_estimate and m.method == "straight_line"
    assert m.method_note == ("Estimate: straight-line distance × 1.30 circuity at 4.8 km/h; "
                             "no street network was supplied")


def test_no_sites_means_unreachable():
    demand = _pts([(0, 0)], point_id=["a"])
    m = StraightLineModel(demand, "drive", 30, 1.35)
    minutes, idx = m.nearest(_pts([], ods_code=[]))
    assert np.isinf(minutes).all() and (idx == -1).all()


def test_bad_parameters():
    with pytest.raises(ValueError):
        StraightLineModel(_pts([(0, 0)]), "walk", 4.8, 0.9)

"""Selecting the pharmacies that count as face-to-face supply."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import Point

from pna.access.supply import select_supply
from pna.quality import QualityLog
from tests.access.test_demand import leicester_cfg


def _pharmacies():
    return gpd.GeoDataFrame({
        "ods_code": ["FE1", "FD2", "FC3", "FB4", "FA5"],
        "in_area": [True, True, False, False, True],
        "dist_to_area_m": [0.0, 0.0, 800.0, 1600.0, 0.0],
        "is_distance_selling": [False, True, False, False, False],
    }, geometry=[Point(0, 0), Point(1, 1), Point(2, 2), Point(3, 3), None], crs=27700)


def test_bands_distance_selling_and_unlocated():
    q = QualityLog()
    cfg = leicester_cfg()
    sup = select_supply(_pharmacies(), cfg, quality=q)
    assert sup.sites["ods_code"].tolist() == ["FC3", "FE1"]  # sorted; FB4 beyond 1.5 km, FD2 distance selling
    assert sup.excluded_distance_selling == 1
    assert sup.excluded_unlocated == 1
    assert "1 distance-selling pharmacies were excluded" in sup.note
    assert q.table()["record"].tolist() == ["FA5"]


def test_distance_selling_kept_when_switched_off():
    cfg = leicester_cfg()
    cfg2 = cfg.model_copy(update={"travel": cfg.travel.model_copy(update={"exclude_distance_selling": False})})
    sup = select_supply(_pharmacies(), cfg2)
    assert "FD2" in set(sup.sites["ods_code"])
    assert sup.excluded_distance_selling == 0


def test_no_distance_selling_flag_is_said():
    df = _pharmacies().drop(columns="is_distance_selling")
    sup = select_supply(df, leicester_cfg())
    assert len(sup.sites) == 3
    assert "no pharmacy is identified as distance-selling" in sup.note
    assert np.all(sup.sites.geometry.notna())

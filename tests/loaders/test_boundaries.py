"""Tests for pna.loaders.boundaries on the real generalised ONS boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from pna.config import load_config
from pna.errors import InputError
from pna.loaders.boundaries import area_bbox_4326, load_area, load_lsoa, load_msoa

ROOT = Path(__file__).resolve().parents[2]
needs_data = pytest.mark.skipif(not (ROOT.parent / "shared" / "pna-data").is_dir(),
                                reason="shared pna-data not available")


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config" / "leicester.yaml")


@needs_data
def test_load_area(cfg):
    area = load_area(cfg)
    assert len(area) == 1 and area.crs.to_epsg() == 27700
    assert area.loc[0, "area_code"] == "E06000016" and area.loc[0, "area_name"] == "Leicester"
    km2 = area.geometry.area.iloc[0] / 1e6
    assert 65 < km2 < 80  # Leicester is about 73 km²
    c = area.geometry.centroid.iloc[0]
    assert 455_000 < c.x < 465_000 and 300_000 < c.y < 310_000


@needs_data
def test_load_lsoa_by_code_and_bbox(cfg):
    codes = ["E01013600", "E01013601"]
    lsoa = load_lsoa(cfg, codes)
    assert list(lsoa["lsoa11_code"]) == codes and lsoa.crs.to_epsg() == 27700
    assert lsoa.loc[0, "lsoa11_name"] == "Leicester 003A"
    near = load_lsoa(cfg, bbox=area_bbox_4326(load_area(cfg)))
    assert set(codes) <= set(near["lsoa11_code"]) and 192 < len(near) < 1000
    with pytest.raises(InputError, match="E01999999"):
        load_lsoa(cfg, ["E01013600", "E01999999"])


@needs_data
def test_load_msoa(cfg):
    msoa = load_msoa(cfg, ["E02002844", "E02002847"])
    assert list(msoa["msoa11_code"]) == ["E02002844", "E02002847"]
    assert msoa.geometry.is_valid.all() and (msoa.geometry.area > 1e5).all()

"""Folium maps: attribution, legend, equivalent table, determinism, rounding."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pna.report import vendor
from pna.report.maps import esc, minute_bins, premises_type, to_wgs84, write_maps
from tests.report.synthetic import synthetic_context


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    run = synthetic_context(tmp_path_factory.mktemp("maps"))
    ms, notes = write_maps(run)
    return run, ms, notes


def test_expected_maps_written(maps):
    run, ms, _ = maps
    assert [m.slug for m in ms] == ["premises", "access_walk", "opening_hours", "rates", "imd"]
    for m in ms:
        assert m.path.parent == run.cfg.out / "maps" and m.path.is_file()
        assert m.src == f"maps/{m.slug}.html"


def test_each_map_has_attribution_legend_title_and_lang(maps):
    _, ms, _ = maps
    for m in ms:
        html = m.path.read_text(encoding="utf-8")
        # folium JSON-encodes the attribution into the tile layer options
        attribution = '"attribution": "\\u0026copy; \\u003ca href=\\"https://www.openstreetmap.org/copyright\\"'
        assert attribution in html, m.slug
        assert "OpenStreetMap\\u003c/a\\u003e contributors" in html
        assert 'class="pna-legend"' in html and all(esc(item[0]) in html for item in m.legend)
        assert '<html lang="en">' in html and f"<title>{esc(m.title)}</title>" in html
        assert "user-scalable=no" not in html and '<main style="height:100%">' in html and "<h1 " in html
        assert not m.table.empty and m.table_caption


def test_equivalent_tables_carry_the_map_content(maps):
    run, ms, _ = maps
    by = {m.slug: m for m in ms}
    assert sorted(by["premises"].table["ods_code"]) == sorted(run.geography.pharmacies["ods_code"])
    t = dict(zip(by["premises"].table["ods_code"], by["premises"].table["type"]))
    assert t == {"FA001": "100-hour", "FA002": "standard", "FA003": "standard", "FA004": "standard",
                 "FA005": "distance-selling", "FB001": "cross-border"}
    acc = by["access_walk"].table
    assert acc["residents"].sum() == pytest.approx(7000, abs=1)
    assert acc["demand points"].sum() == len(run.access.results["walk"].demand)
    # residents within 20 min on the map table equal the coverage table's figure
    cov = run.tables["coverage_walk"]
    within20 = cov[(cov.group_type == "area") & (cov.threshold_min == 20)]["population_within"].iloc[0]
    assert acc["residents"].iloc[:4].sum() == pytest.approx(within20, abs=1)
    assert by["rates"].table.set_index("locality")["rate_per_10k"]["North"] == pytest.approx(3 / 3300 * 1e4)


def test_deterministic_and_rounded(tmp_path):
    a, _ = write_maps(synthetic_context(tmp_path / "a"))
    b, _ = write_maps(synthetic_context(tmp_path / "b"))
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.path.read_bytes() == y.path.read_bytes(), x.slug
        text = x.path.read_text(encoding="utf-8")
        # no coordinate with more than 6 decimal places
        assert not re.search(r"-?\d+\.\d{7,}", text), x.slug


def test_helpers():
    ph = pd.DataFrame({"is_100_hour": [True, True, False, False], "is_distance_selling": [False, True, False, False],
                       "in_area": [True, True, True, False]})
    assert premises_type(ph).tolist() == ["100-hour", "distance-selling", "standard", "cross-border"]
    assert [b[2] for b in minute_bins([5, 10])] == ["under 5 minutes", "5 to 10 minutes", "over 10 minutes, or no route"]
    assert minute_bins([5, 10, 20], gap=10)[2][2] == "10 to 20 minutes (beyond the 10-minute standard)"
    assert esc("a`${x}\\<") == "a&#96;&#36;{x}&#92;&lt;"
    import geopandas as gpd
    from shapely.geometry import Point
    g = to_wgs84(gpd.GeoDataFrame(geometry=[Point(455123.456, 300987.654)], crs=27700), simplify_m=0)
    x = g.geometry.iloc[0].x
    assert np.isclose(x, round(x, 6), atol=0, rtol=0)


def _assets(html: str) -> tuple[list[str], list[str]]:
    return (re.findall(r'<script src="([^"]+)"', html), re.findall(r'<link rel="stylesheet" href="([^"]+)"', html))


def test_maps_load_only_the_vendored_leaflet_beside_them(maps):
    run, ms, notes = maps
    src = vendor.leaflet_dir()
    if src is None:
        pytest.skip("no vendored Leaflet (python -m pna.report.vendor)")
    for m in ms:
        assert _assets(m.path.read_text(encoding="utf-8")) == (["lib/leaflet.js"], ["lib/leaflet.css"]), m.slug
    lib = run.cfg.out / "maps" / "lib"
    for name in vendor.LEAFLET_FILES:
        assert (lib / name).read_bytes() == (src / name).read_bytes()
    assert vendor.CDN_NOTE not in notes


def test_without_a_vendored_copy_maps_use_the_cdn_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PNA_VENDOR_DIR", str(tmp_path / "empty"))
    run = synthetic_context(tmp_path / "out")
    ms, notes = write_maps(run)
    for m in ms:
        js, css = _assets(m.path.read_text(encoding="utf-8"))
        assert js == [f"{vendor.LEAFLET_CDN}/leaflet.js"] and css == [f"{vendor.LEAFLET_CDN}/leaflet.css"]
    assert not (run.cfg.out / "maps" / "lib").exists()
    assert notes.count(vendor.CDN_NOTE) == 1

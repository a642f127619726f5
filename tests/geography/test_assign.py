"""Tests for pna.geography.assign: synthetic geometry with known distances, and the real Leicester run."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from pna.config import load_config
from pna.errors import InputError
from pna.geography.area import build_area, dissolve_localities
from pna.geography.assign import (
    assign_pharmacies,
    band_labels,
    band_of,
    cross_border_candidates,
    place_pharmacies,
    read_locality_overrides,
)
from pna.loaders.population import BAND_COLUMNS
from pna.loaders.postcodes import postcode_table
from pna.quality import QualityLog

from .test_geocode import read_list

ROOT = Path(__file__).resolve().parents[2]
needs_data = pytest.mark.skipif(not (ROOT.parent / "shared" / "pna-data").is_dir(),
                                reason="shared pna-data not available")
BANDS = [0.5, 1.0, 1.5]
CRS = "EPSG:27700"


# A 10 km square area: LSOAs are four 5 km quadrants, localities the west and east halves.
# The east quadrants stop 100 m short of the area's east edge, leaving a sliver in no LSOA.
@pytest.fixture()
def toy():
    area = gpd.GeoDataFrame({"area_code": ["E06999999"]}, geometry=[box(0, 0, 10_000, 10_000)], crs=CRS)
    quads = [("L1", "M1", "West", box(0, 0, 5_000, 5_000)), ("L2", "M1", "West", box(0, 5_000, 5_000, 10_000)),
             ("L3", "M2", "East", box(5_000, 0, 9_900, 5_000)), ("L4", "M2", "East", box(5_000, 5_000, 9_900, 10_000))]
    lsoa = gpd.GeoDataFrame({"lsoa11_code": [q[0] for q in quads], "msoa11_code": [q[1] for q in quads],
                             "locality": [q[2] for q in quads], "pop_total": [1.0] * 4},
                            geometry=[q[3] for q in quads], crs=CRS)
    for col in ("pop_18plus", "pop_65plus", "pop_0_17", "pop_18_64"):
        lsoa[col] = 0.0
    for col in BAND_COLUMNS:
        lsoa[col] = 0.0
    return area, lsoa, dissolve_localities(lsoa)


def _points(rows):
    df = pd.DataFrame(rows, columns=["ods_code", "hwb", "x", "y"])
    df["source_row"] = np.arange(2, len(df) + 2)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["x"], df["y"]), crs=CRS)


def test_band_labels_and_edges():
    assert band_labels(BANDS) == ["0-0.5 km", "0.5-1 km", "1-1.5 km"]
    assert band_labels([1, 2.5]) == ["0-1 km", "1-2.5 km"]
    got = band_of(np.array([0, 1, 499.9, 500, 500.1, 1000, 1499, 1500, 1500.1, 5000]), BANDS)
    assert list(got) == ["0-0.5 km"] * 4 + ["0.5-1 km"] * 2 + ["1-1.5 km"] * 2 + [None, None]


def test_synthetic_bands_localities_and_flags(toy):
    area, lsoa, loc = toy
    pts = _points([
        ("FIN01", "AREA", 2_000, 2_000),     # West, 3 km from East
        ("FIN02", "AREA", 4_950, 7_000),     # West, 50 m from East: flagged
        ("FIN03", "AREA", 9_950, 2_000),     # in the area but in no LSOA: nearest (L3), flagged
        ("FIN04", "AREA", 10_200, 5_000),    # on the list but 200 m outside the boundary: kept inside
        ("FOUT1", "OTHER", 10_250, 5_000),   # 250 m out
        ("FOUT2", "OTHER", 5_000, -500),     # exactly 500 m out
        ("FOUT3", "OTHER", -750, 5_000),     # 750 m out
        ("FOUT4", "OTHER", 11_000, 11_000),  # sqrt(2) km ~ 1414 m out (corner)
        ("FOUT5", "OTHER", 12_000, 5_000),   # 2 km out: dropped
        ("FOUT6", "OTHER", 1_000, 1_000),    # another board's pharmacy inside the boundary
    ])
    q = QualityLog()
    placed = assign_pharmacies(pts, lsoa=lsoa, localities=loc, area=area, bands_km=BANDS, flag_m=150,
                               overrides_path=None, quality=q, hwb_name="AREA")
    g = placed.pharmacies.set_index("ods_code")
    assert "FOUT5" not in g.index and placed.beyond_outer_band == 1
    assert "1 pharmacies" in placed.notes[0] and len(placed.notes) == 3
    assert g["band"].to_dict() == {"FIN01": "inside", "FIN02": "inside", "FIN03": "inside", "FIN04": "inside",
                                   "FOUT1": "0-0.5 km", "FOUT2": "0-0.5 km", "FOUT3": "0.5-1 km",
                                   "FOUT4": "1-1.5 km", "FOUT6": "0-0.5 km"}
    assert g.loc["FOUT4", "dist_to_area_m"] == pytest.approx(1000 * np.sqrt(2))
    assert g.loc["FOUT2", "dist_to_area_m"] == pytest.approx(500)
    assert g.loc["FIN01", "dist_to_area_m"] == 0
    assert g["in_area"].to_dict() == {k: k.startswith("FIN") for k in g.index}
    assert g.loc["FIN01", ["lsoa11_code", "msoa11_code", "locality"]].tolist() == ["L1", "M1", "West"]
    assert g.loc["FIN03", "lsoa11_code"] == "L3" and g.loc["FIN04", "lsoa11_code"] in ("L3", "L4")
    assert g.loc["FIN01", "dist_to_locality_boundary_m"] == pytest.approx(3000)
    assert g.loc["FIN02", "dist_to_locality_boundary_m"] == pytest.approx(50)
    assert g["near_locality_boundary"].sum() == 1 and g.loc["FIN02", "near_locality_boundary"]
    assert pd.isna(g.loc["FOUT1", "locality"]) and not g.loc["FOUT1", "near_locality_boundary"]
    ex = q.table().set_index("record")
    assert set(ex.index) == {"FIN02", "FIN03", "FIN04", "FOUT6"} and (ex["action"] == "flagged").all()
    assert "nearest LSOA L3" in ex.loc["FIN03", "reason"] and "200 m outside" in ex.loc["FIN04", "reason"]
    assert ex.loc["FIN02", "row"] == 3


def test_geometric_in_area_without_hwb(toy):
    area, lsoa, loc = toy
    pts = _points([("F1", "X", 1_000, 1_000), ("F2", "X", 10_200, 5_000)])
    g = assign_pharmacies(pts, lsoa=lsoa, localities=loc, area=area, bands_km=BANDS, flag_m=150, overrides_path=None,
                          quality=QualityLog()).pharmacies.set_index("ods_code")
    assert g["in_area"].to_dict() == {"F1": True, "F2": False}
    assert g.loc["F2", "band"] == "0-0.5 km"


def test_locality_override(toy, tmp_path):
    area, lsoa, loc = toy
    pts = _points([("FIN02", "AREA", 4_950, 7_000), ("FOUT1", "AREA2", 10_250, 5_000)])
    ov = tmp_path / "loc.csv"
    ov.write_text("ods_code,locality,reason\nFIN02,East,entrance is on the east side\n"
                  "FOUT1,West,x\nFGONE,West,closed\n")
    q = QualityLog()
    g = assign_pharmacies(pts, lsoa=lsoa, localities=loc, area=area, bands_km=BANDS, flag_m=150, overrides_path=ov,
                          quality=q, hwb_name="AREA").pharmacies.set_index("ods_code")
    assert g.loc["FIN02", "locality"] == "East" and g.loc["FIN02", "locality_source"] == "override"
    assert g.loc["FIN02", "lsoa11_code"] == "L2"  # the LSOA stays computed
    ex = q.table().set_index("record")
    assert ex.loc["FIN02", "action"] == "overridden" and "West -> East" in ex.loc["FIN02", "reason"]
    assert "not in the area" in ex.loc["FOUT1", "reason"] and "not among" in ex.loc["FGONE", "reason"]
    # The boundary flag is resolved by the override, so it is not logged again.
    assert (ex.loc["FIN02":"FIN02", "action"] == "overridden").all()


@pytest.mark.parametrize("body, match, row", [
    ("FA1,Nowhere,r\n", "unknown locality 'Nowhere'", 2),
    ("FA1,East,\n", "reason is required", 2),
    ("FA1,East,r\nFA1,West,r\n", "overridden twice", 3),
])
def test_locality_override_validation(tmp_path, body, match, row):
    ov = tmp_path / "loc.csv"
    ov.write_text("ods_code,locality,reason\n" + body)
    with pytest.raises(InputError, match=match) as err:
        read_locality_overrides(ov, ["East", "West"])
    assert err.value.row == row


def test_locality_template_is_valid():
    assert read_locality_overrides(ROOT / "config" / "overrides" / "leicester_locality.csv", ["A"]).empty


@pytest.fixture(scope="module")
def leicester_run():
    cfg = load_config(ROOT / "config" / "leicester.yaml")
    q = QualityLog()
    postcodes = postcode_table(cfg, q)
    area, lsoa, loc = build_area(cfg, q)
    national = read_list()
    placed = place_pharmacies(cfg=cfg, national_list=national, postcodes=postcodes, area=area, lsoa=lsoa,
                              localities=loc, quality=q)
    ph, notes = placed.pharmacies, placed.notes
    return cfg, national, postcodes, area, ph, notes, q


@needs_data
def test_leicester_pharmacies(leicester_run):
    cfg, national, _, _, ph, notes, q = leicester_run
    inside = ph[ph["in_area"]]
    assert len(inside) == 81 and (inside["band"] == "inside").all()
    assert set(inside["ods_code"]) == set(national.loc[national["hwb"] == "LEICESTER CITY", "ods_code"])
    assert inside["locality"].notna().all() and (inside["locality_source"] == "computed").all()
    assert inside.groupby("locality").size().to_dict() == {"Central": 20, "East": 9, "North": 24,
                                                           "North West": 7, "South": 10, "West": 11}
    # Boundaries are generalised: every pharmacy within 150 m of another locality is flagged.
    near = inside[inside["near_locality_boundary"]]
    assert (near["dist_to_locality_boundary_m"] <= 150).all()
    assert (inside.loc[~inside["near_locality_boundary"], "dist_to_locality_boundary_m"] > 150).all()
    ex = q.table()
    flagged = set(ex.loc[(ex["action"] == "flagged") & ex["reason"].str.contains("another locality"), "record"])
    assert flagged == set(near["ods_code"]) and len(flagged) == 19
    assert "FPG82" in flagged  # about 11 m from the North/other-locality line
    # The sort puts the area first, then bands in order.
    assert list(ph["band"].drop_duplicates()) == ["inside", "0-0.5 km", "0.5-1 km", "1-1.5 km"]
    assert ph["geometry"].crs.to_epsg() == 27700


@needs_data
def test_leicester_cross_border(leicester_run):
    cfg, national, postcodes, area, ph, notes, _ = leicester_run
    cb = cross_border_candidates(national, postcodes, area=area, bands_km=BANDS, hwb_name="LEICESTER CITY")
    cross = cb.candidates
    assert (cross["hwb"] != "LEICESTER CITY").all() and (cross["dist_to_area_m"] <= 1500).all()
    # bands measured from the union of the LSOAs (the area outline build_area returns)
    assert cross["band"].value_counts().to_dict() == {"0-0.5 km": 10, "0.5-1 km": 13, "1-1.5 km": 11}
    counts = cb.counts
    assert counts["checked"] == len(national) - 81
    assert counts["checked"] == counts["located"] + counts["not_in_postcode_files"]
    assert any("outside the postcode files' coverage" in n for n in notes)
    out = ph[~ph["in_area"]]
    assert out["band"].value_counts().to_dict() == cross["band"].value_counts().to_dict()


@needs_data
def test_in_area_carried_from_geocode(leicester_run):
    """Wired by hand (geocode + cross-border, no hwb_name), the list still decides ``in_area``."""
    from pna.geography.geocode import geocode

    cfg, national, postcodes, area, ph, _, _ = leicester_run
    q = QualityLog()
    _, lsoa, loc = build_area(cfg, q)
    own = geocode(national[national["hwb"] == "LEICESTER CITY"], postcodes, overrides_path=None,
                  area_code=cfg.area.code, quality=q, hwb_name="LEICESTER CITY")
    cross = cross_border_candidates(national, postcodes, area=area, bands_km=BANDS, hwb_name="LEICESTER CITY")
    both = pd.concat([own, cross.candidates], ignore_index=True)
    g = assign_pharmacies(both, lsoa=lsoa, localities=loc, area=area, bands_km=BANDS, flag_m=150, overrides_path=None,
                          quality=q).pharmacies
    assert g["in_area"].sum() == 81
    # FAL96 (Leicestershire) sits inside the generalised city boundary but is not on the city's list.
    fal96 = g.set_index("ods_code").loc["FAL96"]
    assert not fal96["in_area"] and fal96["band"] == "0-0.5 km" and fal96["dist_to_area_m"] == 0

"""Demand points on the real Leicester Output Areas and LSOAs."""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from pna.access.demand import DEMAND_COLUMNS, build_demand_points
from pna.config import load_config
from pna.quality import QualityLog

ROOT = Path(__file__).parents[2]
DATA = ROOT.parent / "shared" / "pna-data"


@functools.cache
def leicester_cfg():
    return load_config(ROOT / "config" / "leicester.yaml", data_dir=DATA)


@functools.cache
def real_lsoa(la_code: str = "E06000016", locality_file: str | None = "localities/leicester_localities_msoa11.csv",
              imd: bool = True) -> gpd.GeoDataFrame:
    """The area's LSOAs with mid-2020 population, locality and IMD, read from the real files.

    A minimal stand-in for the geography stage (``ctx.lsoa``), used so these tests do not depend on it.
    """
    look = pd.read_csv(DATA / "lookups/lookup_lsoa11_ltla21.csv", dtype=str)
    codes = sorted(look.loc[look["ltla21_code"] == la_code, "lsoa11_code"])
    bnd = gpd.read_file(DATA / "boundaries/ew_lsoa11_generalised.gpkg", where=None)
    bnd = bnd[bnd["lsoa11_code"].isin(codes)].to_crs(27700)
    sape = pd.read_csv(DATA / "population/ons_sape_mid2020_lsoa11_single_year_of_age.csv")
    sape = sape[sape["lsoa11_code"].isin(codes)].set_index("lsoa11_code")
    old = [str(a) for a in range(65, 90)] + ["90+"]
    msoa = pd.read_csv(DATA / "lookups/lookup_lsoa11_msoa11.csv", dtype=str).set_index("lsoa11_code")
    df = bnd[["lsoa11_code", "geometry"]].copy()
    df["msoa11_code"] = msoa["msoa11_code"].reindex(df["lsoa11_code"]).to_numpy()
    df["pop_total"] = sape["total_population"].reindex(df["lsoa11_code"]).to_numpy(float)
    df["pop_65plus"] = sape[old].sum(axis=1).reindex(df["lsoa11_code"]).to_numpy(float)
    if locality_file:
        loc = pd.read_csv(DATA / locality_file, dtype=str).set_index("msoa11_code")["locality"]
        df["locality"] = loc.reindex(df["msoa11_code"]).to_numpy()
    else:
        df["locality"] = df["msoa11_code"]
    if imd:
        iod = pd.read_csv(DATA / "deprivation/iod2019_lsoa11_ranks_deciles.csv").set_index("lsoa11_code")
        dec = iod["IMD_decile"].reindex(df["lsoa11_code"]).to_numpy()
        df["imd2019_quintile"] = np.ceil(dec / 2)
    else:
        df["imd2019_quintile"] = np.nan
    return gpd.GeoDataFrame(df.sort_values("lsoa11_code").reset_index(drop=True), crs=27700)


@pytest.fixture(scope="module")
def oa_points():
    q = QualityLog()
    return build_demand_points(leicester_cfg(), real_lsoa(), q), q


def test_oa_points_sum_to_lsoa_totals(oa_points):
    pts, _ = oa_points
    lsoa = real_lsoa()
    assert list(pts.columns) == DEMAND_COLUMNS
    assert pts.crs.to_epsg() == 27700
    assert len(pts) == 969
    assert (pts["source"] == "output_area").all()
    assert pts["population"].sum() == pytest.approx(lsoa["pop_total"].sum(), rel=1e-12)
    assert pts["population"].sum() == pytest.approx(354036, abs=1e-6)
    by = pts.groupby("lsoa11_code")[["population", "pop_65plus"]].sum()
    ref = lsoa.set_index("lsoa11_code")[["pop_total", "pop_65plus"]]
    np.testing.assert_allclose(by["population"], ref["pop_total"].reindex(by.index), rtol=1e-12)
    np.testing.assert_allclose(by["pop_65plus"], ref["pop_65plus"].reindex(by.index), rtol=1e-12)
    assert pts["point_id"].is_unique and pts["point_id"].is_monotonic_increasing


def test_oa_points_lie_inside_their_polygons(oa_points):
    pts, _ = oa_points
    polys = gpd.read_file("zip://" + str(DATA / "census2011_oa/cdrc_oac2011_geodata_pack_E06000016.zip")
                          + "!E06000016/E06000016_Leicester.shp").set_index("oa_code")
    geom = polys.geometry.reindex(pts["point_id"].str[3:]).to_numpy()
    assert gpd.GeoSeries(geom, crs=27700).contains(pts.geometry.reset_index(drop=True)).all()


def test_oa_points_carry_locality_and_imd(oa_points):
    pts, q = oa_points
    assert pts["locality"].notna().all()
    assert set(pts["locality"]) == {"Central", "East", "North", "North West", "South", "West"}
    assert set(pts["imd2019_quintile"].dropna()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    acc = q.accounting_table()
    assert acc["balanced"].all() and len(acc) == 2


def test_lsoa_points_without_output_areas():
    cfg = leicester_cfg()
    cfg2 = cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"output_areas": None})})
    pts = build_demand_points(cfg2, real_lsoa())
    assert len(pts) == 192 and (pts["source"] == "lsoa").all()
    assert pts["population"].sum() == pytest.approx(354036)
    assert gpd.GeoSeries(real_lsoa().geometry.to_numpy()).contains(
        gpd.GeoSeries(pts.geometry.to_numpy())).all()


def test_missing_oa_population_is_reported(tmp_path):
    cfg = leicester_cfg()
    src = cfg.data_path(cfg.inputs.output_area_population)
    df = pd.read_csv(src, usecols=["OA11CD", "LSOA11CD", "Total_Population"])
    df.loc[0, "Total_Population"] = np.nan          # one OA loses its count
    df = df.drop(index=[1])                          # another OA vanishes from the table
    path = tmp_path / "oa_pop.csv"
    df.to_csv(path, index=False)
    new_src = cfg.inputs.output_area_population.model_copy(update={"path": str(path)})
    cfg2 = cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"output_area_population": new_src})})
    q = QualityLog()
    pts = build_demand_points(cfg2, real_lsoa(), q)
    assert len(pts) == 967
    assert pts["population"].sum() == pytest.approx(354036)
    ex = q.table()
    assert (ex["reason"].str.contains("missing or negative")).sum() == 1
    assert (ex["reason"].str.contains("no population in the OA population file")).sum() == 2
    assert q.accounting_table()["balanced"].all()

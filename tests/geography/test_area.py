"""Tests for pna.geography.area.build_area on the real Leicester and Newport data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pna.config import AreaSpec, Localities, load_config
from pna.geography.area import LSOA_COLUMNS, POPULATION_COLUMNS, area_lsoa_codes, build_area
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (ROOT.parent / "shared" / "pna-data").is_dir(),
                                reason="shared pna-data not available")


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config" / "leicester.yaml")


@pytest.fixture(scope="module")
def leicester(cfg):
    q = QualityLog()
    return (*build_area(cfg, q), q)


def newport_config(cfg, **inputs):
    """Newport (Wales) from the Leicester config: no localities file, no IMD unless given."""
    return cfg.model_copy(update={
        "area": AreaSpec(code="W06000022", name="Newport", hwb_name="NEWPORT", country="wales"),
        "localities": Localities(),
        "inputs": cfg.inputs.model_copy(update={"imd2019": None, **inputs}),
    })


def test_leicester_counts(leicester):
    area, lsoa, loc, q = leicester
    assert len(lsoa) == 192 and lsoa["lsoa11_code"].is_unique
    assert lsoa["msoa11_code"].nunique() == 37
    assert list(loc["locality"]) == ["Central", "East", "North", "North West", "South", "West"]
    assert loc["n_msoa"].sum() == 37 and loc["n_lsoa"].sum() == 192
    assert q.table().empty


def test_leicester_population(leicester):
    area, lsoa, loc, _ = leicester
    assert lsoa["pop_total"].sum() == 354036
    assert loc["pop_total"].sum() == 354036 and area.loc[0, "pop_total"] == 354036
    for col in POPULATION_COLUMNS:
        assert loc[col].sum() == lsoa[col].sum()
    by_loc = lsoa.groupby("locality")["pop_65plus"].sum()
    assert (loc.set_index("locality")["pop_65plus"] == by_loc).all()


def test_leicester_contract_and_imd(leicester):
    area, lsoa, loc, _ = leicester
    assert list(lsoa.columns) == LSOA_COLUMNS + ["provenance"]
    assert lsoa.crs.to_epsg() == 27700 and loc.crs.to_epsg() == 27700 and area.crs.to_epsg() == 27700
    assert lsoa["imd2019_rank"].notna().all()
    assert (lsoa["imd2019_quintile"] == np.ceil(lsoa["imd2019_decile"] / 2)).all()
    # Leicester is deprived: most of its LSOAs are in the two most deprived quintiles.
    assert (lsoa["imd2019_quintile"] <= 2).mean() > 0.5
    assert "Indices of Deprivation 2019" in lsoa["provenance"].iloc[0]
    # Localities are the dissolved LSOAs: their areas add up.
    assert loc.geometry.area.sum() == pytest.approx(lsoa.geometry.area.sum(), rel=1e-6)


def test_spatial_fallback_matches_lookup(cfg, leicester):
    area, lsoa, _, _ = leicester
    no_lookup = cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"lsoa_la_lookup": None})})
    assert area_lsoa_codes(no_lookup, area) == list(lsoa["lsoa11_code"])


def test_newport_wales(cfg):
    q = QualityLog()
    area, lsoa, loc, = build_area(newport_config(cfg), q)[:3]
    assert area.loc[0, "area_code"] == "W06000022"
    assert len(lsoa) == 95 and lsoa["lsoa11_code"].str.startswith("W01").all()
    assert lsoa["msoa11_code"].nunique() == 20 and len(loc) == 20
    # No localities file and no Welsh MSOA names: each MSOA is a locality named by its code.
    assert set(loc["locality"]) == set(lsoa["msoa11_code"])
    assert lsoa["imd2019_rank"].isna().all() and lsoa["imd2019_quintile"].isna().all()
    assert lsoa["pop_total"].sum() == loc["pop_total"].sum() == 156447  # SAPE mid-2020
    # With the English IMD configured, Welsh LSOAs still get NaN, and it is not an exception.
    q2 = QualityLog()
    _, lsoa2, _ = build_area(newport_config(cfg, imd2019=cfg.inputs.imd2019, lsoa_la_lookup=None), q2)
    assert list(lsoa2["lsoa11_code"]) == list(lsoa["lsoa11_code"])
    assert lsoa2["imd2019_rank"].isna().all() and q2.table().empty

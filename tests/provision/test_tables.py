import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from pna.provision import tables as t


@pytest.fixture()
def frames():
    lsoa = pd.DataFrame({
        "lsoa11_code": ["A1", "A2", "B1"], "locality": ["North", "North", "South"],
        "pop_total": [1000.0, 2000.0, 5000.0], "pop_18plus": [800.0, 1500.0, 4000.0],
        "pop_0_17": [200.0, 500.0, 1000.0], "pop_18_64": [600.0, 1200.0, 3000.0],
        "pop_65plus": [200.0, 300.0, 1000.0], "imd2019_quintile": [1, 2, 5],
    })
    localities = pd.DataFrame({"locality": ["North", "South"]})
    ph = gpd.GeoDataFrame({
        "ods_code": ["F1", "F2", "F3", "F4", "F5"],
        "in_area": [True, True, True, False, True],
        "locality": ["North", "South", "South", None, "South"],
        "band": ["inside", "inside", "inside", "0-0.5 km", "inside"],
        "is_100_hour": [True, False, False, False, False],
        "is_distance_selling": [False, True, False, False, False],
        "is_lps": [False, False, False, False, False],
        "is_dac": [False, False, False, False, True],
        "weekly_hours": [100.0, 40.0, 50.0, 60.0, 40.0],
        "opening_category": ["7 days late", "weekdays only", "weekdays + Saturday", "7 days", "weekdays only"],
        "late_weekday": [True, False, False, False, False],
        "sat_pm": [True, False, True, True, False], "sunday": [True, False, False, True, False],
    }, geometry=[Point(450000 + i, 300000) for i in range(5)], crs=27700)
    return lsoa, localities, ph


def test_provision_rates_and_totals(frames):
    lsoa, localities, ph = frames
    eng = t._provision_row("england", "England", 1_000_000.0, 800_000.0, ph.iloc[:2])
    tab = t.provision_table(ph, lsoa, localities, "Town", eng, ["src"])
    assert list(tab["level"]) == ["locality", "locality", "area", "england"]
    north, south, area = tab.iloc[0], tab.iloc[1], tab.iloc[2]
    assert north.pharmacies == 1 and south.pharmacies == 2  # the DAC (F5) is not a pharmacy
    assert area.pharmacies == 3 and area.population == 8000
    assert area.rate_per_10k == pytest.approx(3 / 8000 * 10_000)
    assert south.residents_per_pharmacy == pytest.approx(2500)
    assert tab["distance_selling"].iloc[2] == 1 and tab["hundred_hour"].iloc[2] == 1
    assert (tab["provenance"] == "src").all()


def test_opening_categories_sum_to_pharmacies(frames):
    lsoa, localities, ph = frames
    tab = t.opening_categories_table(ph, localities, "Town", [])
    for name, g in tab.groupby("locality"):
        assert g["pharmacies"].sum() == {"North": 1, "South": 2, "Town": 3}[name]
    assert set(tab["category"]) == set(t.CATEGORIES)


def test_opening_hours_per_10k(frames):
    lsoa, localities, ph = frames
    tab = t.opening_hours_table(ph, lsoa, localities, "Town", [])
    area = tab[tab["level"] == "area"].iloc[0]
    assert area.weekly_hours == 190 and area.hours_per_10k == pytest.approx(190 / 8000 * 10_000)


def test_boundary_bands(frames):
    _, _, ph = frames
    tab = t.boundary_bands_table(ph, ["0-0.5 km", "0.5-1 km"], [])
    assert list(tab["pharmacies"]) == [1, 0]
    assert tab.iloc[0]["7 days"] == 1


def test_demography_by_imd(frames):
    lsoa, localities, _ = frames
    tab = t.demography_table(lsoa, localities, "Town", [])
    area = tab[tab["level"] == "area"].iloc[0]
    assert area.imd_q1 + area.imd_q2 + area.imd_q5 == area.population
    assert area.share_65plus == pytest.approx(1500 / 8000)
    assert np.isclose(tab[tab.level == "locality"]["population"].sum(), area.population)


def test_national_population_england_only(data_dir):
    total, adult = t.national_population(data_dir / "population" / "ons_sape_mid2020_lsoa11_single_year_of_age.csv")
    assert 56_000_000 < total < 57_000_000  # England mid-2020: 56.55 million
    assert 0.7 < adult / total < 0.85

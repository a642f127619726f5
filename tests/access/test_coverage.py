"""Coverage tables: shares of residents within each threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pna.access.coverage import (
    BEYOND_COLUMNS,
    BEYOND_LSOA_COLUMNS,
    COVERAGE_COLUMNS,
    beyond_lsoa_table,
    beyond_table,
    coverage_table,
    demand_with_minutes,
)


@pytest.fixture
def demand():
    return pd.DataFrame({
        "point_id": ["a", "b", "c", "d", "e"],
        "population": [100.0, 200.0, 300.0, 400.0, 0.0],
        "pop_65plus": [10.0, 20.0, 30.0, 40.0, 0.0],
        "lsoa11_code": ["L1", "L1", "L2", "L3", "L3"],
        "locality": ["North", "North", "South", "South", "South"],
        "imd2019_quintile": [1.0, 1.0, 5.0, np.nan, np.nan],
    })


def test_shares_by_group(demand):
    minutes = np.array([3.0, 12.0, 7.0, np.inf, 30.0])
    t = coverage_table(demand, minutes, [5, 10, 15], "walk", "network", False, "src")
    assert list(t.columns) == COVERAGE_COLUMNS
    area = t[t["group_type"] == "area"].set_index("threshold_min")
    assert area["population"].eq(1000.0).all()
    assert area.loc[5, "population_within"] == 100.0
    assert area.loc[10, "population_within"] == 400.0
    assert area.loc[15, "share_within"] == pytest.approx(0.6)  # inf (unreachable) is not covered
    north = t[(t["group"] == "North")].set_index("threshold_min")
    assert north.loc[10, "share_within"] == pytest.approx(1 / 3)
    q = t[t["group_type"] == "imd2019_quintile"]
    assert sorted(q["group"].unique()) == ["1", "5"]  # no quintile (Wales) -> no group
    old = t[t["group_type"] == "age_65plus"].set_index("threshold_min")
    assert old.loc[15, "population"] == 100.0 and old.loc[15, "population_within"] == 60.0
    assert (t["provenance"] == "src").all() and not t["is_estimate"].any()


def test_monotone_and_bounded(demand):
    rng = np.random.default_rng(1)
    minutes = rng.uniform(0, 40, len(demand))
    t = coverage_table(demand, minutes, [5, 10, 20, 30], "drive", "straight_line", True, "src")
    assert t["share_within"].between(0, 1).all()
    for _, g in t.groupby(["group_type", "group"]):
        assert g["population_within"].is_monotonic_increasing


def test_length_mismatch_raises(demand):
    with pytest.raises(ValueError):
        coverage_table(demand, np.zeros(3), [5], "walk", "network", False, "src")


def test_beyond_tables(demand):
    minutes = np.array([3.0, 25.0, 7.0, np.inf, 30.0])
    pts = beyond_table(demand, minutes, 20, "walk", "src", np.array(["F1", "F2", "F1", None, "F2"], dtype=object))
    assert list(pts.columns) == BEYOND_COLUMNS
    assert pts["point_id"].tolist() == ["d", "e", "b"]  # furthest first; inf first
    assert pts["population"].sum() == 600.0
    ls = beyond_lsoa_table(demand, minutes, 20, "walk", "src")
    assert list(ls.columns) == BEYOND_LSOA_COLUMNS
    l1 = ls.set_index("lsoa11_code").loc["L1"]
    assert l1["population_beyond"] == 200.0 and l1["share_beyond"] == pytest.approx(2 / 3)
    assert "L2" not in set(ls["lsoa11_code"])


def test_demand_with_minutes(demand):
    sites = pd.DataFrame({"ods_code": ["FA1", "FB2"]})
    out = demand_with_minutes(demand, np.array([1.0, 2.0, np.inf, 4.0, 5.0]), np.array([0, 1, -1, 1, 0]), sites)
    got = out["nearest_ods"]
    assert got.isna().tolist() == [False, False, True, False, False]
    assert got.dropna().tolist() == ["FA1", "FB2", "FB2", "FA1"]

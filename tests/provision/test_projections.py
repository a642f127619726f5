"""Tests for pna.provision.projections on the real Leicester inputs and on small synthetic histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pna.config import load_config
from pna.io import write_csv
from pna.loaders.population import age_groups, load_sape
from pna.provision.controls import ALL_AGES, OVER_65, dwellings_by_year, load_controls, load_housing
from pna.provision.projections import (
    History,
    apportion,
    build_history,
    census2011_by_lsoa,
    census2021_to_lsoa11,
    damped_horizon,
    project_shares,
    projected_provision,
    run_projections,
    share_slopes,
    vintage_time,
)
from pna.quality import QualityLog

ROOT = Path(__file__).parents[2]
DATA = ROOT.parent / "shared" / "pna-data"
pytestmark = pytest.mark.skipif(not (DATA / "projections").is_dir(), reason="shared pna-data not available")

LOCALITIES = ["Central", "East", "North", "North West", "South", "West"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config" / "leicester.yaml", data_dir=DATA)


@pytest.fixture(scope="module")
def lsoa(cfg):
    """ctx.lsoa built from the real files (SAPE mid-2020 + LSOA->MSOA lookup + localities CSV)."""
    loc = pd.read_csv(cfg.data_path(cfg.localities.file))
    lk = pd.read_csv(cfg.data_path(cfg.inputs.lsoa_msoa_lookup))
    lk = lk[lk["msoa11_code"].isin(loc["msoa11_code"])]
    groups = age_groups(load_sape(cfg.data_path(cfg.inputs.population), lk["lsoa11_code"]))
    df = lk.merge(loc[["msoa11_code", "locality"]], on="msoa11_code").set_index("lsoa11_code")
    return df.join(groups).reset_index()


@pytest.fixture(scope="module")
def provision():
    # today's provision per locality (an input from the provision tables; values here are for the test)
    return pd.DataFrame({"locality": LOCALITIES, "pharmacies": [20, 12, 10, 12, 14, 13],
                         "weekly_hours": [1000.0, 600, 500, 600, 700, 650]})


@pytest.fixture(scope="module")
def run(cfg, lsoa, provision):
    q = QualityLog()
    tables, notes = run_projections(cfg, lsoa, provision, q)
    return tables, notes, q


@pytest.fixture(scope="module")
def history(cfg, lsoa):
    return build_history(cfg, lsoa)


@pytest.fixture(scope="module")
def controls(cfg):
    return load_controls(cfg.data_path(cfg.projections.controls), cfg.area.code)


def _split(lsoa):
    u = (lsoa["pop_0_17"] + lsoa["pop_18_64"]).to_numpy(float)
    return lsoa["pop_0_17"].to_numpy(float) / u


# -- history ----------------------------------------------------------------------------------------------
def test_history_sources_and_totals(history, lsoa):
    assert len(lsoa) == 192 and lsoa["pop_total"].sum() == 354036
    assert [round(t, 2) for t in history.times] == [2011.24, 2019.5, 2020.5, 2021.22]
    totals = np.nansum(history.total, axis=0)
    assert totals[0] == 329839  # Census 2011, OAs summed to LSOAs
    assert totals[2] == 354036  # mid-2020 estimates
    assert totals[3] == pytest.approx(368558)  # Census 2021 mapped back to LSOA 2011: nothing lost
    assert not np.isnan(history.total).any()
    assert np.nansum(history.over65[:, 0]) == 37216


def test_census2021_split_and_merge(cfg, lsoa):
    codes = lsoa["lsoa11_code"].to_numpy()
    w = pd.DataFrame({"under65": (lsoa["pop_total"] - lsoa["pop_65plus"]).to_numpy(),
                      "over65": lsoa["pop_65plus"].to_numpy()}, index=codes)
    m = census2021_to_lsoa11(cfg.data_path(cfg.inputs.census2021_lsoa),
                             cfg.data_path(cfg.inputs.lsoa11_lsoa21_lookup), codes, w)
    cen = pd.read_csv(cfg.data_path(cfg.inputs.census2021_lsoa))
    by21 = cen.groupby("lsoa21_code")["usual_residents"].sum()
    # split: E01013716 became E01034008 + E01034009
    assert m.loc["E01013716"].sum() == pytest.approx(by21["E01034008"] + by21["E01034009"])
    # merge: E01013647 + E01032875 -> E01034020, shared by mid-2020 population, by age group
    a, b = m.loc["E01013647"], m.loc["E01032875"]
    assert (a + b).sum() == pytest.approx(by21["E01034020"])
    ratio = w.loc["E01013647", "over65"] / w.loc[["E01013647", "E01032875"], "over65"].sum()
    assert a["over65"] / (a["over65"] + b["over65"]) == pytest.approx(ratio)


def test_census2011_by_lsoa(cfg, lsoa):
    c = census2011_by_lsoa(cfg.data_path(cfg.inputs.output_area_population), lsoa["lsoa11_code"].to_numpy())
    assert len(c) == 192 and c.sum().sum() == 329839 and (c >= 0).all().all()


def test_vintage_time():
    assert vintage_time("mid-2020") == 2020.5
    assert vintage_time("Census 2021") == pytest.approx(2021.216, abs=1e-3)
    assert vintage_time("Census 2011") == pytest.approx(2011.236, abs=1e-3)


# -- controls met, never negative -----------------------------------------------------------------------------
def test_controls_met_exactly_every_year(run, controls, history):
    tables, _, _ = run
    lsoa_proj = tables["projection_lsoa"]
    c = controls.set_index(["age_group", "year"])["value"]
    years = sorted(lsoa_proj["year"].unique())
    assert years == [2021, 2025, 2030, 2035, 2040, 2043]
    for y, g in lsoa_proj.groupby("year"):
        assert g["pop_total"].sum() == pytest.approx(c[(ALL_AGES, y)], rel=1e-12, abs=1e-6)
        assert g["pop_65plus"].sum() == pytest.approx(c[(OVER_65, y)], rel=1e-12, abs=1e-6)
    pop = tables["projection_population_by_locality_age"]
    for (y, band), g in pop[pop["level"] == "locality"].groupby(["year", "age_band"]):
        area = pop[(pop["level"] == "area") & (pop["year"] == y) & (pop["age_band"] == band)]["persons"].iloc[0]
        assert g["persons"].sum() == pytest.approx(area, abs=1e-6)
    # every year of the controls, not only the table years
    all_years = list(range(2021, 2044))
    full = apportion(history, controls, all_years, "controls", np.full(192, 0.3))
    sums = full.groupby("year")[["pop_total", "pop_65plus"]].sum()
    np.testing.assert_allclose(sums["pop_total"], [c[(ALL_AGES, y)] for y in all_years], rtol=1e-12)
    np.testing.assert_allclose(sums["pop_65plus"], [c[(OVER_65, y)] for y in all_years], rtol=1e-12)
    assert (full[["pop_0_17", "pop_18_64", "pop_65plus"]] >= 0).all().all()


def test_never_negative_and_bands_add_up(run):
    tables, _, _ = run
    p = tables["projection_lsoa"]
    bands = p[["pop_0_17", "pop_18_64", "pop_65plus"]]
    assert (bands >= 0).all().all()
    np.testing.assert_allclose(bands.sum(axis=1), p["pop_total"], rtol=1e-12)
    pop = tables["projection_population_by_locality_age"]
    assert (pop["persons"] >= 0).all() and (pop["persons_housing_scenario"] >= 0).all()


# -- stability -----------------------------------------------------------------------------------------------
def test_stable_under_small_perturbation(history, controls, lsoa):
    """Adding 1% (about 10-20 people) to one LSOA's 2011 count moves 2043 results only a little."""
    years = [2021, 2043]
    split = _split(lsoa)
    base = apportion(history, controls, years, "c", split)
    i = int(np.argmax(history.total[:, 0]))  # the largest 2011 LSOA: the biggest perturbation
    delta = 0.01 * history.under65[i, 0]
    under = history.under65.copy()
    under[i, 0] += delta
    pert = History(history.codes, history.times, history.labels, under, history.over65)
    moved = apportion(pert, controls, years, "c", split)
    diff = (moved["pop_total"] - base["pop_total"]).abs().to_numpy().reshape(2, -1)
    assert diff[0].max() < 1e-6  # the base year is the observed base: untouched
    # Seen: +26.3 people in 2011 moves that LSOA's 2043 figure by -25.7, every other LSOA by < 0.24,
    # and any locality by < 20.
    assert diff[1, i] < 1.5 * delta
    assert np.delete(diff[1], i).max() < 1.0
    loc = lsoa["locality"].to_numpy()
    by_loc = pd.Series(moved["pop_total"].to_numpy()[192:] - base["pop_total"].to_numpy()[192:]).groupby(loc).sum()
    assert by_loc.abs().max() < 1.5 * delta


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(50, 5000), st.floats(0.5, 2.0), st.floats(0.5, 2.0)), min_size=3, max_size=12),
       st.floats(0.0, 1.0))
def test_shares_valid_and_lipschitz(rows, damping):
    pops = np.array([[a, a * g, a * g * h] for a, g, h in rows])
    times = np.array([2011.2, 2016.0, 2021.2])
    h = np.array([0, 5, 10, 22, 40])
    s = project_shares(pops, times, h, damping)
    assert (s >= 0).all()
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(s[0], pops[:, -1] / pops[:, -1].sum(), rtol=1e-12)
    bumped = pops.copy()
    bumped[0, 0] *= 1.001
    s2 = project_shares(bumped, times, h, damping)
    # a 0.1% change in one early count moves any share by a small amount
    assert np.abs(s2 - s).max() < 0.01


# -- no growth history ---------------------------------------------------------------------------------------
def test_locality_without_history_is_share_constant(history, controls, lsoa):
    loc = lsoa["locality"].to_numpy()
    no_hist = loc == "South"
    under, over = history.under65.copy(), history.over65.copy()
    under[no_hist, :-1] = np.nan  # e.g. missing 2011 values and no estimates
    over[no_hist, :-1] = np.nan
    h = History(history.codes, history.times, history.labels, under, over)
    years = [2021, 2030, 2043]
    out = apportion(h, controls, years, "c", _split(lsoa))
    south = out[np.tile(no_hist, len(years))].groupby("year")[["pop_total", "pop_65plus"]].sum()
    tot = out.groupby("year")[["pop_total", "pop_65plus"]].sum()
    share = south / tot
    # South keeps its base share of under-65s and of over-65s in every year
    np.testing.assert_allclose(share["pop_65plus"], share["pop_65plus"].iloc[0], rtol=1e-9)
    base_u = (south["pop_total"] - south["pop_65plus"]) / (tot["pop_total"] - tot["pop_65plus"])
    np.testing.assert_allclose(base_u, base_u.iloc[0], rtol=1e-9)


def test_zero_change_everywhere_holds_shares():
    pops = np.array([[100.0, 100, 100], [300, 300, 300], [50, 50, 50]])
    s0, slope = share_slopes(pops, np.array([2011.0, 2019.5, 2021.2]))
    assert np.all(slope == 0)
    s = project_shares(pops, np.array([2011.0, 2019.5, 2021.2]), np.array([0, 22]))
    np.testing.assert_allclose(s, [[2 / 9, 6 / 9, 1 / 9]] * 2)


def test_growing_place_gains_share():
    pops = np.array([[100.0, 150, 200], [300, 300, 300]])
    s = project_shares(pops, np.array([2011.0, 2016.0, 2021.0]), np.array([0, 10]), damping=0.9)
    assert s[1, 0] > s[0, 0]
    # with damping 0 shares are held
    np.testing.assert_allclose(project_shares(pops, np.array([2011.0, 2016, 2021]), np.array([10]), 0.0)[0],
                               [0.4, 0.6])


def test_damped_horizon():
    assert damped_horizon(0, 0.9) == 0
    assert damped_horizon(1, 0.9) == pytest.approx(0.9)
    assert damped_horizon(22, 0.9) == pytest.approx(sum(0.9 ** k for k in range(1, 23)))
    assert damped_horizon(5, 1.0) == 5


# -- housing scenario -----------------------------------------------------------------------------------------
def test_housing_adds_exactly_dwellings_times_occupancy(run, cfg, history):
    tables, notes, _ = run
    pop = tables["projection_population_by_locality_age"]
    area = pop[(pop["level"] == "area") & (pop["age_band"] == "all")].set_index("year")
    h = load_housing(cfg.data_path(cfg.projections.housing), cfg.area.code)
    years = area.index.tolist()
    expected = dwellings_by_year(h, history.base_time, years) * cfg.projections.occupancy_per_dwelling
    np.testing.assert_allclose(area["persons_housing_scenario"] - area["persons"], expected, atol=1e-6)
    assert expected[-1] == pytest.approx((21362 - 1733 - 1733) * 2.5)
    loc = pop[(pop["level"] == "locality") & (pop["age_band"] == "all")].groupby("year")
    np.testing.assert_allclose((loc["persons_housing_scenario"].sum() - loc["persons"].sum()).to_numpy(),
                               expected, atol=1e-6)
    assert any("Housing scenario" in n and "not in the data" in n for n in notes)


def test_housing_never_mixed_into_baseline(run, cfg, lsoa, provision):
    tables, _, _ = run
    no_housing = cfg.model_copy(update={"projections": cfg.projections.model_copy(update={"housing": None})})
    t2, notes2 = run_projections(no_housing, lsoa, provision, QualityLog())
    a = tables["projection_population_by_locality_age"]
    b = t2["projection_population_by_locality_age"]
    np.testing.assert_array_equal(a["persons"].to_numpy(), b["persons"].to_numpy())
    assert b["persons_housing_scenario"].isna().all()
    assert not any("Housing scenario" in n for n in notes2)


# -- tables -----------------------------------------------------------------------------------------------------
def test_tables_shape_order_and_provenance(run):
    tables, _, _ = run
    assert set(tables) == {"projection_population_by_locality_age", "projection_provision",
                           "projection_change_65plus", "projection_controls", "projection_lsoa"}
    for t in tables.values():
        assert "provenance" in t and t["provenance"].str.len().min() > 0
    pop = tables["projection_population_by_locality_age"]
    assert pop["locality"].drop_duplicates().tolist() == [*LOCALITIES, "Leicester"]
    assert pop["age_band"].drop_duplicates().tolist() == ["0-17", "18-64", "65+", "all"]
    assert len(pop) == 7 * 4 * 6
    assert pop.loc[pop["year"] == 2021, "is_base_year"].all()


def test_provision_rates_and_flags(run):
    tables, _, _ = run
    prov = tables["projection_provision"]
    north = prov[(prov["locality"] == "North") & (prov["year"] == 2043)].iloc[0]
    assert north["pharmacies_per_10k"] == pytest.approx(10 / north["population"] * 1e4)
    assert north["hours_per_10k"] == pytest.approx(500 / north["population"] * 1e4)
    assert bool(north["below_min_rate"]) == (north["pharmacies_per_10k"] < 2.0)
    area = prov[prov["level"] == "area"]
    assert (area["pharmacies"] == 81).all() and (area["weekly_hours"] == 4050).all()
    np.testing.assert_array_equal(prov["below_min_rate"], prov["pharmacies_per_10k"] < 2.0)
    # rates fall as the population grows at fixed provision
    a = area.set_index("year")["pharmacies_per_10k"]
    assert a.is_monotonic_decreasing


def test_provision_missing_locality_counts_as_none(run):
    tables, _, _ = run
    pop = tables["projection_population_by_locality_age"]
    prov = projected_provision(pop, pd.DataFrame({"locality": ["Central"], "pharmacies": [3], "weekly_hours": [120.0]}),
                               2.0, "Leicester", "x")
    east = prov[prov["locality"] == "East"]
    assert (east["pharmacies"] == 0).all() and east["below_min_rate"].all()


def test_change_65plus(run):
    tables, _, _ = run
    ch = tables["projection_change_65plus"]
    area = ch[(ch["level"] == "area") & (ch["year"] == 2043)].iloc[0]
    assert area["change"] == pytest.approx(15167)
    loc = ch[(ch["level"] == "locality") & (ch["year"] == 2043)]
    assert loc["change"].sum() == pytest.approx(15167)
    assert (loc["change"] > 0).all()


def test_deterministic_bytes(run, cfg, lsoa, provision, tmp_path):
    tables, notes, _ = run
    t2, notes2 = run_projections(cfg, lsoa.sample(frac=1.0, random_state=1), provision, QualityLog())
    assert notes == notes2
    for name, t in tables.items():
        a, b = write_csv(t, tmp_path / f"a_{name}.csv"), write_csv(t2[name], tmp_path / f"b_{name}.csv")
        assert a.read_bytes() == b.read_bytes(), name


def test_no_controls_configured(cfg, lsoa, provision):
    c = cfg.model_copy(update={"projections": cfg.projections.model_copy(update={"controls": None})})
    tables, notes = run_projections(c, lsoa, provision, QualityLog())
    assert tables == {} and "not made" in notes[0]


def test_notes_state_method_and_limits(run):
    _, notes, q = run
    text = " ".join(notes)
    for phrase in ("linear interpolations", "damped trend", "Census 2021", "held constant", "65+ control"):
        assert phrase in text
    assert q.accounting_table()["balanced"].all()


def test_config_damping_and_pro_rata_housing(cfg, lsoa, provision, history):
    pc = cfg.projections.model_copy(update={"trend_damping": 0.0, "housing_allocation": "pro_rata"})
    tables, notes = run_projections(cfg.model_copy(update={"projections": pc}), lsoa, provision, QualityLog())
    p = tables["projection_lsoa"]
    share = p.pivot(index="lsoa11_code", columns="year", values="pop_65plus")
    share = share / share.sum()
    np.testing.assert_allclose(share[2043], share[2021], rtol=1e-9)  # damping 0: shares held
    extra = (p["pop_total_housing"] - p["pop_total"]).to_numpy().reshape(-1, 6)  # sorted by lsoa, year
    base = p[p["year"] == 2021].set_index("lsoa11_code")["pop_total"]
    base_pop = pd.Series(history.total[:, -1], index=history.codes).loc[sorted(history.codes)].to_numpy()
    np.testing.assert_allclose(extra[:, -1] / extra[:, -1].sum(), base_pop / base_pop.sum(), rtol=1e-9)
    assert len(base) == 192
    assert any("pro rata to base population" in n for n in notes)


def test_run_with_snpp_controls_meets_every_age_group(cfg, lsoa, provision):
    """ONS SNPP layout (synthetic fixture): 0-17, 18-64 and 65+ controls are all met."""
    from pna.config import DataSource

    snpp = ROOT / "tests" / "fixtures" / "projections" / "snpp_2018_persons_small.csv"
    src = DataSource(path=str(snpp), title="SNPP fixture", publisher="test", vintage="2018-based")
    pc = cfg.projections.model_copy(update={"controls": src, "housing": None})
    tables, _ = run_projections(cfg.model_copy(update={"projections": pc}), lsoa, provision, QualityLog())
    c = load_controls(snpp, cfg.area.code).set_index(["age_group", "year"])["value"]
    sums = tables["projection_lsoa"].groupby("year")[["pop_0_17", "pop_18_64", "pop_65plus", "pop_total"]].sum()
    for y, row in sums.iterrows():
        assert row["pop_0_17"] == pytest.approx(c[("0-17", y)], rel=1e-12)
        assert row["pop_18_64"] == pytest.approx(c[("18-64", y)], rel=1e-9)
        assert row["pop_65plus"] == pytest.approx(c[(OVER_65, y)], rel=1e-12)
        assert row["pop_total"] == pytest.approx(c[(ALL_AGES, y)], rel=1e-12)
    assert (tables["projection_lsoa"][["pop_0_17", "pop_18_64"]] >= 0).all().all()

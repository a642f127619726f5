"""``pna england``: the straight-line baseline for every board (pna.national.baseline and outputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pna.national.baseline import walk_radius_km


@pytest.fixture(scope="module")
def run(england_run):
    return england_run


def test_nearly_every_pharmacy_is_placed_and_the_rest_say_why(run):
    baseline, out, _ = run
    assert baseline.placed_share >= 0.995
    ph = pd.read_csv(out / "measures" / "pharmacies.csv", dtype=str, keep_default_na=False)
    assert len(ph) == 10_785
    unplaced = ph[ph["easting"] == ""]
    assert len(unplaced) and (unplaced["unplaced_reason"] != "").all()
    assert (ph.loc[ph["easting"] != "", "unplaced_reason"] == "").all()


def test_national_totals_are_the_sum_of_the_boards(run):
    baseline, _, _ = run
    p = baseline.tables["provision"]
    boards, eng = p[p["level"] == "board"], p[p["level"] == "england"].iloc[0]
    listed = baseline.tables["pharmacies"]["area_code"].notna().sum()
    assert boards["pharmacies"].sum() == eng["pharmacies"] == listed
    assert boards["population"].sum() == pytest.approx(eng["population"]) and eng["population"] == pytest.approx(
        56_550_138)
    assert eng["rate_per_10k"] == pytest.approx(listed / eng["population"] * 10_000)
    regions = p[p["level"] == "region"]
    assert len(regions) == 7 and regions["pharmacies"].sum() == eng["pharmacies"]


def test_leicester_matches_its_own_assessment(run):
    baseline, _, _ = run
    p = baseline.tables["provision"].set_index("area_code").loc["E06000016"]
    # the 81 listed pharmacies and the ONS mid-2020 total that `pna run` reports for Leicester
    assert p["pharmacies"] == 81 and p["population"] == pytest.approx(354_036) and p["region"] == "Midlands"


def test_access_agrees_with_a_brute_force_search(run):
    baseline, _, cfg = run
    ph = baseline.tables["pharmacies"].dropna(subset=["easting"])
    xy = ph[["easting", "northing"]].to_numpy(float)
    lsoa = baseline.lsoa
    for code in ("E10000018", "E06000057", "E09000001"):   # a county, a rural unitary, the City
        sub = lsoa[lsoa["area_code"] == code]
        d = np.sqrt(((sub[["x", "y"]].to_numpy()[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
        pop = sub["population"].to_numpy()
        acc = baseline.tables["access"].set_index(["area_code", "group"]).loc[(code, "all")]
        assert acc["share_within_1_6km"] == pytest.approx(pop[d <= 1600].sum() / pop.sum())
        assert acc["share_within_walk"] == pytest.approx(pop[d <= walk_radius_km(cfg) * 1000].sum() / pop.sum())


def test_resilience_counts_residents_with_one_pharmacy_within_reach(run):
    baseline, _, _ = run
    lsoa = baseline.lsoa
    sole = lsoa[(lsoa["nearest_m"] <= 1600) & (lsoa["second_m"] > 1600)]
    res = baseline.tables["resilience"]
    assert res["residents_at_risk"].sum() == pytest.approx(
        sole[sole["nearest_area"].notna()]["population"].sum())
    assert (res["pharmacies_sole_within_1_6km"] <= res["pharmacies"]).all()


def test_outputs_link_every_board(run):
    baseline, out, _ = run
    boards = baseline.tables["provision"].query("level == 'board'")["area_code"]
    html = (out / "index.html").read_text()
    for code in boards:
        assert f'id="{code}"' in html and f'href="boards/{code}.html"' in html
        assert (out / "boards" / f"{code}.html").is_file()
    for name in ("provision", "access", "resilience", "cross_border", "boards", "pharmacies"):
        assert (out / "measures" / f"{name}.csv").is_file()
    assert (out / "england.xlsx").stat().st_size > 10_000 and (out / "run.json").is_file()
    assert "<svg" in html and "aria-sort" in html

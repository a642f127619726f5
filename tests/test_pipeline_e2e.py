"""End to end on the real shared data: Leicester, run twice into temporary folders."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e


def test_outputs_exist(leicester):
    _, out = leicester
    for name in ["report.html", "consultation.html", "exceptions.csv", "tables/provision.csv",
                 "tables/opening_categories.csv", "tables/opening_hours.csv", "tables/boundary_bands.csv",
                 "tables/pharmacies.csv", "tables/reconciliation.csv", "tables.xlsx", "layers.gpkg", "run.json"]:
        assert (out / name).is_file(), name
    assert list((out / "maps").glob("*.html")), "no maps written"


def test_two_runs_from_two_data_paths_into_two_folders_are_byte_identical(leicester_runs):
    (da, db), _, _ = leicester_runs
    assert da.keys() == db.keys()
    differ = [k for k in da if da[k] != db[k]]
    assert not differ, f"files differ between runs: {differ}"


def test_a_warm_run_reuses_the_kept_outputs_and_they_are_the_same_bytes(leicester_runs, leicester_warm):
    (cold, _), _, _ = leicester_runs
    warm, log = leicester_warm
    assert "copied from the cache" in log
    assert warm.keys() == cold.keys()
    differ = [k for k in cold if cold[k] != warm[k]]
    assert not differ, f"files differ between the cold and the warm run: {differ}"


def test_locality_populations_sum_to_area(leicester):
    ctx, out = leicester
    prov = pd.read_csv(out / "tables" / "provision.csv")
    loc = prov[prov["level"] == "locality"]
    area = prov[prov["level"] == "area"].iloc[0]
    assert len(loc) == 6
    assert loc["population"].sum() == pytest.approx(area["population"])
    assert area["population"] == pytest.approx(354_036)  # ONS mid-2020 Leicester total
    assert loc["pharmacies"].sum() == area["pharmacies"]
    assert area["rate_per_10k"] == pytest.approx(area["pharmacies"] / area["population"] * 10_000)
    eng = prov[prov["level"] == "england"].iloc[0]
    assert 10_000 < eng["pharmacies"] < 11_000 and 1.5 < eng["rate_per_10k"] < 2.5


def test_every_pharmacy_accounted_for(leicester):
    ctx, out = leicester
    national = ctx.inputs.national_list
    listed = national[national["hwb"] == "LEICESTER CITY"]
    assert len(listed) == 81
    ph = ctx.geography.pharmacies
    placed = set(ph.loc[ph["hwb"] == "LEICESTER CITY", "ods_code"])
    exc = pd.read_csv(out / "exceptions.csv", dtype=str)
    excepted = set(exc["record"])
    missing = set(listed["ods_code"]) - placed - excepted
    assert not missing, f"pharmacies neither placed nor in exceptions: {missing}"
    acc = pd.read_csv(out / "tables" / "row_accounting.csv")
    assert (acc["rows_in"] == acc["accepted"] + acc["quarantined"]).all()


def test_estimates_are_stated(leicester):
    ctx, out = leicester
    cov = pd.read_csv(out / "tables" / "coverage_walk.csv")
    assert cov["is_estimate"].all()
    html = (out / "report.html").read_text()
    assert "estimate" in html.lower()
    shares = cov[cov["group_type"] == "area"].sort_values("threshold_min")["share_within"]
    assert shares.is_monotonic_increasing

"""The access stage end to end on real data: Newport on its street network, Leicester estimated."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from pna.access.result import AccessResult
from pna.access.stage import run_access
from pna.access.supply import select_supply
from pna.config import load_config
from pna.geography.stage import build_geography
from pna.loaders.stage import load_inputs
from pna.modes import Mode
from pna.quality import QualityLog
from tests.access.test_demand import DATA, ROOT


def _check_coverage(res: AccessResult, total: float) -> None:
    cov = res.coverage
    assert cov["share_within"].between(0, 1).all()
    for _, g in cov.groupby(["group_type", "group"]):
        assert g.sort_values("threshold_min")["population_within"].is_monotonic_increasing
    area = cov[cov["group_type"] == "area"]
    assert np.allclose(area["population"], total)
    assert res.demand["population"].sum() == pytest.approx(total)
    loc = cov[cov["group_type"] == "locality"]
    for t, g in loc.groupby("threshold_min"):  # localities partition the area
        assert g["population"].sum() == pytest.approx(total)
        assert g["population_within"].sum() == pytest.approx(
            float(area.loc[area["threshold_min"] == t, "population_within"].iloc[0]))


@pytest.fixture(scope="module")
def newport(newport_run):
    """The street modes of the shared Newport run (real OSM network)."""
    results, _ = newport_run
    street = {m: r for m, r in results.access.results.items() if m.street}
    models = {m: results.access.models[m] for m in street}
    return (results.cfg, results.tables["exceptions"], results.geography.lsoa, results.geography.pharmacies,
            models, street)


def test_newport_network_coverage(newport):
    cfg, ex, lsoa, ph, models, res = newport
    assert set(res) == {"walk", "drive"}
    total = float(lsoa["pop_total"].sum())
    assert total == pytest.approx(156447)
    for mode, r in res.items():
        assert r.method == "network" and not r.is_estimate
        assert "Street-network" in r.method_note
        _check_coverage(r, total)
        assert not (r.coverage["group_type"] == "imd2019_quintile").any()  # no English IMD in Wales
    walk = res["walk"].coverage.query("group_type == 'area'").set_index("threshold_min")["share_within"]
    drive = res["drive"].coverage.query("group_type == 'area'").set_index("threshold_min")["share_within"]
    # driving is quicker than walking; central Newport is well served on foot
    assert (drive >= walk - 1e-12).all()
    assert 0.3 < walk[20] < 0.95 and drive[20] > 0.6
    # points beyond the extract are inf, not covered, and reported
    d = res["walk"].demand
    unsnapped = ~np.isfinite(d["minutes"])
    assert unsnapped.any()
    eng = ex[ex["stage"] == "access.engine"]
    demand_flags = eng["reason"].str.startswith("demand point")
    assert demand_flags.sum() == 2 * int(unsnapped.sum())
    # the rest are pharmacies beyond the extract (placed from the UK postcode directory), each named
    assert eng.loc[~demand_flags, "reason"].str.startswith("pharmacy is more than").all()
    beyond = res["walk"].extra_tables["beyond_walk"]
    assert set(d.loc[unsnapped, "point_id"]) <= set(beyond["point_id"])


def test_newport_outputs(newport):
    cfg, _, lsoa, ph, models, res = newport
    for mode in cfg.travel.isochrone_modes:
        iso = res[mode].isochrones
        assert iso is not None and len(iso) > 0 and set(iso["threshold_min"]) <= {5, 10, 15, 20}
        # catchments nest: a longer time never covers less
        for _, g in iso.groupby("ods_code"):
            areas = g.sort_values("threshold_min").geometry.area.to_numpy()
            assert (np.diff(areas) >= -1e-6).all()
    for mode in ("walk", "drive"):
        p = res[mode].raster_path
        assert p == cfg.out / "rasters" / f"{mode}_minutes.tif"
        with rasterio.open(p) as r:
            a = r.read(1, masked=True)
            assert r.crs.to_epsg() == 27700
        assert 0 <= a.min() and a.count() > 1000
    # the assessor's view: nearest() agrees with times_to() on the chosen pharmacy
    m = models["walk"]
    sites = ph.sort_values("ods_code").reset_index(drop=True)
    t = m.times_to(sites)
    mins, idx = m.nearest(sites)
    ok = np.isfinite(mins)
    np.testing.assert_allclose(t[idx[ok], np.flatnonzero(ok)], mins[ok], rtol=1e-9)


def test_leicester_straight_line(tmp_path):
    cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=DATA, output_dir=tmp_path)
    q = QualityLog()
    geo = build_geography(cfg=cfg, inputs=load_inputs(cfg=cfg, quality=q), quality=q)
    access = run_access(cfg=cfg, geography=geo, quality=q)
    ph, res = geo.pharmacies, access.results
    assert set(res) == set(Mode) and set(access.models) == set(Mode)
    # the open-at-time scenarios are part of the stage, for every mode
    assert set(access.open_access["mode"]) == {"walk", "drive", "transit"}
    assert {"coverage_walk", "coverage_drive", "coverage_transit", "open_access"} <= set(access.tables)
    with pytest.raises(Exception):  # results are frozen
        access.notes = ()  # type: ignore[misc]
    for mode, r in res.items():
        assert r.method == "straight_line" and r.is_estimate
        assert r.method_note.startswith("Estimate: ")
        assert r.coverage["is_estimate"].all()
        _check_coverage(r, 354036.0)
        assert len(r.demand) == 969 and (r.demand["source"] == "output_area").all()
        if mode.street:
            assert r.raster_path.is_file()
    walk = res["walk"].coverage.query("group_type == 'area'").set_index("threshold_min")["share_within"]
    assert walk[20] > 0.95  # a compact city with 81 pharmacies
    q5 = res["walk"].coverage.query("group_type == 'imd2019_quintile'")
    assert set(q5["group"]) == {"1", "2", "3", "4", "5"}
    iso = res["walk"].isochrones
    assert len(iso) == 4 * len(select_supply(ph, cfg).sites) == 4 * len(access.supply.sites)

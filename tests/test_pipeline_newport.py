"""End to end on a real street network and timetable: Newport (Wales), with no pharmaceutical list."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from pna.access.stage import run_access
from pna.assess.resilience import run_resilience
from pna.config import load_config
from pna.geography.stage import build_geography
from pna.loaders.stage import load_inputs
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def newport(newport_run):
    return newport_run


def test_network_and_timetable_engines_used(newport):
    ctx, out = newport
    for mode, method in (("walk", "network"), ("drive", "network"), ("transit", "timetable")):
        cov = pd.read_csv(out / "tables" / f"coverage_{mode}.csv")
        assert set(cov["method"]) == {method} and not cov["is_estimate"].any()
        area = cov[cov["group_type"] == "area"].sort_values("threshold_min")
        assert area["share_within"].is_monotonic_increasing
        assert (area["population_within"] <= area["population"] + 1e-6).all()
    assert (out / "rasters" / "walk_minutes.tif").is_file() and (out / "rasters" / "transit_minutes.tif").is_file()
    layers = {name for name, _ in pyogrio.list_layers(out / "layers.gpkg")}
    assert {"isochrones_walk", "isochrones_drive", "pharmacies"} <= layers


def test_welsh_limits_are_stated(newport):
    ctx, out = newport
    html = (out / "report.html").read_text()
    assert "no pharmaceutical list" in html.lower()
    prov = pd.read_csv(out / "tables" / "provision.csv")
    assert "england" not in set(prov["level"])  # no English comparator for a Welsh board
    assert prov.loc[prov["level"] == "area", "population"].iloc[0] == pytest.approx(156_447)
    hours = pd.read_csv(out / "tables" / "opening_hours.csv")
    some = hours["pharmacies"] > 0
    assert hours.loc[some, "weekly_hours"].isna().all()  # unknown, not zero
    assert (hours.loc[~some, "weekly_hours"] == 0).all()  # no pharmacies: no hours
    assert (ctx.geography.pharmacies["in_area"]).sum() > 10


def test_selfcheck_passes(newport):
    _, out = newport
    sc = pd.read_csv(out / "tables" / "selfcheck.csv")
    assert len(sc) and sc["passed"].astype(bool).all(), sc[~sc["passed"].astype(bool)]


def test_network_tables_are_deterministic(newport, data_dir, tmp_path):
    """A second build on the real network gives the same coverage and resilience numbers.

    Catchment polygons are left out of the second build (they do not feed these tables), which
    keeps the test to the routing itself.
    """
    ctx, _ = newport
    cfg = load_config(ROOT / "config" / "newport.yaml", data_dir=data_dir, output_dir=tmp_path)
    cfg = cfg.model_copy(update={"travel": cfg.travel.model_copy(update={"isochrone_modes": []})})
    q = QualityLog()
    geo = build_geography(cfg=cfg, inputs=load_inputs(cfg=cfg, quality=q), quality=q)
    access = run_access(cfg=cfg, geography=geo, quality=q, rasters=False)
    res = run_resilience(cfg=cfg, geography=geo, access=access)
    again = {**access.tables, **res.tables, "pharmacies": None}
    for name in ("coverage_walk", "coverage_drive", "coverage_transit", "resilience_walk", "resident_reach"):
        a = ctx.tables[name].to_csv(index=False).encode()
        b = again[name].to_csv(index=False).encode()
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name
    assert geo.pharmacies.drop(columns="geometry").equals(ctx.geography.pharmacies.drop(columns="geometry"))

from __future__ import annotations

import numpy as np
import pytest

from pna.access.coverage import COVERAGE_COLUMNS
from pna.access.supply import Supply
from pna.config import Network, load_config
from pna.quality import QualityLog
from pna.transit.stage import run_transit

from .test_model import ROOT, newport_inputs


@pytest.fixture(scope="module")
def inputs():
    cfg = load_config(ROOT / "config/newport.yaml")
    cfg = cfg.model_copy(update={"travel": cfg.travel.model_copy(update={
        "transit": cfg.travel.transit.model_copy(update={"window_end": "07:30"})})})
    demand, sites = newport_inputs(cfg)
    return cfg, demand, sites


def _supply(sites):
    return Supply(sites=sites, note="", excluded_distance_selling=0, excluded_unlocated=0)


def test_run_transit_timetable(inputs, tmp_path):
    import rasterio
    cfg, demand, sites = inputs
    cfg = cfg.model_copy(update={"output_dir": tmp_path})
    q = QualityLog()
    model, res = run_transit(cfg, supply=_supply(sites), demand=demand, quality=q, raster_cell_m=1000.0)
    with rasterio.open(res.raster_path) as r:
        band = r.read(1)
        assert r.crs.to_epsg() == 27700 and r.res == (1000.0, 1000.0)
        assert (band > 0).sum() > 20 and (band == -1).sum() > 0
    first = res.raster_path.read_bytes()
    run_transit(cfg, supply=_supply(sites), demand=demand, quality=QualityLog(), raster_cell_m=1000.0)
    assert res.raster_path.read_bytes() == first       # deterministic file
    assert (res.mode, res.method, res.is_estimate) == ("transit", "timetable", False)
    assert list(res.coverage.columns) == COVERAGE_COLUMNS
    area = res.coverage[res.coverage["group_type"] == "area"]
    assert area["threshold_min"].tolist() == [5, 10, 15, 20, 30]
    assert area["share_within"].is_monotonic_increasing and area["share_within"].iloc[-1] > 0.5
    assert {"minutes", "nearest_ods", "minutes_p80", "share_departures_reachable"} <= set(res.demand.columns)
    assert "Bus Open Data Service" in res.coverage["provenance"].iloc[0]
    feed = res.extra_tables["transit_feed"].iloc[0]
    assert feed["trips"] == 176 and feed["service_day"] == "2023-06-13"
    assert q.accounting_table()["balanced"].all()


def test_run_transit_without_gtfs_is_labelled_estimate(inputs):
    cfg, demand, sites = inputs
    cfg = cfg.model_copy(update={"network": Network(osm_extract=None, gtfs=None)})
    model, res = run_transit(cfg, supply=_supply(sites), demand=demand, quality=QualityLog(), raster_cell_m=None)
    assert (res.method, res.is_estimate) == ("straight_line", True)
    assert res.method_note.startswith("Estimate: no bus timetable") and "12 km/h" in res.method_note
    d = demand.geometry
    # 12 km/h = 200 m/min, times the configured circuity
    x = np.hypot(sites.geometry.x.to_numpy()[:, None] - d.x.to_numpy()[None],
                 sites.geometry.y.to_numpy()[:, None] - d.y.to_numpy()[None]).min(axis=0)
    assert np.allclose(res.demand["minutes"], x * cfg.travel.transit.circuity / 200.0)


def test_run_transit_walk_graph(inputs):
    from pna.access.graph import build_graphs
    cfg, demand, sites = inputs
    g = build_graphs(cfg.data_path(cfg.network.osm_extract), cfg, modes=("walk",))["walk"]
    model, res = run_transit(cfg, supply=_supply(sites), demand=demand, quality=QualityLog(), walk_graph=g,
                             raster_cell_m=None)
    assert "OpenStreetMap walk graph" in res.method_note
    _, plain = run_transit(cfg, supply=_supply(sites), demand=demand, quality=QualityLog(), raster_cell_m=None)
    a, b = res.demand["minutes"].to_numpy(), plain.demand["minutes"].to_numpy()
    assert np.isfinite(a).sum() > 30
    assert not np.allclose(np.where(np.isfinite(a), a, -1), np.where(np.isfinite(b), b, -1))

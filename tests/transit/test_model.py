from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from pna.access.engine import TravelModel
from pna.access.open_now import Scenario, nearest_open
from pna.config import load_config
from pna.quality import QualityLog
from pna.transit.gtfs import load_feed
from pna.transit.model import TransitModel

ROOT = __import__("pathlib").Path(__file__).parents[2]


def newport_inputs(cfg):
    """Newport LSOA11 demand points (mid-2020 population) and the OSM pharmacies of the extract."""
    from pna.access.demand import build_demand_points
    from pna.loaders.osm import pharmacy_sites
    lk = pd.read_csv(cfg.data_dir / "lookups/lookup_lsoa11_ltla21.csv", dtype=str)
    codes = sorted(lk.loc[lk["ltla21_code"] == cfg.area.code, "lsoa11_code"])
    poly = gpd.read_file(cfg.data_path(cfg.inputs.lsoa_boundaries))
    poly = poly[poly["lsoa11_code"].isin(codes)].to_crs(27700)
    pop = pd.read_csv(cfg.data_path(cfg.inputs.population), dtype={"lsoa11_code": str})
    pop = pop[pop["lsoa11_code"].isin(codes)].set_index("lsoa11_code")
    poly["pop_total"] = pop["total_population"].reindex(poly["lsoa11_code"]).to_numpy(float)
    poly["pop_65plus"] = pop[[str(a) for a in range(65, 90)] + ["90+"]].sum(axis=1) \
        .reindex(poly["lsoa11_code"]).to_numpy(float)
    poly["locality"], poly["imd2019_quintile"] = "Newport", np.nan
    demand = build_demand_points(cfg, poly.sort_values("lsoa11_code").reset_index(drop=True))
    sites = pharmacy_sites(cfg.data_path(cfg.network.osm_extract))
    sites["in_area"], sites["dist_to_area_m"] = True, 0.0
    return demand, sites


@pytest.fixture(scope="module")
def newport():
    cfg = load_config(ROOT / "config/newport.yaml")
    demand, sites = newport_inputs(cfg)
    feed = load_feed(cfg.data_path(cfg.network.gtfs), QualityLog())
    spec = cfg.travel.transit.model_copy(update={"window_end": "08:00"})
    model = TransitModel(feed, demand, spec, cfg.travel.walk.speed_kmh, cfg.travel.walk.circuity)
    return cfg, demand, sites, model


def test_transit_model_protocol_and_shapes(newport):
    cfg, demand, sites, m = newport
    assert isinstance(m, TravelModel)
    assert (m.mode, m.method, m.is_estimate) == ("transit", "timetable", False)
    assert len(demand) == 95 and len(m.departure_s) == 60
    t = m.times_to(sites)
    assert t.shape == (len(sites), len(demand))
    minutes, idx = m.nearest(sites)
    fin = np.isfinite(minutes)
    assert fin.sum() >= 50
    # the median of the nearest is never worse than the best per-site median
    assert (minutes[fin] <= t.min(axis=0)[fin] + 1e-9).all()
    assert (idx[~fin] == -1).all() and (idx[fin] >= 0).all()
    assert "2023-06-13" in m.method_note and "straight-line" in m.method_note


def test_walking_counts_and_bounds_times(newport):
    cfg, demand, sites, m = newport
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    links = m.walk_links(m.timetable(), xy)
    walk_min = np.where(links.direct < 2**30, links.direct / 60.0, np.inf)
    t = m.times_to(sites)
    assert (t <= walk_min + 1e-9).all()
    st = m.nearest_stats(sites)
    assert (st["minutes_p80"] >= st["minutes_median"]).all()
    assert (st["minutes_min"] <= st["minutes_median"]).all()


def test_open_on_arrival_never_quicker(newport):
    cfg, demand, sites, m = newport
    s = sites.copy()
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        s[f"hours_{d}"] = ["09:00-17:30" if i % 2 else "CLOSED" for i in range(len(s))]
    sc = Scenario("Wednesday 08:30", 2, 8 * 60 + 30)
    open_min, note = nearest_open(m, s, scenario=sc)
    all_open = s.copy()
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        all_open[f"hours_{d}"] = "00:00-24:00"
    base, _ = nearest_open(m, all_open, scenario=sc)
    assert (open_min >= base - 1e-9).all()
    assert (open_min > base).any()
    # leaving at 08:30 exactly, nobody gets in before 09:00
    first, _ = nearest_open(m, s, scenario=sc, window_min=1)
    assert np.isfinite(first).sum() > 30 and (first[np.isfinite(first)] >= 30 - 1e-9).all()
    assert "service day" in note


def test_date_without_service_falls_back_and_says_so(newport):
    cfg, demand, sites, m = newport
    spec = m.spec.model_copy(update={"date": __import__("datetime").date(2025, 1, 7)})
    m2 = TransitModel(m.feed, demand, spec, 4.8, 1.3)
    assert m2.date.isoformat() == "2023-06-06" and "has no services" in m2.method_note

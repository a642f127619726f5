"""Real-data fixtures for the assessor: Leicester (straight-line models) and Newport (street network).

The Leicester context is assembled from the stages' public functions (loaders, geography,
access), so it is the same data ``pna.pipeline.build_context`` produces, minus the stages the
assessor does not use (provision, projections, report).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "pna-data"


def _models(cfg, pharmacies, lsoa, localities, area, quality):
    """The run's travel models: the access stage's when it is there, else its engines directly."""
    try:
        from pna.access.stage import run_access
    except ImportError:
        run_access = None
    if run_access is not None:
        models, _ = run_access(cfg, pharmacies, lsoa, localities, area, quality)
        models = dict(models)
        demand = next(iter(models.values())).demand
    else:
        from pna.access.demand import build_demand_points
        from pna.access.straightline import StraightLineModel

        demand = build_demand_points(cfg, lsoa, quality)
        models = {m: StraightLineModel(demand, m, getattr(cfg.travel, m).speed_kmh, getattr(cfg.travel, m).circuity)
                  for m in ("walk", "drive")}
    if "transit" not in models:
        from pna.transit.stage import build_model

        models["transit"] = build_model(cfg, demand, quality)
    return models


@pytest.fixture(scope="session")
def leicester_ctx():
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    from pna.config import load_config
    from pna.geography.area import build_area
    from pna.geography.assign import place_pharmacies
    from pna.loaders.pharmacies import national_list
    from pna.loaders.postcodes import postcode_table
    from pna.pipeline import RunContext

    cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=DATA)
    ctx = RunContext(cfg)
    national = national_list(cfg, ctx.quality)
    ctx.area, ctx.lsoa, ctx.localities = build_area(cfg, ctx.quality)
    ctx.meta["postcodes"] = postcode_table(cfg, ctx.quality)
    placed = place_pharmacies(cfg, national, ctx.meta["postcodes"], ctx.area, ctx.lsoa, ctx.localities, ctx.quality)
    ctx.pharmacies = placed[0] if isinstance(placed, tuple) else placed
    ctx.models.update(_models(cfg, ctx.pharmacies, ctx.lsoa, ctx.localities, ctx.area, ctx.quality))
    return ctx


@pytest.fixture(scope="session")
def leicester_supply(leicester_ctx):
    from pna.access.supply import select_supply

    return select_supply(leicester_ctx.pharmacies, leicester_ctx.cfg)


@pytest.fixture(scope="session")
def newport_network():
    """Newport walk and drive ``NetworkModel``s on the real OSM extract, with the pharmacies
    mapped in that extract (``amenity=pharmacy``) as sites."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    from pna.access.demand import build_demand_points
    from pna.access.engine import NetworkModel
    from pna.access.graph import build_graphs
    from pna.access.osm import read_pharmacies
    from pna.config import load_config
    from pna.geography.area import build_area
    from pna.quality import QualityLog

    cfg = load_config(ROOT / "config" / "newport.yaml", data_dir=DATA)
    q = QualityLog()
    _, lsoa, _ = build_area(cfg, q)
    demand = build_demand_points(cfg, lsoa, q)
    extract = cfg.data_path(cfg.network.osm_extract)
    graphs = build_graphs(extract, cfg)
    osm = read_pharmacies(extract)
    sites = gpd.GeoDataFrame({"ods_code": [f"OSM{i:02d}" for i in range(len(osm))],
                              "trading_name": osm["name"].fillna("").to_numpy()},
                             geometry=gpd.points_from_xy(osm["lon"].to_numpy(float), osm["lat"].to_numpy(float)),
                             crs=4326).to_crs(27700)
    models = {m: NetworkModel(graphs[m], demand, cfg, m) for m in ("walk", "drive")}
    assert len(sites) >= 5 and np.isfinite(models["walk"].nearest(sites)[0]).any()
    return cfg, models, sites

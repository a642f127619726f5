"""Real-data fixtures for the assessor: the Leicester run (straight-line models) and the Newport
street network and timetable (real OSM extract and GTFS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pna.modes import Mode

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "pna-data"


@pytest.fixture(scope="session")
def leicester_ctx(leicester_results):
    """The real Leicester stage results (shared with the other test packages)."""
    return leicester_results


@pytest.fixture(scope="session")
def leicester_base(leicester_results):
    """The assessor's base for the Leicester run (what-if structures from the resilience stage)."""
    from pna.assess.assessor import prepare_assessor

    r = leicester_results
    return prepare_assessor(cfg=r.cfg, geography=r.geography, access=r.access, resilience=r.resilience,
                            statements=r.statements)


@pytest.fixture(scope="session")
def leicester_supply(leicester_results):
    return leicester_results.access.supply.sites


@pytest.fixture(scope="session")
def newport_network():
    """Newport walk and drive ``NetworkModel``s on the real OSM extract, with the pharmacies
    mapped in that extract (``amenity=pharmacy``) as sites."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    from pna.access.demand import build_demand_points
    from pna.access.engine import NetworkModel
    from pna.access.graph import build_graphs
    from pna.config import load_config
    from pna.geography.area import build_area
    from pna.loaders.osm import pharmacy_sites
    from pna.quality import QualityLog

    cfg = load_config(ROOT / "config" / "newport.yaml", data_dir=DATA)
    q = QualityLog()
    _, lsoa, _ = build_area(cfg, q)
    demand = build_demand_points(cfg, lsoa, q)
    extract = cfg.data_path(cfg.network.osm_extract)
    graphs = build_graphs(extract, cfg)
    sites = pharmacy_sites(extract)[["ods_code", "trading_name", "geometry"]]
    models = {m: NetworkModel(graphs[m], demand, cfg, m) for m in (Mode.WALK, Mode.DRIVE)}
    assert len(sites) >= 5 and np.isfinite(models["walk"].nearest(sites)[0]).any()
    return cfg, models, sites


@pytest.fixture(scope="session")
def newport_transit(newport_network):
    """The Newport timetable model (real GTFS; walking legs on the walk graph)."""
    from pna.quality import QualityLog
    from pna.transit.stage import build_model

    cfg, models, sites = newport_network
    model = build_model(cfg, models["walk"].demand, QualityLog(), walk_graph=models["walk"].graph)
    assert model.method == "timetable"
    return model

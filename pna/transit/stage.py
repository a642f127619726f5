"""The transit stage: timetable travel times when a GTFS feed is configured, else an estimate.

Without a feed (e.g. Leicester as shipped) the stage still reports public-transport access,
as a straight-line estimate at ``cfg.travel.transit.speed_kmh`` door to door, marked
``is_estimate=True`` with the method in words: a labelled estimate tells the reader more than
"not assessed", and the method note says exactly how weak it is.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Config
from ..progress import info, step
from ..provenance import cite, with_provenance
from ..quality import QualityLog
from ..access.coverage import coverage_table, demand_with_minutes
from ..access.result import AccessResult
from ..access.straightline import StraightLineModel
from ..access.supply import select_supply
from .gtfs import load_feed
from .model import TransitModel

STAGE = "transit"


def estimate_model(cfg: Config, demand: gpd.GeoDataFrame) -> StraightLineModel:
    """The no-timetable estimate: straight line x circuity at the door-to-door transit speed."""
    sp = cfg.travel.transit
    m = StraightLineModel(demand, "transit", sp.speed_kmh, sp.circuity)
    m.method_note = (f"Estimate: no bus timetable (GTFS) was configured, so public-transport times "
                     f"are straight-line distance x {sp.circuity:g} circuity at an assumed door-to-door "
                     f"speed of {sp.speed_kmh:g} km/h (walking, waiting and riding together). It ignores "
                     f"routes, frequencies and time of day; configure network.gtfs for timetable times.")
    return m


def build_model(cfg: Config, demand: gpd.GeoDataFrame, quality: QualityLog, walk_graph=None):
    """A :class:`TransitModel` if ``cfg.network.gtfs`` is set, else :func:`estimate_model`.

    The walk graph is used for walking legs only when ``cfg.network.osm_extract`` is set and a
    graph is given; otherwise walking legs are straight line x walk circuity (the method note
    says which).
    """
    if cfg.network.gtfs is None:
        return estimate_model(cfg, demand)
    with step("transit: reading GTFS"):
        feed = load_feed(cfg.data_path(cfg.network.gtfs), quality)
    graph = walk_graph if cfg.network.osm_extract is not None else None
    return TransitModel(feed, demand, cfg.travel.transit, cfg.travel.walk.speed_kmh,
                        cfg.travel.walk.circuity, walk_graph=graph, max_snap_m=cfg.travel.max_snap_m,
                        source=cfg.network.gtfs.cite())


def run_transit(cfg: Config, pharmacies: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                quality: QualityLog, walk_graph=None) -> tuple[object, AccessResult]:
    """Public-transport access from every demand point to the nearest pharmacy.

    Parameters
    ----------
    cfg
        Area configuration (``network.gtfs``, ``network.osm_extract``, ``travel.transit``).
    pharmacies
        ``ctx.pharmacies``; the supply is chosen by :func:`pna.access.supply.select_supply`.
    demand
        Demand points (``pna.access.demand.build_demand_points``).
    quality
        GTFS validation records and row accounting go here.
    walk_graph
        The walk ``StreetGraph`` (``pna.access.graph.build_graphs(...)["walk"]``), optional.

    Returns
    -------
    (model, AccessResult)
        The model (a ``TravelModel``, for the assessor and open-pharmacy scenarios) and the
        result: demand points with ``minutes`` (median over the window), ``nearest_ods`` and,
        for timetable runs, ``minutes_p<percentile>`` and ``share_departures_reachable``;
        the coverage table; ``extra_tables["transit_feed"]`` (feed statistics).
    """
    sites = select_supply(pharmacies, cfg, quality)
    model = build_model(cfg, demand, quality, walk_graph)
    prov = cite(cfg.network.gtfs, cfg.network.osm_extract if getattr(model, "walk_graph", None) is not None
                else None, cfg.inputs.population)
    with step(f"transit: {model.method} travel times for {len(demand)} points to {len(sites)} pharmacies"):
        minutes, idx = model.nearest(sites)
    out = demand_with_minutes(demand, minutes, idx, sites)
    extra: dict[str, pd.DataFrame] = {}
    if isinstance(model, TransitModel):
        stats = model.nearest_stats(sites)
        p = f"minutes_p{model.percentile}"
        out[p] = stats[p].to_numpy()
        out["share_departures_reachable"] = stats["share_departures_reachable"].to_numpy()
        fs = model.feed.stats()
        tt = model.timetable()
        feed_row = {k: v for k, v in fs.items() if k != "dropped"}
        feed_row.update({"rows_quarantined": int(sum(fs["dropped"].values())),
                         "service_day": model.date.isoformat(),
                         "trips_in_window": tt.n_trips, "stops_in_window": tt.n_stops,
                         "patterns": len(tt.patterns)})
        extra["transit_feed"] = with_provenance(pd.DataFrame([feed_row]), cfg.network.gtfs)
        info(f"transit: {fs['trips']} trips, {tt.n_trips} run in the window on {model.date}")
    cov = coverage_table(out, minutes, cfg.travel.transit.thresholds_min, "transit", model.method,
                         model.is_estimate, prov)
    result = AccessResult(mode="transit", method=model.method, is_estimate=model.is_estimate,
                          method_note=model.method_note, demand=out, coverage=cov,
                          isochrones=None, raster_path=None, extra_tables=extra)
    raster = _raster(cfg, out)
    if raster is not None:
        result.raster_path = raster
    return model, result


def _raster(cfg: Config, demand: gpd.GeoDataFrame):
    """A minutes raster through the access engineer's writer, when it is available."""
    try:
        from ..access import raster as raster_mod   # written by the access stage
    except ImportError:
        return None
    fn = getattr(raster_mod, "points_raster", None) or getattr(raster_mod, "write_minutes_raster", None)
    if fn is None:
        return None
    path = cfg.out / "rasters" / "transit_minutes.tif"
    try:
        return fn(demand, "minutes", path)
    except TypeError:
        info("transit: raster writer signature not recognised; no transit raster written")
        return None

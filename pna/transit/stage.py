"""The transit stage: timetable travel times when a GTFS feed is configured, else an estimate.

Without a feed (e.g. Leicester as shipped) the stage still reports public-transport access,
as a straight-line estimate at ``cfg.travel.transit.speed_kmh`` door to door, marked
``is_estimate=True`` with the method in words: a labelled estimate tells the reader more than
"not assessed", and the method note says exactly how weak it is.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..access.coverage import coverage_table, demand_with_minutes
from ..access.engine import TravelModel
from ..access.graph import StreetGraph
from ..access.result import AccessResult
from ..access.straightline import StraightLineModel
from ..access.supply import Supply
from ..config import Config
from ..modes import Mode
from ..progress import info, step
from ..provenance import cite, with_provenance
from ..quality import QualityLog
from .gtfs import load_feed
from .model import TransitModel

STAGE = "transit"


def estimate_model(cfg: Config, demand: gpd.GeoDataFrame) -> StraightLineModel:
    """The no-timetable estimate: straight line x circuity at the door-to-door transit speed."""
    sp = cfg.travel.transit
    m = StraightLineModel(demand, Mode.TRANSIT, sp.speed_kmh, sp.circuity)
    m.method_note = (f"Estimate: no bus timetable (GTFS) was configured, so public-transport times "
                     f"are straight-line distance x {sp.circuity:g} circuity at an assumed door-to-door "
                     f"speed of {sp.speed_kmh:g} km/h (walking, waiting and riding together). It ignores "
                     f"routes, frequencies and time of day; a bus timetable (GTFS feed) would give timetabled times.")
    return m


def build_model(cfg: Config, demand: gpd.GeoDataFrame, quality: QualityLog,
                walk_graph: StreetGraph | None = None) -> TravelModel:
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


def run_transit(cfg: Config, *, supply: Supply, demand: gpd.GeoDataFrame,
                quality: QualityLog, walk_graph: StreetGraph | None = None, raster_cell_m: float | None = 500.0
                ) -> tuple[TravelModel, AccessResult]:
    """Public-transport access from every demand point to the nearest pharmacy.

    Parameters
    ----------
    cfg
        Area configuration (``network.gtfs``, ``network.osm_extract``, ``travel.transit``).
    supply
        The face-to-face supply (:func:`pna.access.supply.select_supply`).
    demand
        Demand points (``pna.access.demand.build_demand_points``).
    quality
        GTFS validation records and row accounting go here.
    walk_graph
        The walk ``StreetGraph`` (``pna.access.graph.build_graphs(...)["walk"]``), optional.
    raster_cell_m
        Cell size of ``rasters/transit_minutes.tif`` under ``cfg.out`` (timetable runs only);
        ``None`` skips it.

    Returns
    -------
    (model, AccessResult)
        The model (a ``TravelModel``, for the assessor and open-pharmacy scenarios) and the
        result: demand points with ``minutes`` (median over the window), ``nearest_ods`` and,
        for timetable runs, ``minutes_p<percentile>`` and ``share_departures_reachable``;
        the coverage table; ``extra_tables["transit_feed"]`` (feed statistics);
        ``raster_path`` (timetable runs). ``result.demand`` is the map layer.
    """
    sites = supply.sites
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
    cov = coverage_table(out, minutes, cfg.travel.transit.thresholds_min, Mode.TRANSIT, model.method,
                         model.is_estimate, prov)
    result = AccessResult(mode=Mode.TRANSIT, method=model.method, is_estimate=model.is_estimate,
                          method_note=model.method_note, demand=out, coverage=cov,
                          isochrones=None, raster_path=None, extra_tables=extra)
    if isinstance(model, TransitModel) and raster_cell_m:
        with step("transit: minutes raster"):
            result.raster_path = transit_raster(model, sites, demand, cfg.out / "rasters" / "transit_minutes.tif",
                                                raster_cell_m)
    return model, result


def transit_raster(model: TransitModel, sites: gpd.GeoDataFrame, extent: gpd.GeoDataFrame,
                   path: Path, cell_m: float = 500.0) -> Path:
    """GeoTIFF of the median minutes to the nearest site from the centre of each grid cell.

    Every cell centre is routed as an origin in its own right (same window, walking rules and
    transfer limit as the demand points), rather than interpolated between demand points.
    Unreachable cells hold ``-1`` (nodata). EPSG:27700, float32.
    """
    import rasterio
    from affine import Affine

    x0, y0, x1, y1 = extent.total_bounds
    x0, y0 = np.floor(x0 / cell_m) * cell_m, np.floor(y0 / cell_m) * cell_m
    nx, ny = int(np.ceil((x1 - x0) / cell_m)), int(np.ceil((y1 - y0) / cell_m))
    cx = x0 + (np.arange(nx) + 0.5) * cell_m
    cy = y0 + ny * cell_m - (np.arange(ny) + 0.5) * cell_m     # top row first
    gx, gy = np.meshgrid(cx, cy)
    cells = gpd.GeoDataFrame({"point_id": np.arange(gx.size).astype(str)},
                             geometry=gpd.points_from_xy(gx.ravel(), gy.ravel()), crs=27700)
    grid = TransitModel(model.feed, cells, model.spec, model.walk_speed_kmh, model.walk_circuity,
                        walk_graph=model.walk_graph, max_snap_m=model.max_snap_m, engine=model.engine)
    minutes, _ = grid.nearest(sites)
    band = np.where(np.isfinite(minutes), minutes, -1.0).reshape(ny, nx).astype(np.float32)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=nx, height=ny, count=1, dtype="float32",
                       crs="EPSG:27700", transform=Affine(cell_m, 0.0, x0, 0.0, -cell_m, y0 + ny * cell_m),
                       nodata=-1.0, compress="deflate") as dst:
        dst.write(band, 1)
        dst.update_tags(1, units="minutes", statistic="median over the departure window")
    return path

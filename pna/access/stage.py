"""The access stage: walk and drive times from every resident to the nearest pharmacy.

With ``network.osm_extract`` configured, times follow the real street network;
without it every figure is a straight-line estimate, marked as such, with the
method and its parameters stated.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from ..config import Config
from ..progress import info, step
from ..provenance import cite
from ..quality import QualityLog
from .coverage import beyond_lsoa_table, beyond_table, coverage_table, demand_with_minutes
from .demand import build_demand_points
from .engine import NetworkModel, TravelModel, connector_speed_kmh
from .isochrones import network_isochrones, straightline_isochrones
from .raster import write_time_raster
from .result import AccessResult
from .straightline import StraightLineModel
from .supply import select_supply

MODES = ("walk", "drive")
#: Half-width of the band round reached streets counted as reached (house frontage).
ISOCHRONE_BUFFER_M = 50.0
#: Polygon precision per mode: drive catchments are large, so a coarser grid keeps them quick.
ISOCHRONE_GRID_M = {"walk": 5.0, "drive": 10.0}


def _sources(cfg: Config, network: bool) -> list:
    pharm = cfg.inputs.pharmaceutical_list or cfg.inputs.ods_history
    demand = [cfg.inputs.population, cfg.inputs.output_areas, cfg.inputs.output_area_population]
    travel = cfg.network.osm_extract if network else "straight-line estimate (no street network supplied)"
    return [*demand, pharm, travel]


def run_access(cfg: Config, pharmacies: gpd.GeoDataFrame, lsoa: gpd.GeoDataFrame,
               localities: gpd.GeoDataFrame, area: gpd.GeoDataFrame, quality: QualityLog,
               modes: tuple[str, ...] = MODES, isochrone_modes: tuple[str, ...] | None = None,
               rasters: bool = True, graphs: dict | None = None
               ) -> tuple[dict[str, TravelModel], dict[str, AccessResult]]:
    """Walk and drive access for the area.

    Parameters
    ----------
    cfg
        Area config (``travel``, ``network.osm_extract``, ``boundary_bands_km``, ``out``).
    pharmacies
        ``ctx.pharmacies`` (area and cross-border, EPSG:27700).
    lsoa, localities, area
        From the geography stage. ``localities`` is not used for the figures (demand points carry
        their locality) but is accepted so the stage signature matches the others.
    quality
        Exceptions: unsnapped demand points and pharmacies, OAs without population, ...
    modes
        Modes to compute.
    isochrone_modes
        Modes to draw catchment polygons for. Default: every mode for the straight-line
        estimate (circles are cheap); walk only on a street network, because a drive catchment
        covers most of a town within minutes (so says little on a map), costs ~1-2 s per
        pharmacy and threshold to draw, and the drive raster already maps drive times.
    rasters
        Write ``<cfg.out>/rasters/<mode>_minutes.tif``.
    graphs
        Street graphs already built (``pna.access.graph.build_graphs``); built here if None and a
        network is configured.

    Returns
    -------
    (models, results)
        ``TravelModel`` and :class:`~pna.access.result.AccessResult` per mode. ``result.extra_tables``
        holds ``beyond_<mode>`` (demand points beyond the longest threshold) and
        ``beyond_lsoa_<mode>``.
    """
    del localities  # see docstring
    with step("access: demand points"):
        demand = build_demand_points(cfg, lsoa, quality)
    sites = select_supply(pharmacies, cfg, quality)
    info(sites.attrs.get("supply_note", ""))
    network = cfg.network.osm_extract is not None
    if isochrone_modes is None:
        isochrone_modes = tuple(m for m in modes if m in cfg.travel.isochrone_modes)
    if network and graphs is None:
        from .graph import build_graphs

        with step("access: street graphs"):
            graphs = build_graphs(cfg.data_path(cfg.network.osm_extract), cfg, modes=tuple(modes))
    provenance = cite(*_sources(cfg, network))
    models: dict[str, TravelModel] = {}
    results: dict[str, AccessResult] = {}
    for mode in modes:
        spec = getattr(cfg.travel, mode)
        with step(f"access: {mode}"):
            if network:
                model = NetworkModel(graphs[mode], demand, cfg, mode, quality)
            else:
                model = StraightLineModel(demand, mode, spec.speed_kmh, spec.circuity)
            minutes, idx = model.nearest(sites)
            dem = demand_with_minutes(demand, minutes, idx, sites)
            cov = coverage_table(dem, minutes, spec.thresholds_min, mode, model.method, model.is_estimate,
                                 provenance)
            longest = max(spec.thresholds_min)
            extra = {f"beyond_{mode}": beyond_table(dem, minutes, longest, mode, provenance,
                                                    dem["nearest_ods"].to_numpy()),
                     f"beyond_lsoa_{mode}": beyond_lsoa_table(dem, minutes, longest, mode, provenance)}
            iso = None
            if mode in isochrone_modes:
                if network:
                    iso = network_isochrones(graphs[mode], sites, spec.thresholds_min, cfg.travel.max_snap_m,
                                             ISOCHRONE_BUFFER_M, connector_speed_kmh(cfg, mode),
                                             ISOCHRONE_GRID_M.get(mode, 5.0))
                else:
                    iso = straightline_isochrones(sites, spec.thresholds_min, spec.speed_kmh, spec.circuity)
            raster = None
            if rasters:
                raster = write_time_raster(model, sites, area, cfg.out / "rasters" / f"{mode}_minutes.tif")
            note = model.method_note
            if network and mode not in isochrone_modes:
                note = (f"{note}. No {mode} catchment polygons were drawn (travel.isochrone_modes)")
            supply = sites.attrs.get("supply_note")
            if supply:
                note = f"{note}. {supply}"
            covered = cov[(cov["group_type"] == "area") & (cov["threshold_min"] == longest)]
            share = float(covered["share_within"].iloc[0]) if len(covered) else np.nan
            info(f"{mode}: {share:.1%} of residents within {longest} min ({model.method})")
            models[mode] = model
            results[mode] = AccessResult(mode=mode, method=model.method, is_estimate=model.is_estimate,
                                         method_note=note, demand=dem, coverage=cov, isochrones=iso,
                                         raster_path=raster, extra_tables=extra)
    return models, results

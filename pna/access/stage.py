"""The access stage: walk, drive and public-transport times from every resident to a pharmacy.

With ``network.osm_extract`` configured, walk and drive times follow the real street network;
with ``network.gtfs``, public-transport times follow the timetable. Without them every figure
is a straight-line estimate, marked as such, with the method and its parameters stated. The
stage also answers "can residents reach a pharmacy that is *open*" at set times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Config
from ..geography.stage import Geography
from ..modes import Mode
from ..progress import info, step
from ..provenance import cite, with_provenance
from ..quality import QualityLog
from ..schema import require_columns
from ..transit.stage import run_transit
from .contour import contour_isochrones
from .coverage import beyond_lsoa_table, beyond_table, coverage_table, demand_with_minutes
from .demand import build_demand_points
from .engine import NetworkModel, TravelModel, connector_speed_kmh
from .graph import StreetGraph, build_graphs
from .isochrones import straightline_isochrones
from .open_now import Scenario, scenario_table
from .raster import write_time_raster
from .reach import open_minutes_by_scenario, point_table
from .result import AccessResult
from .straightline import StraightLineModel
from .supply import Supply, select_supply

__all__ = ["Access", "run_access", "STREET_MODES"]

STREET_MODES: tuple[Mode, ...] = (Mode.WALK, Mode.DRIVE)
#: Half-width of the band round reached streets counted as reached (house frontage).
ISOCHRONE_BUFFER_M = 50.0
#: Contour cell per mode (the polygons' precision): drive catchments span kilometres, so
#: 20 m cells keep them quick; see tests/access/test_contour.py for the measured tolerance.
CONTOUR_CELL_M = {Mode.WALK: 10.0, Mode.DRIVE: 20.0}


@dataclass(frozen=True)
class Access:
    """Result of the access stage.

    Attributes
    ----------
    models
        One :class:`~pna.access.engine.TravelModel` per mode, built for ``demand``: the assessor
        and resilience ask them for what-ifs.
    results
        One :class:`~pna.access.result.AccessResult` per mode (coverage, demand with minutes).
    demand
        Demand points (``pna.access.demand`` contract).
    supply
        The face-to-face supply every model was run for.
    open_access
        Residents within each threshold of a pharmacy open when they arrive (``cfg.gaps.times``:
        weekday evening, Saturday, Sunday by default), per mode; None where opening hours are unknown.
    notes
        Plain statements of estimates and limits.
    points
        Per demand point: minutes by every mode, now and at each of ``cfg.gaps.times``, straight-line
        km to the nearest pharmacy and the walk choice (:func:`pna.access.reach.point_table`).
    """

    models: Mapping[Mode, TravelModel]
    results: Mapping[Mode, AccessResult]
    demand: gpd.GeoDataFrame
    supply: Supply
    open_access: pd.DataFrame | None
    notes: tuple[str, ...]
    points: pd.DataFrame | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The stage's output tables by name (``coverage_<mode>``, ``beyond_*``, ``open_access``...)."""
        out: dict[str, pd.DataFrame] = {}
        for mode, res in self.results.items():
            out[f"coverage_{mode}"] = res.coverage
            out.update(res.extra_tables)
        if self.open_access is not None:
            out["open_access"] = self.open_access
        if self.points is not None:
            out["resident_reach"] = self.points
        return out


def run_access(*, cfg: Config, geography: Geography, quality: QualityLog,
               graphs: Mapping[Mode, StreetGraph] | None = None, rasters: bool = True) -> Access:
    """Every mode's travel times, coverage and open-pharmacy scenarios for the area.

    Parameters
    ----------
    cfg
        Area config (``travel``, ``network``, ``boundary_bands_km``, ``out``).
    geography
        The geography stage's result (pharmacies, LSOAs, area).
    quality
        Exceptions: unsnapped demand points and pharmacies, GTFS problems, ...
    graphs
        Street graphs already built (built here when None and a network is configured).
    rasters
        Write ``<cfg.out>/rasters/<mode>_minutes.tif``.
    """
    with step("access: demand points"):
        demand = build_demand_points(cfg, geography.lsoa, quality)
    supply = select_supply(geography.pharmacies, cfg, quality=quality)
    info(supply.note)
    models, results = street_access(cfg=cfg, demand=demand, supply=supply, area=geography.area,
                                    quality=quality, graphs=graphs, rasters=rasters)
    walk_graph = getattr(models[Mode.WALK], "graph", None) if cfg.network.osm_extract is not None else None
    t_model, t_result = run_transit(cfg, supply=supply, demand=results[Mode.WALK].demand, quality=quality,
                                    walk_graph=walk_graph)
    models[Mode.TRANSIT], results[Mode.TRANSIT] = t_model, t_result
    notes: list[str] = []
    open_access, open_minutes = _open_scenarios(cfg=cfg, models=models, supply=supply, results=results, notes=notes)
    points = point_table(demand=results[Mode.WALK].demand, results=results, models=models, sites=supply.sites,
                         walk_minutes=cfg.gaps.walk_minutes, open_minutes=open_minutes)
    provenance = "; ".join(dict.fromkeys(r.coverage["provenance"].iloc[0] for r in results.values()
                                         if len(r.coverage)))
    points = with_provenance(points, provenance)
    for mode, res in results.items():
        if res.is_estimate:
            notes.append(f"{mode.capitalize()} travel times are estimates. {res.method_note}")
    for res in results.values():
        require_columns(res.demand, ("point_id", "population", "minutes", "nearest_ods"), what=f"{res.mode} demand",
                        crs=True)
        require_columns(res.coverage, ("mode", "group_type", "group", "threshold_min", "population_within",
                                       "share_within"), what=f"coverage_{res.mode}")
    return Access(models=MappingProxyType(dict(models)), results=MappingProxyType(dict(results)), demand=demand,
                  supply=supply, open_access=open_access, notes=tuple(dict.fromkeys(notes)), points=points)


def scenarios_of(cfg: Config) -> tuple[Scenario, ...]:
    """The configured moments (``cfg.gaps.times``) as open-at-time scenarios."""
    return tuple(Scenario(t.label, t.weekday, t.minute) for t in cfg.gaps.times)


def _open_scenarios(*, cfg: Config, models: Mapping[Mode, TravelModel], supply: Supply,
                    results: Mapping[Mode, AccessResult], notes: list[str]
                    ) -> tuple[pd.DataFrame | None, dict | None]:
    """Who can reach a pharmacy that is open when they arrive, at each of ``cfg.gaps.times``."""
    sites = supply.sites
    if "hours_known" in sites and not sites["hours_known"].fillna(False).astype(bool).any():
        notes.append("Access to an open pharmacy at set times was not assessed: opening hours are unknown.")
        return None, None
    demand = results[Mode.WALK].demand
    thresholds = {m: list(cfg.travel.spec(m).thresholds_min) for m in models}
    provenance = "; ".join(dict.fromkeys(r.coverage["provenance"].iloc[0] for r in results.values()
                                         if len(r.coverage)))
    scenarios = scenarios_of(cfg)
    minutes = open_minutes_by_scenario(models, sites, scenarios)
    table = scenario_table(models, sites, demand, thresholds, scenarios=scenarios, provenance=provenance,
                           minutes=minutes)
    return table, minutes


def _sources(cfg: Config, network: bool) -> list:
    pharm = cfg.inputs.pharmaceutical_list or cfg.inputs.ods_history
    demand = [cfg.inputs.population, cfg.inputs.output_areas, cfg.inputs.output_area_population]
    travel = cfg.network.osm_extract if network else "straight-line estimate (no street network supplied)"
    return [*demand, pharm, travel]


def street_access(*, cfg: Config, demand: gpd.GeoDataFrame, supply: Supply, area: gpd.GeoDataFrame,
                  quality: QualityLog, modes: tuple[Mode, ...] = STREET_MODES,
                  isochrone_modes: tuple[Mode, ...] | None = None, rasters: bool = True,
                  graphs: Mapping[Mode, StreetGraph] | None = None
                  ) -> tuple[dict[Mode, TravelModel], dict[Mode, AccessResult]]:
    """Walk and drive access for the area.

    Parameters
    ----------
    cfg
        Area config (``travel``, ``network.osm_extract``, ``boundary_bands_km``, ``out``).
    demand
        Demand points (``pna.access.demand.build_demand_points``).
    supply
        The face-to-face supply (:func:`pna.access.supply.select_supply`).
    area
        The area outline (raster extent).
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
    sites = supply.sites
    network = cfg.network.osm_extract is not None
    if isochrone_modes is None:
        isochrone_modes = tuple(m for m in modes if m in cfg.travel.isochrone_modes)
    if cfg.network.osm_extract is not None and graphs is None:  # i.e. network
        with step("access: street graphs"):
            graphs = build_graphs(cfg.data_path(cfg.network.osm_extract), cfg, modes=tuple(modes))
    provenance = cite(*_sources(cfg, network))
    models: dict[Mode, TravelModel] = {}
    results: dict[Mode, AccessResult] = {}
    for mode in modes:
        spec = cfg.travel.spec(mode)
        with step(f"access: {mode}"):
            model: NetworkModel | StraightLineModel
            if network:
                assert graphs is not None  # given, or built above
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
                    assert graphs is not None  # given, or built above
                    iso = contour_isochrones(graphs[mode], sites, spec.thresholds_min,
                                             max_snap_m=cfg.travel.max_snap_m,
                                             connector_kmh=connector_speed_kmh(cfg, mode),
                                             cell_m=CONTOUR_CELL_M[mode], buffer_m=ISOCHRONE_BUFFER_M)
                else:
                    iso = straightline_isochrones(sites, spec.thresholds_min, spec.speed_kmh, spec.circuity)
            raster = None
            if rasters:
                raster = write_time_raster(model, sites, area, cfg.out / "rasters" / f"{mode}_minutes.tif")
            note = model.method_note
            if network and mode not in isochrone_modes:
                note = (f"{note}. No {mode} catchment polygons were drawn (travel.isochrone_modes)")
            if supply.note:
                note = f"{note}. {supply.note}"
            covered = cov[(cov["group_type"] == "area") & (cov["threshold_min"] == longest)]
            share = float(covered["share_within"].iloc[0]) if len(covered) else np.nan
            info(f"{mode}: {share:.1%} of residents within {longest} min ({model.method})")
            models[mode] = model
            results[mode] = AccessResult(mode=mode, method=model.method, is_estimate=model.is_estimate,
                                         method_note=note, demand=dem, coverage=cov, isochrones=iso,
                                         raster_path=raster, extra_tables=extra)
    return models, results

"""Per-resident reach: every demand point's minutes by each mode, now and at set times, and its choice.

The statement rules (``pna.statements.gaps``) ask the same questions of every area, locality
and group of residents: who is within the threshold of a pharmacy, of an *open* one at a
weekday evening or at the weekend, by walking or (where walking fails) by public transport or
car; how many pharmacies they can choose from; how far the nearest is in a straight line. One
wide table per run answers them all, so the report, the assessor and the public page read the
same numbers.

Columns (:data:`POINT_COLUMNS` plus, per mode and time, ``minutes_<mode>`` and
``open_<slug>_<mode>``): ``point_id, population, pop_65plus, lsoa11_code, locality,
imd2019_quintile, km_nearest`` (straight-line km to the nearest face-to-face pharmacy) and
``choice_walk`` (pharmacies within the walk gap threshold).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..modes import Mode
from .engine import TravelModel
from .open_now import Scenario, nearest_open
from .result import AccessResult
from .supply import site_xy

__all__ = ["POINT_COLUMNS", "scenario_slug", "open_minutes_by_scenario", "point_table"]

POINT_COLUMNS = ["point_id", "population", "pop_65plus", "lsoa11_code", "locality", "imd2019_quintile"]


def scenario_slug(label: str) -> str:
    """A column-safe name for a scenario label (``"Weekday 20:00"`` -> ``"weekday_2000"``)."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower().replace(":", "")).strip("_")


def open_minutes_by_scenario(models: Mapping[Mode, TravelModel], sites: gpd.GeoDataFrame,
                             scenarios: Sequence[Scenario]) -> dict[tuple[str, Mode], tuple[np.ndarray, str]]:
    """Minutes to the nearest pharmacy open on arrival, per (scenario label, mode), with the model's note."""
    return {(sc.label, mode): nearest_open(models[mode], sites, scenario=sc)
            for sc in scenarios for mode in sorted(models)}


def point_table(*, demand: gpd.GeoDataFrame, results: Mapping[Mode, AccessResult],
                models: Mapping[Mode, TravelModel], sites: gpd.GeoDataFrame, walk_minutes: float,
                open_minutes: Mapping[tuple[str, Mode], tuple[np.ndarray, str]] | None = None) -> pd.DataFrame:
    """One row per demand point with its minutes by every mode, now and at each scenario.

    Parameters
    ----------
    demand
        Demand points (``pna.access.demand`` contract, EPSG:27700).
    results
        The access results per mode (their ``demand`` carries ``minutes`` in the same order).
    models
        The travel models per mode (for the open-at-time minutes and the choice count).
    sites
        The face-to-face supply.
    walk_minutes
        The walk gap threshold, for ``choice_walk``.
    open_minutes
        From :func:`open_minutes_by_scenario`: each adds ``open_<slug>_<mode>``; None where opening
        hours are unknown (no such columns).
    """
    cols = [c for c in POINT_COLUMNS if c in demand.columns]
    out = pd.DataFrame(demand[cols]).reset_index(drop=True)
    ids = out["point_id"].astype(str).to_numpy()
    for mode, res in sorted(results.items()):
        d = res.demand
        if not np.array_equal(d["point_id"].astype(str).to_numpy(), ids):
            d = d.set_index(d["point_id"].astype(str)).loc[ids]
        out[f"minutes_{mode}"] = d["minutes"].to_numpy(float)
    xy = site_xy(demand)
    sxy = site_xy(sites)
    if len(sxy) and len(xy):
        dist, _ = cKDTree(sxy).query(xy, k=1)
        out["km_nearest"] = np.asarray(dist, dtype=float) / 1000.0
    else:
        out["km_nearest"] = np.inf
    walk = models.get(Mode.WALK)
    if walk is not None and len(sites):
        t = np.asarray(walk.times_to(sites), dtype=float)
        out["choice_walk"] = (t <= walk_minutes).sum(axis=0).astype(int)
    for (label, mode), (minutes, _) in sorted((open_minutes or {}).items()):
        out[f"open_{scenario_slug(label)}_{mode}"] = np.asarray(minutes, dtype=float)
    return out

"""Single-closure resilience: who would fall beyond each threshold if one pharmacy alone closed.

A pharmacy whose closure leaves residents beyond a threshold is *necessary* in the sense of the
regulations at that threshold: no other pharmacy picks those residents up within the time.
Each closure is an O(n_demand) update of the per-mode :class:`~pna.assess.whatif.ModeState`
(each point falls back to its next-nearest site), so the whole table costs about one
travel-time matrix per mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd

from ..access.engine import TravelModel
from ..access.stage import Access
from ..config import Config, Travel
from ..crs import BNG
from ..geography.stage import Geography
from ..modes import MODES, Mode
from ..provenance import cite
from .whatif import ModeState, build_state, build_states

RESILIENCE_COLUMNS = ["mode", "method", "is_estimate", "threshold_min", "rank", "ods_code", "trading_name",
                      "postcode", "locality", "in_area", "population_nearest", "points_losing",
                      "population_losing", "pop_65plus_losing", "max_minutes_after", "necessary",
                      "provenance"]


def default_thresholds() -> dict[Mode, list[int]]:
    """The configured default thresholds per mode (used when none are given)."""
    t = Travel()
    return {m: list(t.spec(m).thresholds_min) for m in MODES}


def closure_losses(state: ModeState, thresholds: Sequence[float]) -> pd.DataFrame:
    """Per site and threshold: residents within the threshold now and beyond it if the site closed.

    Returns
    -------
    pandas.DataFrame
        ``site, threshold_min, population_nearest, points_losing, population_losing,
        pop_65plus_losing, max_minutes_after`` (one row per site × threshold, site order).
    """
    dem = state.model.demand
    pop = dem["population"].to_numpy(float)
    p65 = dem["pop_65plus"].to_numpy(float) if "pop_65plus" in dem else np.zeros(len(dem))
    before = state.minutes()
    nearest = state.nearest_index()
    th = np.asarray(thresholds, dtype=float)
    n_sites = len(state.sites)
    rows = []
    for s in range(n_sites):
        # only points (at some departure) nearest to the site can change
        touched = np.flatnonzero((state.top_idx[0] == s).any(axis=-1))
        after = state.minutes_without(s, touched)
        b = before[touched]
        pn = float(pop[nearest == s].sum())
        for t in th:
            lose = (b <= t) & ~(after <= t)
            rows.append({"site": s, "threshold_min": int(t) if float(t).is_integer() else float(t),
                         "population_nearest": pn, "points_losing": int(lose.sum()),
                         "population_losing": float(pop[touched][lose].sum()),
                         "pop_65plus_losing": float(p65[touched][lose].sum()),
                         "max_minutes_after": float(after[lose].max()) if lose.any() else np.nan})
    return pd.DataFrame(rows, columns=["site", "threshold_min", "population_nearest", "points_losing",
                                       "population_losing", "pop_65plus_losing", "max_minutes_after"])


def resilience_table(models: Mapping[Mode, TravelModel], pharmacies: gpd.GeoDataFrame,
                     thresholds: Mapping[Mode, Sequence[float]] | None = None, *,
                     states: Mapping[Mode, ModeState] | None = None, provenance: str = "") -> pd.DataFrame:
    """For every pharmacy, mode and threshold: residents who fall beyond it if that pharmacy alone closed.

    Parameters
    ----------
    models
        ``TravelModel`` per mode (``Access.models``).
    pharmacies
        The supply the models were run for (``Access.supply.sites``).
    thresholds
        Minutes per mode (``cfg.travel.<mode>.thresholds_min``); the config defaults if omitted.
    states
        Precomputed :class:`ModeState` per mode, to reuse (built here if omitted).
    provenance
        Citation for the ``provenance`` column.

    Returns
    -------
    pandas.DataFrame
        :data:`RESILIENCE_COLUMNS`, ranked within each mode and threshold by
        ``population_losing`` (descending), then ODS code; ``necessary`` is True where the
        closure leaves anyone beyond the threshold.
    """
    thresholds = dict(thresholds or default_thresholds())
    out = []
    for mode in sorted(models):
        model = models[mode]
        state = states[mode] if states is not None and mode in states else build_state(model, pharmacies)
        th = thresholds.get(mode) or default_thresholds().get(mode, [5, 10, 15, 20])
        loss = closure_losses(state, th)
        sites = state.sites
        for c in ("trading_name", "postcode", "locality", "in_area"):
            loss[c] = sites[c].to_numpy()[loss["site"]] if c in sites else None
        loss["ods_code"] = state.codes[loss["site"].to_numpy()] if len(loss) else []
        loss["mode"], loss["method"], loss["is_estimate"] = mode, model.method, bool(model.is_estimate)
        loss["necessary"] = loss["population_losing"] > 0
        out.append(loss)
    if not out:
        return pd.DataFrame(columns=RESILIENCE_COLUMNS)
    df = pd.concat(out, ignore_index=True)
    df = df.sort_values(["mode", "threshold_min", "population_losing", "ods_code"],
                        ascending=[True, True, False, True], kind="stable").reset_index(drop=True)
    df["rank"] = df.groupby(["mode", "threshold_min"], sort=False).cumcount() + 1
    df["provenance"] = provenance
    return df[RESILIENCE_COLUMNS]


@dataclass(frozen=True)
class Resilience:
    """Result of the resilience stage.

    Attributes
    ----------
    tables
        ``resilience_<mode>``: :data:`RESILIENCE_COLUMNS` per mode.
    layer
        Pharmacies necessary at the gap threshold in some mode (:func:`resilience_layer`).
    states
        The per-mode what-if structures, reused by the application assessor.
    """

    tables: Mapping[str, pd.DataFrame]
    layer: gpd.GeoDataFrame
    states: Mapping[Mode, ModeState]


def run_resilience(*, cfg: Config, geography: Geography, access: Access) -> Resilience:
    """The resilience stage: per mode, who would fall beyond each threshold if one pharmacy closed.

    Parameters
    ----------
    cfg
        Area config (thresholds, gap minutes).
    geography
        The geography stage's result (pharmacies, for the map layer).
    access
        The access stage's result (models and the supply they were run for).
    """
    supply = access.supply.sites
    thresholds = {m: list(cfg.travel.spec(m).thresholds_min) for m in access.models}
    prov = cite(cfg.inputs.pharmaceutical_list, cfg.inputs.ods_history, cfg.inputs.population,
                cfg.network.osm_extract, cfg.network.gtfs)
    states = build_states(models=access.models, supply=supply)
    table = resilience_table(access.models, supply, thresholds, states=states, provenance=prov)
    tables = {f"resilience_{m}": table[table["mode"] == m].reset_index(drop=True) for m in sorted(access.models)}
    layer = resilience_layer(table, geography.pharmacies, gap_minutes(cfg))
    return Resilience(tables=MappingProxyType(tables), layer=layer, states=MappingProxyType(dict(states)))


def gap_minutes(cfg: Config) -> dict[Mode, int]:
    """The gap threshold per mode (``cfg.gaps.minutes(mode)``)."""
    return {m: int(cfg.gaps.minutes(m)) for m in MODES}


def resilience_layer(table: pd.DataFrame, pharmacies: gpd.GeoDataFrame,
                     minutes: Mapping[Mode, int] | Mapping[str, float]) -> gpd.GeoDataFrame:
    """Pharmacies necessary at ``minutes[mode]`` in some mode, one row each (EPSG:27700).

    Columns ``ods_code, trading_name, necessary_modes`` and per mode ``<mode>_population_losing``
    (at that mode's threshold), ``geometry``.
    """
    parts = []
    for mode, t in sorted(minutes.items()):
        sel = table[(table["mode"] == mode) & (table["threshold_min"].astype(float) == float(t))]
        parts.append(sel.set_index("ods_code")["population_losing"].rename(f"{mode}_population_losing"))
    wide = pd.concat(parts, axis=1).fillna(0.0) if parts else pd.DataFrame()
    cols = [c for c in wide.columns]
    if wide.empty:
        return gpd.GeoDataFrame({"ods_code": [], "trading_name": [], "necessary_modes": []},
                                geometry=[], crs=BNG)
    wide = wide[(wide[cols] > 0).any(axis=1)]
    wide["necessary_modes"] = [", ".join(c.split("_")[0] for c in cols if r[c] > 0)
                               for _, r in wide.iterrows()]
    ph = pharmacies.drop_duplicates("ods_code").set_index("ods_code")
    wide = wide.join(ph[["trading_name", "geometry"]], how="left").reset_index(names="ods_code")
    wide = wide.sort_values("ods_code", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(wide[["ods_code", "trading_name", "necessary_modes", *cols, "geometry"]],
                            geometry="geometry", crs=BNG)


def necessary_text(table: pd.DataFrame, mode: str, threshold: float) -> pd.DataFrame:
    """The text alternative of :func:`resilience_map`: necessary pharmacies, ranked."""
    sel = table[(table["mode"] == mode) & (table["threshold_min"].astype(float) == float(threshold))
                & table["necessary"]]
    return sel[["rank", "ods_code", "trading_name", "locality", "population_losing",
                "pop_65plus_losing", "max_minutes_after"]].reset_index(drop=True)

"""Single-closure resilience: who would fall beyond each threshold if one pharmacy alone closed.

A pharmacy whose closure leaves residents beyond a threshold is *necessary* in the sense of the
regulations at that threshold: no other pharmacy picks those residents up within the time.
Each closure is an O(n_demand) update of the per-mode :class:`~pna.assess.whatif.ModeState`
(each point falls back to its next-nearest site), so the whole table costs about one
travel-time matrix per mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Travel
from ..provenance import cite
from .whatif import ModeState, build_state, mode_states

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import RunContext

RESILIENCE_COLUMNS = ["mode", "method", "is_estimate", "threshold_min", "rank", "ods_code", "trading_name",
                      "postcode", "locality", "in_area", "population_nearest", "points_losing",
                      "population_losing", "pop_65plus_losing", "max_minutes_after", "necessary",
                      "provenance"]


def default_thresholds() -> dict[str, list[int]]:
    """The configured default thresholds per mode (used when none are given)."""
    t = Travel()
    return {"walk": list(t.walk.thresholds_min), "drive": list(t.drive.thresholds_min),
            "transit": list(t.transit.thresholds_min)}


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


def resilience_table(models: Mapping[str, object], pharmacies: gpd.GeoDataFrame,
                     thresholds: Mapping[str, Sequence[float]] | None = None,
                     states: Mapping[str, ModeState] | None = None, provenance: str = "") -> pd.DataFrame:
    """For every pharmacy, mode and threshold: residents who fall beyond it if that pharmacy alone closed.

    Parameters
    ----------
    models
        ``TravelModel`` per mode (``ctx.models``).
    pharmacies
        The supply the models were run for (``pna.access.supply.select_supply(ctx.pharmacies, cfg)``).
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


def run_resilience(ctx: "RunContext", states: Mapping[str, ModeState] | None = None) -> dict[str, pd.DataFrame]:
    """The resilience stage: ``{"resilience_<mode>": table}`` for ``ctx.tables``.

    Reuses (or builds and caches) the per-mode what-if structures of :func:`mode_states`, so
    a later ``assess_application`` on the same context costs no further precomputation. Also
    stores ``ctx.layers["resilience_necessary"]`` (:func:`resilience_layer`) and, for each
    mode, a note naming how many pharmacies are necessary at the gap threshold.
    """
    from ..access.supply import select_supply

    cfg = ctx.cfg
    supply = select_supply(ctx.pharmacies, cfg)
    thresholds = {m: list(getattr(cfg.travel, m).thresholds_min) for m in ctx.models
                  if hasattr(cfg.travel, m)}
    prov = cite(cfg.inputs.pharmaceutical_list, cfg.inputs.ods_history, cfg.inputs.population,
                cfg.network.osm_extract, cfg.network.gtfs)
    states = states if states is not None else mode_states(ctx)
    table = resilience_table(ctx.models, supply, thresholds, states=states, provenance=prov)
    tables = {f"resilience_{m}": table[table["mode"] == m].reset_index(drop=True) for m in sorted(ctx.models)}
    ctx.layers["resilience_necessary"] = resilience_layer(table, ctx.pharmacies, gap_minutes(cfg))
    return tables


def gap_minutes(cfg) -> dict[str, int]:
    """The gap threshold per mode (``cfg.gaps.<mode>_minutes``)."""
    return {m: int(getattr(cfg.gaps, f"{m}_minutes")) for m in ("walk", "drive", "transit")
            if hasattr(cfg.gaps, f"{m}_minutes")}


def resilience_layer(table: pd.DataFrame, pharmacies: gpd.GeoDataFrame,
                     minutes: Mapping[str, float]) -> gpd.GeoDataFrame:
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
                                geometry=[], crs=27700)
    wide = wide[(wide[cols] > 0).any(axis=1)]
    wide["necessary_modes"] = [", ".join(c.split("_")[0] for c in cols if r[c] > 0)
                               for _, r in wide.iterrows()]
    ph = pharmacies.drop_duplicates("ods_code").set_index("ods_code")
    wide = wide.join(ph[["trading_name", "geometry"]], how="left").reset_index(names="ods_code")
    wide = wide.sort_values("ods_code", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(wide[["ods_code", "trading_name", "necessary_modes", *cols, "geometry"]],
                            geometry="geometry", crs=27700)


def resilience_map(table: pd.DataFrame, pharmacies: gpd.GeoDataFrame, mode: str, threshold: float,
                   area: gpd.GeoDataFrame | None = None) -> folium.Map:
    """A folium map of every supply pharmacy for one mode and threshold: necessary ones
    (sized by residents who would fall beyond the threshold) and the rest.

    The legend is added by :func:`pna.assess.page.finish_map`; the table is its text alternative.
    """
    from ..report.maps import OSM_ATTRIBUTION, esc

    sel = table[(table["mode"] == mode) & (table["threshold_min"].astype(float) == float(threshold))]
    ph = pharmacies.drop_duplicates("ods_code").set_index("ods_code").to_crs(4326)
    m = folium.Map(tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap").add_to(m)
    if area is not None and len(area):
        b = area.to_crs(4326).total_bounds
        m.fit_bounds([[round(b[1], 6), round(b[0], 6)], [round(b[3], 6), round(b[2], 6)]])
    top = float(sel["population_losing"].max()) if len(sel) else 0.0
    for r in sel.sort_values("ods_code").itertuples():
        if r.ods_code not in ph.index:
            continue
        g = ph.loc[r.ods_code, "geometry"]
        nec = r.population_losing > 0
        radius = 4 + (14 * np.sqrt(r.population_losing / top) if nec and top > 0 else 0)
        tip = (f"{esc(r.ods_code)} {esc(r.trading_name)}: "
               + (f"{r.population_losing:,.0f} residents would be beyond {threshold:g} min"
                  if nec else "others within reach if it closed"))
        folium.CircleMarker([round(g.y, 6), round(g.x, 6)], radius=round(float(radius), 2),
                            color="#212b32", weight=1, fill=True, fill_opacity=0.85,
                            fill_color="#d5281b" if nec else "#768692", tooltip=tip).add_to(m)
    return m


def necessary_text(table: pd.DataFrame, mode: str, threshold: float) -> pd.DataFrame:
    """The text alternative of :func:`resilience_map`: necessary pharmacies, ranked."""
    sel = table[(table["mode"] == mode) & (table["threshold_min"].astype(float) == float(threshold))
                & table["necessary"]]
    return sel[["rank", "ods_code", "trading_name", "locality", "population_losing",
                "pop_65plus_losing", "max_minutes_after"]].reset_index(drop=True)


def write_resilience(ctx: "RunContext", tables: Mapping[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each ``resilience_<mode>`` table as CSV and a map (with its text table) per mode at
    the gap threshold, under ``out_dir``."""
    from ..io import write_csv, write_text
    from ..report.vendor import copy_leaflet
    from .page import finish_map

    written = []
    gm = gap_minutes(ctx.cfg)
    for name, df in sorted(tables.items()):
        written.append(write_csv(df, out_dir / f"{name}.csv"))
        mode = name.removeprefix("resilience_")
        if mode not in gm or df.empty:
            continue
        t = gm[mode]
        m = resilience_map(df, ctx.pharmacies, mode, t, ctx.area)
        legend = [(f"Necessary: closure leaves residents beyond {t} min (size = residents)", "#d5281b"),
                  ("Not necessary at this threshold", "#768692")]
        doc = finish_map(m, f"Pharmacies necessary for {mode} access within {t} minutes", "Key", legend)
        written.append(write_text(doc, out_dir / f"{name}_map.html"))
        written += [p for p in copy_leaflet(out_dir) if p not in written]
        written.append(write_csv(necessary_text(df, mode, t), out_dir / f"{name}_map_text.csv"))
    return written

"""Resilience maps and tables as files: one map (with its text table) per mode at the gap threshold."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ..assess.resilience import gap_minutes, necessary_text
from ..config import Config
from ..crs import to_wgs84
from ..io import write_csv, write_text
from ..modes import Mode
from .assessment_page import finish_map
from .maps import OSM_ATTRIBUTION, esc
from .vendor import copy_leaflet

__all__ = ["resilience_map", "write_resilience"]


def resilience_map(table: pd.DataFrame, pharmacies: gpd.GeoDataFrame, mode: str, threshold: float,
                   area: gpd.GeoDataFrame | None = None) -> folium.Map:
    """A folium map of every supply pharmacy for one mode and threshold.

    Necessary pharmacies are sized by the residents who would fall beyond the threshold; the
    rest are drawn small.

    The legend is added by :func:`pna.report.assessment_page.finish_map`; the table is its text alternative.
    """
    sel = table[(table["mode"] == mode) & (table["threshold_min"].astype(float) == float(threshold))]
    ph = pharmacies.drop_duplicates("ods_code").set_index("ods_code").pipe(to_wgs84)
    m = folium.Map(tiles=None, control_scale=True)
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap").add_to(m)
    if area is not None and len(area):
        b = area.pipe(to_wgs84).total_bounds
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


def write_resilience(*, cfg: Config, tables: Mapping[str, pd.DataFrame], pharmacies: gpd.GeoDataFrame,
                     area: gpd.GeoDataFrame, out_dir: Path) -> list[Path]:
    """Write each ``resilience_<mode>`` table as CSV, with a map per mode, under ``out_dir``.

    Each map (with its text table) is drawn at the mode's gap threshold.
    """
    written = []
    gm = gap_minutes(cfg)
    for name, df in sorted(tables.items()):
        written.append(write_csv(df, out_dir / f"{name}.csv"))
        mode = name.removeprefix("resilience_")
        if mode not in gm or df.empty:
            continue
        t = gm[Mode(mode)]  # a valid Mode: it is a key of ``gm``
        m = resilience_map(df, pharmacies, mode, t, area)
        legend = [(f"Necessary: closure leaves residents beyond {t} min (size = residents)", "#d5281b"),
                  ("Not necessary at this threshold", "#768692")]
        doc = finish_map(m, f"Pharmacies necessary for {mode} access within {t} minutes", "Key", legend)
        written.append(write_text(doc, out_dir / f"{name}_map.html"))
        written += [p for p in copy_leaflet(out_dir) if p not in written]
        written.append(write_csv(necessary_text(df, mode, t), out_dir / f"{name}_map_text.csv"))
    return written

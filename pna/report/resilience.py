"""Resilience maps and tables as files: one page per mode (map and its table) at the gap threshold.

Each page shows, on the tile-free base of :mod:`pna.report.maps`, every pharmacy of the access
model: those whose closure alone would leave residents beyond the board's gap threshold are
sized by how many, the rest drawn small. The key and the page use plain words ("pharmacies
whose closure would leave people more than 20 minutes' walk from another"), and the table under
the map, reached by a skip link, lists the same pharmacies.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from ..assess.resilience import gap_minutes, necessary_text
from ..config import Config
from ..io import write_csv, write_text
from ..modes import Mode
from .map_page import KeyItem, map_document
from .map_style import mode_minutes_words
from .maps import base_key_for, pharmacy_words, points_layer, tile_free_map
from .vendor import copy_leaflet

__all__ = ["resilience_map", "resilience_key", "write_resilience"]

NEEDED_COLOUR = "#D55E00"   # Okabe-Ito vermillion
OTHER_COLOUR = "#999999"


def resilience_key(mode: Mode | str, threshold: float, n_needed: int, n_other: int) -> list[KeyItem]:
    """The plain-words key entries of the two groups of pharmacies."""
    far = mode_minutes_words(mode, threshold)
    return [(f"pharmacies whose closure would leave people more than {far} from another ({n_needed}); "
             "the bigger the circle, the more people", NEEDED_COLOUR, "dot"),
            (f"other pharmacies: if one closed, its users would still be within {far} of another ({n_other})",
             OTHER_COLOUR, "dot")]


def resilience_map(table: pd.DataFrame, pharmacies: gpd.GeoDataFrame, mode: str, threshold: float,
                   area: gpd.GeoDataFrame | None = None, localities: gpd.GeoDataFrame | None = None,
                   area_label: str = "the area") -> tuple[folium.Map, list[KeyItem]]:
    """A folium map of every supply pharmacy for one mode and threshold, and its key.

    Pharmacies whose closure would leave residents beyond the threshold are sized by those
    residents; the rest are drawn small.
    """
    sel = table[(table["mode"] == mode) & (table["threshold_min"].astype(float) == float(threshold))]
    ph = pharmacies.drop_duplicates("ods_code").set_index("ods_code")
    sel = sel[sel["ods_code"].isin(ph.index)].sort_values("ods_code", kind="stable")
    m = tile_free_map(area=area, localities=localities, area_label=area_label)
    pts = gpd.GeoDataFrame(sel.reset_index(drop=True), geometry=ph.loc[sel["ods_code"], "geometry"].to_numpy(),
                           crs=pharmacies.crs)
    pts = pts[pts.geometry.notna()]
    losing = pts["population_losing"].astype(float)
    needed = losing > 0
    top = float(losing.max()) if len(pts) else 0.0
    far = mode_minutes_words(mode, threshold)
    key = resilience_key(mode, threshold, int(needed.sum()), int((~needed).sum()))
    if (~needed).any():
        sub = pts[~needed]
        points_layer(sub, names=pharmacy_words(sub, f": if it closed, its users would still be within {far} of "
                                               "another pharmacy"), colour=OTHER_COLOUR, layer=key[1][0],
                     radius=4, weight=1).add_to(m)
    # biggest first, so small circles stay on top and visible
    order = pts[needed].assign(_l=losing[needed]).sort_values(["_l", "ods_code"], ascending=[False, True],
                                                               kind="stable")
    group = folium.FeatureGroup(name=key[0][0])
    for i in order.index:
        one = order.loc[[i]]
        n = float(one["population_losing"].iloc[0])
        radius = round(float(5 + 14 * np.sqrt(n / top)), 2) if top > 0 else 5.0
        words = pharmacy_words(one, f": if it closed, {n:,.0f} residents would be more than {far} from another "
                                    "pharmacy")
        points_layer(one, names=words, colour=NEEDED_COLOUR, layer=key[0][0], radius=radius, weight=1,
                     control=False).add_to(group)
    group.add_to(m)
    return m, key + base_key_for(area=area, localities=localities, area_label=area_label)


def _table_html(df: pd.DataFrame, caption: str) -> str:
    """The map's equivalent table as escaped HTML."""
    heads = {"rank": "Rank", "ods_code": "ODS code", "trading_name": "Pharmacy", "locality": "Locality",
             "population_losing": "Residents who would be left beyond", "pop_65plus_losing": "Of them aged 65+",
             "max_minutes_after": "Longest time after closure (minutes)"}
    cols = [c for c in heads if c in df]
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, (int, float, np.integer, np.floating)) and c != "ods_code":
                text = "not known" if pd.isna(v) else (f"{v:,.1f}" if c == "max_minutes_after" else f"{v:,.0f}")
                cells.append(f'<td class="n">{html.escape(text)}</td>')
            else:
                cells.append(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if not rows:
        rows = [f'<tr><td colspan="{len(cols)}">No single closure would leave anyone beyond this time.</td></tr>']
    head = "".join(f'<th scope="col">{html.escape(heads[c])}</th>' for c in cols)
    return (f'<div class="pna-table-wrap" role="region" aria-labelledby="pna-caption" tabindex="0"><table>'
            f'<caption id="pna-caption">{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def write_resilience(*, cfg: Config, tables: Mapping[str, pd.DataFrame], pharmacies: gpd.GeoDataFrame,
                     area: gpd.GeoDataFrame, out_dir: Path, localities: gpd.GeoDataFrame | None = None) -> list[Path]:
    """Write each ``resilience_<mode>`` table as CSV, with a map page per mode, under ``out_dir``.

    Each page (map, key and table) is drawn at the mode's gap threshold, on the area outline and,
    when given, the localities.
    """
    written = []
    gm = gap_minutes(cfg)
    for name, df in sorted(tables.items()):
        written.append(write_csv(df, out_dir / f"{name}.csv"))
        mode = name.removeprefix("resilience_")
        if mode not in gm or df.empty:
            continue
        t = gm[Mode(mode)]  # a valid Mode: it is a key of ``gm``
        m, legend = resilience_map(df, pharmacies, mode, t, area, localities, str(cfg.area.name))
        far = mode_minutes_words(mode, t)
        text = necessary_text(df, mode, t)
        title = f"If one pharmacy closed: pharmacies that keep {cfg.area.name} within {far} of a pharmacy"
        est = bool(df["is_estimate"].astype(bool).any()) if "is_estimate" in df else False
        caption = (f"Pharmacies whose closure alone would leave residents more than {far} from another pharmacy"
                   + (" (travel times are estimates)" if est else "") + ", the same as the map")
        doc = map_document(m, title=title, legend_title="Key", legend=legend,
                           description=f"{len(text)} pharmacies are drawn large: if one of them closed, some people "
                                       f"would be more than {far} from another.",
                           after=_table_html(text, caption))
        written.append(write_text(doc, out_dir / f"{name}_map.html"))
        written += [p for p in copy_leaflet(out_dir) if p not in written]
        written.append(write_csv(text, out_dir / f"{name}_map_text.csv"))
    return written


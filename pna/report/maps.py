"""Folium maps for the report, each with a legend and an equivalent accessible table.

Every map is written to ``cfg.out/maps/<slug>.html`` (deterministic: :func:`pna.io.stable_ids`,
coordinates rounded to 6 decimal places, polygons simplified) and described by a
:class:`MapOutput` holding its title, legend and the table that carries the same information
for people who cannot use the map. All text placed in a map is escaped here, because folium
inserts tooltip and popup text into HTML and JavaScript template literals unescaped.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..io import stable_ids, write_text
from ..modes import MODE_WORDS, MODES, Mode
from . import vendor
from .run import RunResults

OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')
SIMPLIFY_M = 10.0
PREMISES_COLOURS = {"standard": "#005eb8", "100-hour": "#7c2855", "distance-selling": "#007f3b",
                    "cross-border": "#425563"}
MINUTE_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027", "#67001f")
SEQ_BLUES = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
IMD_COLOURS = {1: "#a50f15", 2: "#de2d26", 3: "#fb6a4a", 4: "#fcae91", 5: "#fee5d9"}
CATEGORY_COLOURS = ("#005eb8", "#330072", "#007f3b", "#ed8b00", "#7c2855", "#425563", "#768692")


def esc(text: object) -> str:
    """Escape text for HTML *and* for a JavaScript template literal (folium tooltips/popups)."""
    s = html.escape("" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text), quote=True)
    return s.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


@dataclass
class MapOutput:
    """One map file and what the report shows beside it."""

    slug: str
    title: str
    description: str
    path: Path
    legend: list[tuple[str, str]] = field(default_factory=list)   # (label, colour)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    table_caption: str = ""
    table_view: Any = None   # set by the renderer


    @property
    def src(self) -> str:
        """Path of the map file relative to the report page."""
        return f"maps/{self.path.name}"


# --------------------------------------------------------------------------- geometry helpers
def to_wgs84(gdf: gpd.GeoDataFrame, simplify_m: float = SIMPLIFY_M) -> gpd.GeoDataFrame:
    """Simplify (in metres), reproject to EPSG:4326 and round coordinates to 6 dp."""
    g = gdf.copy()
    if g.crs is not None and g.crs.is_projected and simplify_m > 0:
        g["geometry"] = g.geometry.simplify(simplify_m, preserve_topology=True)
    g = g.to_crs(4326)
    g["geometry"] = shapely.set_precision(g.geometry.values, 1e-6)
    return g


def _geojson(gdf: gpd.GeoDataFrame, props: list[str]) -> dict:
    """A GeoJSON dict with text properties escaped and numbers rounded; stable key order."""
    feats = []
    for _, r in gdf.iterrows():
        p: dict[str, Any] = {}
        for c in props:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                p[c] = None if np.isnan(v) else round(float(v), 6)
            elif isinstance(v, (bool, np.bool_, int, np.integer)):
                p[c] = v.item() if hasattr(v, "item") else v
            else:
                p[c] = esc(v)
        geom = json.loads(json.dumps(shapely.geometry.mapping(r.geometry)))
        feats.append({"type": "Feature", "properties": p, "geometry": geom})
    return {"type": "FeatureCollection", "features": feats}


def base_map(run: RunResults) -> folium.Map:
    """A map fitted to the area with OSM tiles and attribution, and the area/locality boundaries."""
    area = run.geography.area if run.geography.area is not None else run.geography.localities
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="OpenStreetMap").add_to(m)
    if area is not None and len(area):
        b = area.to_crs(4326).total_bounds
        m.fit_bounds([[round(b[1], 6), round(b[0], 6)], [round(b[3], 6), round(b[2], 6)]])
    if run.geography.localities is not None and len(run.geography.localities):
        loc = to_wgs84(run.geography.localities[["locality", "geometry"]])
        folium.GeoJson(_geojson(loc, ["locality"]), name="Localities",
                       style_function=lambda f: {"color": "#425563", "weight": 1.5, "fill": False, "dashArray": "4 4"},
                       tooltip=folium.GeoJsonTooltip(fields=["locality"], aliases=["Locality"])).add_to(m)
    if run.geography.area is not None and len(run.geography.area):
        a = to_wgs84(run.geography.area[["geometry"]])
        folium.GeoJson(_geojson(a, []), name="Area boundary",
                       style_function=lambda f: {"color": "#212b32", "weight": 3, "fill": False}).add_to(m)
    return m


def legend_html(title: str, items: list[tuple[str, str]]) -> str:
    """A visible legend panel for a folium map (escaped text)."""
    rows = "".join(f'<li><span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
                   f'vertical-align:middle;border:1px solid #212b32;background:{c}"></span>{esc(lbl)}</li>'
                   for lbl, c in items)
    # bottom:64px clears the scale bar Leaflet puts in the bottom-left corner
    return (f'<div class="pna-legend" role="region" aria-label="Legend" '
            f'style="position:absolute;z-index:1000;bottom:64px;left:10px;'
            f'background:#fff;color:#212b32;padding:8px 10px;border:1px solid #425563;font:14px/1.4 Arial,sans-serif;'
            f'max-width:45%"><strong>{esc(title)}</strong><ul style="list-style:none;margin:4px 0 0;padding:0">'
            f'{rows}</ul></div>')


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.S)


def save_map(m: folium.Map, path: Path, title: str, legend_title: str, legend: list[tuple[str, str]],
             vendored: bool | None = None) -> Path:
    """Render ``m`` with a legend, a page title and language, and stable ids; write it to ``path``.

    Only Leaflet is loaded: from ``lib/`` beside the map when ``vendored`` (default: when a
    vendored copy exists, see :mod:`pna.report.vendor`), else from the CDN.
    """
    vendor.use_leaflet_only(m, vendor.leaflet_dir() is not None if vendored is None else vendored)
    root = m.get_root()  # a Figure, though branca types get_root() as Element
    root.html.add_child(folium.Element(legend_html(legend_title, legend)))  # type: ignore[attr-defined]
    folium.LayerControl(collapsed=True).add_to(m)
    text = m.get_root().render()
    text = text.replace("<html>", '<html lang="en">', 1)
    text = text.replace("<head>", f"<head>\n    <title>{esc(title)}</title>", 1)
    # Let people zoom the page (WCAG 1.4.4); folium disables it by default.
    # One main landmark and a level-one heading, so the map page stands on its own (axe best practice);
    # main takes the full height, or the map (height 100% of its parent) collapses to nothing.
    hidden = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap"
    text = text.replace("<body>", f'<body>\n<main style="height:100%">\n<h1 style="{hidden}">{esc(title)}</h1>', 1)
    text = text.replace("</body>", "</main>\n</body>", 1)
    text = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1.0" />', text, count=1)
    text = "\n".join(line.rstrip() for line in stable_ids(text).splitlines()) + "\n"
    return write_text(text, path)


# --------------------------------------------------------------------------- the maps
def premises_type(ph: pd.DataFrame) -> pd.Series:
    """Standard | 100-hour | distance-selling | cross-border, in that precedence (cross-border first)."""
    t = pd.Series("standard", index=ph.index, dtype=object)
    if "is_100_hour" in ph:
        t[ph["is_100_hour"].fillna(False).astype(bool)] = "100-hour"
    if "is_distance_selling" in ph:
        t[ph["is_distance_selling"].fillna(False).astype(bool)] = "distance-selling"
    if "in_area" in ph:
        t[~ph["in_area"].fillna(False).astype(bool)] = "cross-border"
    return t


def _pharmacy_points(run: RunResults) -> gpd.GeoDataFrame:
    ph = run.geography.pharmacies.copy()
    ph["type"] = premises_type(ph)
    ph["name"] = ph["trading_name"].fillna(ph.get("org_name", "")) if "trading_name" in ph else ph["ods_code"]
    ph = ph.sort_values("ods_code", kind="stable")
    return ph


def _add_points(m: folium.Map | folium.FeatureGroup, pts: gpd.GeoDataFrame, colour: pd.Series,
                tooltip: pd.Series, radius: float = 6) -> None:
    pts4326 = pts.to_crs(4326)
    for (_, r), c, tip in zip(pts4326.iterrows(), colour, tooltip):
        folium.CircleMarker(location=[round(r.geometry.y, 6), round(r.geometry.x, 6)], radius=radius,
                            color="#212b32", weight=1, fill=True, fill_color=c, fill_opacity=0.9,
                            tooltip=folium.Tooltip(tip)).add_to(m)


def premises_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """Statement 7 map: every pharmacy by type, with locality and area boundaries."""
    if run.geography.pharmacies is None or run.geography.pharmacies.empty:
        return None
    ph = _pharmacy_points(run)
    m = base_map(run)
    for t, colour in PREMISES_COLOURS.items():
        sub = ph[ph["type"] == t]
        if sub.empty:
            continue
        fg = folium.FeatureGroup(name=f"{t} ({len(sub)})")
        fg.add_to(m)
        tips = sub["name"].map(esc) + " (" + sub["ods_code"].map(esc) + "), " + esc(t)
        _add_points(fg, sub, pd.Series(colour, index=sub.index), tips)
    legend = [(t, c) for t, c in PREMISES_COLOURS.items()]
    title = "Map 1: pharmacy premises in and around the area (Statement 7)"
    path = save_map(m, out_dir / "premises.html", title, "Premises", legend)
    cols = [c for c in ("ods_code", "name", "address", "postcode", "type", "locality", "band") if c in ph]
    tbl = ph[cols].reset_index(drop=True)
    return MapOutput("premises", title, "Every pharmacy in the area and within the cross-border bands, by type, "
                     "with locality and area boundaries.", path, legend, tbl,
                     "Premises shown on Map 1 (the same information as the map)")


def minute_bins(thresholds: list[int]) -> list[tuple[float, float, str]]:
    """Time bands ``(lo, hi, label)`` from 0 to each threshold, then one for beyond the last."""
    edges = [0.0] + [float(t) for t in thresholds]
    bins = [(edges[i], edges[i + 1], f"{edges[i]:g}-{edges[i + 1]:g} min") for i in range(len(edges) - 1)]
    bins.append((edges[-1], float("inf"), f"over {edges[-1]:g} min or unreachable"))
    return bins


def access_map(run: RunResults, mode: Mode, out_dir: Path) -> MapOutput | None:
    """Demand points coloured by minutes to the nearest pharmacy (plus isochrones if supplied)."""
    res = run.access.results.get(mode)
    if res is None or res.demand is None or res.demand.empty:
        return None

    thresholds = sorted(int(t) for t in res.coverage["threshold_min"].unique()) if res.coverage is not None \
        and not res.coverage.empty else list(getattr(run.cfg.travel, mode).thresholds_min)
    bins = minute_bins(thresholds)
    d = res.demand.sort_values("point_id", kind="stable") if "point_id" in res.demand else res.demand
    minutes = d["minutes"].astype(float).to_numpy()
    idx = np.searchsorted([b[1] for b in bins[:-1]], minutes, side="left")
    idx = np.minimum(idx, len(bins) - 1)
    colours = [MINUTE_COLOURS[min(i, len(MINUTE_COLOURS) - 1)] for i in range(len(bins))]
    m = base_map(run)
    if res.isochrones is not None and not res.isochrones.empty:
        iso = res.isochrones
        top = iso[iso["threshold_min"] == iso["threshold_min"].max()]
        if not top.empty:
            g = to_wgs84(top[["threshold_min", "geometry"]].dissolve(by="threshold_min").reset_index())
            folium.GeoJson(_geojson(g, ["threshold_min"]), name="Isochrone",
                           style_function=lambda f: {"color": "#005eb8", "weight": 1, "fillOpacity": 0.1}).add_to(m)
    pts = d.assign(_bin=idx)
    pts4326 = to_wgs84(pts[["_bin", "minutes", "geometry"]], simplify_m=0)
    pts4326["minutes"] = pts4326["minutes"].where(np.isfinite(pts4326["minutes"]), np.nan).round(1)
    for b in range(len(bins)):
        sub = pts4326[pts4326["_bin"] == b]
        if sub.empty:
            continue
        colour = colours[b]
        folium.GeoJson(_geojson(sub, ["minutes"]), name=esc(bins[b][2]),
                       marker=folium.CircleMarker(radius=3, weight=0, fill=True, fill_opacity=0.85),
                       style_function=lambda f, c=colour: {"fillColor": c, "color": c},
                       tooltip=folium.GeoJsonTooltip(fields=["minutes"], aliases=["Minutes"])).add_to(m)
    word = MODE_WORDS.get(mode, mode)
    title = f"Map: {word} time to the nearest pharmacy" + (" (estimate)" if res.is_estimate else "")
    legend = [(b[2], colours[i]) for i, b in enumerate(bins)]
    path = save_map(m, out_dir / f"access_{mode}.html", title, f"Minutes by {word}", legend)
    pop = d["population"].astype(float).to_numpy()
    tbl = pd.DataFrame({"time band": [b[2] for b in bins],
                        "demand points": np.bincount(idx, minlength=len(bins)),
                        "residents": np.bincount(idx, weights=pop, minlength=len(bins)).round(0)})
    return MapOutput(f"access_{mode}", title, f"Each dot is a demand point coloured by {word} minutes to the nearest "
                     f"pharmacy. {res.method_note}", path, legend, tbl,
                     f"Residents by {word} time to the nearest pharmacy (the same information as the map)")


def opening_hours_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """Pharmacies coloured by opening category."""
    if (run.geography.pharmacies is None or run.geography.pharmacies.empty
            or "opening_category" not in run.geography.pharmacies):
        return None
    ph = _pharmacy_points(run)
    cats = sorted(ph["opening_category"].fillna("hours unknown").astype(str).unique())
    colour = {c: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, c in enumerate(cats)}
    m = base_map(run)
    cat = ph["opening_category"].fillna("hours unknown").astype(str)
    for c in cats:
        sub = ph[cat == c]
        fg = folium.FeatureGroup(name=esc(f"{c} ({len(sub)})"))
        fg.add_to(m)
        hours = sub["weekly_hours"].map(lambda v: f"{v:.1f}" if pd.notna(v) else "unknown") \
            if "weekly_hours" in sub else pd.Series("unknown", index=sub.index)
        tips = sub["name"].map(esc) + ": " + esc(c) + ", " + hours + " hours a week"
        _add_points(fg, sub, pd.Series(colour[c], index=sub.index), tips)
    title = "Map: pharmacies by opening hours"
    legend = [(c, colour[c]) for c in cats]
    path = save_map(m, out_dir / "opening_hours.html", title, "Opening category", legend)
    cols = [c for c in ("ods_code", "name", "opening_category", "weekly_hours", "late_weekday", "sat_pm",
                        "sunday", "type") if c in ph]
    return MapOutput("opening_hours", title, "Pharmacies coloured by their opening category.", path, legend,
                     ph[cols].reset_index(drop=True),
                     "Opening hours of each pharmacy (the same information as the map)")


def service_maps(run: RunResults, services: pd.DataFrame | None, out_dir: Path) -> list[MapOutput]:
    """One map per service: pharmacies providing it versus not."""
    if services is None or services.empty or run.geography.pharmacies is None:
        return []
    ph = _pharmacy_points(run)
    outs = []
    for k, (svc, g) in enumerate(services.groupby("service", sort=True)):
        provides = set(g.loc[g["provided"].astype(bool), "ods_code"])
        flag = ph["ods_code"].isin(provides)
        m = base_map(run)
        legend = [(f"provides {svc}", "#007f3b"), ("does not, or no data", "#d8dde0")]
        for on, (label, colour) in ((True, legend[0]), (False, legend[1])):
            sub = ph[flag == on]
            if sub.empty:
                continue
            fg = folium.FeatureGroup(name=esc(label))
            fg.add_to(m)
            _add_points(fg, sub, pd.Series(colour, index=sub.index), sub["name"].map(esc) + ": " + esc(label))
        slug = f"service_{k + 1:02d}"
        title = f"Map: pharmacies providing {svc}"
        path = save_map(m, out_dir / f"{slug}.html", title, str(svc), legend)
        tbl = ph.loc[flag, [c for c in ("ods_code", "name", "locality", "type") if c in ph]].reset_index(drop=True)
        outs.append(MapOutput(slug, title, f"Pharmacies recorded as providing {svc}.", path, legend, tbl,
                              f"Pharmacies providing {svc} (the same information as the map)"))
    return outs


def _classes(values: np.ndarray, k: int = 5) -> tuple[np.ndarray, list[float]]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(len(values), dtype=int), [0.0, 0.0]
    lo, hi = float(finite.min()), float(finite.max())
    edges = list(np.linspace(lo, hi, k + 1)) if hi > lo else [lo, hi]
    idx = np.clip(np.searchsorted(edges[1:-1], values, side="right"), 0, max(len(edges) - 2, 0))
    return idx, edges


def rates_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """Choropleth of pharmacies per 10,000 residents by locality."""
    prov = run.tables.get("provision")
    if prov is None or prov.empty or run.geography.localities is None or run.geography.localities.empty:
        return None
    loc = prov[prov["level"] == "locality"] if "level" in prov else prov
    g = run.geography.localities[["locality", "geometry"]].merge(
        loc[["locality", "pharmacies", "population", "rate_per_10k"]], on="locality", how="left")
    idx, edges = _classes(g["rate_per_10k"].astype(float).to_numpy())
    n = max(len(edges) - 1, 1)
    colours = [SEQ_BLUES[min(i, 4)] for i in range(n)]
    g = g.assign(_c=[colours[i] for i in idx])
    m = base_map(run)
    gw = to_wgs84(g[["locality", "rate_per_10k", "_c", "geometry"]])
    gw["rate_per_10k"] = gw["rate_per_10k"].round(2)
    folium.GeoJson(_geojson(gw, ["locality", "rate_per_10k", "_c"]), name="Rate per 10,000",
                   style_function=lambda f: {"fillColor": f["properties"]["_c"], "color": "#212b32", "weight": 1,
                                             "fillOpacity": 0.7},
                   tooltip=folium.GeoJsonTooltip(fields=["locality", "rate_per_10k"],
                                                 aliases=["Locality", "Pharmacies per 10,000"])).add_to(m)
    legend = [(f"{edges[i]:.2f} to {edges[i + 1]:.2f}", colours[i]) for i in range(n)]
    title = "Map: pharmacies per 10,000 residents by locality"
    path = save_map(m, out_dir / "rates.html", title, "Pharmacies per 10,000", legend)
    tbl = g[["locality", "pharmacies", "population", "rate_per_10k"]].reset_index(drop=True)
    return MapOutput("rates", title, "Localities shaded by pharmacies per 10,000 residents.", path, legend, tbl,
                     "Pharmacies per 10,000 residents by locality (the same information as the map)")


def imd_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """LSOAs shaded by IMD 2019 quintile, with pharmacies on top."""
    lsoa = run.geography.lsoa
    if lsoa is None or lsoa.empty or "imd2019_quintile" not in lsoa:
        return None
    g = lsoa[["lsoa11_code", "locality", "pop_total", "imd2019_quintile", "geometry"]].sort_values(
        "lsoa11_code", kind="stable").copy()
    g["_c"] = g["imd2019_quintile"].map(lambda q: IMD_COLOURS.get(int(q), "#ffffff") if pd.notna(q) else "#ffffff")
    m = base_map(run)
    gw = to_wgs84(g[["lsoa11_code", "imd2019_quintile", "_c", "geometry"]])
    folium.GeoJson(_geojson(gw, ["lsoa11_code", "imd2019_quintile", "_c"]), name="IMD 2019 quintile",
                   style_function=lambda f: {"fillColor": f["properties"]["_c"], "color": "#768692", "weight": 0.5,
                                             "fillOpacity": 0.6},
                   tooltip=folium.GeoJsonTooltip(fields=["lsoa11_code", "imd2019_quintile"],
                                                 aliases=["LSOA", "IMD quintile"])).add_to(m)
    if run.geography.pharmacies is not None and not run.geography.pharmacies.empty:
        ph = _pharmacy_points(run)
        fg = folium.FeatureGroup(name="Pharmacies")
        fg.add_to(m)
        _add_points(fg, ph, pd.Series("#005eb8", index=ph.index), ph["name"].map(esc), radius=4)
    legend = [(f"quintile {q}" + (" (most deprived)" if q == 1 else " (least deprived)" if q == 5 else ""), c)
              for q, c in IMD_COLOURS.items()] + [("pharmacy", "#005eb8")]
    title = "Map: deprivation (IMD 2019 quintile) and pharmacies"
    path = save_map(m, out_dir / "imd.html", title, "IMD 2019", legend)
    tbl = g[["lsoa11_code", "locality", "pop_total", "imd2019_quintile"]].rename(
        columns={"pop_total": "population"}).reset_index(drop=True)
    return MapOutput("imd", title, "LSOAs shaded by Index of Multiple Deprivation 2019 quintile "
                     "(1 = most deprived fifth of England).", path, legend, tbl,
                     "IMD 2019 quintile of each LSOA (the same information as the map)")


def write_maps(run: RunResults, services: pd.DataFrame | None = None) -> tuple[list[MapOutput], list[str]]:
    """Write every map that the context supports to ``cfg.out/maps``; returns them in report order.

    The vendored Leaflet is copied to ``maps/lib``; without one the maps use the CDN and the run
    notes that they need an internet connection (returned with the maps).
    """
    out_dir = run.cfg.out / "maps"
    maps: list[MapOutput | None] = [premises_map(run, out_dir)]
    maps += [access_map(run, mode, out_dir) for mode in MODES]
    maps += [opening_hours_map(run, out_dir)]
    maps += service_maps(run, services, out_dir)
    maps += [rates_map(run, out_dir), imd_map(run, out_dir)]
    written = [m for m in maps if m is not None]
    notes = [vendor.CDN_NOTE] if written and not vendor.copy_leaflet(out_dir) else []
    return written, notes

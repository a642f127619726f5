"""Folium maps for the report, each with a key and an equivalent accessible table.

Every map is written to ``cfg.out/maps/<slug>.html`` (deterministic: :func:`pna.io.stable_ids`,
coordinates rounded to 6 decimal places, polygons simplified) and described by a
:class:`MapOutput` holding its title, key and the table that carries the same information
for people who cannot use the map. The base needs no tiles, because offline (or where a network
blocks them) none load: the area is drawn light grey with its boundary, the localities are
outlined and named, and the pharmacies are on every map. OpenStreetMap tiles are a layer people
may switch on. Pages are finished by :func:`pna.report.map_page.map_document` (one tab stop per
map, named features, landmarks, pinch-zoom); colours and classes come from
:mod:`pna.report.map_style`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from ..io import write_text
from ..modes import MODE_WORDS, MODES, Mode
from . import vendor
from .map_page import OSM_ATTRIBUTION, KeyItem, add_osm_tiles, esc, legend_html, map_document
from .map_style import (
    GREY,
    INK,
    OKABE_ITO,
    PHARMACY_COLOUR,
    PREMISES_STYLE,
    PURPLES,
    minute_bins,
    minute_thresholds,
    mode_minutes_words,
    rate_classes,
    rate_threshold,
    sequential,
)
from .run import RunResults

__all__ = ["MapOutput", "write_maps", "premises_type", "to_wgs84", "esc", "minute_bins", "legend_html",
           "save_map", "base_map", "tile_free_map", "base_key_for", "points_layer", "pharmacy_words", "OSM_ATTRIBUTION"]

SIMPLIFY_M = 10.0
AREA_FILL = "#eceeef"
ISO_COLOUR = OKABE_ITO[0]   # blue: apart from the black area boundary
#: Above this many localities their names show only when zoomed in (each MSOA its own locality).
MAX_LOCALITY_LABELS = 12


@dataclass
class MapOutput:
    """One map file and what the report shows beside it."""

    slug: str
    title: str
    description: str
    path: Path
    legend: list[KeyItem] = field(default_factory=list)   # (label, colour, shape)
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


def _label_point(geom: object) -> tuple[float, float] | None:
    """Where to write a polygon's name: the pole of inaccessibility of its largest part (EPSG:27700)."""
    polys = list(getattr(geom, "geoms", [geom]))
    polys = [p for p in polys if p is not None and not p.is_empty and p.geom_type == "Polygon"]
    if not polys:
        return None
    pt = shapely.ops.polylabel(max(polys, key=lambda p: p.area), tolerance=10.0)
    return float(pt.x), float(pt.y)


def _label(text: str, where: tuple[float, float], css: str) -> folium.Marker:
    """A name written on the map: not interactive, not focusable (the key and tables carry it)."""
    icon = folium.DivIcon(html=f"<div>{esc(text)}</div>", icon_size=(0, 0), icon_anchor=(0, 0), class_name=css)
    return folium.Marker([round(where[1], 6), round(where[0], 6)], icon=icon, interactive=False, keyboard=False)


def area_name(run: RunResults) -> str:
    """The area's name as the config gives it."""
    return str(run.cfg.area.name)


def base_map(run: RunResults, *, fill: bool = True) -> folium.Map:
    """:func:`tile_free_map` of the run's area and localities."""
    return tile_free_map(area=run.geography.area, localities=run.geography.localities, area_label=area_name(run),
                         fill=fill)


def tile_free_map(*, area: gpd.GeoDataFrame | None, localities: gpd.GeoDataFrame | None, area_label: str,
                  fill: bool = True) -> folium.Map:
    """A tile-free base fitted to the area: its light grey fill and boundary, the localities and their names.

    The boundary lines and names sit in panes above the data layers; OpenStreetMap tiles are an
    optional layer, off by default.
    """
    extent = area if area is not None and len(area) else localities
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_snap=0.25)
    folium.map.CustomPane("pna-fill", z_index=350).add_to(m)
    folium.map.CustomPane("pna-lines", z_index=450).add_to(m)
    folium.map.CustomPane("pna-points", z_index=460, pointer_events=True).add_to(m)
    add_osm_tiles(m)
    if extent is not None and len(extent):
        b = extent.to_crs(4326).total_bounds
        m.fit_bounds([[round(b[1], 6), round(b[0], 6)], [round(b[3], 6), round(b[2], 6)]])
    if fill and area is not None and len(area):
        a = to_wgs84(area[["geometry"]])
        folium.GeoJson(_geojson(a, []), name="area fill", control=False, pane="pna-fill", interactive=False,
                       style_function=lambda f: {"color": AREA_FILL, "weight": 0, "fillColor": AREA_FILL,
                                                 "fillOpacity": 1}).add_to(m)
    if localities is not None and len(localities):
        loc = localities.sort_values("locality", kind="stable")
        names = folium.FeatureGroup(name=locality_key_for(len(loc))[0])
        lw = to_wgs84(loc[["locality", "geometry"]])
        folium.GeoJson(_geojson(lw, []), control=False, pane="pna-lines", interactive=False,
                       style_function=lambda f: {"color": GREY, "weight": 1.5, "fill": False,
                                                 "dashArray": "5 4"}).add_to(names)
        css = "pna-label" + (" pna-place" if len(loc) > MAX_LOCALITY_LABELS else "")
        for _, r in loc.iterrows():
            xy = _label_point(r.geometry)
            if xy is not None:
                pt = gpd.GeoSeries([shapely.Point(xy)], crs=loc.crs).to_crs(4326).iloc[0]
                _label(str(r["locality"]), (pt.x, pt.y), css).add_to(names)
        names.add_to(m)
    if area is not None and len(area):
        a = to_wgs84(area[["geometry"]])
        folium.GeoJson(_geojson(a, []), name=esc(f"{area_label} boundary"), pane="pna-lines", interactive=False,
                       style_function=lambda f: {"color": INK, "weight": 3, "fill": False}).add_to(m)
    return m


def boundary_key(run: RunResults) -> KeyItem:
    """The key entry of the area boundary."""
    return (f"{area_name(run)} boundary", INK, "line")


def locality_key_for(n: int) -> KeyItem:
    """The key entry of ``n`` locality outlines and names."""
    words = "locality boundary and name" + (" (names show when you zoom in)" if n > MAX_LOCALITY_LABELS else "")
    return (words, GREY, "dash")


def locality_key(run: RunResults) -> KeyItem:
    """The key entry of the locality outlines and names."""
    return locality_key_for(len(run.geography.localities) if run.geography.localities is not None else 0)


def base_key_for(*, area: gpd.GeoDataFrame | None, localities: gpd.GeoDataFrame | None,
                 area_label: str) -> list[KeyItem]:
    """Key entries of the base layers :func:`tile_free_map` draws."""
    out: list[KeyItem] = []
    if area is not None and len(area):
        out.append((f"{area_label} boundary", INK, "line"))
    if localities is not None and len(localities):
        out.append(locality_key_for(len(localities)))
    return out


def base_key(run: RunResults) -> list[KeyItem]:
    """Key entries of the base layers that are drawn."""
    return base_key_for(area=run.geography.area, localities=run.geography.localities, area_label=area_name(run))


def save_map(m: folium.Map, path: Path, title: str, legend_title: str, legend: list[KeyItem] | list[tuple[str, str]],
             vendored: bool | None = None, description: str = "") -> Path:
    """Render ``m`` as an accessible page (:func:`pna.report.map_page.map_document`) and write it to ``path``."""
    return write_text(map_document(m, title=title, legend_title=legend_title, legend=legend,
                                   description=description, vendored=vendored), path)


def points_layer(pts: gpd.GeoDataFrame, *, names: pd.Series, colour: str | pd.Series, layer: str,
                  radius: float = 6, weight: float = 1.5, pane: str = "pna-points", show_tooltip: bool = True,
                  control: bool = True) -> folium.GeoJson:
    """Points as one GeoJSON layer: each a circle with its accessible name (``_name``) and colour (``_c``)."""
    g = pts[["geometry"]].copy()
    g["_name"] = names.astype(str).to_numpy()
    g["_c"] = (colour if isinstance(colour, pd.Series) else pd.Series(colour, index=pts.index)).to_numpy()
    gw = to_wgs84(g, simplify_m=0)
    tip = folium.GeoJsonTooltip(fields=["_name"], labels=False) if show_tooltip else None
    return folium.GeoJson(_geojson(gw, ["_name", "_c"]), name=esc(layer), pane=pane, control=control,
                          marker=folium.CircleMarker(radius=radius, weight=weight, fill=True, fill_opacity=0.95),
                          style_function=lambda f: {"fillColor": f["properties"]["_c"], "color": INK,
                                                    "weight": weight},
                          tooltip=tip)
# --------------------------------------------------------------------------- the maps
def premises_type(ph: pd.DataFrame) -> pd.Series:
    """Standard | 100-hour | distance-selling | cross-border, in that precedence (cross-border first)."""
    t = pd.Series("standard", index=ph.index, dtype=object)
    if "is_100_hour" in ph:
        t[ph["is_100_hour"].astype("boolean").fillna(False).astype(bool)] = "100-hour"
    if "is_distance_selling" in ph:
        t[ph["is_distance_selling"].astype("boolean").fillna(False).astype(bool)] = "distance-selling"
    if "in_area" in ph:
        t[~ph["in_area"].astype("boolean").fillna(False).astype(bool)] = "cross-border"
    return t


def _located(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if gdf is None or gdf.empty:
        return gpd.GeoDataFrame({"ods_code": []}, geometry=[], crs="EPSG:27700")
    g = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    return g.sort_values("ods_code", kind="stable") if "ods_code" in g else g


def _names(ph: pd.DataFrame) -> pd.Series:
    """The pharmacy's trading name (else its organisation, else its ODS code)."""
    name = pd.Series(ph["ods_code"].astype(str), index=ph.index)
    for col in ("org_name", "trading_name"):
        if col in ph:
            v = ph[col]
            name = v.where(v.notna() & (v.astype(str).str.strip() != ""), name).astype(str)
    return name


def _pharmacy_points(run: RunResults) -> gpd.GeoDataFrame:
    ph = _located(run.geography.pharmacies).copy()
    ph["type"] = premises_type(ph)
    ph["name"] = _names(ph)
    return ph


def pharmacy_words(ph: pd.DataFrame, extra: pd.Series | str = "") -> pd.Series:
    """'Pharmacy: NAME (ODS), POSTCODE' plus ``extra``: each pharmacy's accessible name and tooltip."""
    words = "Pharmacy: " + _names(ph) + " (" + ph["ods_code"].astype(str) + ")"
    if "postcode" in ph:
        words = words + ph["postcode"].fillna("").astype(str).map(lambda p: f", {p}" if p else "")
    return words + extra


def _sites_layer(run: RunResults, m: folium.Map, sites: gpd.GeoDataFrame | None, label: str) -> list[KeyItem]:
    """The pharmacies drawn over a coloured layer (white circles); their key entry."""
    s = _located(sites)
    if not len(s):
        return []
    points_layer(s, names=pharmacy_words(s), colour=PHARMACY_COLOUR, layer=f"{label} ({len(s)})",
                  radius=5, weight=2).add_to(m)
    return [(f"{label} ({len(s)})", PHARMACY_COLOUR, "dot")]


def premises_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """Statement 7 map: every pharmacy by type, with locality and area boundaries."""
    ph = _pharmacy_points(run)
    if not len(ph):
        return None
    m = base_map(run)
    legend: list[KeyItem] = []
    for t, (words, _, colour) in PREMISES_STYLE.items():
        sub = ph[ph["type"] == t]
        if sub.empty:
            continue
        words = f"pharmacy in {area_name(run)}" if t == "standard" else words
        label = f"{words} ({len(sub)})"
        points_layer(sub, names=pharmacy_words(sub, f", {words}"), colour=colour, layer=label).add_to(m)
        legend.append((label, colour, "dot"))
    legend += base_key(run)
    title = "Map 1: pharmacy premises in and around the area (Statement 7)"
    desc = (f"{len(ph)} pharmacies in and around {area_name(run)}, coloured by type, with the area and "
            "locality boundaries.")
    path = save_map(m, out_dir / "premises.html", title, "Key", legend, description=desc)
    cols = [c for c in ("ods_code", "name", "address", "postcode", "type", "locality", "band") if c in ph]
    tbl = ph[cols].reset_index(drop=True)
    return MapOutput("premises", title, "Every pharmacy in the area and within the cross-border bands, by type, "
                     "with locality and area boundaries.", path, legend, tbl,
                     "Premises shown on Map 1 (the same information as the map)")


def _iso_key(mode: Mode, minutes: float) -> KeyItem:
    return (f"edge of the area within {mode_minutes_words(mode, minutes)} of a pharmacy", ISO_COLOUR, "line")


def access_map(run: RunResults, mode: Mode, out_dir: Path) -> MapOutput | None:
    """Demand points coloured by minutes to the nearest pharmacy, the pharmacies, and any isochrone.

    The classes break at each travel threshold and always at the board's gap threshold.
    """
    res = run.access.results.get(mode)
    if res is None or res.demand is None or res.demand.empty:
        return None
    gap = float(run.cfg.gaps.minutes(mode))
    cov = res.coverage["threshold_min"].unique() if res.coverage is not None and not res.coverage.empty else ()
    bins = minute_bins(minute_thresholds(run.cfg, mode, [int(t) for t in cov]), gap)
    d = res.demand.sort_values("point_id", kind="stable") if "point_id" in res.demand else res.demand
    d = d[d.geometry.notna()]
    minutes = d["minutes"].astype(float).to_numpy()
    idx = np.searchsorted([b[1] for b in bins[:-1]], np.where(np.isnan(minutes), np.inf, minutes), side="left")
    idx = np.minimum(idx, len(bins) - 1)
    colours = sequential(len(bins))
    word = MODE_WORDS.get(mode, mode)
    m = base_map(run)
    legend: list[KeyItem] = []
    iso = res.isochrones
    if iso is not None and not iso.empty:
        at = gap if (iso["threshold_min"].astype(float) == gap).any() else float(iso["threshold_min"].max())
        top = iso[iso["threshold_min"].astype(float) == at]
        g = to_wgs84(top[["threshold_min", "geometry"]].dissolve(by="threshold_min").reset_index())
        key = _iso_key(mode, at)
        folium.GeoJson(_geojson(g, []), name=esc(key[0]), pane="pna-lines", interactive=False,
                       style_function=lambda f: {"color": ISO_COLOUR, "weight": 2.5, "fill": False}).add_to(m)
        legend.append(key)
    pop = d["population"].astype(float).to_numpy() if "population" in d else np.full(len(d), np.nan)
    for b in range(len(bins)):
        on = idx == b
        if not on.any():
            continue
        sub = d[on]
        mins = minutes[on]
        names = pd.Series([(f"Homes of about {p:,.0f} residents: " if np.isfinite(p) else "Homes: ")
                           + (f"{t:.1f} minutes to the nearest pharmacy by {word}" if np.isfinite(t)
                              else f"no route to a pharmacy by {word}")
                           for p, t in zip(pop[on], mins)], index=sub.index)
        points_layer(sub, names=names, colour=colours[b], layer=bins[b][2], radius=3, weight=0,
                      pane="overlayPane").add_to(m)
        legend.append((bins[b][2], colours[b], "dot"))
    legend += _sites_layer(run, m, run.access.supply.sites, "pharmacy (face-to-face)")
    legend += base_key(run)
    title = f"Map: {word} time to the nearest pharmacy" + (" (estimate)" if res.is_estimate else "")
    desc = (f"Homes coloured by {word} time to the nearest pharmacy, lightest nearest; the "
            f"{run.cfg.gaps.minutes(mode)}-minute standard is one of the breaks. Pharmacies are white circles.")
    path = save_map(m, out_dir / f"access_{mode}.html", title, f"Minutes by {word}", legend, description=desc)
    tbl = pd.DataFrame({"time band": [b[2] for b in bins],
                        "demand points": np.bincount(idx, minlength=len(bins)),
                        "residents": np.bincount(idx, weights=np.nan_to_num(pop), minlength=len(bins)).round(0)})
    return MapOutput(f"access_{mode}", title, f"Each dot is a group of homes coloured by {word} minutes to the "
                     f"nearest pharmacy; pharmacies are white circles. {res.method_note}", path, legend, tbl,
                     f"Residents by {word} time to the nearest pharmacy (the same information as the map)")


def opening_hours_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """Pharmacies coloured by opening category (Okabe-Ito)."""
    if (run.geography.pharmacies is None or run.geography.pharmacies.empty
            or "opening_category" not in run.geography.pharmacies):
        return None
    ph = _pharmacy_points(run)
    cat = ph["opening_category"].fillna("hours unknown").astype(str)
    cats = sorted(cat.unique())
    colour = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(cats)}
    m = base_map(run)
    legend: list[KeyItem] = []
    for c in cats:
        sub = ph[cat == c]
        hours = sub["weekly_hours"].map(lambda v: f"{v:.1f}" if pd.notna(v) else "unknown") \
            if "weekly_hours" in sub else pd.Series("unknown", index=sub.index)
        label = f"{c} ({len(sub)})"
        points_layer(sub, names=pharmacy_words(sub, ": " + c + ", " + hours + " hours a week"), colour=colour[c],
                      layer=label).add_to(m)
        legend.append((label, colour[c], "dot"))
    legend += base_key(run)
    title = "Map: pharmacies by opening hours"
    path = save_map(m, out_dir / "opening_hours.html", title, "Opening category", legend,
                    description="Pharmacies coloured by their opening category.")
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
        legend: list[KeyItem] = []
        for on, label, colour in ((True, f"provides {svc}", OKABE_ITO[0]),
                                  (False, "does not, or no data", "#d8dde0")):
            sub = ph[flag == on]
            if sub.empty:
                continue
            points_layer(sub, names=pharmacy_words(sub, f": {label}"), colour=colour,
                          layer=f"{label} ({len(sub)})").add_to(m)
            legend.append((f"{label} ({len(sub)})", colour, "dot"))
        legend += base_key(run)
        slug = f"service_{k + 1:02d}"
        title = f"Map: pharmacies providing {svc}"
        path = save_map(m, out_dir / f"{slug}.html", title, str(svc), legend)
        tbl = ph.loc[flag, [c for c in ("ods_code", "name", "locality", "type") if c in ph]].reset_index(drop=True)
        outs.append(MapOutput(slug, title, f"Pharmacies recorded as providing {svc}.", path, legend, tbl,
                              f"Pharmacies providing {svc} (the same information as the map)"))
    return outs


def rates_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """Choropleth of pharmacies per 10,000 residents by locality, classed at the rate rule's comparator."""
    prov = run.tables.get("provision")
    if prov is None or prov.empty or run.geography.localities is None or run.geography.localities.empty:
        return None
    loc = prov[prov["level"] == "locality"] if "level" in prov else prov
    g = run.geography.localities[["locality", "geometry"]].merge(
        loc[["locality", "pharmacies", "population", "rate_per_10k"]], on="locality", how="left")
    g = g.sort_values("locality", kind="stable").reset_index(drop=True)
    rates = pd.to_numeric(g["rate_per_10k"], errors="coerce").to_numpy(float)
    classes = rate_classes(rates=rates, comparator=rate_threshold(run.tables), reference=run.cfg.gaps.min_rate_per_10k)
    idx = classes.index(rates)
    known = np.isfinite(rates)
    g["_c"] = [classes.colours[min(int(i), len(classes.colours) - 1)] if ok else "#ffffff"
               for i, ok in zip(idx, known)]
    g["_name"] = [f"{n}: {r:.2f} pharmacies per 10,000 residents" if ok else f"{n}: rate not known"
                  for n, r, ok in zip(g["locality"], rates, known)]
    m = base_map(run, fill=False)
    gw = to_wgs84(g[["_name", "_c", "geometry"]])
    folium.GeoJson(_geojson(gw, ["_name", "_c"]), name="Pharmacies per 10,000 residents",
                   style_function=lambda f: {"fillColor": f["properties"]["_c"], "color": INK, "weight": 1,
                                             "fillOpacity": 0.85},
                   tooltip=folium.GeoJsonTooltip(fields=["_name"], labels=False)).add_to(m)
    legend: list[KeyItem] = [(lbl, c, "box") for lbl, c in zip(classes.labels, classes.colours)]
    if not known.all():
        legend.append(("rate not known", "#ffffff", "box"))
    legend += _sites_layer(run, m, run.geography.pharmacies[run.geography.pharmacies["in_area"].astype("boolean")
                                                            .fillna(False).astype(bool)]
                           if "in_area" in run.geography.pharmacies else run.geography.pharmacies,
                           f"pharmacy in {area_name(run)}")
    legend += base_key(run)
    title = "Map: pharmacies per 10,000 residents by locality"
    desc = "Localities shaded by pharmacies per 10,000 residents."
    if classes.comparator is not None:
        desc += f" The classes break at England's rate, {classes.comparator:.2f}, the rate rule's comparator."
    if classes.reference is not None:
        desc += f" The board's reference rate, {classes.reference:g}, is also a break."
    if classes.comparator is None:
        desc += " England's rate is not known for this run, so the classes are equal steps of the rates shown."
    path = save_map(m, out_dir / "rates.html", title, "Pharmacies per 10,000 residents", legend, description=desc)
    tbl = g[["locality", "pharmacies", "population", "rate_per_10k"]].reset_index(drop=True)
    return MapOutput("rates", title, desc, path, legend, tbl,
                     "Pharmacies per 10,000 residents by locality (the same information as the map)")


def imd_map(run: RunResults, out_dir: Path) -> MapOutput | None:
    """LSOAs shaded by IMD 2019 quintile (ColorBrewer Purples, most deprived darkest), with pharmacies on top."""
    lsoa = run.geography.lsoa
    if lsoa is None or lsoa.empty or "imd2019_quintile" not in lsoa:
        return None
    g = lsoa[["lsoa11_code", "locality", "pop_total", "imd2019_quintile", "geometry"]].sort_values(
        "lsoa11_code", kind="stable").copy()
    q = pd.to_numeric(g["imd2019_quintile"], errors="coerce")
    g["_c"] = [PURPLES[int(v) - 1] if pd.notna(v) and 1 <= int(v) <= 5 else "#ffffff" for v in q]
    g["_name"] = [f"Small area {c}: deprivation fifth {int(v)}" if pd.notna(v) else f"Small area {c}: not known"
                  for c, v in zip(g["lsoa11_code"], q)]
    m = base_map(run, fill=False)
    gw = to_wgs84(g[["_name", "_c", "geometry"]])
    folium.GeoJson(_geojson(gw, ["_name", "_c"]), name="Deprivation fifth (IMD 2019)",
                   style_function=lambda f: {"fillColor": f["properties"]["_c"], "color": "#ffffff", "weight": 0.5,
                                             "fillOpacity": 0.85},
                   tooltip=folium.GeoJsonTooltip(fields=["_name"], labels=False)).add_to(m)
    legend: list[KeyItem] = [(f"fifth {k}" + (" (most deprived)" if k == 1 else " (least deprived)" if k == 5 else ""),
                              PURPLES[k - 1], "box") for k in range(1, 6)]
    legend += _sites_layer(run, m, run.geography.pharmacies, "pharmacy")
    legend += base_key(run)
    title = "Map: deprivation (IMD 2019 quintile) and pharmacies"
    path = save_map(m, out_dir / "imd.html", title, "Deprivation (IMD 2019)", legend,
                    description="Small areas shaded by deprivation fifth, darkest most deprived, with pharmacies.")
    tbl = g[["lsoa11_code", "locality", "pop_total", "imd2019_quintile"]].rename(
        columns={"pop_total": "population"}).reset_index(drop=True)
    return MapOutput("imd", title, "Small areas (LSOAs) shaded by Index of Multiple Deprivation 2019 fifth "
                     "(1 = most deprived fifth of England), with the pharmacies.", path, legend, tbl,
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

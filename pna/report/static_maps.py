"""Static PNG maps for print and Word, drawn with matplotlib from the same layers as the folium maps.

The interactive maps (:mod:`pna.report.maps`) do not print, so the PDF and the Word document
carry these instead: one PNG per map, A4-friendly (:data:`WIDTH_MM` wide at :data:`DPI`), on a
clean offline base (no tiles: the area and its localities outlined and labelled), each with a
title, a legend, a scale bar drawn by hand in British National Grid metres, a north arrow and
its sources. Colours are colour-blind safe (Okabe-Ito for premises types, viridis and
ColorBrewer YlGnBu for ordered classes; never red against green).

Output is byte-deterministic: the same run gives identical PNG bytes (fixed size and dpi, the
default style with DejaVu Sans, no ``Software`` tag or dates in the PNG). Text drawn from data is
plain text: mathtext is switched off (``text.parse_math``), so a ``$`` in a pharmacy or
locality name prints as a dollar sign and never fails to parse.

Use :func:`write_static_maps`; each :class:`StaticMap` it returns names its PNG (relative to the
folder given) and carries the alt text, caption and source line the document prints beside it.
"""

from __future__ import annotations

import io
import math
import re
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib

if "matplotlib.pyplot" not in sys.modules:  # headless; never switch a backend someone already chose
    matplotlib.use("Agg")

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402
import shapely  # noqa: E402
import shapely.ops  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib import style as mpl_style  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import PathPatch, Rectangle  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from rasterio.features import geometry_mask  # noqa: E402
from shapely.geometry import MultiPolygon, Polygon  # noqa: E402
from shapely.geometry.polygon import orient  # noqa: E402

from ..access.open_now import open_at  # noqa: E402
from ..access.reach import scenario_slug  # noqa: E402
from ..config import DataSource  # noqa: E402
from ..modes import MODE_WORDS, MODES, Method, Mode  # noqa: E402
from ..provenance import cite  # noqa: E402
from .map_style import (  # noqa: E402
    GREY,
    INK,
    PREMISES_STYLE,
    minute_bins,
    minute_thresholds,
    rate_classes,
    rate_threshold,
    sequential,
)
from .maps import premises_type  # noqa: E402
from .run import RunResults  # noqa: E402

__all__ = ["StaticMap", "write_static_maps", "DPI", "WIDTH_MM", "pixel_width", "plain"]

#: Print width of every map (fits A4 portrait inside 20 mm margins) and its resolution.
WIDTH_MM = 170.0
DPI = 200
MM = 1 / 25.4  # inches

OSM_CREDIT = "© OpenStreetMap contributors"
CROWN = ("Contains National Statistics data © Crown copyright and database right; "
         "contains OS data © Crown copyright and database right")

AREA_FILL = "#f4f4f4"
NICE_LENGTHS_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 25000, 50000, 100000)

_RC: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "text.usetex": False,
    "text.parse_math": False,
    "savefig.dpi": DPI,
    "figure.dpi": DPI,
}
_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]
_LINE_HALO = [patheffects.withStroke(linewidth=2.4, foreground="white")]


@dataclass(frozen=True)
class StaticMap:
    """One static map and what a document prints with it.

    Attributes
    ----------
    slug
        Stable id (``premises``, ``access_walk``, ``open_weekday_2000``, ``rates`` ...).
    title
        The title drawn on the map (plain text).
    path
        File name of the PNG, relative to the ``out_dir`` given to :func:`write_static_maps`.
    alt
        Text alternative saying what the map shows, with its key numbers.
    caption
        What to print under the map: what the symbols mean and any method note.
    source
        Citation of the data shown (``© OpenStreetMap contributors`` only where OSM data is shown).
    width_mm
        Width to print it at (the PNG is ``pixel_width(width_mm)`` pixels wide at :data:`DPI`).
    """

    slug: str
    title: str
    path: str
    alt: str
    caption: str
    source: str
    width_mm: float = WIDTH_MM


def pixel_width(width_mm: float = WIDTH_MM, dpi: int = DPI) -> int:
    """Pixel width of a map printed ``width_mm`` wide at ``dpi``."""
    return int(round(width_mm * MM * dpi))


_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plain(value: object) -> str:
    """Text from data as one plain line (no control characters; None/NaN as empty)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return _SPACE.sub(" ", _CONTROL.sub(" ", str(value))).strip()


# --------------------------------------------------------------------------- words
def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _pct(share: float) -> str:
    """A share as a percentage that never rounds a partial share to 0% or 100%."""
    if not np.isfinite(share):
        return "unknown"
    p = share * 100
    if 0 < p < 0.5:
        return "under 1%"
    if 99.5 <= p < 100:
        return f"{math.floor(p * 10) / 10:g}%"
    return f"{p:.0f}%"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _km(metres_or_km: float) -> str:
    return f"{metres_or_km:g} km"


# --------------------------------------------------------------------------- sources
def _sources(run: RunResults, *, pharmacies: bool, osm: bool, extra: Iterable[DataSource | str | None] = ()) -> str:
    """``Sources: ...`` for one map: boundaries (ONS), localities, pharmacies, any extra; OSM only if shown."""
    inp = run.cfg.inputs
    parts: list[DataSource | str | None] = [inp.la_boundaries, inp.lsoa_boundaries, run.cfg.localities.file]
    if pharmacies:
        parts += [inp.pharmaceutical_list, inp.ods_history, inp.codepoint, inp.postcode_directory]
    parts += list(extra)
    text = f"Sources: {cite(*parts)}. {CROWN}."
    return f"{text} {OSM_CREDIT}." if osm else text


def _osm_located(ph: pd.DataFrame) -> bool:
    """True where any pharmacy was placed from OpenStreetMap."""
    return "geocode_source" in ph and bool(ph["geocode_source"].astype(str).str.startswith("osm").any())


def _osm_in_result(run: RunResults, mode: Mode) -> bool:
    """True where the travel times of ``mode`` come from the OSM street network."""
    res = run.access.results.get(mode)
    if res is None or run.cfg.network.osm_extract is None:
        return False
    return res.method == Method.NETWORK or (mode == Mode.TRANSIT and res.method == Method.TIMETABLE)


def _access_sources(run: RunResults, mode: Mode) -> str:
    res = run.access.results[mode]
    travel: list[DataSource | str | None] = [run.cfg.inputs.population, run.cfg.inputs.output_areas,
                                             run.cfg.inputs.output_area_population]
    if _osm_in_result(run, mode) or res.method == Method.NETWORK:
        travel.append(run.cfg.network.osm_extract)
    if res.method == Method.TIMETABLE:
        travel.append(run.cfg.network.gtfs)
    if res.is_estimate and res.method == Method.STRAIGHT_LINE:
        travel.append("straight-line estimate (no street network supplied)")
    osm = _osm_in_result(run, mode) or _osm_located(run.access.supply.sites)
    return _sources(run, pharmacies=True, osm=osm, extra=travel)


# --------------------------------------------------------------------------- geometry
def _polygons(geom: object) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [p for p in geom.geoms if not p.is_empty]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def _path(geoms: Iterable[object], simplify_m: float = 5.0) -> MplPath | None:
    """One matplotlib path of every polygon ring (exteriors anticlockwise, holes clockwise)."""
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for geom in geoms:
        if geom is None:
            continue
        g = shapely.simplify(geom, simplify_m, preserve_topology=True) if simplify_m > 0 else geom
        for poly in _polygons(g):
            poly = orient(poly, 1.0)
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords, dtype=float)[:, :2]
                if len(xy) < 4:
                    continue
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                verts.append(xy)
                codes.append(c)
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes))


def _located(gdf: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Rows with a point location, sorted by ``ods_code`` where there is one."""
    if gdf is None or gdf.empty:
        return gpd.GeoDataFrame(geometry=[], crs="EPSG:27700")
    g = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    return g.sort_values("ods_code", kind="stable") if "ods_code" in g else g


def _label_point(geom: object) -> tuple[float, float] | None:
    polys = _polygons(geom)
    if not polys:
        return None
    biggest = max(polys, key=lambda p: p.area)
    pt = shapely.ops.polylabel(biggest, tolerance=10.0)
    return float(pt.x), float(pt.y)


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class _Frame:
    fig: Figure
    ax: Axes
    legend_top: float   # figure fraction of the top of the legend block
    source_top: float   # figure fraction of the top of the source block
    height_px: int


MARGIN_MM = 4.0
TITLE_LINE_MM = 5.4
SOURCE_LINE_MM = 3.0
LEGEND_ROW_MM = 4.9
LEGEND_LINE_MM = 3.3
MAP_MIN_H_MM, MAP_MAX_H_MM = 95.0, 150.0
TITLE_CHARS, SOURCE_CHARS = 72, 135


def _extent(run: RunResults, map_w_mm: float) -> tuple[tuple[float, float, float, float], float]:
    """Map bounds (BNG metres) and the map box height (mm).

    The bounds take in the area, its outermost cross-border band and every pharmacy, padded and
    widened to the map box so that x and y share one scale.
    """
    geo = run.geography
    area = geo.area if geo.area is not None and len(geo.area) else geo.localities
    band_m = max(run.cfg.boundary_bands_km, default=0.0) * 1000.0
    boxes = [np.asarray(area.buffer(band_m).total_bounds if band_m else area.total_bounds, dtype=float)]
    ph = _located(geo.pharmacies)
    if len(ph):
        boxes.append(np.asarray(ph.total_bounds, dtype=float))
    b = np.array([min(x[0] for x in boxes), min(x[1] for x in boxes), max(x[2] for x in boxes),
                  max(x[3] for x in boxes)])
    dx, dy = max(b[2] - b[0], 1000.0), max(b[3] - b[1], 1000.0)
    pad = 0.04 * max(dx, dy)
    dx, dy = dx + 2 * pad, dy + 2 * pad
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    h_mm = min(max(map_w_mm * dy / dx, MAP_MIN_H_MM), MAP_MAX_H_MM)
    # equal scale in x and y: widen whichever side is short of the box's aspect
    if dy / dx < h_mm / map_w_mm:
        dy = dx * h_mm / map_w_mm
    else:
        dx = dy * map_w_mm / h_mm
    return (cx - dx / 2, cy - dy / 2, cx + dx / 2, cy + dy / 2), h_mm


def _legend_layout(labels: Sequence[str]) -> tuple[int, int, float]:
    """(columns, wrap width, block height in mm) for a legend of ``labels`` under the map."""
    longest = max((len(s) for s in labels), default=0)
    ncol, width = (3, 30) if longest <= 30 else (2, 46)
    lines = [max(1, len(textwrap.wrap(s, width))) for s in labels]
    # matplotlib fills a legend column by column: row r holds items r, r + nrows, r + 2 nrows ...
    nrows = math.ceil(len(labels) / ncol)
    extra = sum(max(lines[r::nrows]) - 1 for r in range(nrows))
    return ncol, width, 7.5 + nrows * LEGEND_ROW_MM + extra * LEGEND_LINE_MM


def _frame(run: RunResults, title: str, legend: Sequence[tuple[str, object]], source: str) -> _Frame:
    """A figure sized for print with its map axes fitted to the area, and the title drawn."""
    width_in = pixel_width() / DPI
    map_w_mm = WIDTH_MM - 2 * MARGIN_MM
    (x0, y0, x1, y1), map_h_mm = _extent(run, map_w_mm)
    title_lines = textwrap.wrap(title, TITLE_CHARS) or [""]
    source_lines = textwrap.wrap(source, SOURCE_CHARS)
    _, _, legend_mm = _legend_layout([plain(lbl) for lbl, _ in legend])
    title_mm = MARGIN_MM + len(title_lines) * TITLE_LINE_MM + 1.5
    source_mm = len(source_lines) * SOURCE_LINE_MM + MARGIN_MM
    total_mm = title_mm + map_h_mm + 2.5 + legend_mm + source_mm
    height_px = int(round(total_mm * MM * DPI))
    total_mm = height_px / DPI / MM
    fig = Figure(figsize=(width_in, height_px / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((MARGIN_MM / WIDTH_MM, 1 - (title_mm + map_h_mm) / total_mm, map_w_mm / WIDTH_MM,
                       map_h_mm / total_mm))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for spine in ax.spines.values():
        spine.set_edgecolor(GREY)
        spine.set_linewidth(0.6)
    fig.text(MARGIN_MM / WIDTH_MM, 1 - MARGIN_MM / total_mm, "\n".join(title_lines), ha="left", va="top",
             fontsize=11, fontweight="bold", color=INK, linespacing=1.15)
    legend_top = 1 - (title_mm + map_h_mm + 2.5) / total_mm
    source_top = source_mm / total_mm
    if source_lines:
        fig.text(MARGIN_MM / WIDTH_MM, source_top, "\n".join(source_lines), ha="left", va="top", fontsize=6,
                 color=GREY, linespacing=1.25)
    return _Frame(fig, ax, legend_top, source_top, height_px)


def _legend(frame: _Frame, title: str, items: Sequence[tuple[str, object]]) -> None:
    """The key, under the map: ``items`` are (label, proxy artist)."""
    labels = [plain(lbl) for lbl, _ in items]
    ncol, width, _ = _legend_layout(labels)
    wrapped = ["\n".join(textwrap.wrap(s, width)) or s for s in labels]
    frame.fig.legend(handles=[h for _, h in items], labels=wrapped, loc="upper left", ncol=ncol,
                     bbox_to_anchor=(MARGIN_MM / WIDTH_MM, frame.legend_top), bbox_transform=frame.fig.transFigure,
                     frameon=False, fontsize=7.5, title=plain(title), title_fontsize=8, alignment="left",
                     borderaxespad=0.0, borderpad=0.2, handlelength=1.6, columnspacing=1.6, labelspacing=0.45)


def _patch(colour: str, edge: str = INK) -> Rectangle:
    return Rectangle((0, 0), 1, 1, facecolor=colour, edgecolor=edge, linewidth=0.5)


def _marker(marker: str, face: str, edge: str = INK, size: float = 6.0) -> Line2D:
    return Line2D([], [], linestyle="none", marker=marker, markerfacecolor=face, markeredgecolor=edge,
                  markeredgewidth=0.6, markersize=size)


def _line(colour: str, style: Literal["-", "--", ":"], width: float) -> Line2D:
    return Line2D([], [], color=colour, linestyle=style, linewidth=width)


# --------------------------------------------------------------------------- base layers
def _area_fill(ax: Axes, run: RunResults, colour: str = AREA_FILL) -> None:
    path = _path(run.geography.area.geometry if run.geography.area is not None else [])
    if path is not None:
        ax.add_patch(PathPatch(path, facecolor=colour, edgecolor="none", zorder=1))


def _outlines(ax: Axes, run: RunResults, *, over_colour: bool = False) -> None:
    """Locality boundaries (dashed) and the area boundary (solid); white halos over coloured layers."""
    loc = run.geography.localities
    if loc is not None and len(loc):
        for geom in loc.sort_values("locality", kind="stable").geometry:
            path = _path([geom])
            if path is not None:
                ax.add_patch(PathPatch(path, facecolor="none", edgecolor=GREY, linewidth=0.8, linestyle=(0, (4, 2)),
                                       zorder=6, path_effects=_LINE_HALO if over_colour else None))
    if run.geography.area is not None and len(run.geography.area):
        path = _path(run.geography.area.geometry)
        if path is not None:
            ax.add_patch(PathPatch(path, facecolor="none", edgecolor=INK, linewidth=1.5, zorder=7,
                                   path_effects=_LINE_HALO if over_colour else None))


def _locality_labels(ax: Axes, run: RunResults, extra: dict[str, str] | None = None) -> None:
    loc = run.geography.localities
    if loc is None or not len(loc):
        return
    for _, r in loc.sort_values("locality", kind="stable").iterrows():
        xy = _label_point(r.geometry)
        if xy is None:
            continue
        name = plain(r["locality"])
        text = name + (f"\n{extra[name]}" if extra and name in extra else "")
        ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=7.5, fontweight="bold", color=INK,
                zorder=12, path_effects=_HALO, parse_math=False, linespacing=1.1, clip_on=True)


def _band_items(run: RunResults) -> list[tuple[str, object]]:
    bands = sorted(run.cfg.boundary_bands_km)
    if not bands or run.geography.area is None or not len(run.geography.area):
        return []
    return [(_join([f"{b:g}" for b in bands]) + " km from the boundary", _line(GREY, ":", 0.9))]


def _bands(ax: Axes, run: RunResults) -> None:
    """The cross-border bands round the area (dotted)."""
    bands = sorted(run.cfg.boundary_bands_km)
    if not bands or run.geography.area is None or not len(run.geography.area):
        return
    outline = shapely.union_all(run.geography.area.geometry.to_numpy())
    for km in bands:
        ring = shapely.buffer(outline, km * 1000.0, quad_segs=8)
        path = _path([ring], simplify_m=20.0)
        if path is not None:
            ax.add_patch(PathPatch(path, facecolor="none", edgecolor=GREY, linewidth=0.6, linestyle=(0, (1, 1.5)),
                                   zorder=5))


def _scale_bar(ax: Axes) -> None:
    """A scale bar in metres/km, drawn in the map's own units (BNG metres), bottom left."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    length = max([n for n in NICE_LENGTHS_M if n <= width / 4.0] or [NICE_LENGTHS_M[0]])
    h = (y1 - y0) * 0.011
    bx, by = x0 + width * 0.03, y0 + (y1 - y0) * 0.035
    unit_km = length >= 1000
    ax.add_patch(Rectangle((bx - width * 0.012, by - h * 0.9), length + width * 0.06, h * 4.6, facecolor="white",
                           edgecolor="none", alpha=0.85, zorder=20))
    for i in range(4):
        ax.add_patch(Rectangle((bx + i * length / 4, by), length / 4, h, facecolor=INK if i % 2 == 0 else "white",
                               edgecolor=INK, linewidth=0.6, zorder=21))
    for frac in (0.0, 0.5, 1.0):
        v = length * frac
        label = f"{v / 1000:g}" if unit_km else f"{v:g}"
        if frac == 1.0:
            label += " km" if unit_km else " m"
        ax.text(bx + v, by + h * 1.5, label, ha="center", va="bottom", fontsize=6.5, color=INK, zorder=22,
                parse_math=False)


def _north_arrow(ax: Axes) -> None:
    """A north arrow (grid north, which is within a degree or so of true north in England), top right."""
    ax.annotate("", xy=(0.955, 0.935), xytext=(0.955, 0.855), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_width=0.35,head_length=0.7", "color": INK, "linewidth": 1.4},
                zorder=22)
    ax.text(0.955, 0.94, "N", transform=ax.transAxes, ha="center", va="bottom", fontsize=9, fontweight="bold",
            color=INK, zorder=22, path_effects=_HALO, parse_math=False)


def _site_groups(run: RunResults, sites: gpd.GeoDataFrame, open_mask: np.ndarray | None, when: str
                 ) -> list[tuple[str, object, np.ndarray, str, bool]]:
    """(label, legend proxy, row mask, marker, open) per group of face-to-face pharmacies drawn on top.

    Circles in the area, triangles outside; white where open (or always), small grey outlines where closed.
    """
    s = _located(sites)
    if not len(s):
        return []
    inside = s["in_area"].astype("boolean").fillna(False).to_numpy(bool) if "in_area" in s else \
        np.ones(len(s), dtype=bool)
    is_open = np.ones(len(s), dtype=bool) if open_mask is None else np.asarray(open_mask, dtype=bool)
    name = plain(run.cfg.area.name)
    out: list[tuple[str, object, np.ndarray, str, bool]] = []
    for flag, marker, words in ((True, "o", f"pharmacy in {name}"), (False, "^", "pharmacy in a neighbouring area")):
        on = inside == flag
        if not on.any():
            continue
        if open_mask is None:
            out.append((words, _marker(marker, "white"), on, marker, True))
            continue
        out.append((f"{words}, open {when}", _marker(marker, "white"), on & is_open, marker, True))
        out.append((f"{words}, closed {when} or hours unknown", _marker(marker, "none", GREY, 4.5), on & ~is_open,
                    marker, False))
    return out


def _draw_sites(ax: Axes, sites: gpd.GeoDataFrame, groups: list[tuple[str, object, np.ndarray, str, bool]]) -> None:
    s = _located(sites)
    x, y = s.geometry.x.to_numpy(float), s.geometry.y.to_numpy(float)
    for _, _, on, marker, is_open in groups:
        if not on.any():
            continue
        if is_open:
            ax.scatter(x[on], y[on], s=24, marker=marker, facecolors="white", edgecolors=INK, linewidths=0.9,
                       zorder=11)
        else:
            ax.scatter(x[on], y[on], s=12, marker=marker, facecolors="none", edgecolors=GREY, linewidths=0.6,
                       zorder=10)


def _finish(frame: _Frame, out_dir: Path, name: str) -> None:
    """Make every text plain (no mathtext), draw and write the PNG with no metadata that varies."""
    for t in frame.fig.findobj(match=Text):
        t.set_parse_math(False)
        t.set_usetex(False)
    buf = io.BytesIO()
    frame.fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    (out_dir / name).write_bytes(buf.getvalue())


def _base(frame: _Frame, run: RunResults, *, over_colour: bool, labels: dict[str, str] | None = None) -> None:
    _outlines(frame.ax, run, over_colour=over_colour)
    _locality_labels(frame.ax, run, labels)
    _scale_bar(frame.ax)
    _north_arrow(frame.ax)


def _boundary_items(run: RunResults) -> list[tuple[str, object]]:
    return [(f"{plain(run.cfg.area.name)} boundary", _line(INK, "-", 1.5)), ("locality boundary",
                                                                            _line(GREY, "--", 0.9))]


# --------------------------------------------------------------------------- the maps
def _known(ph: pd.DataFrame, column: str) -> bool:
    """True where a yes/no column is recorded for any pharmacy (the list identifies that type)."""
    return column in ph and bool(ph[column].notna().any())


def premises_static(run: RunResults, out_dir: Path) -> StaticMap | None:
    """Statement 7: every pharmacy in the area and in the cross-border bands, by type, with localities."""
    ph = _located(run.geography.pharmacies)
    if not len(ph):
        return None
    name = plain(run.cfg.area.name)
    types = premises_type(ph)
    unlocated = len(run.geography.pharmacies) - len(ph)
    inside = ~types.eq("cross-border")
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    band = max(run.cfg.boundary_bands_km, default=0.0)
    n_loc = len(run.geography.localities) if run.geography.localities is not None else 0
    title = f"Pharmacy premises in and around {name} (Statement 7)"
    source = _sources(run, pharmacies=True, osm=_osm_located(ph))
    known = {"100-hour": _known(ph, "is_100_hour"), "distance-selling": _known(ph, "is_distance_selling")}
    present = [t for t in PREMISES_STYLE if (types == t).any()]
    kinds = {t: PREMISES_STYLE[t] for t in present}
    if "standard" in kinds:
        kinds["standard"] = (f"pharmacy in {name}",) + kinds["standard"][1:]
    items: list[tuple[str, object]] = [(f"{words} ({int((types == t).sum())})", _marker(m, c, size=6.5))
                                       for t, (words, m, c) in kinds.items()]
    items += _boundary_items(run) + _band_items(run)
    frame = _frame(run, title, items, source)
    ax = frame.ax
    _area_fill(ax, run)
    _bands(ax, run)
    x, y = ph.geometry.x.to_numpy(float), ph.geometry.y.to_numpy(float)
    for t, (_, marker, colour) in kinds.items():
        on = (types == t).to_numpy()
        ax.scatter(x[on], y[on], s=30, marker=marker, c=colour, edgecolors=INK, linewidths=0.6, zorder=10)
    _base(frame, run, over_colour=False)
    _legend(frame, "Key", items)
    path = "premises.png"
    _finish(frame, out_dir, path)
    special = [f"{int((types == t).sum())} {t}" for t in ("100-hour", "distance-selling") if known[t]]
    alt = (f"Map of {name}'s {_plural(n_in, 'pharmacy', 'pharmacies')} and {n_out} within {_km(band)} of its "
           f"boundary, by locality")
    alt += (f" ({_plural(n_loc, 'locality', 'localities')}: "
            f"{_join(sorted(plain(v) for v in run.geography.localities['locality']))})" if n_loc else "")
    alt += (f"; {_join(special)} pharmacies are marked" if special else "") + "."
    if unlocated:
        alt += f" {_plural(unlocated, 'pharmacy', 'pharmacies')} could not be located and are not shown."
    caption = (f"Pharmacies in {name} ({n_in}) and in neighbouring areas within {_km(band)} of its boundary ({n_out}), "
               f"with locality boundaries (dashed) and the cross-border bands (dotted).")
    unknown = [t for t in ("100-hour", "distance-selling") if not known[t]]
    if unknown:
        caption += (f" {_join(unknown).capitalize()} pharmacies are not marked: the list does not identify them.")
    return StaticMap("premises", title, path, alt, caption, source)


def _classes(minutes: np.ndarray, thresholds: Sequence[int], gap: float | None = None
             ) -> tuple[np.ndarray, list[str], list[str]]:
    """Class index per value (unreachable in the last class), class labels and colours (viridis, light = near)."""
    bins = minute_bins(list(thresholds), gap)
    m = np.asarray(minutes, dtype=float)
    idx = np.searchsorted([b[1] for b in bins[:-1]], np.where(np.isnan(m), np.inf, m), side="left")
    idx = np.minimum(idx, len(bins) - 1)
    return idx, [b[2] for b in bins], sequential(len(bins))


def _shares(minutes: np.ndarray, population: np.ndarray, thresholds: Sequence[int]) -> list[float]:
    total = float(np.nansum(population))
    return [float(np.nansum(population[minutes <= t]) / total) if total > 0 else float("nan") for t in thresholds]


def _minutes_alt(what: str, name: str, minutes: np.ndarray, population: np.ndarray,
                 thresholds: Sequence[int]) -> str:
    shares = _shares(minutes, population, thresholds)
    within = [f"{_pct(s)} within {t:g}" for s, t in zip(shares, thresholds)]
    finite = minutes[np.isfinite(minutes)]
    tail = f"; the longest is {finite.max():.1f} minutes" if finite.size else ""
    never = int((~np.isfinite(minutes)).sum())
    if never:
        tail += f"; {_plural(never, 'demand point')} cannot reach one"
    return (f"Map of {what} across {name}, in bands of {_join([f'{t:g}' for t in thresholds])} minutes: "
            f"{_join(within)} minutes of residents{tail}.")


def _raster(path: Path | None, run: RunResults) -> tuple[np.ndarray, tuple[float, float, float, float]] | None:
    """Minutes per cell (NaN outside the area, inf inside where unreachable) and the extent, or None."""
    if path is None or not Path(path).is_file():
        return None
    with rasterio.open(path) as src:
        data = src.read(1).astype(float)
        nodata = src.nodata
        transform = src.transform
        b = src.bounds
    missing = data == nodata if nodata is not None else ~np.isfinite(data)
    area = run.geography.area
    inside = geometry_mask(list(area.geometry), out_shape=data.shape, transform=transform, invert=True) \
        if area is not None and len(area) else ~missing
    data = np.where(missing, np.where(inside, np.inf, np.nan), data)
    return data, (b.left, b.right, b.bottom, b.top)


def _draw_minutes(ax: Axes, idx: np.ndarray, colours: list[str], *,
                  raster_extent: tuple[float, float, float, float] | None = None,
                  xy: np.ndarray | None = None) -> None:
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(len(colours) + 1) - 0.5, len(colours))
    if raster_extent is not None:
        ax.imshow(idx, extent=raster_extent, origin="upper", cmap=cmap, norm=norm, interpolation="nearest",
                  resample=False, zorder=3)
    elif xy is not None:
        ax.scatter(xy[:, 0], xy[:, 1], c=idx, cmap=cmap, norm=norm, s=7, marker="o", linewidths=0, zorder=3)


def _minutes_map(run: RunResults, out_dir: Path, *, slug: str, title: str, what: str, legend_title: str,
                 demand: gpd.GeoDataFrame, minutes: np.ndarray, thresholds: Sequence[int], source: str,
                 caption: str, raster: Path | None = None, open_mask: np.ndarray | None = None,
                 when: str = "", gap: float | None = None) -> StaticMap:
    name = plain(run.cfg.area.name)
    grid = _raster(raster, run)
    values = grid[0] if grid is not None else minutes
    idx, labels, colours = _classes(values, thresholds, gap)
    class_items: list[tuple[str, object]] = [(lbl, _patch(c)) for lbl, c in zip(labels, colours)]
    groups = _site_groups(run, run.access.supply.sites, open_mask, when)
    items = class_items + [(g[0], g[1]) for g in groups] + _boundary_items(run)
    frame = _frame(run, title, items, source)
    ax = frame.ax
    _area_fill(ax, run)
    if grid is not None:
        masked = np.ma.masked_array(idx, mask=np.isnan(grid[0]))
        _draw_minutes(ax, masked, colours, raster_extent=grid[1])
    else:
        xy = np.column_stack([demand.geometry.x.to_numpy(float), demand.geometry.y.to_numpy(float)])
        _draw_minutes(ax, idx, colours, xy=xy)
    _draw_sites(ax, run.access.supply.sites, groups)
    _base(frame, run, over_colour=True)
    _legend(frame, legend_title, items)
    path = f"{slug}.png"
    _finish(frame, out_dir, path)
    pop = demand["population"].to_numpy(float) if "population" in demand else np.ones(len(demand))
    alt = _minutes_alt(what, name, np.asarray(minutes, dtype=float), pop, thresholds)
    return StaticMap(slug, title, path, alt, caption, source)


def access_static(run: RunResults, mode: Mode, out_dir: Path) -> StaticMap | None:
    """Travel time to the nearest pharmacy by ``mode``: the raster where written, else the demand points."""
    res = run.access.results.get(mode)
    if res is None or res.demand is None or res.demand.empty:
        return None
    d = res.demand.sort_values("point_id", kind="stable") if "point_id" in res.demand else res.demand
    d = d[d.geometry.notna()]
    thresholds = minute_thresholds(run.cfg, mode)
    word = MODE_WORDS.get(mode, str(mode))
    tif = res.raster_path or run.cfg.out / "rasters" / f"{mode}_minutes.tif"
    raster = Path(tif) if Path(tif).is_file() else None
    est = " (estimate)" if res.is_estimate else ""
    title = f"{word.capitalize()} time to the nearest pharmacy, {plain(run.cfg.area.name)}{est}"
    shown = "Each 100 m square" if raster is not None else "Each dot (a group of homes)"
    caption = (f"{shown} is coloured by the {word} time from it to the nearest face-to-face pharmacy; "
               f"pharmacies are shown as white markers. {plain(res.method_note)}".rstrip())
    if not caption.endswith("."):
        caption += "."
    return _minutes_map(run, out_dir, slug=f"access_{mode}", title=title,
                        what=f"{word} time to the nearest pharmacy{est}", legend_title=f"Minutes {word}",
                        demand=d, minutes=d["minutes"].to_numpy(float), thresholds=thresholds,
                        source=_access_sources(run, mode), caption=caption, raster=raster,
                        gap=float(run.cfg.gaps.minutes(mode)))


def open_static(run: RunResults, out_dir: Path) -> list[StaticMap]:
    """Walking time to a pharmacy *open* at each of ``cfg.gaps.times`` (``open_<slug>_walk`` of the points)."""
    pts = run.access.points
    res = run.access.results.get(Mode.WALK)
    if pts is None or res is None or res.demand is None or res.demand.empty:
        return []
    d = res.demand[res.demand.geometry.notna()]
    geom = d.assign(_id=d["point_id"].astype(str)).drop_duplicates("_id").set_index("_id")
    thresholds = minute_thresholds(run.cfg, Mode.WALK)
    est = " (estimate)" if res.is_estimate else ""
    name = plain(run.cfg.area.name)
    out = []
    for rule in run.cfg.gaps.times:
        slug = scenario_slug(rule.label)
        col = f"open_{slug}_walk"
        if col not in pts:
            continue
        p = pts.assign(_id=pts["point_id"].astype(str)).sort_values("_id", kind="stable")
        p = p[p["_id"].isin(geom.index)]
        demand = gpd.GeoDataFrame(p[["_id", "population"]].reset_index(drop=True),
                                  geometry=geom.loc[p["_id"]].geometry.to_numpy(), crs=res.demand.crs)
        minutes = p[col].to_numpy(float)
        sites = _located(run.access.supply.sites)
        mask = open_at(sites, rule.weekday, minute=rule.minute) if len(sites) else np.zeros(0, dtype=bool)
        label = plain(rule.label)
        title = f"Walking time to a pharmacy open at {label}, {name}{est}"
        caption = (f"Each dot (a group of homes) is coloured by the walking time, leaving at {label}, to the nearest "
                   f"pharmacy open on arrival (waiting for one that opens soon counts the wait). Pharmacies open at "
                   f"{label} are white markers; the rest are small grey outlines. "
                   f"{int(mask.sum())} of {len(sites)} face-to-face pharmacies are open then."
                   + (f" {plain(res.method_note).rstrip('.')}." if res.is_estimate else ""))
        out.append(_minutes_map(run, out_dir, slug=f"open_{slug}", title=title,
                                what=f"walking time to a pharmacy open at {label}{est}",
                                legend_title="Minutes walking to an open pharmacy", demand=demand, minutes=minutes,
                                thresholds=thresholds, source=_access_sources(run, Mode.WALK), caption=caption,
                                open_mask=mask, when=f"at {label}", gap=float(run.cfg.gaps.walk_minutes)))
    return out


def rates_static(run: RunResults, out_dir: Path) -> StaticMap | None:
    """Pharmacies per 10,000 residents by locality, classed at England's rate."""
    prov = run.tables.get("provision")
    loc = run.geography.localities
    if prov is None or prov.empty or loc is None or loc.empty or "rate_per_10k" not in prov:
        return None
    rows = prov[prov["level"] == "locality"] if "level" in prov else prov
    england = rate_threshold(run.tables)   # the rate rule's comparator (England's rate)
    area_row = prov[prov["level"] == "area"]["rate_per_10k"] if "level" in prov else pd.Series(dtype=float)
    g = loc[["locality", "geometry"]].merge(rows[["locality", "rate_per_10k"]], on="locality", how="left")
    g = g.sort_values("locality", kind="stable").reset_index(drop=True)
    rates = pd.to_numeric(g["rate_per_10k"], errors="coerce").to_numpy(float)
    classes = rate_classes(rates=rates, comparator=england, reference=run.cfg.gaps.min_rate_per_10k)
    idx, labels, colours = classes.index(rates), list(classes.labels), list(classes.colours)
    name = plain(run.cfg.area.name)
    title = f"Pharmacies per 10,000 residents by locality, {name}"
    source = _sources(run, pharmacies=True, osm=False, extra=[run.cfg.inputs.population,
                                                             run.cfg.inputs.national_population])
    items: list[tuple[str, object]] = [(lbl, _patch(c)) for lbl, c in zip(labels, colours)]
    if not np.isfinite(rates).all():
        items.append(("no data", _patch("#ffffff")))
    legend_title = "Pharmacies per 10,000 residents" + (f" (England {england:.1f})" if england is not None else "")
    items += _boundary_items(run)
    frame = _frame(run, title, items, source)
    ax = frame.ax
    _area_fill(ax, run)
    for i, (geom, rate) in enumerate(zip(g.geometry, rates)):
        shape = _path([geom])
        if shape is None:
            continue
        colour = colours[min(int(idx[i]), len(colours) - 1)] if np.isfinite(rate) else "#ffffff"
        ax.add_patch(PathPatch(shape, facecolor=colour, edgecolor="none", zorder=3))
    values = {plain(n): f"{r:.1f}" for n, r in zip(g["locality"], rates) if np.isfinite(r)}
    _base(frame, run, over_colour=True, labels=values)
    _legend(frame, legend_title, items)
    path = "rates.png"
    _finish(frame, out_dir, path)
    ok = [(r, plain(n)) for n, r in zip(g["locality"], rates) if np.isfinite(r)]
    alt = f"Map of {name}'s {_plural(len(g), 'locality', 'localities')} shaded by pharmacies per 10,000 residents"
    if ok:
        lo, hi = min(ok), max(ok)
        alt += f", from {lo[0]:.1f} in {lo[1]} to {hi[0]:.1f} in {hi[1]}"
    if england is not None:
        at_or_above = sum(r >= england for r, _ in ok)
        alt += f"; England's rate is {england:.1f} and {at_or_above} of {len(ok)} localities are at or above it"
    alt += "."
    caption = "Localities shaded by pharmacies per 10,000 residents (each locality is labelled with its rate)"
    if len(area_row) and pd.notna(area_row.iloc[0]):
        caption += f"; {name} as a whole has {float(area_row.iloc[0]):.2f}"
    if england is not None:
        caption += (f". The classes break at England's rate ({england:.2f}), the comparator of the statements' rate "
                    "rule, and at 80%, 120% and 150% of it")
        if classes.reference is not None:
            caption += f", and at the board's reference rate ({classes.reference:g})"
        caption += ". The rate is context for the assessment, not a measure of need"
    caption += "."
    return StaticMap("rates", title, path, alt, caption, source)


def write_static_maps(run: RunResults, out_dir: Path | str) -> list[StaticMap]:
    """Write every static map the run supports to ``out_dir`` as PNG; return them in report order.

    The maps are ``premises`` (Statement 7), ``access_<mode>`` for each mode with results,
    ``open_<slug>`` for each of ``cfg.gaps.times`` with open-pharmacy minutes, and ``rates``.
    Same run, same bytes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with mpl_style.context(["default", _RC]):  # the same look whatever the user's matplotlibrc says
        maps: list[StaticMap | None] = [premises_static(run, out)]
        maps += [access_static(run, mode, out) for mode in MODES]
        maps += open_static(run, out)
        maps += [rates_static(run, out)]
    return [m for m in maps if m is not None]

"""The one-page assessment (HTML with an embedded map) and its JSON, written deterministically."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import pandas as pd
from pyproj import Transformer

from ..assess.assessor import AssessmentResult
from ..assess.sites import NEAR_M, NOTIFY_M
from ..io import stable_ids, write_csv, write_json, write_text
from . import vendor
from .map_page import KeyItem, add_osm_tiles, esc, map_document
from .templating import environment, pct

# Okabe-Ito: colour-blind safe, never red against green.
SITE_COLOUR, OTHER_COLOUR, OWN_COLOUR = "#D55E00", "#0072B2", "#CC79A7"
GAIN_COLOUR, LOSS_COLOUR = "#009E73", "#E69F00"

__all__ = ["finish_map", "assessment_map", "render_assessment", "write_assessment", "coverage_view"]


def finish_map(m: folium.Map, title: str, legend_title: str, legend: list[tuple[str, str]] | list[KeyItem],
               vendored: bool | None = None) -> str:
    """Render a map to a complete accessible HTML document (:func:`pna.report.map_page.map_document`)."""
    return map_document(m, title=title, legend_title=legend_title, legend=legend, vendored=vendored)


_TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def _ll(e: float, n: float) -> list[float]:
    lon, lat = _TO_WGS84.transform(e, n)
    return [round(float(lat), 6), round(float(lon), 6)]


def assessment_map(result: AssessmentResult,
                   demand_xy: Mapping[str, Mapping[Any, tuple[float, float]]]) -> tuple[str, list]:
    """The map document and its legend.

    The map shows the site, 1.6/2 km circles, nearby pharmacies, and the demand points that
    gain or lose access at each mode's gap threshold. ``demand_xy`` maps mode -> point_id ->
    (easting, northing).
    """
    s = result.site
    m = folium.Map(location=[s["lat"], s["lon"]], zoom_start=14, tiles=None, control_scale=True)
    add_osm_tiles(m)
    for r, colour, label in ((NOTIFY_M, "#425563", "2 km notification radius"),
                             (NEAR_M, "#330072", "1.6 km radius")):
        folium.Circle([s["lat"], s["lon"]], radius=r, color=colour, weight=2, fill=False,
                      dash_array="6 4", tooltip=label).add_to(m)
    ph = folium.FeatureGroup(name="Pharmacies near the site").add_to(m)
    for r in result.nearby.itertuples():
        ll = _ll(r.easting, r.northing)
        folium.CircleMarker(ll, radius=6, color="#212b32", weight=1, fill=True, fill_opacity=0.9,
                            fill_color=OWN_COLOUR if r.is_applicant else OTHER_COLOUR,
                            tooltip=f"{esc(r.ods_code)} {esc(r.trading_name)}: {r.distance_m:,.0f} m").add_to(ph)
    pts = folium.FeatureGroup(name="Residents gaining or losing access").add_to(m)
    ch, gaps = result.changes, result.gaps
    for g in gaps.itertuples():
        sel = ch[(ch["mode"] == g.mode) & (ch["threshold_min"] == g.gap_minutes)] if len(ch) else ch
        xy = demand_xy.get(g.mode)
        if xy is None or sel.empty:
            continue
        for r in sel.sort_values(["change", "point_id"]).itertuples():
            e, n = xy[r.point_id]
            folium.CircleMarker(_ll(e, n), radius=4, weight=1, color="#212b32", fill=True, fill_opacity=0.8,
                                fill_color=GAIN_COLOUR if r.change == "gain" else LOSS_COLOUR,
                                tooltip=(f"{esc(r.point_id)} ({r.population:,.0f} residents): {g.mode} "
                                         f"{r.minutes_before:.1f} → {r.minutes_after:.1f} min")).add_to(pts)
    # A plain HTML icon: folium.Icon needs awesome-markers and Bootstrap, which the maps do not load.
    site_icon = folium.DivIcon(
        html=(f'<div style="width:18px;height:18px;border-radius:50%;background:{SITE_COLOUR};border:3px solid #fff;'
              'box-shadow:0 0 0 2px #212b32;color:#fff;font:bold 16px/18px Arial,sans-serif;text-align:center">'
              '+</div>'),
        icon_size=(24, 24), icon_anchor=(12, 12), class_name="pna-site")
    folium.Marker([s["lat"], s["lon"]], tooltip=esc(result.application.name), icon=site_icon,
                  title=f"Site: {result.application.name}").add_to(m)  # JSON-encoded by folium: plain text
    legend: list[KeyItem] = [
        ("Proposed or affected site", SITE_COLOUR, "dot"), ("Other pharmacy", OTHER_COLOUR, "dot"),
        ("Applicant's own pharmacy", OWN_COLOUR, "dot"),
        ("Homes brought within the gap threshold", GAIN_COLOUR, "dot"),
        ("Homes pushed beyond the gap threshold", LOSS_COLOUR, "dot"),
        ("1.6 km radius (dashed purple)", "#330072", "dash"), ("2 km radius (dashed grey)", "#425563", "dash")]
    return finish_map(m, f"Map: {result.application.name}", "Key", legend), legend


def coverage_view(coverage: pd.DataFrame) -> list[dict[str, Any]]:
    """Per mode: thresholds and one row per group with before → after per threshold."""
    out = []
    for mode, g in coverage.groupby("mode", sort=True):
        ths = sorted(g["threshold_min"].unique())
        rows = []
        for (gt, grp), r in g.groupby(["group_type", "group"], sort=False):
            r = r.set_index("threshold_min")
            cells = []
            for t in ths:
                x = r.loc[t]
                cells.append({"before": pct(x["share_before"]), "after": pct(x["share_after"]),
                              "change": f"{x['change']:+,.0f}" if abs(x["change"]) >= 0.5 else "no change"})
            label = {"area": "All residents", "locality": f"{grp} locality",
                     "imd2019_quintile": f"IMD 2019 quintile {grp}", "age_65plus": "Residents aged 65+"}.get(gt, grp)
            rows.append({"label": label, "population": r["population"].iloc[0], "cells": cells})
        first = g.iloc[0]
        out.append({"mode": mode, "method": first["method"], "is_estimate": bool(first["is_estimate"]),
                    "thresholds": ths, "rows": rows})
    return out


def _view(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.drop(columns="geometry", errors="ignore").to_dict(orient="records")


def render_assessment(result: AssessmentResult, area_name: str, demand_xy: dict[str, dict]) -> str:
    """The one-page HTML (autoescaped Jinja2; map embedded in an iframe's ``srcdoc``)."""
    map_doc, legend = assessment_map(result, demand_xy)
    gap_ch = result.changes.merge(result.gaps[["mode", "gap_minutes"]], on="mode") if len(result.changes) else \
        result.changes
    if len(gap_ch):
        gap_ch = gap_ch[gap_ch["threshold_min"] == gap_ch["gap_minutes"]]
    by_loc = result.changes_by_group[result.changes_by_group["group_type"] == "locality"]
    notes = list(result.notes) + ([vendor.CDN_NOTE] if vendor.leaflet_dir() is None else [])
    html = environment().get_template("assessment.html.j2").render(
        r=result, app=result.application, site=result.site, area_name=area_name,
        summary=result.summary, notes=notes, modes=_view(result.modes),
        coverage=coverage_view(result.coverage), gaps=_view(result.gaps), nearby=_view(result.nearby),
        findings=_view(result.findings),
        near_modes=[c for c in result.nearby.columns if c.startswith("minutes_")],
        by_locality=_view(by_loc), gap_changes=_view(gap_ch.head(200)) if len(gap_ch) else [],
        n_gap_changes=len(gap_ch), hours=_view(result.hours), legend=legend, map_doc=map_doc,
        near_km=f"{NEAR_M / 1000:g}", notify_km=f"{NOTIFY_M / 1000:g}")
    return stable_ids(html)


def write_assessment(result: AssessmentResult, out_root: Path, area_name: str,
                     demand: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Write ``assessment.html``, ``assessment.json`` and the CSV tables under ``out_root/<slug>/``.

    ``demand`` maps mode -> demand points (``point_id``, geometry in EPSG:27700) for the map.
    """
    out = out_root / result.slug
    xy = {m: {pid: (g.x, g.y) for pid, g in zip(d["point_id"], d.geometry)} for m, d in demand.items()}
    paths = {"html": write_text(render_assessment(result, area_name, xy), out / "assessment.html"),
             "json": write_json(result.to_json(), out / "assessment.json")}
    vendor.copy_leaflet(out)  # the map in the page's srcdoc resolves lib/ against the page
    for name, df in result.tables().items():
        paths[name] = write_csv(df, out / f"{name}.csv")
    return paths

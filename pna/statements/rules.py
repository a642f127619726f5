"""The seven Schedule 1 statements, generated from computed tables by explicit rules.

Every number in a statement is a :class:`Figure`: a value read from an output table
(``table``, ``row`` key, ``col``), never typed into prose. A :class:`Finding` is a sentence
template whose ``{placeholders}`` are filled with figures, plus the rule that produced it.
Gaps, times-and-days, future needs and the context measures come from one rule engine
(:mod:`pna.statements.gaps`, rules in ``cfg.gaps``), so changing a threshold changes the
statements, the assessor and the public page alike.

Statements (NHS (Pharmaceutical and Local Pharmaceutical Services) Regulations 2013, Schedule 1):

1. current provision of necessary services; 2. gaps in provision; 3. other relevant services;
4. improvements and better access; 5. other NHS services; 6. how the assessment was carried
out; 7. the map.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from ..access.result import AccessResult
from ..config import Config, Gaps
from ..modes import MODE_WORDS, MODES, Mode
from .gaps import GapFinding, for_subject


@dataclass(frozen=True)
class Evidence:
    """What the rules read.

    The config, every computed table by name, each mode's access result, the localities (names,
    in order) and the gap findings of :mod:`pna.statements.gaps`.
    """

    cfg: Config
    tables: Mapping[str, pd.DataFrame]
    access: Mapping[Mode, AccessResult]
    localities: pd.DataFrame | None = None
    findings: tuple[GapFinding, ...] = ()

# Columns that identify a row, per table; the first present ones form the row key.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "pharmacies": ("ods_code",),
    "provision": ("locality",),
    "opening_hours": ("locality",),
    "opening_categories": ("locality", "category"),
    "demography": ("locality",),
    "boundary_bands": ("band",),
    "services": ("service", "locality"),
    "service_provision": ("service", "locality"),
    "consultation_summary": ("question", "answer"),
    "future_rates": ("year", "locality"),
    "gap_findings": ("rule", "scope", "subject", "group", "time"),
    "row_accounting": ("check",),
}
COVERAGE_KEYS = ("mode", "group_type", "group", "threshold_min")
GENERIC_KEYS = ("mode", "group_type", "group", "threshold_min", "level", "locality", "year",
                "category", "band", "service", "question", "answer", "ods_code", "check")


def table_keys(name: str, df: pd.DataFrame) -> list[str]:
    """The columns whose values identify a row of table ``name``.

    Known tables use fixed keys; others use the usual key columns plus every other text
    column (e.g. ``age_band``). :func:`row_keys` adds the row position if that is still not unique.
    """
    if name in TABLE_KEYS:
        keys = [c for c in TABLE_KEYS[name] if c in df.columns]
    elif name.startswith("coverage"):
        keys = [c for c in COVERAGE_KEYS if c in df.columns]
    else:
        keys = [c for c in GENERIC_KEYS if c in df.columns]
        keys += [c for c in df.columns if c not in keys and c not in ("provenance", "geometry")
                 and df[c].dtype == object]
    return keys or [df.columns[0]]


def _key_text(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def row_keys(name: str, df: pd.DataFrame) -> pd.Series:
    """One string key per row, ``'v1|v2'`` over :func:`table_keys` (index aligned)."""
    keys = table_keys(name, df)
    if df.empty:
        return pd.Series([], dtype=object)
    parts = [df[k].map(_key_text) for k in keys]
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    if out.duplicated().any():
        out = out + "|#" + pd.Series(range(len(df)), index=df.index).astype(str)
    return out


# Row positions by key for the tables looked up last: a report reads thousands of figures from a few
# tables, and building the keys is the cost. Holding the frame keeps its id from being reused.
_KEYED: dict[tuple[str, int], tuple[pd.DataFrame, tuple[object, ...], dict[str, list[int]]]] = {}
_KEYED_MAX = 64


def _positions(table: str, df: pd.DataFrame) -> dict[str, list[int]]:
    sig = (df.shape[0], *map(str, df.columns))
    hit = _KEYED.get((table, id(df)))
    if hit is not None and hit[0] is df and hit[1] == sig:
        return hit[2]
    pos: dict[str, list[int]] = {}
    for i, k in enumerate(row_keys(table, df).tolist()):
        pos.setdefault(k, []).append(i)
    if len(_KEYED) >= _KEYED_MAX:
        _KEYED.pop(next(iter(_KEYED)))
    _KEYED[(table, id(df))] = (df, sig, pos)
    return pos


def lookup(tables: Mapping[str, pd.DataFrame], table: str, row: str, col: str) -> Any:
    """The value at (table, row key, column); KeyError if absent or ambiguous."""
    df = tables[table]
    if col not in df.columns:
        raise KeyError(f"{table}/{row}/{col}: no such column")
    hit = _positions(table, df).get(row, [])
    if len(hit) != 1:
        raise KeyError(f"{table}/{row}/{col}: {len(hit)} matching rows")
    return df[col].iloc[hit[0]]


# --------------------------------------------------------------------------- formatting
def fmt_value(value: Any, kind: str) -> str:
    """Fixed, locale-free formats so the same value always reads the same."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not available"
    if kind == "text":
        return str(value)
    v = float(value)
    if math.isinf(v):
        return "unreachable"
    if kind == "count":
        return f"{int(round(v)):,}"
    if kind == "rate":
        return f"{v:,.1f}"
    if kind == "share":
        return f"{v * 100:.1f}%"
    if kind == "hours":
        return f"{v:,.1f}"
    if kind == "minutes":
        return f"{v:,.0f}"
    if kind == "residents":
        return f"{v:,.0f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"


def raw_value(value: Any) -> str:
    """Machine-readable value for ``<data value>``: exact enough to compare, deterministic."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() else f"{v:.10g}"
    return str(value)


@dataclass(frozen=True)
class Figure:
    """One number (or label) taken from an output table."""

    table: str
    row: str
    col: str
    value: Any
    kind: str = "number"

    @property
    def ref(self) -> str:
        """The figure's reference, ``table/row/col``."""
        return f"{self.table}/{self.row}/{self.col}"

    @property
    def text(self) -> str:
        """The value as the report prints it."""
        return fmt_value(self.value, self.kind)

    def html(self) -> str:
        """The value as ``<data>`` carrying its exact value and reference."""
        return (f'<data value="{escape(raw_value(self.value))}" data-ref="{escape(self.ref)}">'
                f"{escape(self.text)}</data>")


def figure(tables: Mapping[str, pd.DataFrame], table: str, row: str, col: str, kind: str = "number") -> Figure:
    """Read a figure from a table by reference."""
    return Figure(table, row, col, lookup(tables, table, row, col), kind)


@dataclass
class Finding:
    """A sentence with ``{name}`` placeholders filled from figures, and the rule behind it."""

    template: str
    figures: dict[str, Figure] = field(default_factory=dict)
    rule: str = ""
    kind: str = "finding"   # finding | gap | no_gap | not_assessed | provisional
    words: dict[str, str] = field(default_factory=dict)   # non-numeric fillers (names)

    def text(self) -> str:
        """The sentence with every placeholder filled, as plain text."""
        vals = {k: f.text for k, f in self.figures.items()} | self.words
        return self.template.format(**vals)

    def html(self) -> str:
        """The sentence as escaped HTML, each figure tagged with its reference."""
        vals = {k: f.html() for k, f in self.figures.items()} | {k: escape(v) for k, v in self.words.items()}
        return _fill_html(self.template, vals)


def _fill_html(template: str, vals: dict[str, str]) -> str:
    # Escape the literal text of the template, then insert already-escaped values.
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(escape(literal))
        if name is not None:
            out.append(vals[name])
    return "".join(out)


@dataclass
class Statement:
    """One Schedule 1 statement."""

    id: int
    title: str
    findings: list[Finding] = field(default_factory=list)
    provisional_reasons: list[str] = field(default_factory=list)

    @property
    def provisional(self) -> bool:
        """True where a finding rests on estimated travel times."""
        return bool(self.provisional_reasons)

    @property
    def figures(self) -> list[Figure]:
        """Every figure the statement's findings use."""
        return [f for fd in self.findings for f in fd.figures.values()]

    def as_records(self) -> list[dict]:
        """Flat rows (one per figure, or per finding without figures) for tables and tests."""
        rows = []
        for i, fd in enumerate(self.findings):
            base = {"statement": self.id, "title": self.title, "finding": i + 1, "kind": fd.kind,
                    "text": fd.text(), "rule": fd.rule, "provisional": self.provisional}
            if not fd.figures:
                rows.append(base | {"placeholder": "", "table": "", "row": "", "col": "", "value": ""})
            for name, f in fd.figures.items():
                rows.append(base | {"placeholder": name, "table": f.table, "row": f.row, "col": f.col,
                                    "value": raw_value(f.value)})
        return rows


TITLES = {
    1: "Current provision of necessary services",
    2: "Gaps in provision",
    3: "Other relevant services",
    4: "Improvements and better access",
    5: "Other NHS services",
    6: "How the assessment was carried out",
    7: "Map of premises",
}


# --------------------------------------------------------------------------- helpers
def _table(ev: Evidence, name: str) -> pd.DataFrame | None:
    df = ev.tables.get(name)
    return df if isinstance(df, pd.DataFrame) and not df.empty else None


def coverage_table(ev: Evidence, mode: str) -> pd.DataFrame | None:
    """The coverage table of ``mode`` (from ``ev.tables`` or the AccessResult); None if empty."""
    df = _table(ev, f"coverage_{mode}")
    if df is None and mode in ev.access:
        df = ev.access[Mode(mode)].coverage
    return df if df is not None and not df.empty else None


def mode_is_estimate(ev: Evidence, mode: str) -> bool:
    """True where the mode's travel times are estimates."""
    if mode in ev.access:
        return bool(ev.access[Mode(mode)].is_estimate)
    cov = coverage_table(ev, mode)
    return bool(cov is not None and "is_estimate" in cov and cov["is_estimate"].astype(bool).any())


def mode_minutes(gaps: Gaps, mode: str) -> int:
    """The gap threshold of one mode, in minutes."""
    return int(gaps.minutes(mode))


def locality_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The locality rows of a by-locality table."""
    return df[df["level"] == "locality"] if "level" in df else df


def area_row_key(ev: Evidence, df: pd.DataFrame) -> str | None:
    """The row key of the area total row, if there is exactly one."""
    if "level" not in df:
        return None
    hit = df.loc[df["level"] == "area", "locality"]
    return _key_text(hit.iloc[0]) if len(hit) == 1 else None


def _names(values: Iterable[str]) -> str:
    vals = [str(v) for v in values]
    if len(vals) <= 1:
        return "".join(vals)
    return ", ".join(vals[:-1]) + " and " + vals[-1]


def _provisional(ev: Evidence, st: Statement, modes: Iterable[str]) -> None:
    for mode in modes:
        if coverage_table(ev, mode) is not None and mode_is_estimate(ev, mode):
            st.provisional_reasons.append(
                f"{MODE_WORDS[Mode(mode)].capitalize()} times are estimates, not routed on a network or "
                "timetable; the finding should be confirmed with network data.")


# --------------------------------------------------------------------------- the rules
KIND_OF_STATUS = {"gap": "gap", "no gap": "no_gap", "provisional": "provisional", "not assessed": "not_assessed",
                  "context": "finding"}


def _gap_key(f: GapFinding) -> str:
    return "|".join((f.rule, f.scope, f.subject, f.group, f.time))


def gap_figure(f: GapFinding, col: str, kind: str) -> Figure:
    """A figure of the ``gap_findings`` table (one finding's ``share``, ``population`` ...)."""
    return Figure("gap_findings", _gap_key(f), col, getattr(f, col), kind)


def _status_words(f: GapFinding) -> str:
    if f.status == "provisional":
        return f"{f.outcome}, provisional: it rests on estimated travel times"
    return f.status


def _who(group: str) -> str:
    return {"all residents": "residents", "aged 65+": "residents aged 65+",
            "most deprived fifth": "residents of the most deprived fifth of areas"}.get(group, group)


def _access_words(gaps: Gaps) -> str:
    return (f"within {gaps.walk_minutes} minutes' walk, or {gaps.transit_minutes} minutes by public transport or "
            f"{gaps.drive_minutes} minutes by car where walking fails")


def gap_finding(f: GapFinding, *, ev: Evidence, lead: str = "") -> Finding:
    """A statement sentence for one engine finding; every number in it is a figure of a table.

    Access rules quote the ``gap_findings`` table; rates and hours quote the provision and
    opening-hours tables, so the same number reads the same everywhere it appears.
    """
    g = ev.cfg.gaps
    fig = {}
    words = {"where": f.subject, "who": _who(f.group), "how": _access_words(g), "time": f.time,
             "status": _status_words(f), "km": f"{g.straight_line_km:g}", "walk_min": str(g.walk_minutes)}

    def gf(col: str, kind: str) -> None:
        fig[col] = gap_figure(f, col, kind)

    if f.status == "not assessed":
        return Finding(lead + "{detail}", rule=f.basis or f.rule, kind="not_assessed", words={"detail": f.detail})
    if f.rule in ("geographic", "times"):
        for col, kind in (("share", "share"), ("population_with", "count"), ("population", "count"),
                          ("population_without", "count")):
            gf(col, kind)
        when = " at {time}, counting only pharmacies open when they arrive" if f.rule == "times" else ""
        tmpl = ("{where}: {share} of {who} ({population_with} of {population}) can reach a pharmacy {how}" + when
                + "; {population_without} cannot.")
        if np.isfinite(f.share_walk):
            gf("share_walk", "share")
            tmpl += " On foot alone: {share_walk}."
        if np.isfinite(f.population_walk_lost):
            gf("population_walk_lost", "count")
            tmpl += (" {population_walk_lost} who can walk to a pharmacy within {walk_min} minutes in the day "
                     "cannot walk to an open one then.")
        tmpl += " Finding: {status}."
    elif f.rule == "future":
        for col, kind in (("share", "share"), ("population", "count"), ("population_base", "count"),
                          ("population_without", "count")):
            gf(col, kind)
        tmpl = ("{where}: in {time}, {share} of a projected {population} residents (from {population_base} at the "
                "projection's base) would live where residents can reach a pharmacy {how} today; about "
                "{population_without} would not. Finding: {status}.")
    elif f.rule == "rate":
        fig["rate"] = figure(ev.tables, "provision", f.subject, "rate_per_10k", "rate")
        tmpl = "{where}: {rate} pharmacies per 10,000 residents"
        prov = ev.tables.get("provision")
        if prov is not None and (prov["level"] == "england").any():
            fig["eng"] = figure(ev.tables, "provision", "England", "rate_per_10k", "rate")
            tmpl += " (England: {eng})"
        if g.min_rate_per_10k is not None:
            words["ref"] = f"{g.min_rate_per_10k:g}"
            tmpl += " against the board's reference of {ref}"
        tmpl += ". Context only: a rate is not a gap on its own."
    elif f.rule == "hours":
        fig["hours"] = figure(ev.tables, "opening_hours", f.subject, "hours_per_10k", "hours")
        tmpl = "{where}: {hours} weekly opening hours per 10,000 residents. Context only."
    elif f.rule == "distance":
        gf("share", "share")
        tmpl = ("{where}: {share} of residents live within {km} km (1 mile) of a pharmacy in a straight line, the "
                "measure national studies use. Context only.")
    elif f.rule == "choice":
        for col, kind in (("population_one", "count"), ("share", "share"), ("population_without", "count")):
            gf(col, kind)
        tmpl = ("{where}: {population_one} residents ({share}) have only one pharmacy within {walk_min} minutes' "
                "walk and {population_without} have none.")
        if np.isfinite(f.necessary_pharmacies):
            gf("necessary_pharmacies", "count")
            gf("population_relying", "count")
            tmpl += (" Pharmacies that are the only one within that walk for some residents: "
                     "{necessary_pharmacies}; {population_relying} residents in all would be beyond it if the one "
                     "they rely on closed.")
    else:
        return Finding(lead + "{detail}", words={"detail": f.detail}, kind=KIND_OF_STATUS.get(f.status, "finding"))
    rule_text = {"geographic": "geographic access", "times": f"access to an open pharmacy at {f.time}",
                 "future": f"future access ({f.time})", "rate": "pharmacies per 10,000 (context)",
                 "hours": "opening hours per 10,000 (context)", "distance": "1 mile straight-line measure (context)",
                 "choice": "choice (context)"}.get(f.rule, f.rule)
    # a provisional finding counts by its outcome; the statement itself is marked provisional
    kind = KIND_OF_STATUS.get(f.outcome if f.status == "provisional" else f.status, "finding")
    return Finding(lead + tmpl, fig, rule=f"{rule_text}: {f.basis}" if f.basis else rule_text, kind=kind,
                   words=words)


def _is_gap(f: GapFinding) -> bool:
    return f.status == "gap" or (f.status == "provisional" and f.outcome == "gap")


def _count_or_unknown(ev: Evidence, key: str, col: str, label: str, source_col: str | None) -> Finding:
    prov = ev.tables["provision"]
    val = prov.loc[row_keys("provision", prov) == key, col]
    v = val.iloc[0] if len(val) else np.nan
    if pd.isna(v):
        why = ""
        ph = _table(ev, "pharmacies")
        if ph is not None and source_col and source_col in ph:
            why = ": " + "; ".join(dict.fromkeys(ph[source_col].dropna().astype(str).str.removeprefix(
                "not identified: ")))
        return Finding("Pharmacies with " + label + " status were not identified" + why + ".",
                       kind="not_assessed", rule=f"provision table, {col}")
    return Finding("Of these, {k} hold " + label + " contracts or status.",
                   {"k": figure(ev.tables, "provision", key, col, "count")})


def statement_1(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 1: current provision of necessary services (rates as context, cross-border)."""
    st = Statement(1, TITLES[1])
    prov = _table(ev, "provision")
    if prov is None:
        st.findings.append(Finding("Provision was not assessed: the provision table was not produced.",
                                   kind="not_assessed"))
        return st
    ak = area_row_key(ev, prov)
    if ak is not None:
        f = {"n": figure(ev.tables, "provision", ak, "pharmacies", "count"),
             "pop": figure(ev.tables, "provision", ak, "population", "count"),
             "rate": figure(ev.tables, "provision", ak, "rate_per_10k", "rate")}
        tmpl = "{area} has {n} pharmacies for {pop} residents: {rate} per 10,000 residents"
        if "residents_per_pharmacy" in prov:
            f["rpp"] = figure(ev.tables, "provision", ak, "residents_per_pharmacy", "residents")
            tmpl += ", or one pharmacy for every {rpp} residents"
        eng = prov[prov["level"] == "england"] if "level" in prov else prov.iloc[0:0]
        if len(eng) == 1:
            f["eng"] = figure(ev.tables, "provision", _key_text(eng["locality"].iloc[0]), "rate_per_10k", "rate")
            tmpl += " (England: {eng} per 10,000)"
        st.findings.append(Finding(tmpl + ".", f, words={"area": ak},
                                   rule="Counts and rates from the provision table."))
        for col, label, src in (("hundred_hour", "100-hour", "hundred_hour_source"),
                                ("distance_selling", "distance-selling", "distance_selling_source"),
                                ("lps", "local pharmaceutical services (LPS)", None)):
            if col in prov:
                st.findings.append(_count_or_unknown(ev, ak, col, label, src))
        bands = ["open_72plus_hours", "open_100plus_hours"]
        known = set(bands) <= set(prov.columns) and \
            prov.loc[row_keys("provision", prov) == ak, bands].notna().to_numpy().all()
        if known:
            st.findings.append(Finding(
                "{h72} pharmacies are listed as open 72 hours a week or more, {h100} of them 100 hours or more "
                "(listed hours, not contract types).",
                {"h72": figure(ev.tables, "provision", ak, "open_72plus_hours", "count"),
                 "h100": figure(ev.tables, "provision", ak, "open_100plus_hours", "count")},
                rule="Weekly hours from the pharmaceutical list."))
    for gf in ev.findings:
        if gf.rule == "rate" and gf.scope == "locality":
            st.findings.append(gap_finding(gf, ev=ev))
    for gf in for_subject(ev.findings, subject=ev.cfg.area.name, rules=("geographic", "distance")):
        st.findings.append(gap_finding(gf, ev=ev))
    _cross_border(ev, st)
    return st


def _cross_border(ev: Evidence, st: Statement) -> None:
    """Statement 1 names the pharmacies outside the area that contribute, with their board."""
    ph = _table(ev, "pharmacies")
    if ph is None or "in_area" not in ph:
        return
    out = ph[~ph["in_area"].astype(bool)]
    if out.empty:
        st.findings.append(Finding("No pharmacy of a neighbouring board lies within the boundary bands."))
        return
    for board, g in out.sort_values(["hwb", "band", "ods_code"], kind="stable").groupby("hwb", sort=True):
        names = _names(f"{r.trading_name} ({r.ods_code}, {r.postcode}, {r.band})" for r in g.itertuples())
        st.findings.append(Finding(
            "{k} pharmacies of " + str(board).title() + " lie within " + str(g["band"].iloc[-1]).split("-")[-1]
            + " of the area and contribute to its provision: {names}.", words={"k": str(len(g)), "names": names},
            rule="Pharmacies table: not on this board's list, within the outermost boundary band."))


def statement_2(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 2: gaps in provision, from the geographic and times-and-days rules."""
    st = Statement(2, TITLES[2])
    area = ev.cfg.area.name
    tested = [f for f in ev.findings if f.rule in ("geographic", "times") and f.status != "context"]
    found = [f for f in tested if _is_gap(f)]
    rules_text = (f"Rules: residents have access within {gaps.walk_minutes} minutes' walk, or "
                  f"{gaps.transit_minutes} minutes by public transport or {gaps.drive_minutes} minutes by car "
                  f"where walking fails; a gap where under {gaps.min_share_covered * 100:g}% of the residents of "
                  "an area, a locality, its 65+ or its most deprived fifth have access, now or to an open "
                  "pharmacy at " + _names(t.label for t in gaps.times) + ".")
    if not found:
        st.findings.append(Finding("No gap in the provision of necessary services was identified under the "
                                   "rules below.", rule=rules_text, kind="no_gap"))
    else:
        st.findings.append(Finding("{k} gaps in provision were identified under the rules below.",
                                   words={"k": str(len(found))}, rule=rules_text, kind="gap"))
        for f in found:
            st.findings.append(gap_finding(f, ev=ev, lead="Gap: "))
    for f in for_subject(ev.findings, subject=area, rules=("geographic", "times")):
        st.findings.append(gap_finding(f, ev=ev))
    for f in ev.findings:
        if f.status == "not assessed" and f.rule in ("geographic", "times") and f.group == "all residents" \
                and f.subject != area:
            st.findings.append(gap_finding(f, ev=ev))
    for mode in MODES:
        if coverage_table(ev, mode) is None:
            st.findings.append(Finding(not_assessed_text(ev, mode), kind="not_assessed"))
    st.findings.append(Finding(
        "Pharmacies per 10,000 residents are reported against England in statement 1 as context; a locality "
        "with fewer pharmacies per head is not a gap on its own when its residents can reach a pharmacy.",
        rule="Rates are context, never a gap on their own (DHSC PNA information pack)."))
    _provisional(ev, st, MODES)
    return st


def not_assessed_text(ev: Evidence, mode: str) -> str:
    """Why a mode was not assessed, in plain words."""
    if mode == "transit":
        if ev.cfg.network.gtfs is None:
            return "Public transport access was not assessed: no timetable (GTFS) was supplied."
        return "Public transport access was not assessed: no public transport result was produced."
    if mode in ("walk", "drive") and ev.cfg.network.osm_extract is None:
        return (f"{MODE_WORDS[Mode(mode)].capitalize()} access was not assessed: no street network was "
                "supplied and no estimate was produced.")
    return f"{MODE_WORDS[Mode(mode)].capitalize()} access was not assessed: no result was produced."


def statement_3(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 3: other relevant services, opening hours and access at set times."""
    st = Statement(3, TITLES[3])
    oh = _table(ev, "opening_hours")
    if oh is not None:
        ak = area_row_key(ev, oh)
        if ak is not None:
            f = {"n": figure(ev.tables, "opening_hours", ak, "pharmacies", "count")}
            parts = []
            for col, words in (("late_weekday", "{late} open after 18:30 on a weekday"),
                               ("sat_pm", "{sat} open on Saturday afternoon"),
                               ("sunday", "{sun} open on Sunday")):
                if col in oh:
                    f[words[1:words.index("}")]] = figure(ev.tables, "opening_hours", ak, col, "count")
                    parts.append(words)
            st.findings.append(Finding(
                "Of the {n} pharmacies in {area}, " + _names(parts) + ".", f, words={"area": ak},
                rule="Counts of pharmacies open in the evening and at weekends (opening_hours table)."))
    for gf in for_subject(ev.findings, subject=ev.cfg.area.name, rules=("times", "hours")):
        st.findings.append(gap_finding(gf, ev=ev))
    svc = _table(ev, "service_provision")
    if svc is None:
        st.findings.append(Finding(
            "Other relevant services (advanced and enhanced services) were not assessed by pharmacy: "
            "no service data was supplied.", kind="not_assessed"))
    else:
        area = svc[svc["level"] == "area"] if "level" in svc else svc
        for _, r in area.iterrows():
            key = f"{r['service']}|{r['locality']}"
            st.findings.append(Finding(
                "{svc}: provided by {n} pharmacies in the area ({rate} per 10,000 residents).",
                {"n": Figure("service_provision", key, "pharmacies", r["pharmacies"], "count"),
                 "rate": Figure("service_provision", key, "rate_per_10k", r["rate_per_10k"], "rate")},
                words={"svc": str(r["service"])},
                rule="Pharmacies flagged as providing the service in the supplied service data."))
    _provisional(ev, st, MODES)
    return st


def statement_4(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 4: improvements and better access, now and for projected needs."""
    st = Statement(4, TITLES[4])
    future = [f for f in ev.findings if f.rule == "future"]
    needed = [f for f in future if _is_gap(f)]
    if not future or all(f.status == "not assessed" for f in future):
        st.findings.append(Finding("Future needs were not assessed: no population projections were made.",
                                   kind="not_assessed"))
    elif not needed:
        st.findings.append(Finding(
            "No improvement or better access is needed to meet projected population change: where people are "
            "projected to live, the same share of residents can reach a pharmacy as today.", kind="no_gap",
            rule="The geographic rule applied to each small area's projected residents."))
    for f in needed:
        st.findings.append(gap_finding(f, ev=ev, lead="Future need: "))
    for f in for_subject(ev.findings, subject=ev.cfg.area.name, rules=("future",)):
        st.findings.append(gap_finding(f, ev=ev))
    for f in for_subject(ev.findings, subject=ev.cfg.area.name, rules=("choice",)):
        st.findings.append(gap_finding(f, ev=ev, lead="Choice and resilience: "))
    walk_lost = [f for f in for_subject(ev.findings, subject=ev.cfg.area.name, rules=("times",))]
    if walk_lost:
        st.findings.append(Finding(
            "Better access on foot outside the core weekday day would help the residents counted in statement 3 "
            "who can walk to a pharmacy in the day but not to an open one in the evening or at the weekend; "
            "they are not a gap where public transport or a car reaches an open pharmacy in time.",
            rule="Times-and-days findings (statement 3)."))
    gap_st = [f for f in ev.findings if f.rule in ("geographic", "times") and _is_gap(f)]
    if gap_st:
        st.findings.append(Finding("The gaps listed in statement 2 are where better access would improve "
                                   "provision now.", kind="finding"))
    _provisional(ev, st, MODES)
    return st


def statement_5(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 5: other NHS services that affect the need for pharmacies."""
    st = Statement(5, TITLES[5])
    ph = _table(ev, "pharmacies")
    prov = _table(ev, "provision")
    if prov is not None and "lps" in prov:
        ak = area_row_key(ev, prov)
        if ak is not None:
            st.findings.append(Finding(
                "{n} local pharmaceutical services (LPS) contracts operate in the area.",
                {"n": figure(ev.tables, "provision", ak, "lps", "count")}))
    if ph is not None and "is_dac" in ph and "in_area" in ph:
        dac = ph[ph["is_dac"].astype(bool) & ph["in_area"].astype(bool)]
        st.findings.append(Finding(
            "Dispensing appliance contractors in the area: " + (_names(dac["ods_code"].astype(str)) or "none")
            + ".", rule="Pharmacies table, is_dac and in_area."))
    st.findings.append(Finding(
        "Dispensing GP practices, hospital pharmacies and other NHS services that affect the need for "
        "pharmaceutical services were not assessed: no open data on them was supplied.", kind="not_assessed"))
    return st


def statement_6(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 6: how the assessment was carried out."""
    st = Statement(6, TITLES[6])
    loc = ev.localities
    if loc is not None and len(loc):
        st.findings.append(Finding(
            "The area was divided into {k} localities: {names}.",
            words={"k": str(len(loc)), "names": _names(loc["locality"].astype(str))},
            rule="Localities from the configured locality file or one per MSOA."))
    for mode in MODES:
        res = ev.access.get(mode)
        if res is not None:
            st.findings.append(Finding(
                MODE_WORDS[Mode(mode)].capitalize() + ": {note}"
                + (" These figures are estimates." if res.is_estimate else ""),
                words={"note": res.method_note.strip().rstrip(".") + "."},
                kind="provisional" if res.is_estimate else "finding"))
        else:
            st.findings.append(Finding(not_assessed_text(ev, mode), kind="not_assessed"))
    cons = _table(ev, "consultation_summary")
    if ev.cfg.optional.consultation is None or cons is None:
        st.findings.append(Finding(
            "No consultation responses were supplied; the statutory 60-day "
            "consultation must be held on the draft and its responses summarised here.", kind="not_assessed"))
    else:
        st.findings.append(Finding("Consultation responses were summarised in the consultation section."))
    as_at = ev.cfg.as_at
    st.findings.append(Finding("The position is assessed as at {date}.", words={"date": f"{as_at.day} {as_at:%B %Y}"}))
    return st


def statement_7(ev: Evidence, gaps: Gaps) -> Statement:
    """Statement 7: the map of premises."""
    st = Statement(7, TITLES[7])
    ph = _table(ev, "pharmacies")
    if ph is None:
        st.findings.append(Finding("The premises map was not drawn: no pharmacies table.", kind="not_assessed"))
        return st
    bb = _table(ev, "boundary_bands")
    st.findings.append(Finding(
        "The premises map (Map 1) shows every pharmacy in the area and within the cross-border bands, "
        "coloured by type (standard, 100-hour, distance-selling, cross-border), with the locality and "
        "area boundaries; the table beside it lists the same premises."))
    if bb is not None:
        for _, r in bb.iterrows():
            key = _key_text(r["band"])
            st.findings.append(Finding(
                "Band {band}: {n} pharmacies.",
                {"n": figure(ev.tables, "boundary_bands", key, "pharmacies", "count")},
                words={"band": key}))
    return st


def apply_rules(ev: Evidence, *, gaps: Gaps | None = None) -> list[Statement]:
    """The seven statements, from ``ev.tables`` and ``ev.access`` under the rules in ``gaps``.

    Parameters
    ----------
    ev
        The evidence: config, tables and access results.
    gaps
        Thresholds; default ``ev.cfg.gaps``.
    """
    gaps = gaps or ev.cfg.gaps
    sts = [statement_1(ev, gaps), statement_2(ev, gaps), statement_3(ev, gaps), statement_4(ev, gaps),
           statement_5(ev, gaps), statement_6(ev, gaps), statement_7(ev, gaps)]
    _provisional(ev, sts[0], ("walk",))
    return sts


def statements_table(statements: list[Statement]) -> pd.DataFrame:
    """All statements' findings and the figures they use, as one table."""
    rows = [r for s in statements for r in s.as_records()]
    return pd.DataFrame(rows)

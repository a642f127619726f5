"""The seven Schedule 1 statements, generated from computed tables by explicit rules.

Every number in a statement is a :class:`Figure`: a value read from an output table
(``table``, ``row`` key, ``col``), never typed into prose. A :class:`Finding` is a sentence
template whose ``{placeholders}`` are filled with figures, plus the rule that produced it.
Rules take their thresholds from ``cfg.gaps`` (and ``cfg.projections.min_rate_per_10k``),
so changing a threshold changes the statements.

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


@dataclass(frozen=True)
class Evidence:
    """What the rules read: the config, every computed table by name, each mode's access result,
    and the localities (names, in order).
    """

    cfg: Config
    tables: Mapping[str, pd.DataFrame]
    access: Mapping[Mode, AccessResult]
    localities: pd.DataFrame | None = None

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


def lookup(tables: dict[str, pd.DataFrame], table: str, row: str, col: str) -> Any:
    """The value at (table, row key, column); KeyError if absent or ambiguous."""
    df = tables[table]
    hit = df.loc[row_keys(table, df) == row, col]
    if len(hit) != 1:
        raise KeyError(f"{table}/{row}/{col}: {len(hit)} matching rows")
    return hit.iloc[0]


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
        return f"{v:,.2f}"
    if kind == "share":
        return f"{v * 100:.1f}%"
    if kind == "hours":
        return f"{v:,.1f}"
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
        return f"{self.table}/{self.row}/{self.col}"

    @property
    def text(self) -> str:
        return fmt_value(self.value, self.kind)

    def html(self) -> str:
        return (f'<data value="{escape(raw_value(self.value))}" data-ref="{escape(self.ref)}">'
                f"{escape(self.text)}</data>")


def figure(tables: dict[str, pd.DataFrame], table: str, row: str, col: str, kind: str = "number") -> Figure:
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
        vals = {k: f.text for k, f in self.figures.items()} | self.words
        return self.template.format(**vals)

    def html(self) -> str:
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
        return bool(self.provisional_reasons)

    @property
    def figures(self) -> list[Figure]:
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
        df = ev.access[mode].coverage
    return df if df is not None and not df.empty else None


def mode_is_estimate(ev: Evidence, mode: str) -> bool:
    if mode in ev.access:
        return bool(ev.access[mode].is_estimate)
    cov = coverage_table(ev, mode)
    return bool(cov is not None and "is_estimate" in cov and cov["is_estimate"].astype(bool).any())


def mode_minutes(gaps: Gaps, mode: str) -> int:
    return int(gaps.minutes(mode))


def locality_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["level"] == "locality"] if "level" in df else df


def area_row_key(ev: Evidence, df: pd.DataFrame) -> str | None:
    if "level" not in df:
        return None
    hit = df.loc[df["level"] == "area", "locality"]
    return _key_text(hit.iloc[0]) if len(hit) == 1 else None


def _names(values: Iterable[str]) -> str:
    vals = [str(v) for v in values]
    if len(vals) <= 1:
        return "".join(vals)
    return ", ".join(vals[:-1]) + " and " + vals[-1]


# --------------------------------------------------------------------------- the rules
def statement_1(ev: Evidence, gaps: Gaps) -> Statement:
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
        for col, label in (("hundred_hour", "100-hour"), ("distance_selling", "distance-selling"),
                           ("lps", "local pharmaceutical services (LPS)")):
            if col in prov:
                st.findings.append(Finding("Of these, {k} hold " + label + " contracts or status.",
                                           {"k": figure(ev.tables, "provision", ak, col, "count")}))
    loc = locality_rows(prov)
    for _, r in loc.iterrows():
        key = _key_text(r["locality"])
        rate = float(r["rate_per_10k"]) if pd.notna(r["rate_per_10k"]) else float("nan")
        ok = rate >= gaps.min_rate_per_10k
        st.findings.append(Finding(
            "{loc}: {n} pharmacies, {rate} per 10,000 residents, "
            + ("at or above" if ok else "below") + " the threshold of {thr} per 10,000.",
            {"n": figure(ev.tables, "provision", key, "pharmacies", "count"),
             "rate": figure(ev.tables, "provision", key, "rate_per_10k", "rate")},
            words={"loc": key, "thr": f"{gaps.min_rate_per_10k:g}"},
            rule=f"A locality's rate is adequate if at least gaps.min_rate_per_10k = {gaps.min_rate_per_10k:g}.",
            kind="finding" if ok else "gap"))
    cov = coverage_table(ev, "walk")
    if cov is not None:
        _coverage_findings(ev, st, "walk", gaps, group_types=("area",))
    return st


def _coverage_findings(ev: Evidence, st: Statement, mode: str, gaps: Gaps,
                       group_types: tuple[str, ...], gaps_only: bool = False) -> int:
    """Add coverage findings for ``mode``; returns the number of gaps found."""
    cov = coverage_table(ev, mode)
    minutes = mode_minutes(gaps, mode)
    name = f"coverage_{mode}"
    if cov is None:
        return 0
    sel = cov[cov["threshold_min"].astype(float) == float(minutes)]
    if sel.empty:
        st.findings.append(Finding(
            f"{MODE_WORDS[mode].capitalize()} coverage was not computed at {minutes} minutes "
            f"(computed thresholds: {', '.join(_key_text(t) for t in sorted(cov['threshold_min'].unique()))}); "
            "the rule could not be applied.", kind="not_assessed"))
        return 0
    n_gaps = 0
    for gt in group_types:
        for _, r in sel[sel["group_type"] == gt].iterrows():
            key = "|".join(_key_text(r[c]) for c in COVERAGE_KEYS)
            share = float(r["share_within"])
            gap = share < gaps.min_share_covered
            n_gaps += gap
            if gaps_only and not gap:
                continue
            label = {"area": "the area as a whole", "locality": "{grp} locality",
                     "imd2019_quintile": "IMD 2019 quintile {grp} (1 = most deprived)",
                     "age_65plus": "residents aged 65 and over"}.get(gt, "{grp}")
            st.findings.append(Finding(
                "In " + label + ", {within} of {pop} residents ({share}) live within {m} minutes of a "
                "pharmacy by " + MODE_WORDS[mode] + ("; below" if gap else "; at or above")
                + " the {thr} rule.",
                {"within": Figure(name, key, "population_within", r["population_within"], "count"),
                 "pop": Figure(name, key, "population", r["population"], "count"),
                 "share": Figure(name, key, "share_within", r["share_within"], "share")},
                words={"grp": _key_text(r["group"]), "m": str(minutes),
                       "thr": f"{gaps.min_share_covered * 100:g}%"},
                rule=(f"Gap if the share within gaps.{mode}_minutes = {minutes} min is below "
                      f"gaps.min_share_covered = {gaps.min_share_covered:g}."),
                kind="gap" if gap else "finding"))
    return n_gaps


def _provisional(ev: Evidence, st: Statement, modes: Iterable[str]) -> None:
    for mode in modes:
        if coverage_table(ev, mode) is not None and mode_is_estimate(ev, mode):
            st.provisional_reasons.append(
                f"{MODE_WORDS[mode].capitalize()} times are estimates, not routed on a network or "
                "timetable; the finding should be confirmed with network data.")


def statement_2(ev: Evidence, gaps: Gaps) -> Statement:
    st = Statement(2, TITLES[2])
    n_gaps = 0
    prov = _table(ev, "provision")
    if prov is not None:
        for _, r in locality_rows(prov).iterrows():
            if pd.notna(r["rate_per_10k"]) and float(r["rate_per_10k"]) < gaps.min_rate_per_10k:
                key = _key_text(r["locality"])
                n_gaps += 1
                st.findings.append(Finding(
                    "Gap in provision: {loc} has {rate} pharmacies per 10,000 residents, below {thr}.",
                    {"rate": figure(ev.tables, "provision", key, "rate_per_10k", "rate")},
                    words={"loc": key, "thr": f"{gaps.min_rate_per_10k:g}"},
                    rule=f"Gap if a locality's rate per 10,000 is below gaps.min_rate_per_10k = {gaps.min_rate_per_10k:g}.",
                    kind="gap"))
    for mode in MODES:
        if coverage_table(ev, mode) is None:
            st.findings.append(Finding(not_assessed_text(ev, mode), kind="not_assessed"))
            continue
        n_mode = _coverage_findings(ev, st, mode, gaps,
                                    ("area", "locality", "imd2019_quintile", "age_65plus"), gaps_only=True)
        if n_mode == 0:
            # say so explicitly, with the area figure the rule was applied to
            _coverage_findings(ev, st, mode, gaps, ("area",))
        n_gaps += n_mode
    if n_gaps == 0:
        st.findings.insert(0, Finding(
            "No gap in the provision of necessary services was identified under the rules below.",
            rule=(f"Rules: every locality at or above {gaps.min_rate_per_10k:g} pharmacies per 10,000; "
                  f"at least {gaps.min_share_covered * 100:g}% of residents of every group within "
                  f"{gaps.walk_minutes} min walking, {gaps.drive_minutes} min driving and "
                  f"{gaps.transit_minutes} min by public transport (where assessed)."),
            kind="no_gap"))
    _provisional(ev, st, MODES)
    return st


def not_assessed_text(ev: Evidence, mode: str) -> str:
    if mode == "transit":
        if ev.cfg.network.gtfs is None:
            return "Public transport access was not assessed: no timetable (GTFS) was supplied."
        return "Public transport access was not assessed: no public transport result was produced."
    if mode in ("walk", "drive") and ev.cfg.network.osm_extract is None:
        return (f"{MODE_WORDS[mode].capitalize()} access was not assessed: no street network was "
                "supplied and no estimate was produced.")
    return f"{MODE_WORDS[mode].capitalize()} access was not assessed: no result was produced."


def statement_3(ev: Evidence, gaps: Gaps) -> Statement:
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
                "Of the {n} pharmacies in {area}, " + _names(parts) + "; these hours secure access "
                "outside the core weekday day.", f, words={"area": ak},
                rule="Counts of pharmacies open in the evening and at weekends (opening_hours table)."))
    svc = _table(ev, "service_provision")
    if svc is None:
        st.findings.append(Finding(
            "Other relevant services (advanced and enhanced services) were not assessed by pharmacy: "
            "no service data was supplied (optional.services).", kind="not_assessed"))
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
    return st


def future_source(ev: Evidence) -> tuple[str, pd.DataFrame, str, str] | None:
    """(table name, table, rate column, population column) of projected provision, if any.

    Prefers a projection table that already holds pharmacies per 10,000 by year
    (``pharmacies_per_10k``); otherwise the ``future_rates`` table derived here.
    """
    for name in sorted(k for k in ev.tables if k.startswith("projection")):
        df = ev.tables[name]
        if isinstance(df, pd.DataFrame) and not df.empty and \
                {"year", "locality", "pharmacies", "population", "pharmacies_per_10k"} <= set(df.columns):
            return name, df, "pharmacies_per_10k", "population"
    fr = _table(ev, "future_rates")
    if fr is not None:
        return "future_rates", fr, "rate_per_10k", "projected_population"
    return None


def statement_4(ev: Evidence, gaps: Gaps) -> Statement:
    st = Statement(4, TITLES[4])
    thr = float(ev.cfg.projections.min_rate_per_10k)
    src = future_source(ev)
    if src is None:
        st.findings.append(Finding(
            "Future needs were not assessed: no population projection table was produced.",
            kind="not_assessed"))
    else:
        name, fr, rate_col, pop_col = src
        keys = row_keys(name, fr)
        fr = fr[fr["is_base_year"].astype(str).str.lower() != "true"] if "is_base_year" in fr else fr
        last_year = fr["year"].max()
        flagged = 0
        first_below: set[str] = set()
        for i, r in fr.sort_values(["year"], kind="stable").iterrows():
            loc = str(r["locality"])
            below = float(r[rate_col]) < thr
            # report each locality's first year below the threshold, and every locality's last year
            if below and loc in first_below and r["year"] != last_year:
                continue
            if not below and r["year"] != last_year:
                continue
            if below:
                first_below.add(loc)
            flagged += below
            key = keys[i]
            st.findings.append(Finding(
                "By {year}, with today's {n} pharmacies and a projected {pop} residents, {loc} would have "
                "{rate} pharmacies per 10,000 residents" + (", below {thr}: an improvement or better "
                                                             "access would be needed." if below else "."),
                {"year": Figure(name, key, "year", r["year"], "text"),
                 "n": Figure(name, key, "pharmacies", r["pharmacies"], "count"),
                 "pop": Figure(name, key, pop_col, r[pop_col], "count"),
                 "rate": Figure(name, key, rate_col, r[rate_col], "rate")},
                words={"loc": loc, "thr": f"{thr:g}"},
                rule=f"Future need if the projected rate falls below projections.min_rate_per_10k = {thr:g}.",
                kind="gap" if below else "finding"))
        if flagged == 0:
            st.findings.insert(0, Finding(
                "No improvement or better access is needed to meet projected population change under the rule.",
                rule=f"Projected rate at or above projections.min_rate_per_10k = {thr:g} in every projected year.",
                kind="no_gap"))
    gap_st = statement_2(ev, gaps)
    n_gap = sum(fd.kind == "gap" for fd in gap_st.findings)
    if n_gap:
        st.findings.append(Finding(
            "The gaps listed in statement 2 are where better access would improve provision now.",
            kind="finding"))
    return st


def statement_5(ev: Evidence, gaps: Gaps) -> Statement:
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
                MODE_WORDS[mode].capitalize() + ": {note}" + (" These figures are estimates." if res.is_estimate else ""),
                words={"note": res.method_note.strip().rstrip(".") + "."}, kind="provisional" if res.is_estimate else "finding"))
        else:
            st.findings.append(Finding(not_assessed_text(ev, mode), kind="not_assessed"))
    cons = _table(ev, "consultation_summary")
    if ev.cfg.optional.consultation is None or cons is None:
        st.findings.append(Finding(
            "No consultation responses were supplied (optional.consultation); the statutory 60-day "
            "consultation must be held on the draft and its responses summarised here.", kind="not_assessed"))
    else:
        st.findings.append(Finding("Consultation responses were summarised in the consultation section."))
    st.findings.append(Finding("The position is assessed as at {date}.", words={"date": ev.cfg.as_at.isoformat()}))
    return st


def statement_7(ev: Evidence, gaps: Gaps) -> Statement:
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
    sts[3].provisional_reasons += sts[1].provisional_reasons
    return sts


def statements_table(statements: list[Statement]) -> pd.DataFrame:
    """All statements' findings and the figures they use, as one table."""
    rows = [r for s in statements for r in s.as_records()]
    return pd.DataFrame(rows)

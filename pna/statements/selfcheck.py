"""Self-check: the report's figures agree with each other and with the tables behind them.

Three kinds of check, each a row of the result table (``check, subject, expected, observed,
passed, detail``):

* **consistency** - every figure rendered (``<data data-ref="table/row/col" value=...>`` in the
  report, and every figure a statement uses) has one value per (table, row, col), equal to
  the table's current value;
* **recompute** - rates recompute from their numerators and denominators
  (``rate_per_10k = pharmacies / population x 10,000``, ``residents_per_pharmacy``,
  ``hours_per_10k``, coverage ``share_within``);
* **sums** - parts sum to wholes (localities to the area for population and pharmacies;
  opening categories to pharmacies; ``population_within <= population``; row accounting).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from html import unescape

import numpy as np
import pandas as pd

from .rules import Figure, lookup, raw_value, row_keys

CHECK_COLUMNS = ["check", "subject", "expected", "observed", "passed", "detail"]
REL_TOL = 1e-6
ABS_TOL = 1e-6

_DATA_TAG = re.compile(r'<data value="([^"]*)" data-ref="([^"]*)">')


def _close(a: float, b: float, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    if (isinstance(a, float) and math.isnan(a)) and (isinstance(b, float) and math.isnan(b)):
        return True
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


def _fmt(v: object) -> str:
    return raw_value(v)


class _Checks:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, check: str, subject: str, expected: object, observed: object, passed: bool,
            detail: str = "") -> None:
        self.rows.append({"check": check, "subject": subject, "expected": _fmt(expected),
                          "observed": _fmt(observed), "passed": bool(passed), "detail": detail})

    def close(self, check: str, subject: str, expected: float, observed: float, detail: str = "",
              rel: float = REL_TOL, abs_: float = ABS_TOL) -> None:
        ok = _close(expected, observed, rel, abs_)
        self.add(check, subject, expected, observed, ok, detail)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=CHECK_COLUMNS)


def figures_in_html(html: str) -> list[tuple[str, str]]:
    """Every ``(ref, value)`` rendered with a ``<data data-ref>`` tag, in document order."""
    return [(unescape(ref), unescape(val)) for val, ref in _DATA_TAG.findall(html)]


def _parse_ref(ref: str) -> tuple[str, str, str]:
    table, rest = ref.split("/", 1)
    row, col = rest.rsplit("/", 1)
    return table, row, col


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        return _close(float(a), float(b))
    except ValueError:
        return False


def check_figures(tables: Mapping[str, pd.DataFrame], figures: Iterable[Figure | tuple[str, str]],
                  c: _Checks | None = None) -> _Checks:
    """Every figure stated more than once agrees with itself and with its table."""
    c = c or _Checks()
    seen: dict[str, list[str]] = {}
    for f in figures:
        ref, val = (f.ref, raw_value(f.value)) if isinstance(f, Figure) else f
        seen.setdefault(ref, []).append(val)
    n_multi = 0
    for ref in sorted(seen):
        vals = seen[ref]
        first = vals[0]
        if len(vals) > 1:
            n_multi += 1
            bad = [v for v in vals if not _same(first, v)]
            if bad:
                c.add("consistency", ref, first, bad[0], False,
                      f"stated {len(vals)} times with {len(set(vals))} different values")
        try:
            t, r, col = _parse_ref(ref)
            truth = raw_value(lookup(tables, t, r, col))
        except (KeyError, ValueError) as exc:
            c.add("consistency", ref, "a table value", first, False, f"figure has no source cell: {exc}")
            continue
        bad = [v for v in vals if not _same(truth, v)]
        if bad:
            c.add("consistency", ref, truth, bad[0], False, "stated value differs from its table")
    c.add("consistency", "all figures", f"{len(seen)} distinct cells agree",
          f"{len(seen)} cells; {n_multi} stated more than once",
          not any(r["check"] == "consistency" and not r["passed"] for r in c.rows),
          "every figure agrees with every other statement of it and with its table")
    return c


def _recompute(c: _Checks, tables: Mapping[str, pd.DataFrame]) -> None:
    prov = tables.get("provision")
    if prov is not None and not prov.empty:
        keys = row_keys("provision", prov)
        for i, r in prov.iterrows():
            k = keys[i]
            pop, n = float(r["population"]), float(r["pharmacies"])
            if "rate_per_10k" in prov and pop > 0:
                c.close("recompute", f"provision/{k}/rate_per_10k", n / pop * 1e4, float(r["rate_per_10k"]),
                        "pharmacies / population x 10,000", rel=1e-4, abs_=5e-3)
            if "rate_per_10k_18plus" in prov and "pop_18plus" in prov and pd.notna(r["pop_18plus"]) \
                    and float(r["pop_18plus"]) > 0:
                c.close("recompute", f"provision/{k}/rate_per_10k_18plus", n / float(r["pop_18plus"]) * 1e4,
                        float(r["rate_per_10k_18plus"]), "pharmacies / adults x 10,000", rel=1e-4, abs_=5e-3)
            if "residents_per_pharmacy" in prov and n > 0:
                c.close("recompute", f"provision/{k}/residents_per_pharmacy", pop / n,
                        float(r["residents_per_pharmacy"]), "population / pharmacies", rel=1e-4, abs_=0.5)
    oh = tables.get("opening_hours")
    if oh is not None and not oh.empty and prov is not None and "hours_per_10k" in oh:
        popmap = dict(zip(prov["locality"].astype(str), prov["population"].astype(float)))
        keys = row_keys("opening_hours", oh)
        for i, r in oh.iterrows():
            pop = float(r["population"]) if "population" in oh and pd.notna(r["population"]) \
                else popmap.get(str(r["locality"]), float("nan"))
            if pop and pop > 0 and pd.notna(r["hours_per_10k"]):
                c.close("recompute", f"opening_hours/{keys[i]}/hours_per_10k",
                        float(r["weekly_hours"]) / pop * 1e4, float(r["hours_per_10k"]),
                        "weekly hours / population x 10,000", rel=1e-4, abs_=5e-3)
    for name in sorted(k for k in tables if k.startswith("projection")):
        df = tables[name]
        if not isinstance(df, pd.DataFrame) or df.empty:
            continue
        for rate, num, den in (("pharmacies_per_10k", "pharmacies", "population"),
                               ("hours_per_10k", "weekly_hours", "population"),
                               ("pharmacies_per_10k_housing", "pharmacies", "population_housing_scenario")):
            if {rate, num, den} <= set(df.columns):
                d = df[den].astype(float).to_numpy()
                with np.errstate(invalid="ignore", divide="ignore"):
                    calc = np.where(d > 0, df[num].astype(float).to_numpy() / d * 1e4, np.nan)
                got = df[rate].astype(float).to_numpy()
                ok = np.isclose(calc, got, rtol=1e-6, atol=1e-9) | (np.isnan(calc) & np.isnan(got))
                c.add("recompute", f"{name}/{rate}", f"{len(df)} rows", f"{int(ok.sum())} rows agree", bool(ok.all()),
                      f"{num} / {den} x 10,000")
    for name in sorted(k for k in tables if k.startswith("coverage_")):
        cov = tables[name]
        if cov.empty or "share_within" not in cov:
            continue
        pop = cov["population"].astype(float).to_numpy()
        within = cov["population_within"].astype(float).to_numpy()
        share = cov["share_within"].astype(float).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            calc = np.where(pop > 0, within / pop, np.nan)
        ok = np.isclose(calc, share, rtol=1e-6, atol=1e-9) | (np.isnan(calc) & np.isnan(share))
        keys = row_keys(name, cov).to_numpy()
        bad = np.flatnonzero(~ok)
        c.add("recompute", f"{name}/share_within", f"{len(cov)} rows", f"{len(cov) - len(bad)} rows agree",
              len(bad) == 0, "population_within / population"
              + (f"; first disagreement at {keys[bad[0]]}" if len(bad) else ""))
        over = np.flatnonzero(within > pop + 1e-6)
        c.add("sums", f"{name}/population_within <= population", "0 rows over", f"{len(over)} rows over",
              len(over) == 0, f"first at {keys[over[0]]}" if len(over) else "")
        if "group_type" in cov:
            # groups of one type partition the area: their populations sum to the area's
            for (mode, thr), g in cov.groupby(["mode", "threshold_min"], sort=True):
                area = g.loc[g["group_type"] == "area", "population"].astype(float)
                locs = g.loc[g["group_type"] == "locality", "population"].astype(float)
                if len(area) == 1 and len(locs):
                    c.close("sums", f"{name}/{mode}/{thr}: localities sum to area population",
                            float(area.iloc[0]), float(locs.sum()), "demand population by locality", rel=1e-6,
                            abs_=0.5)


def _sums(c: _Checks, tables: Mapping[str, pd.DataFrame]) -> None:
    for name, cols in (("provision", ("population", "pharmacies", "hundred_hour", "distance_selling", "lps")),
                       ("demography", ("population", "age_0_17", "age_18_64", "age_65plus")),
                       ("opening_hours", ("pharmacies", "weekly_hours", "late_weekday", "sat_pm", "sunday"))):
        df = tables.get(name)
        if df is None or df.empty or "level" not in df:
            continue
        loc, area = df[df["level"] == "locality"], df[df["level"] == "area"]
        if len(area) != 1 or loc.empty:
            continue
        for col in cols:
            if col in df:
                c.close("sums", f"{name}: localities sum to area ({col})", float(area[col].iloc[0]),
                        float(loc[col].astype(float).sum(skipna=False)), "sum of locality rows", rel=1e-9,
                        abs_=0.5)
    demo = tables.get("demography")
    if demo is not None and not demo.empty:
        age = [c_ for c_ in ("age_0_17", "age_18_64", "age_65plus") if c_ in demo]
        keys = row_keys("demography", demo)
        for i, r in demo.iterrows():
            if len(age) == 3:
                c.close("sums", f"demography/{keys[i]}: age groups sum to population", float(r["population"]),
                        float(sum(float(r[a]) for a in age)), "0-17 + 18-64 + 65+", rel=1e-9, abs_=0.5)
    oc, prov = tables.get("opening_categories"), tables.get("provision")
    oh = tables.get("opening_hours")
    whole = oh if oh is not None and not oh.empty else prov
    if oc is not None and not oc.empty and whole is not None and not whole.empty:
        got = oc.groupby(oc["locality"].astype(str), sort=True)["pharmacies"].sum()
        exp = dict(zip(whole["locality"].astype(str), whole["pharmacies"].astype(float)))
        for loc_name, n in got.items():
            if loc_name in exp:
                c.close("sums", f"opening_categories/{loc_name}: categories sum to pharmacies", exp[loc_name],
                        float(n), "sum over opening categories", rel=1e-9, abs_=0.5)
    ra = tables.get("row_accounting")
    if ra is not None and not ra.empty:
        for _, r in ra.iterrows():
            c.add("sums", f"row accounting: {r['check']}", int(r["rows_in"]),
                  int(r["accepted"]) + int(r["quarantined"]),
                  int(r["rows_in"]) == int(r["accepted"]) + int(r["quarantined"]), "rows in = accepted + quarantined")


def run_selfcheck(tables: Mapping[str, pd.DataFrame], *,
                  figures: Iterable[Figure | tuple[str, str]] = (), html: str | None = None) -> pd.DataFrame:
    """Run every check; returns one row per check with ``passed``.

    Parameters
    ----------
    tables
        Every computed table by name.
    figures
        Figures used by statements (:class:`Figure`) or ``(ref, value)`` pairs.
    html
        Rendered report HTML; every ``<data data-ref>`` figure in it is checked too.
    """
    c = _Checks()
    figs: list = list(figures)
    if html is not None:
        figs += figures_in_html(html)
    check_figures(tables, figs, c)
    _recompute(c, tables)
    _sums(c, tables)
    return c.table()

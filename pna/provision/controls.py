"""Area-wide projection control totals and the housing supply trajectory.

Two control layouts are read:

* the *published figures* layout: one row per figure, columns
  ``measure, age_group, year, value`` (``area_code``, ``area_name``, ``basis`` optional), where
  ``measure`` is ``population`` (a count), ``population_share`` (a share of all ages) or
  ``population_change`` (a change over ``YYYY-YYYY``); other measures (housing) are not controls;
* the ONS *subnational population projections* (SNPP) CSV: ``AREA_CODE, AREA_NAME, COMPONENT,
  SEX, AGE_GROUP, 2018, 2019, ...`` with ``AGE_GROUP`` ``0`` .. ``89``, ``90 and over`` and
  ``All ages``.

Both become one long table ``year, age_group, value, basis`` with every year from each age
group's first to last anchor year. Between anchors values are **linear interpolations**; nothing
is extrapolated beyond the anchors.

Where a group has no count for a year, a count is derived, in this order of preference:
an explicit count; a published change from a count already known at the start of the period;
a published share times the all-ages count. Derived figures are used only outside the span of
the group's explicit counts (inside it, interpolating explicit counts is preferred to rounded
shares); every derivation is named in ``basis``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import read_table
from ..quality import QualityLog

STAGE = "projections"
ALL_AGES = "all ages"
OVER_65 = "65+"
CONTROL_COLUMNS = ["year", "age_group", "value", "basis"]

_PUBLISHED_REQUIRED = ("measure", "age_group", "year", "value")
_SNPP_REQUIRED = ("AREA_CODE", "AGE_GROUP")
_YEAR_COL = re.compile(r"^\d{4}$")
_AGE_ALIASES = {
    "all ages": ALL_AGES, "all": ALL_AGES, "total": ALL_AGES, "all_ages": ALL_AGES,
    "65+": OVER_65, "65 and over": OVER_65, "aged 65 and over": OVER_65, "65 plus": OVER_65,
    "aged 65 years and over": OVER_65, "65_plus": OVER_65,
}
_PERSONS = {"persons", "person", "all", "all persons", "total"}


def normalise_age_group(text: str) -> str:
    """Lower-case an age-group label and map common spellings (``All ages``, ``65 and over``)."""
    t = re.sub(r"\s+", " ", str(text).strip().lower())
    return _AGE_ALIASES.get(t, t.replace(" to ", "-"))


def _line(i: int) -> int:
    """Editor line of the i-th (0-based) data row: the header is line 1."""
    return int(i) + 2


def _read(path: Path) -> pd.DataFrame:
    return read_table(path)


def _number(path: Path, raw: str, i: int, column: str) -> float:
    try:
        v = float(str(raw).replace(",", "").strip())
    except ValueError:
        raise InputError(path, f"column {column!r}: {raw!r} is not a number", row=_line(i)) from None
    if not np.isfinite(v):
        raise InputError(path, f"column {column!r}: {raw!r} is not a finite number", row=_line(i))
    return v


def _detect_layout(df: pd.DataFrame, path: Path) -> str:
    cols = set(df.columns)
    upper = {c.strip().upper() for c in cols}
    if all(c in cols for c in _PUBLISHED_REQUIRED):
        return "published"
    if all(c in upper for c in _SNPP_REQUIRED) and any(_YEAR_COL.match(c.strip()) for c in cols):
        return "snpp"
    raise InputError(path, "unknown projection layout: expected columns "
                     f"{', '.join(_PUBLISHED_REQUIRED)} (published figures) or "
                     f"{', '.join(_SNPP_REQUIRED)} plus year columns such as 2018..2043 (ONS SNPP); "
                     f"found {', '.join(df.columns)}")


def load_controls(path: str | Path, area_code: str, quality: QualityLog | None = None) -> pd.DataFrame:
    """Read projection control totals and return one value per age group and year.

    Parameters
    ----------
    path
        Published-figures CSV or ONS SNPP CSV (layout detected from the header).
    area_code
        The area's ONS code; rows of other areas are ignored.
    quality
        Receives row accounting and flags for rows that are not population controls.

    Returns
    -------
    pandas.DataFrame
        ``year`` (int), ``age_group`` (``all ages``, ``65+`` and any others the file gives),
        ``value`` (float persons), ``basis`` (where the figure came from, or how it was
        interpolated), sorted by age group then year, one row per year from each group's first
        to last anchor.

    Raises
    ------
    InputError
        Unknown layout, missing columns, non-numeric values, duplicate year/age rows,
        no all-ages figures, or nothing for ``area_code``; the message names file and row.
    """
    path = Path(path)
    df = _read(path)
    if df.empty:
        raise InputError(path, "no data rows")
    layout = _detect_layout(df, path)
    quality = quality if quality is not None else QualityLog()
    anchors = _published_anchors(df, path, area_code, quality) if layout == "published" \
        else _snpp_anchors(df, path, area_code, quality)
    return interpolate_controls(anchors)


# -- published figures ------------------------------------------------------------------

def _published_anchors(df: pd.DataFrame, path: Path, area_code: str, quality: QualityLog) -> pd.DataFrame:
    df = df.copy()
    df["_i"] = np.arange(len(df))
    if "area_code" in df.columns:
        df = df[df["area_code"].str.strip() == area_code]
        if df.empty:
            raise InputError(path, f"no rows for area_code {area_code}")
    basis_col = df["basis"] if "basis" in df.columns else pd.Series("", index=df.index)
    counts: dict[tuple[str, int], tuple[float, str, int]] = {}
    shares: dict[tuple[str, int], tuple[float, str, int]] = {}
    changes: list[tuple[str, int, int, float, str, int]] = []
    seen: dict[tuple[str, str, str], int] = {}
    accepted = 0
    for (i, measure, age, year, value), basis in zip(
            df[["_i", "measure", "age_group", "year", "value"]].itertuples(index=False), basis_col):
        measure = measure.strip().lower()
        age_n = normalise_age_group(age)
        key = (measure, age_n, year.strip())
        if key in seen:
            raise InputError(path, f"duplicate {measure} row for age group {age!r}, year {year!r} "
                             f"(also on row {_line(seen[key])})", row=_line(i))
        seen[key] = i
        accepted += 1
        if measure not in ("population", "population_share", "population_change"):
            quality.add(STAGE, path.name, _line(i), f"{measure} {age} {year}",
                        f"measure {measure!r} is not a population control; not used here",
                        field_="measure", action="flagged")
            continue
        v = _number(path, value, i, "value")
        basis = basis.strip() or f"{path.name}, row {_line(i)}"
        if measure == "population_change":
            m = re.fullmatch(r"\s*(\d{4})\s*[-/]\s*(\d{4})\s*", year)
            if not m or int(m.group(1)) >= int(m.group(2)):
                raise InputError(path, f"column 'year': a change needs a period 'YYYY-YYYY', got {year!r}",
                                 row=_line(i))
            changes.append((age_n, int(m.group(1)), int(m.group(2)), v, basis, i))
            continue
        if not re.fullmatch(r"\s*\d{4}\s*", year):
            raise InputError(path, f"column 'year': {year!r} is not a four-digit year", row=_line(i))
        if measure == "population":
            if v < 0:
                raise InputError(path, f"column 'value': negative population {v:g}", row=_line(i))
            counts[(age_n, int(year))] = (v, basis, i)
        else:
            if not 0 <= v <= 1:
                raise InputError(path, f"column 'value': share {v:g} is not between 0 and 1", row=_line(i))
            shares[(age_n, int(year))] = (v, basis, i)
    quality.account(f"{STAGE}: {path.name}", path.name, len(df), accepted, 0)

    if not any(a == ALL_AGES for a, _ in counts):
        raise InputError(path, "no all-ages population counts (measure 'population', age group 'all ages')")
    rows = [{"age_group": a, "year": y, "value": v, "basis": b} for (a, y), (v, b, _) in counts.items()]
    anchors = pd.DataFrame(rows)

    def known(age: str, year: int) -> float | None:
        sub = anchors[anchors["age_group"] == age].sort_values("year")
        if sub.empty or not sub["year"].min() <= year <= sub["year"].max():
            return None
        return float(np.interp(year, sub["year"], sub["value"]))

    def span(age: str) -> tuple[int, int] | None:
        ys = [y for a, y in counts if a == age]
        return (min(ys), max(ys)) if ys else None

    derived: list[dict] = []
    for age, y0, y1, v, basis, _i in sorted(changes, key=lambda c: (c[0], c[1], c[2])):
        sp = span(age)
        if sp is not None and sp[0] <= y1 <= sp[1]:
            continue  # explicit counts cover the end year: prefer them
        start = known(age, y0)
        if start is None:
            continue  # no count at the start of the period: cannot anchor the change
        derived.append({"age_group": age, "year": y1, "value": start + v,
                        "basis": f"{y0} count ({start:,.0f}) plus published change {y0}-{y1} "
                                 f"({v:+,.0f}): {basis}"})
    anchors = _typed(pd.concat([anchors, pd.DataFrame(derived, columns=anchors.columns)], ignore_index=True))
    derived = []
    for (age, year), (v, basis, _i) in sorted(shares.items()):
        sp = span(age)
        if (sp is not None and sp[0] <= year <= sp[1]) or \
                ((anchors["age_group"] == age) & (anchors["year"] == year)).any():
            continue
        total = known(ALL_AGES, year)
        if total is None:
            continue
        derived.append({"age_group": age, "year": year, "value": v * total,
                        "basis": f"published share {v:g} x all-ages {total:,.0f}: {basis}"})
    return _typed(pd.concat([anchors, pd.DataFrame(derived, columns=anchors.columns)], ignore_index=True))


def _typed(anchors: pd.DataFrame) -> pd.DataFrame:
    return anchors.astype({"age_group": str, "year": int, "value": float, "basis": str})


# -- ONS SNPP ---------------------------------------------------------------------------

def _snpp_anchors(df: pd.DataFrame, path: Path, area_code: str, quality: QualityLog) -> pd.DataFrame:
    df = df.rename(columns={c: c.strip().upper() for c in df.columns if not _YEAR_COL.match(c.strip())})
    df = df.rename(columns={c: c.strip() for c in df.columns})
    years = [c for c in df.columns if _YEAR_COL.match(c)]
    df["_i"] = np.arange(len(df))
    df = df[df["AREA_CODE"].str.strip() == area_code]
    if df.empty:
        raise InputError(path, f"no rows for AREA_CODE {area_code}")
    rows_in = len(df)
    keep = np.ones(len(df), dtype=bool)
    if "COMPONENT" in df.columns:
        comp = df["COMPONENT"].str.strip().str.lower()
        keep &= (comp == "population").to_numpy()
        for i, c in zip(df["_i"][~keep], df["COMPONENT"][~keep]):
            quality.add(STAGE, path.name, _line(i), f"{area_code} {c}",
                        f"component {c!r} is not population; not used", field_="COMPONENT", action="flagged")
    pop = df[keep]
    if pop.empty:
        raise InputError(path, f"no 'Population' component rows for {area_code}")
    if "SEX" in pop.columns:
        sex = pop["SEX"].str.strip().str.lower()
        persons = sex.isin(_PERSONS)
        if persons.any():
            dropped = pop[~persons]
            for i, s in zip(dropped["_i"], dropped["SEX"]):
                quality.add(STAGE, path.name, _line(i), f"{area_code} {s}",
                            "sex-specific row; the persons rows are used", field_="SEX", action="flagged")
            pop = pop[persons].assign(_sex="persons")
        else:
            pop = pop.assign(_sex=sex[~persons])
    else:
        pop = pop.assign(_sex="persons")
    quality.account(f"{STAGE}: {path.name}", path.name, rows_in, rows_in, 0)

    # Parse values and find duplicates, with file rows in messages.
    vals = np.empty((len(pop), len(years)))
    for r, (i, *cells) in enumerate(pop[["_i", *years]].itertuples(index=False)):
        for c, cell in enumerate(cells):
            vals[r, c] = _number(path, cell, i, years[c])
            if vals[r, c] < 0:
                raise InputError(path, f"column {years[c]!r}: negative population {vals[r, c]:g}", row=_line(i))
    ages = pop["AGE_GROUP"].map(normalise_age_group).to_numpy()
    key = pd.Series(list(zip(pop["_sex"], ages)))
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((key == key.iloc[r]).to_numpy())[0])
        raise InputError(path, f"duplicate row for AGE_GROUP {pop['AGE_GROUP'].iloc[r]!r} "
                         f"(also on row {_line(pop['_i'].iloc[first])})", row=_line(pop["_i"].iloc[r]))

    def single_age(a: str) -> int | None:
        if re.fullmatch(r"\d{1,3}", a):
            return int(a)
        m = re.fullmatch(r"(\d{1,3})(?: and over|\+| plus)", a)
        return int(m.group(1)) if m else None

    table = pd.DataFrame(vals, columns=[int(y) for y in years])
    table["sex"], table["age"] = pop["_sex"].to_numpy(), ages
    table = table.groupby("age", sort=True).sum(numeric_only=True)  # persons, or males + females
    single = {a: single_age(a) for a in table.index}
    ages_found = sorted(v for v in single.values() if v is not None)
    if not ages_found:
        if ALL_AGES not in table.index:
            raise InputError(path, "no 'All ages' row and no single years of age")
        top = None
    else:
        top = ages_found[-1]
        missing = sorted(set(range(top)) - set(ages_found))
        if missing:
            raise InputError(path, f"AGE_GROUP incomplete: single years of age {missing[:10]} missing")
    src = f"{path.name} (ONS subnational population projections, persons)"
    out = []
    yrs = [int(y) for y in years]
    if top is not None:
        single_rows = [a for a, v in single.items() if v is not None]
        sums = table.loc[single_rows].sum()
        if ALL_AGES in table.index:
            given = table.loc[ALL_AGES]
            bad = (given - sums).abs() > 0.5 + 1e-6 * given
            if bad.any():
                y = bad[bad].index[0]
                quality.add(STAGE, path.name, None, f"{area_code} All ages {y}",
                            f"'All ages' ({given[y]:,.0f}) differs from the sum of single ages "
                            f"({sums[y]:,.0f}); the 'All ages' row is used", field_="AGE_GROUP",
                            action="flagged")
        groups = {"0-17": (0, 17), "18-64": (18, 64), OVER_65: (65, None)}
        age_of = pd.Series({a: v for a, v in single.items() if v is not None})
        for name, (lo, hi) in groups.items():
            if hi is not None and top <= hi:
                continue  # the open-ended top group would straddle this band
            if lo > top:
                continue
            sel = age_of[(age_of >= lo) & ((age_of <= hi) if hi is not None else True)].index
            s = table.loc[sel].sum()
            out += [{"age_group": name, "year": y, "value": float(s[y]),
                     "basis": f"{src}: ages summed"} for y in yrs]
        if ALL_AGES not in table.index:
            out += [{"age_group": ALL_AGES, "year": y, "value": float(sums[y]),
                     "basis": f"{src}: single ages summed"} for y in yrs]
    for a in table.index:
        if single[a] is None:
            out += [{"age_group": a, "year": y, "value": float(table.loc[a, y]), "basis": src} for y in yrs]
    return pd.DataFrame(out)


# -- interpolation ------------------------------------------------------------------------

def interpolate_controls(anchors: pd.DataFrame) -> pd.DataFrame:
    """Fill every year between each age group's anchor years by linear interpolation.

    Parameters
    ----------
    anchors
        ``age_group, year, value, basis`` with one row per (age group, year).

    Returns
    -------
    pandas.DataFrame
        ``year, age_group, value, basis``; interpolated rows say between which anchors.
    """
    out = []
    for age, sub in anchors.sort_values(["age_group", "year"], kind="stable").groupby("age_group", sort=True):
        ys, vs, bs = sub["year"].to_numpy(int), sub["value"].to_numpy(float), sub["basis"].tolist()
        for y in range(ys[0], ys[-1] + 1):
            j = int(np.searchsorted(ys, y))
            if j < len(ys) and ys[j] == y:
                out.append((y, age, vs[j], bs[j]))
            else:
                v = float(np.interp(y, ys, vs))
                out.append((y, age, v, f"interpolated linearly between {ys[j - 1]} ({vs[j - 1]:,.0f}) "
                                       f"and {ys[j]} ({vs[j]:,.0f})"))
    return pd.DataFrame(out, columns=CONTROL_COLUMNS)


def control_series(controls: pd.DataFrame, age_group: str, years: list[int], path: str | Path) -> np.ndarray:
    """Values of one control age group for ``years``; raises if any year is not covered."""
    sub = controls[controls["age_group"] == age_group].set_index("year")["value"]
    missing = [y for y in years if y not in sub.index]
    if missing:
        span = f"{sub.index.min()}-{sub.index.max()}" if len(sub) else "none"
        raise InputError(path, f"controls for {age_group!r} do not cover year(s) {missing} "
                               f"(given: {span}); nothing is extrapolated")
    return sub.loc[years].to_numpy(float)


# -- housing ------------------------------------------------------------------------------

HOUSING_COLUMNS = ["period", "start", "end", "dwellings"]


def load_housing(path: str | Path, area_code: str, quality: QualityLog | None = None) -> pd.DataFrame:
    """Read a housing supply trajectory: dwellings completed per year.

    ``year`` is a financial year ``2019/20`` (1 April 2019 to 31 March 2020) or a calendar year
    ``2019``; ``dwellings`` a non-negative count. ``area_code`` filters rows if the column exists.

    Returns
    -------
    pandas.DataFrame
        ``period`` (as written), ``start``, ``end`` (decimal years), ``dwellings``, in time order.
    """
    path = Path(path)
    df = _read(path)
    missing = [c for c in ("year", "dwellings") if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; expected year, dwellings (area_code optional)")
    df = df.assign(_i=np.arange(len(df)))
    if "area_code" in df.columns:
        df = df[df["area_code"].str.strip() == area_code]
        if df.empty:
            raise InputError(path, f"no rows for area_code {area_code}")
    rows = []
    for i, period, dw in df[["_i", "year", "dwellings"]].itertuples(index=False):
        p = period.strip()
        m = re.fullmatch(r"(\d{4})\s*/\s*(\d{2}|\d{4})", p)
        if m:
            start = int(m.group(1))
            if int(m.group(2)) % 100 != (start + 1) % 100:
                raise InputError(path, f"column 'year': {p!r} is not a financial year like 2019/20", row=_line(i))
            s, e = start + 0.25, start + 1.25
        elif re.fullmatch(r"\d{4}", p):
            s, e = float(p), float(p) + 1.0
        else:
            raise InputError(path, f"column 'year': {p!r} is neither a financial year (2019/20) nor a year",
                             row=_line(i))
        v = _number(path, dw, i, "dwellings")
        if v < 0:
            raise InputError(path, f"column 'dwellings': negative count {v:g}", row=_line(i))
        rows.append((p, s, e, v, i))
    out = pd.DataFrame(rows, columns=[*HOUSING_COLUMNS, "_i"]).sort_values("start", kind="stable")
    dup = out["start"].duplicated()
    if dup.any():
        i = int(out.loc[dup, "_i"].iloc[0])
        raise InputError(path, f"duplicate or overlapping period {out.loc[dup, 'period'].iloc[0]!r}", row=_line(i))
    if quality is not None:
        quality.account(f"{STAGE}: {path.name}", path.name, len(df), len(out), 0)
    return out.drop(columns="_i").reset_index(drop=True)


def dwellings_by_year(housing: pd.DataFrame, base_time: float, years: list[int]) -> np.ndarray:
    """Cumulative dwellings completed after ``base_time`` and by mid-year of each of ``years``.

    A period counts once it has both started on or after the base date and ended by 1 July of
    the year (projections are mid-year); periods straddling the base date are left out.
    """
    after = housing[housing["start"] >= base_time - 1e-9]
    return np.array([after.loc[after["end"] <= y + 0.5 + 1e-9, "dwellings"].sum() for y in years], dtype=float)

"""Provision tables: pharmacies, rates per 10,000, opening hours, boundary bands, demography.

Each function takes plain frames (the column contracts in docs/ARCHITECTURE.md) and returns a
table with locality rows, then the area row, then (where it applies) England.
Dispensing appliance contractors (DAC) are not pharmacies and are excluded from counts;
they are reported separately in the pharmacies table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import InputError
from ..geography.assign import band_labels
from ..loaders.population import age_groups, load_sape
from ..provenance import with_provenance

CATEGORIES = [
    "7 days late",
    "7 days",
    "weekdays + Saturday",
    "weekdays + Saturday morning only",
    "weekdays only",
    "other",
    "hours unknown",
]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def is_pharmacy(df: pd.DataFrame) -> pd.Series:
    """Community pharmacies and LPS count as pharmacies; appliance contractors do not."""
    if "is_dac" in df:
        return ~df["is_dac"].fillna(False).astype(bool)
    return pd.Series(True, index=df.index)


def total_weekly_hours(ph: pd.DataFrame) -> float:
    """Sum of weekly hours; unknown hours (no list, e.g. Wales) make the total unknown, not smaller."""
    return float(ph["weekly_hours"].sum()) if ph["weekly_hours"].notna().all() else float("nan")


def _rate(num: float, den: float) -> float:
    return float(num) / float(den) * 10_000 if den else float("nan")


def _per(den: float, num: float) -> float:
    return float(den) / float(num) if num else float("nan")


def locality_order(localities: pd.DataFrame) -> list[str]:
    """Locality names in report order."""
    return list(localities["locality"])


def count_flag(ph: pd.DataFrame, col: str) -> float:
    """How many rows have ``col`` true; NaN ("not identified") where any row's status is unknown."""
    if col not in ph:
        return float("nan")
    s = ph[col]
    if len(s) and s.isna().any():
        return float("nan")
    return float(s.astype(bool).sum())


def _provision_row(level: str, name: str, population: float, pop18: float, ph: pd.DataFrame) -> dict:
    n = int(len(ph))
    return {
        "level": level,
        "locality": name,
        "population": population,
        "pop_18plus": pop18,
        "pharmacies": n,
        "hundred_hour": count_flag(ph, "is_100_hour"),
        "distance_selling": count_flag(ph, "is_distance_selling"),
        "open_72plus_hours": count_flag(ph, "open_72plus_hours"),
        "open_100plus_hours": count_flag(ph, "open_100plus_hours"),
        "lps": int(ph["is_lps"].sum()) if n else 0,
        "rate_per_10k": _rate(n, population),
        "rate_per_10k_18plus": _rate(n, pop18),
        "residents_per_pharmacy": _per(population, n),
    }


def england_comparator(national_list: pd.DataFrame, national_population: float,
                       national_pop18: float) -> dict:
    """England row computed from the national list and national population (never typed in)."""
    ph = national_list[is_pharmacy(national_list)]
    return _provision_row("england", "England", national_population, national_pop18, ph)


def provision_table(pharmacies: pd.DataFrame, lsoa: pd.DataFrame, localities: pd.DataFrame,
                    area_name: str, england: dict | None, sources: list) -> pd.DataFrame:
    """Population, pharmacies by type, rate per 10,000 and residents per pharmacy."""
    inside = pharmacies[pharmacies["in_area"] & is_pharmacy(pharmacies)]
    pop = lsoa.groupby("locality")[["pop_total", "pop_18plus"]].sum()
    rows = [_provision_row("locality", loc, float(pop.loc[loc, "pop_total"]), float(pop.loc[loc, "pop_18plus"]),
                           inside[inside["locality"] == loc]) for loc in locality_order(localities)]
    rows.append(_provision_row("area", area_name, float(lsoa["pop_total"].sum()),
                               float(lsoa["pop_18plus"].sum()), inside))
    if england is not None:
        rows.append(england)
    return with_provenance(pd.DataFrame(rows), *sources)


def _groups(pharmacies: pd.DataFrame, localities: pd.DataFrame, area_name: str):
    inside = pharmacies[pharmacies["in_area"] & is_pharmacy(pharmacies)]
    for loc in locality_order(localities):
        yield "locality", loc, inside[inside["locality"] == loc]
    yield "area", area_name, inside


def opening_categories_table(pharmacies: pd.DataFrame, localities: pd.DataFrame, area_name: str,
                             sources: list) -> pd.DataFrame:
    """Pharmacies in each opening-days category, per locality and for the area."""
    rows = []
    for level, name, ph in _groups(pharmacies, localities, area_name):
        counts = ph["opening_category"].value_counts()
        for cat in CATEGORIES:
            n = int(counts.get(cat, 0))
            rows.append({"level": level, "locality": name, "category": cat, "pharmacies": n,
                         "share": n / len(ph) if len(ph) else float("nan")})
    return with_provenance(pd.DataFrame(rows), *sources)


def opening_hours_table(pharmacies: pd.DataFrame, lsoa: pd.DataFrame, localities: pd.DataFrame,
                        area_name: str, sources: list) -> pd.DataFrame:
    """Weekly open hours, hours per 10,000 residents, and late / Saturday pm / Sunday counts."""
    pop = lsoa.groupby("locality")["pop_total"].sum()
    rows = []
    for level, name, ph in _groups(pharmacies, localities, area_name):
        population = float(pop.get(name, np.nan)) if level == "locality" else float(lsoa["pop_total"].sum())
        known = ph["weekly_hours"].notna()
        hours = total_weekly_hours(ph)
        rows.append({"level": level, "locality": name, "population": population, "pharmacies": len(ph),
                     "hours_unknown": int((~known).sum()),
                     "weekly_hours": hours, "hours_per_10k": _rate(hours, population),
                     "late_weekday": int(ph["late_weekday"].sum()), "sat_pm": int(ph["sat_pm"].sum()),
                     "sunday": int(ph["sunday"].sum())})
    return with_provenance(pd.DataFrame(rows), *sources)


def boundary_bands_table(pharmacies: pd.DataFrame, bands: list[str], sources: list) -> pd.DataFrame:
    """The same counts for pharmacies outside the area, by distance band from its boundary."""
    rows = []
    for band in bands:
        ph = pharmacies[(pharmacies["band"] == band) & is_pharmacy(pharmacies)]
        row = {"band": band, "pharmacies": len(ph), "hundred_hour": count_flag(ph, "is_100_hour"),
               "distance_selling": count_flag(ph, "is_distance_selling"),
               "open_72plus_hours": count_flag(ph, "open_72plus_hours"),
               "open_100plus_hours": count_flag(ph, "open_100plus_hours"), "lps": int(ph["is_lps"].sum()),
               "weekly_hours": total_weekly_hours(ph), "late_weekday": int(ph["late_weekday"].sum()),
               "sat_pm": int(ph["sat_pm"].sum()), "sunday": int(ph["sunday"].sum())}
        counts = ph["opening_category"].value_counts()
        row.update({cat: int(counts.get(cat, 0)) for cat in CATEGORIES})
        rows.append(row)
    return with_provenance(pd.DataFrame(rows), *sources)


def demography_table(lsoa: pd.DataFrame, localities: pd.DataFrame, area_name: str,
                     sources: list) -> pd.DataFrame:
    """Population by broad age band and by IMD 2019 quintile, per locality and for the area."""
    def row(level: str, name: str, df: pd.DataFrame) -> dict:
        total = float(df["pop_total"].sum())
        out: dict[str, Any] = {"level": level, "locality": name, "population": total,
               "age_0_17": float(df["pop_0_17"].sum()), "age_18_64": float(df["pop_18_64"].sum()),
               "age_65plus": float(df["pop_65plus"].sum())}
        out["share_65plus"] = out["age_65plus"] / total if total else float("nan")
        q = df["imd2019_quintile"] if "imd2019_quintile" in df else pd.Series(np.nan, index=df.index)
        for k in range(1, 6):
            out[f"imd_q{k}"] = float(df.loc[q == k, "pop_total"].sum()) if q.notna().any() else float("nan")
        return out

    rows = [row("locality", loc, lsoa[lsoa["locality"] == loc]) for loc in locality_order(localities)]
    rows.append(row("area", area_name, lsoa))
    return with_provenance(pd.DataFrame(rows), *sources)


PHARMACY_COLUMNS = [
    "ods_code", "trading_name", "org_name", "address", "postcode", "hwb", "in_area", "band", "locality",
    "locality_source", "near_locality_boundary", "dist_to_locality_boundary_m", "dist_to_area_m",
    "lsoa11_code", "msoa11_code", "easting", "northing", "lon", "lat", "contract_type", "is_100_hour",
    "hundred_hour_source", "is_distance_selling", "distance_selling_source", "is_lps", "is_dac",
    "open_72plus_hours", "open_100plus_hours", "hours_source",
    "weekly_hours", "opening_category", "late_weekday", "sat_pm", "sunday",
    *[f"hours_{d}" for d in DAYS], "geocode_source",
]


def pharmacies_table(pharmacies, sources: list) -> pd.DataFrame:
    """One row per pharmacy with its assignment shown (in area / band / locality and why)."""
    df = pharmacies.copy()
    if "geometry" in df and len(df):
        ll = df.geometry.to_crs(4326)
        df["lon"], df["lat"] = ll.x.round(6), ll.y.round(6)
    cols = [c for c in PHARMACY_COLUMNS if c in df.columns]
    df = pd.DataFrame(df[cols]).sort_values(["in_area", "locality", "ods_code"], ascending=[False, True, True],
                                            kind="stable", na_position="last")
    return with_provenance(df.reset_index(drop=True), *sources)


def national_population(path: Path, country_prefix: str = "E01", *, cache: Path | None = None) -> tuple[float, float]:
    """England (or Wales) total and 18+ population from a small-area single-year-of-age file.

    The file is read and checked as the area's own population is (:func:`pna.loaders.population.load_sape`),
    restricted to LSOAs whose code starts with ``country_prefix``; ``cache`` is the input cache folder.

    Raises
    ------
    InputError
        Missing columns, no LSOA of the country, or a blank, non-numeric or negative count
        (naming the row, LSOA and column): a damaged comparator would make England's rate wrong.
    """
    sape = load_sape(Path(path), code_prefix=country_prefix, cache=cache)
    if sape.empty:
        raise InputError(path, f"no LSOA codes starting {country_prefix} (the national comparator needs them)")
    groups = age_groups(sape)
    return float(groups["pop_total"].sum()), float(groups["pop_18plus"].sum())


def build_provision_tables(cfg: Config, pharmacies, lsoa, localities, national_list: pd.DataFrame | None
                           ) -> dict[str, pd.DataFrame]:
    """All provision tables for one run."""
    inp = cfg.inputs
    pop_src = [inp.population, inp.lsoa_msoa_lookup, cfg.localities.file]
    list_src = [inp.pharmaceutical_list or inp.ods_history, inp.codepoint or inp.postcode_directory]
    england = None
    if national_list is not None and cfg.area.country == "england":
        total, adult = national_population(cfg.data_path(inp.national_population), "E01", cache=cfg.input_cache)
        england = england_comparator(national_list, total, adult)
    bands = band_labels(cfg.boundary_bands_km)
    tables = {
        "pharmacies": pharmacies_table(pharmacies, list_src + [inp.lsoa_boundaries, cfg.localities.file]),
        "provision": provision_table(pharmacies, lsoa, localities, cfg.area.name, england,
                                     list_src + pop_src + ([inp.national_population] if england else [])),
        "opening_categories": opening_categories_table(pharmacies, localities, cfg.area.name, list_src),
        "opening_hours": opening_hours_table(pharmacies, lsoa, localities, cfg.area.name, list_src + pop_src),
        "boundary_bands": boundary_bands_table(pharmacies, bands, list_src + [inp.la_boundaries]),
        "demography": demography_table(lsoa, localities, cfg.area.name, pop_src + [inp.imd2019]),
    }
    return tables

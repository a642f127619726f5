"""Coverage: the share of residents within each travel-time threshold.

Works for any travel model: it only needs the demand points and their minutes
to the nearest pharmacy (``inf`` where unreachable, which counts as not covered).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..modes import Method, Mode

COVERAGE_COLUMNS = ["mode", "method", "is_estimate", "group_type", "group", "threshold_min",
                    "population", "population_within", "share_within", "provenance"]
AREA_GROUP = "all residents"
AGE_GROUP = "65+"


def _groups(demand: pd.DataFrame) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """(group_type, group, row mask, weights) for every reported group, in report order."""
    pop = demand["population"].to_numpy(float)
    every = np.ones(len(demand), dtype=bool)
    out = [("area", AREA_GROUP, every, pop)]
    if "locality" in demand:
        loc = demand["locality"]
        for name in sorted(loc.dropna().astype(str).unique()):
            out.append(("locality", name, (loc.astype(str) == name).to_numpy() & loc.notna().to_numpy(), pop))
    if "imd2019_quintile" in demand:
        q = pd.to_numeric(demand["imd2019_quintile"], errors="coerce")
        for v in sorted(q.dropna().unique()):
            out.append(("imd2019_quintile", str(int(v)), (q == v).to_numpy(), pop))
    if "pop_65plus" in demand:
        out.append(("age_65plus", AGE_GROUP, every, demand["pop_65plus"].to_numpy(float)))
    return out


def coverage_table(demand: pd.DataFrame, minutes: np.ndarray, thresholds: list[int] | list[float],
                   mode: Mode, method: Method, is_estimate: bool, provenance: str) -> pd.DataFrame:
    """Residents within each threshold, for the area, each locality, IMD quintile and the 65+.

    Parameters
    ----------
    demand
        Demand points: ``population`` and optionally ``pop_65plus``, ``locality``,
        ``imd2019_quintile`` (groups with no value, e.g. no IMD in Wales, are omitted).
    minutes
        Minutes to the nearest pharmacy per demand point (``inf`` = unreachable).
    thresholds
        Minutes, increasing.

    Returns
    -------
    pandas.DataFrame
        Columns ``mode, method, is_estimate, group_type, group, threshold_min, population,
        population_within, share_within, provenance``.
    """
    minutes = np.asarray(minutes, dtype=float)
    if len(minutes) != len(demand):
        raise ValueError(f"{len(minutes)} minutes for {len(demand)} demand points")
    minutes = np.where(np.isnan(minutes), np.inf, minutes)
    th = np.asarray(sorted(thresholds), dtype=float)
    within = minutes[None, :] <= th[:, None]  # (n_thresholds, n_demand)
    rows = []
    for gtype, name, mask, w in _groups(demand):
        wm = np.where(mask, w, 0.0)
        total = float(wm.sum())
        # same summation as ``total`` (a matrix product sums in another order and can exceed it)
        inside = np.minimum(np.where(within, wm[None, :], 0.0).sum(axis=1), total)
        for t, pin in zip(th, inside):
            rows.append({"mode": mode, "method": method, "is_estimate": bool(is_estimate),
                         "group_type": gtype, "group": name,
                         "threshold_min": int(t) if float(t).is_integer() else float(t),
                         "population": total, "population_within": float(pin),
                         "share_within": float(pin / total) if total > 0 else np.nan,
                         "provenance": provenance})
    return pd.DataFrame(rows, columns=COVERAGE_COLUMNS)


BEYOND_COLUMNS = ["mode", "threshold_min", "point_id", "lsoa11_code", "locality", "imd2019_quintile",
                  "population", "pop_65plus", "minutes", "nearest_ods", "provenance"]
BEYOND_LSOA_COLUMNS = ["mode", "threshold_min", "lsoa11_code", "locality", "imd2019_quintile",
                       "points_beyond", "population_beyond", "pop_65plus_beyond", "population",
                       "share_beyond", "max_minutes", "provenance"]


def beyond_table(demand: pd.DataFrame, minutes: np.ndarray, threshold: float, mode: Mode,
                 provenance: str, nearest_ods: np.ndarray | None = None) -> pd.DataFrame:
    """Demand points further than ``threshold`` minutes from any pharmacy, furthest first."""
    minutes = np.asarray(minutes, dtype=float)
    df = pd.DataFrame({
        "mode": mode, "threshold_min": threshold,
        "point_id": demand["point_id"].to_numpy(),
        "lsoa11_code": demand["lsoa11_code"].to_numpy(),
        "locality": demand["locality"].to_numpy() if "locality" in demand else None,
        "imd2019_quintile": demand["imd2019_quintile"].to_numpy() if "imd2019_quintile" in demand else np.nan,
        "population": demand["population"].to_numpy(float),
        "pop_65plus": demand["pop_65plus"].to_numpy(float) if "pop_65plus" in demand else np.nan,
        "minutes": minutes,
        "nearest_ods": nearest_ods if nearest_ods is not None else None,
        "provenance": provenance,
    })
    out = df[~(minutes <= threshold)]
    return out.sort_values(["minutes", "point_id"], ascending=[False, True], kind="stable") \
        .reset_index(drop=True)[BEYOND_COLUMNS]


def beyond_lsoa_table(demand: pd.DataFrame, minutes: np.ndarray, threshold: float, mode: Mode,
                      provenance: str) -> pd.DataFrame:
    """LSOAs with residents beyond ``threshold`` minutes: how many, and what share of the LSOA."""
    minutes = np.asarray(minutes, dtype=float)
    df = pd.DataFrame({"lsoa11_code": demand["lsoa11_code"].to_numpy(),
                       "population": demand["population"].to_numpy(float),
                       "pop_65plus": (demand["pop_65plus"].to_numpy(float) if "pop_65plus" in demand
                                      else np.zeros(len(demand))),
                       "minutes": minutes})
    df["beyond"] = ~(minutes <= threshold)
    df["pb"] = np.where(df["beyond"], df["population"], 0.0)
    df["p65b"] = np.where(df["beyond"], df["pop_65plus"], 0.0)
    g = df.groupby("lsoa11_code", sort=True)
    agg = pd.DataFrame({"points_beyond": g["beyond"].sum().astype(int),
                        "population_beyond": g["pb"].sum(), "pop_65plus_beyond": g["p65b"].sum(),
                        "population": g["population"].sum(), "max_minutes": g["minutes"].max()})
    agg = agg[agg["points_beyond"] > 0].reset_index()
    agg["share_beyond"] = agg["population_beyond"] / agg["population"].where(agg["population"] > 0)
    attrs = pd.DataFrame(demand).drop_duplicates("lsoa11_code").set_index("lsoa11_code")
    for c in ("locality", "imd2019_quintile"):
        agg[c] = attrs[c].reindex(agg["lsoa11_code"]).to_numpy() if c in attrs else None
    agg["mode"], agg["threshold_min"], agg["provenance"] = mode, threshold, provenance
    return agg.sort_values(["population_beyond", "lsoa11_code"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)[BEYOND_LSOA_COLUMNS]


def demand_with_minutes(demand: gpd.GeoDataFrame, minutes: np.ndarray, site_index: np.ndarray,
                        sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """Demand points plus ``minutes`` (inf if unreachable) and ``nearest_ods`` (None if none)."""
    out = demand.copy()
    out["minutes"] = np.asarray(minutes, dtype=float)
    codes = sites["ods_code"].to_numpy(dtype=object) if len(sites) else np.empty(0, dtype=object)
    idx = np.asarray(site_index, dtype=np.int64)
    ok = (idx >= 0) & np.isfinite(out["minutes"].to_numpy())
    nearest = np.full(len(out), None, dtype=object)
    nearest[ok] = codes[idx[ok]]
    out["nearest_ods"] = nearest
    return out

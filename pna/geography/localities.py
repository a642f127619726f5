"""Localities made by rule, for an area with no locality file of its own.

``districts``: a county's localities are its districts (the ONS district names). ``msoa_groups``:
a unitary's MSOAs are grouped by place: Ward's hierarchical clustering of the MSOAs'
population-weighted centres (deterministic: no random start), each group named by its compass
direction from the area's centre ("Central" near it), with the group's largest MSOA name added
where two groups share a direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["district_localities", "grouped_localities", "default_groups", "RULE_TEXT"]

#: How each rule is described to readers.
RULE_TEXT = {
    "file": "localities as given in the board's locality file",
    "msoa": "each middle-layer super output area (MSOA) is its own locality",
    "districts": "each district council area of the county is a locality",
    "msoa_groups": "neighbouring MSOAs grouped into localities by place (an automatic grouping the board should "
                   "review)",
}

_COMPASS = ["East", "North East", "North", "North West", "West", "South West", "South", "South East"]


def default_groups(n_msoa: int) -> int:
    """About one locality per six MSOAs, at least 3 and at most 8 (never more than the MSOAs)."""
    return int(min(n_msoa, max(3, min(8, round(n_msoa / 6)))))


def district_localities(lsoa_msoa: pd.DataFrame, lsoa_district: pd.Series, district_names: pd.Series) -> pd.DataFrame:
    """Each MSOA's district as its locality.

    Parameters
    ----------
    lsoa_msoa
        Index ``lsoa11_code``; column ``msoa11_code``.
    lsoa_district
        District code per ``lsoa11_code``.
    district_names
        District name per district code.

    Returns
    -------
    DataFrame
        Index ``msoa11_code`` (sorted); column ``locality`` (the district name of most of its LSOAs).
    """
    df = pd.DataFrame({"msoa11_code": lsoa_msoa["msoa11_code"],
                       "district": lsoa_district.reindex(lsoa_msoa.index)})
    if df["district"].isna().any():
        missing = sorted(df.index[df["district"].isna()])[:5]
        raise InputError("localities", f"no district for LSOA(s) {', '.join(missing)}")
    top = (df.groupby(["msoa11_code", "district"]).size().rename("n").reset_index()
           .sort_values(["msoa11_code", "n", "district"], ascending=[True, False, True])
           .drop_duplicates("msoa11_code").set_index("msoa11_code")["district"])
    names = top.map(district_names).fillna(top)
    return pd.DataFrame({"locality": names.to_numpy()}, index=pd.Index(top.index, name="msoa11_code")).sort_index()


def grouped_localities(centres: pd.DataFrame, *, groups: int) -> pd.DataFrame:
    """MSOAs grouped by place and named by direction.

    Parameters
    ----------
    centres
        Index ``msoa11_code``; ``x, y`` (metres, EPSG:27700), ``population``, ``name`` (a readable
        MSOA name).
    groups
        How many localities.

    Returns
    -------
    DataFrame
        Index ``msoa11_code`` (sorted); column ``locality``.
    """
    from scipy.cluster.hierarchy import fcluster, linkage  # scipy: deterministic Ward clustering

    c = centres.sort_index()
    xy = c[["x", "y"]].to_numpy(float)
    k = int(min(groups, len(c)))
    labels = np.zeros(len(c), dtype=int) if k <= 1 else fcluster(linkage(xy, method="ward"), t=k, criterion="maxclust")
    w = c["population"].to_numpy(float).clip(min=1e-9)
    centre = np.average(xy, axis=0, weights=w)
    radius = float(np.sqrt(np.average(((xy - centre) ** 2).sum(axis=1), weights=w)))
    names: dict[int, str] = {}
    for g in np.unique(labels):
        m = labels == g
        gc = np.average(xy[m], axis=0, weights=w[m])
        dx, dy = gc - centre
        if np.hypot(dx, dy) < 0.5 * radius:
            names[int(g)] = "Central"
        else:
            names[int(g)] = _COMPASS[int(np.round(np.degrees(np.arctan2(dy, dx)) / 45.0)) % 8]
    taken = pd.Series(names)
    for g, n in names.items():
        if (taken == n).sum() > 1:
            m = labels == g
            biggest = c.loc[m, ["population", "name"]].sort_values(["population", "name"],
                                                                   ascending=[False, True]).iloc[0]["name"]
            names[g] = f"{n} ({biggest})"
    loc = [names[int(g)] for g in labels]
    return pd.DataFrame({"locality": loc}, index=pd.Index(c.index, name="msoa11_code"))

"""Supply points: the pharmacies residents can walk or drive to.

Residents near the boundary use pharmacies over it, so the supply is every
pharmacy inside the area plus those in the configured boundary bands.
Distance-selling pharmacies may not provide essential services face to face,
so they are left out of face-to-face access when the config says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Config
from ..crs import BNG, to_bng
from ..quality import QualityLog

__all__ = ["Supply", "select_supply", "site_xy"]

STAGE = "access.supply"


@dataclass(frozen=True)
class Supply:
    """The face-to-face supply: sites residents can walk, drive or ride to.

    Attributes
    ----------
    sites
        Selected pharmacies, EPSG:27700, sorted by ``ods_code``.
    note
        What was counted and what was left out, in plain words.
    excluded_distance_selling, excluded_unlocated
        Counts of pharmacies left out for each reason.
    """

    sites: gpd.GeoDataFrame
    note: str
    excluded_distance_selling: int
    excluded_unlocated: int


def select_supply(pharmacies: gpd.GeoDataFrame, cfg: Config, *,
                  quality: QualityLog | None = None) -> Supply:
    """Pharmacies that count as face-to-face supply for travel times.

    Parameters
    ----------
    pharmacies
        ``ctx.pharmacies``: ``ods_code, in_area, dist_to_area_m, geometry`` and, where
        classified, ``is_distance_selling``.
    cfg
        ``boundary_bands_km`` (outermost band kept) and ``travel.exclude_distance_selling``.
    quality
        Pharmacies without a location are recorded here (flagged: they cannot be reached).

    Returns
    -------
    Supply
        The selected sites and a plain note of what was left out.
    """
    df = to_bng(pharmacies) if pharmacies.crs is not None else pharmacies
    limit_m = max(cfg.boundary_bands_km) * 1000.0
    in_area = df["in_area"].fillna(False).astype(bool) if "in_area" in df else pd.Series(True, index=df.index)
    dist = pd.to_numeric(df.get("dist_to_area_m", pd.Series(0.0, index=df.index)), errors="coerce")
    keep = in_area | (dist <= limit_m)

    no_geom = df.geometry.isna() | df.geometry.is_empty
    for r in df[keep & no_geom].itertuples():
        if quality is not None:
            quality.add(STAGE, "pharmacies", None, r.ods_code,
                        "pharmacy has no location; it is left out of travel times", "geometry", "flagged")
    keep &= ~no_geom

    ds = (df["is_distance_selling"].fillna(False).astype(bool) if "is_distance_selling" in df
          else pd.Series(False, index=df.index))
    n_ds = int((keep & ds).sum())
    if cfg.travel.exclude_distance_selling:
        keep &= ~ds

    out = df[keep].sort_values("ods_code", kind="stable").reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=BNG)
    n_in = int(in_area[keep].sum())
    n_cross = int(keep.sum()) - n_in
    parts = [f"{n_in} pharmacies inside the area and {n_cross} within "
             f"{max(cfg.boundary_bands_km):g} km of its boundary count as supply"]
    if "is_distance_selling" not in df or df["is_distance_selling"].isna().all():
        parts.append("no pharmacy is identified as distance-selling in the data, so none was excluded")
    elif cfg.travel.exclude_distance_selling:
        parts.append(f"{n_ds} distance-selling pharmacies were excluded from face-to-face access")
    else:
        parts.append(f"{n_ds} distance-selling pharmacies were included (exclusion switched off)")
    if int((in_area | (dist <= limit_m))[no_geom].sum()):
        parts.append(f"{int((in_area | (dist <= limit_m))[no_geom].sum())} could not be located "
                     "and are left out")
    return Supply(sites=out, note="; ".join(parts) + ".",
                  excluded_distance_selling=n_ds if cfg.travel.exclude_distance_selling else 0,
                  excluded_unlocated=int((in_area | (dist <= limit_m))[no_geom].sum()))


def site_xy(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Site coordinates as an (n, 2) float array (EPSG:27700)."""
    return np.column_stack([sites.geometry.x.to_numpy(float), sites.geometry.y.to_numpy(float)]) \
        if len(sites) else np.empty((0, 2))

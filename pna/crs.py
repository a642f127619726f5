"""Coordinate reference systems, checked in one place.

All projected work is in British National Grid (EPSG:27700, metres); boundaries arrive in
WGS84 and maps are drawn in it.
"""

from __future__ import annotations

from typing import TypeVar

import geopandas as gpd

from .errors import PipelineError

__all__ = ["BNG", "WGS84", "BNG_EPSG", "to_bng", "to_wgs84", "require_bng", "is_bng"]

#: British National Grid, the CRS of every projected layer.
BNG = "EPSG:27700"
BNG_EPSG = 27700
#: WGS84 longitude/latitude, for boundaries as published and for web maps.
WGS84 = "EPSG:4326"

G = TypeVar("G", gpd.GeoDataFrame, gpd.GeoSeries)


def is_bng(obj: gpd.GeoDataFrame | gpd.GeoSeries) -> bool:
    """True when ``obj`` is in British National Grid."""
    return obj.crs is not None and obj.crs.to_epsg() == BNG_EPSG


def to_bng(obj: G) -> G:
    """``obj`` in British National Grid (reprojected if needed; a CRS-less frame is an error)."""
    if obj.crs is None:
        raise PipelineError("geometry has no coordinate reference system; cannot reproject to EPSG:27700")
    return obj if is_bng(obj) else obj.to_crs(BNG)


def to_wgs84(obj: G) -> G:
    """``obj`` in WGS84 longitude/latitude, for web maps."""
    if obj.crs is None:
        raise PipelineError("geometry has no coordinate reference system; cannot reproject to EPSG:4326")
    return obj if obj.crs.to_epsg() == 4326 else obj.to_crs(WGS84)


def require_bng(obj: G, what: str) -> G:
    """Return ``obj`` unchanged if it is in British National Grid, else raise naming ``what``."""
    if not is_bng(obj):
        raise PipelineError(f"{what}: expected EPSG:27700 (British National Grid), found {obj.crs}")
    return obj

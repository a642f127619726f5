"""Catchment polygons: the area from which each pharmacy can be reached within a time.

Network isochrones follow the streets: the reached part of every street (edges cut
where the time runs out) buffered by a fixed distance for the homes that front it.
Convex hulls would claim fields, rivers and railways the streets do not cross.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from ..crs import BNG
from .graph import StreetGraph
from .routing import snap
from .supply import site_xy

ISOCHRONE_COLUMNS = ["ods_code", "threshold_min", "geometry"]


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"ods_code": [], "threshold_min": []}, geometry=[], crs=BNG)


def edge_fractions(graph: StreetGraph, node_seconds: np.ndarray, *, budget_s: float) -> np.ndarray:
    """Per edge u→v, the fraction next to v from which the site is reached within ``budget_s``.

    ``node_seconds`` is the time from each node *to* the site. A point a fraction ``f`` along
    edge u→v reaches the site via v in ``(1 − f)·t_e + T[v]``, so the reached part of the edge is
    the stretch next to v of fraction ``min(1, (budget − T[v]) / t_e)``; edges whose v is not
    reached contribute nothing (the reverse edge v→u covers the other direction where it exists).
    """
    t = graph.edges["time_s"].to_numpy(float)
    tv = node_seconds[graph.edges["v"].to_numpy()]
    return np.clip((budget_s - tv) / np.maximum(t, 1e-9), 0.0, 1.0)


def segments_of(graph: StreetGraph, frac: np.ndarray, *, keep: np.ndarray | None = None) -> np.ndarray:
    """Line segments (k, 2, 2): the reached stretch of each kept edge (edges are straight)."""
    keep = frac > 0 if keep is None else keep & (frac > 0)
    e = graph.edges
    u, v = e["u"].to_numpy()[keep], e["v"].to_numpy()[keep]
    xy_u, xy_v, f = graph.node_xy[u], graph.node_xy[v], frac[keep]
    start = xy_v + (xy_u - xy_v) * f[:, None]
    return np.stack([start, xy_v], axis=1)


def reached_segments(graph: StreetGraph, node_seconds: np.ndarray, *, budget_s: float) -> np.ndarray:
    """Line segments (k, 2, 2) of the network from which the site is reached within ``budget_s``."""
    return segments_of(graph, edge_fractions(graph, node_seconds, budget_s=budget_s))


def catchment_polygon(segments: np.ndarray, buffer_m: float, *, grid_m: float = 5.0) -> shapely.Geometry:
    """Union of the buffered segments (vectorised buffer, then one union).

    Segments are snapped to a ``grid_m`` grid, the two directions of a two-way street are
    merged, chains are joined (``line_merge``) and simplified within ``grid_m`` before
    buffering: the same polygon to within a few metres, at a fraction of the cost.
    """
    a = np.round(segments[:, 0] / grid_m) * grid_m
    b = np.round(segments[:, 1] / grid_m) * grid_m
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo, hi = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    key = np.concatenate([lo, hi], axis=1)
    point = (key[:, :2] == key[:, 2:]).all(axis=1)
    pts = np.unique(key[point, :2], axis=0)
    key = np.unique(key[~point], axis=0)
    parts = []
    if len(key):
        merged = shapely.line_merge(shapely.multilinestrings(shapely.linestrings(key.reshape(-1, 2, 2))))
        parts.append(shapely.simplify(shapely.get_parts(merged), grid_m))
    if len(pts):  # edge stubs shorter than the grid
        parts.append(shapely.points(pts))
    geoms = np.concatenate(parts)
    return shapely.union_all(shapely.buffer(geoms, buffer_m, quad_segs=4))


def network_isochrones(graph: StreetGraph, sites: gpd.GeoDataFrame, thresholds_min: list[int],
                       max_snap_m: float = 500.0, buffer_m: float = 50.0,
                       connector_kmh: float | None = None, grid_m: float = 5.0) -> gpd.GeoDataFrame:
    """Per pharmacy and threshold, the polygon of streets from which it is reached in time.

    Parameters
    ----------
    graph
        Street graph (edge times in seconds).
    sites
        Pharmacies (``ods_code``, Point geometry, EPSG:27700); sites further than
        ``max_snap_m`` from the network get no isochrone.
    thresholds_min
        Minutes.
    buffer_m
        Half-width of the band around reached streets counted as reached (frontage depth).
    connector_kmh
        Speed of the site's straight connector to its street node, whose time is taken off
        every budget (None: no connector time).
    grid_m
        Precision of the polygons (see :func:`catchment_polygon`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``ods_code, threshold_min, geometry`` (EPSG:27700), one row per site and threshold with
        a non-empty catchment, sorted by ``ods_code`` then threshold.
    """
    if len(sites) == 0:
        return _empty()
    node, dist = snap(graph, site_xy(sites), max_snap_m=max_snap_m)
    conn_s = dist / (connector_kmh / 3.6) if connector_kmh else np.zeros(len(node))
    limit = max(thresholds_min) * 60.0
    order = np.argsort(sites["ods_code"].to_numpy().astype(str), kind="stable")
    rows, geoms = [], []
    for k in order:
        if node[k] < 0:
            continue
        secs = dijkstra(graph.csr_reverse, directed=True, indices=int(node[k]), limit=limit)
        # Catchments nest: each threshold adds only the streets not already wholly reached
        # to the previous polygon, so the large unions are not redone per threshold.
        prev_frac, poly = np.zeros(len(graph.edges)), None
        for th in sorted(thresholds_min):
            budget = th * 60.0 - conn_s[k]
            if budget <= 0:
                continue
            frac = edge_fractions(graph, secs, budget_s=budget)
            seg = segments_of(graph, frac, keep=prev_frac < 1.0)
            if len(seg):
                part = catchment_polygon(seg, buffer_m, grid_m=grid_m)
                poly = part if poly is None else shapely.union(poly, part)
            prev_frac = frac
            if poly is None:
                continue
            rows.append((sites["ods_code"].iloc[k], int(th)))
            geoms.append(poly)
    if not rows:
        return _empty()
    return gpd.GeoDataFrame({"ods_code": [r[0] for r in rows], "threshold_min": [r[1] for r in rows]},
                            geometry=geoms, crs=BNG)


def straightline_isochrones(sites: gpd.GeoDataFrame, thresholds_min: list[int], speed_kmh: float,
                            circuity: float) -> gpd.GeoDataFrame:
    """Circles of radius speed × t / circuity round each pharmacy: the straight-line estimate."""
    if len(sites) == 0:
        return _empty()
    order = np.argsort(sites["ods_code"].to_numpy().astype(str), kind="stable")
    xy = site_xy(sites)[order]
    codes = sites["ods_code"].to_numpy()[order]
    ths = sorted(thresholds_min)
    radius = np.array([speed_kmh * 1000.0 / 60.0 * t / circuity for t in ths])
    pts = shapely.points(np.repeat(xy, len(ths), axis=0))
    geoms = shapely.buffer(pts, np.tile(radius, len(xy)), quad_segs=16)
    return gpd.GeoDataFrame({"ods_code": np.repeat(codes, len(ths)),
                             "threshold_min": np.tile(np.asarray(ths, dtype=int), len(xy))},
                            geometry=geoms, crs=BNG)

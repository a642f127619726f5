"""Catchment polygons by contouring a travel-time surface on a grid.

The polygons mean the same as :func:`pna.access.isochrones.network_isochrones`: a place is
in a pharmacy's catchment when a street stretch from which the pharmacy is reached in time
lies within ``buffer_m`` of it. Instead of buffering and unioning the reached street
segments per pharmacy and threshold (costly unions that grow with the network), each grid
cell centre gets the time from the best point of the streets within ``buffer_m`` of it, and
each threshold's polygon is one contour (``rasterio.features.shapes``) of that surface.

The geometry that makes this cheap is computed once per graph (:func:`catchment_grid`):
for every cell centre ``c`` and directed edge ``u→v`` within ``buffer_m`` of it, the point
of the edge nearest ``v`` that is still within ``buffer_m`` of ``c`` (fraction ``s_hi``
along the edge). A walker from there reaches the pharmacy via ``v`` in
``(1 − s_hi)·t_e + T[v]``, so per pharmacy the surface is a gather and a minimum over
these pairs (pairs are kept once per cell and ``v``). Exact at cell centres for straight
edges; boundaries are within half a cell diagonal of the buffered-segment polygons.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.features import shapes
from scipy.sparse.csgraph import dijkstra

from ..crs import BNG
from .graph import StreetGraph
from .routing import snap
from .supply import site_xy

__all__ = ["CatchmentGrid", "catchment_grid", "contour_isochrones"]

_CHUNK_EDGES = 20_000  # bounds the candidate arrays (cells per edge × edges) in memory
_MERGE_RANGES = 16     # node ranges the chunks' pairs are merged in (bounds the sort's scratch)


@dataclass(frozen=True)
class CatchmentGrid:
    """Cell–street pairs of one graph, grouped by node (see the module docstring).

    Attributes
    ----------
    cell_m, buffer_m
        Cell size and frontage depth in metres.
    x0, y1, cols
        West edge, north edge and width in cells of the grid (BNG, aligned to ``cell_m``).
    node_start
        int64 ``(n_nodes + 1,)``: the pairs of node ``v`` (the node through which the street
        point reaches a site) are ``node_start[v]:node_start[v + 1]``, so a pharmacy reads
        only the pairs of the nodes it reaches.
    cell
        int32 (int64 for very large grids) flat cell index (``row * cols + col``) per pair.
    base_s
        float32 seconds from the pair's street point to its node.
    """

    cell_m: float
    buffer_m: float
    x0: float
    y1: float
    cols: int
    node_start: np.ndarray
    cell: np.ndarray
    base_s: np.ndarray

    @property
    def n_pairs(self) -> int:
        """Number of cell–street pairs."""
        return int(self.cell.size)


def _pairs(a: np.ndarray, b: np.ndarray, t_ab: np.ndarray, t_ba: np.ndarray, *, x0: float, y1: float,
           cols: int, cell_m: float, buffer_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cell pairs for one chunk of streets a–b, both directions from one geometry pass.

    Returns the flat cell, the street index in the chunk, and the seconds to reach b (via
    a→b, from the point nearest b within ``buffer_m``) and a (via b→a); ``inf`` where that
    direction does not exist.
    """
    lo, hi = np.minimum(a, b) - buffer_m, np.maximum(a, b) + buffer_m
    c0 = np.floor((lo[:, 0] - x0) / cell_m).astype(np.int64)
    c1 = np.floor((hi[:, 0] - x0) / cell_m).astype(np.int64)
    r0 = np.floor((y1 - hi[:, 1]) / cell_m).astype(np.int64)
    r1 = np.floor((y1 - lo[:, 1]) / cell_m).astype(np.int64)
    ncol, nrow = c1 - c0 + 1, r1 - r0 + 1
    count = ncol * nrow
    e = np.repeat(np.arange(len(a)), count)
    k = np.arange(e.size) - np.repeat(np.cumsum(count) - count, count)
    row, col = r0[e] + k // ncol[e], c0[e] + k % ncol[e]
    d = b - a
    dx, dy = d[e, 0], d[e, 1]
    px, py = x0 + (col + 0.5) * cell_m - a[e, 0], y1 - (row + 0.5) * cell_m - a[e, 1]
    len2 = dx * dx + dy * dy
    proj = np.divide(px * dx + py * dy, len2, out=np.zeros_like(len2), where=len2 > 0)
    s0 = np.clip(proj, 0.0, 1.0)
    keep = (px - s0 * dx) ** 2 + (py - s0 * dy) ** 2 <= buffer_m * buffer_m
    e, proj, len2, px, py = e[keep], proj[keep], len2[keep], px[keep], py[keep]
    perp2 = np.maximum(px * px + py * py - proj * proj * len2, 0.0)
    half = np.sqrt(np.divide(np.maximum(buffer_m * buffer_m - perp2, 0.0), len2,
                             out=np.full_like(len2, np.inf), where=len2 > 0))
    s_hi, s_lo = np.minimum(proj + half, 1.0), np.maximum(proj - half, 0.0)
    t_ab, t_ba = t_ab[e], t_ba[e]
    to_b = np.where(np.isfinite(t_ab), (1.0 - s_hi) * np.where(np.isfinite(t_ab), t_ab, 0.0), np.inf)
    to_a = np.where(np.isfinite(t_ba), s_lo * np.where(np.isfinite(t_ba), t_ba, 0.0), np.inf)
    # Narrow types now: the pairs of a county network run to tens of millions before dedupe.
    return ((row[keep] * cols + col[keep]), e.astype(np.int32), to_b.astype(np.float32),
            to_a.astype(np.float32))


def _streets(graph: StreetGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Undirected streets a < b with the fastest time each way (``inf`` where one-way).

    Walk edges come in pairs with the same straight geometry: computing it once per street
    halves the work. Parallel edges keep their fastest time, whose reached stretch covers
    the slower one's.
    """
    u = graph.edges["u"].to_numpy().astype(np.int64)
    v = graph.edges["v"].to_numpy().astype(np.int64)
    t = graph.edges["time_s"].to_numpy(float)
    a, b = np.minimum(u, v), np.maximum(u, v)
    key, inv = np.unique(a * graph.n_nodes + b, return_inverse=True)
    fwd = np.full(key.size, np.inf)
    bwd = np.full(key.size, np.inf)
    np.minimum.at(fwd, inv[u == a], t[u == a])
    np.minimum.at(bwd, inv[u != a], t[u != a])
    sa, sb = np.divmod(key, graph.n_nodes)
    return sa, sb, fwd, bwd


def _dedupe(key: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``key`` with the least ``base`` of each."""
    order = np.argsort(key, kind="stable")
    key = key[order]
    base = base[order]
    del order
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
    return key[first], (np.minimum.reduceat(base, first) if first.size else base)


def catchment_grid(graph: StreetGraph, *, cell_m: float = 10.0, buffer_m: float = 50.0) -> CatchmentGrid:
    """The cell–street pairs of ``graph`` (built once per graph, reused for every site).

    Parameters
    ----------
    graph
        Street graph (straight edges between ``node_xy``; ``time_s`` per edge).
    cell_m
        Grid cell size: the precision of the polygons.
    buffer_m
        Frontage depth: how far from a reached street a place counts as reached.

    Returns
    -------
    CatchmentGrid
    """
    xy = graph.node_xy
    pad = buffer_m + cell_m
    x0 = float(np.floor((xy[:, 0].min() - pad) / cell_m) * cell_m)
    y1 = float(np.ceil((xy[:, 1].max() + pad) / cell_m) * cell_m)
    cols = int(np.ceil((xy[:, 0].max() + pad - x0) / cell_m)) + 1
    rows = int(np.ceil((y1 - (xy[:, 1].min() - pad)) / cell_m)) + 1
    n_cells = rows * cols
    sa, sb, fwd, bwd = _streets(graph)
    keys, bases = [], []
    for i in range(0, len(sa), _CHUNK_EDGES):
        j = slice(i, i + _CHUNK_EDGES)
        cell, e, to_b, to_a = _pairs(xy[sa[j]], xy[sb[j]], fwd[j], bwd[j], x0=x0, y1=y1, cols=cols,
                                     cell_m=cell_m, buffer_m=buffer_m)
        for node, base in ((sb[j][e], to_b), (sa[j][e], to_a)):
            ok = np.isfinite(base)
            # One pair per (node, cell): every street into a node ends there, so their end disks
            # coincide. A single int64 key sorts several times faster than a three-key lexsort;
            # deduplicating each chunk first (neighbouring streets share nodes) keeps the peak
            # memory near that of the result rather than of every candidate pair.
            k, b = _dedupe(node[ok].astype(np.int64) * n_cells + cell[ok], base[ok])
            keys.append(k)
            bases.append(b)
    # Merge the sorted chunks one range of nodes at a time, so the sort's scratch arrays are
    # a fraction of the pairs, not all of them at once.
    edges = np.linspace(0, graph.n_nodes, _MERGE_RANGES + 1).astype(np.int64) * n_cells
    out_k, out_b = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        cut = [(np.searchsorted(k, lo), np.searchsorted(k, hi)) for k in keys]
        part_k = np.concatenate([k[a:b] for k, (a, b) in zip(keys, cut)] or [np.zeros(0, np.int64)])
        part_b = np.concatenate([v[a:b] for v, (a, b) in zip(bases, cut)] or [np.zeros(0, np.float32)])
        k, b = _dedupe(part_k, part_b)
        out_k.append(k)
        out_b.append(b)
    del keys, bases
    key = np.concatenate(out_k) if out_k else np.zeros(0, np.int64)
    del out_k
    base = np.concatenate(out_b) if out_b else np.zeros(0, np.float32)
    del out_b
    node_start = np.searchsorted(key, np.arange(graph.n_nodes + 1, dtype=np.int64) * n_cells)
    # 32-bit storage halves the memory each site's gather reads (cells < 2**31 up to
    # ~460 km square at 10 m; seconds to well under a millisecond).
    itype = np.int32 if n_cells < 2**31 else np.int64
    cell = np.remainder(key, n_cells, out=key).astype(itype)
    return CatchmentGrid(cell_m=float(cell_m), buffer_m=float(buffer_m), x0=x0, y1=y1, cols=cols,
                         node_start=node_start, cell=cell, base_s=base)


def _site_polygons(grid: CatchmentGrid, node_seconds: np.ndarray,
                   budgets_s: list[float]) -> list[shapely.Geometry | None]:
    """One polygon (or None when empty) per budget, from the times of the cells."""
    limit = max(budgets_s)
    reached = np.flatnonzero(node_seconds <= limit)
    lo, hi = grid.node_start[reached], grid.node_start[reached + 1]
    count = hi - lo
    idx = np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
    t = np.repeat(node_seconds[reached], count) + grid.base_s[idx]
    ok = t <= limit
    cells, t = grid.cell[idx][ok], t[ok]
    if cells.size == 0:
        return [None] * len(budgets_s)
    row, col = np.divmod(cells.astype(np.int64), grid.cols)
    r0, c0 = int(row.min()), int(col.min())
    shape = (int(row.max()) - r0 + 1, int(col.max()) - c0 + 1)
    surface = np.full(shape[0] * shape[1], np.inf)
    np.minimum.at(surface, (row - r0) * shape[1] + (col - c0), t)
    surface = surface.reshape(shape)
    cm = grid.cell_m
    transform = Affine.translation(grid.x0 + c0 * cm, grid.y1 - r0 * cm) @ Affine.scale(cm, -cm)
    out: list[shapely.Geometry | None] = []
    for budget in budgets_s:
        mask = surface <= budget
        if not mask.any():
            out.append(None)
            continue
        polys = [shapely.geometry.shape(g) for g, _ in shapes(mask.view(np.uint8), mask=mask, transform=transform)]
        out.append(polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys))
    return out


def contour_isochrones(graph: StreetGraph, sites: gpd.GeoDataFrame, thresholds_min: list[int], *,
                       grid: CatchmentGrid | None = None, max_snap_m: float = 500.0,
                       connector_kmh: float | None = None, cell_m: float = 10.0,
                       buffer_m: float = 50.0) -> gpd.GeoDataFrame:
    """Per pharmacy and threshold, the catchment polygon contoured from its time surface.

    Parameters
    ----------
    graph
        Street graph (edge times in seconds).
    sites
        Pharmacies (``ods_code``, Point geometry, EPSG:27700); sites further than
        ``max_snap_m`` from the network get no catchment.
    thresholds_min
        Minutes.
    grid
        Pairs from :func:`catchment_grid` for this graph (built here from ``cell_m`` and
        ``buffer_m`` when None).
    connector_kmh
        Speed of the site's straight connector to its street node, whose time is taken off
        every budget (None: no connector time).

    Returns
    -------
    geopandas.GeoDataFrame
        ``ods_code, threshold_min, geometry`` (EPSG:27700), one row per site and threshold with
        a non-empty catchment, sorted by ``ods_code`` then threshold.
    """
    empty = gpd.GeoDataFrame({"ods_code": [], "threshold_min": []}, geometry=[], crs=BNG)
    if len(sites) == 0:
        return empty
    grid = grid if grid is not None else catchment_grid(graph, cell_m=cell_m, buffer_m=buffer_m)
    node, dist = snap(graph, site_xy(sites), max_snap_m=max_snap_m)
    conn_s = dist / (connector_kmh / 3.6) if connector_kmh else np.zeros(len(node))
    ths = sorted(int(t) for t in thresholds_min)
    codes = sites["ods_code"].to_numpy()
    rows: list[tuple[str, int]] = []
    geoms: list[shapely.Geometry] = []
    for k in np.argsort(codes.astype(str), kind="stable"):
        if node[k] < 0:
            continue
        secs = dijkstra(graph.csr_reverse, directed=True, indices=int(node[k]), limit=ths[-1] * 60.0)
        budgets = [th * 60.0 - conn_s[k] for th in ths]
        for th, geom in zip(ths, _site_polygons(grid, secs, budgets)):
            if geom is not None:
                rows.append((codes[k], th))
                geoms.append(geom)
    if not rows:
        return empty
    return gpd.GeoDataFrame({"ods_code": [r[0] for r in rows], "threshold_min": [r[1] for r in rows]},
                            geometry=geoms, crs=BNG)

"""Snapping and shortest-path searches on a ``StreetGraph`` with compiled scipy routines."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .graph import StreetGraph


def snap(graph: StreetGraph, xy: np.ndarray, max_snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest graph node to each point.

    Points snap to OSM nodes (every vertex of every street, not just junctions, so a point
    beside a street lands within a few tens of metres of where it meets it).

    Parameters
    ----------
    graph
        The street graph.
    xy
        ``(n, 2)`` easting, northing in EPSG:27700.
    max_snap_m
        Points farther than this from every node get node −1.

    Returns
    -------
    (node_index, snap_m)
        int64 node indices (−1 beyond ``max_snap_m`` or for NaN points) and float distances in
        metres to the nearest node (``inf`` for NaN points; reported even beyond the limit).
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    idx = np.full(len(xy), -1, dtype=np.int64)
    dist = np.full(len(xy), np.inf)
    ok = np.isfinite(xy).all(axis=1)
    if ok.any() and graph.n_nodes:
        d, i = graph.kdtree.query(xy[ok], k=1)
        dist[ok] = d
        idx[ok] = np.where(d <= max_snap_m, i, -1)
    return idx, dist


def _sources(graph: StreetGraph, source_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique valid source nodes, and for each the position of its first occurrence."""
    src = np.asarray(source_nodes, dtype=np.int64).ravel()
    bad = (src >= graph.n_nodes) | (src < -1)
    if bad.any():
        raise ValueError(f"source node indices out of range: {src[bad][:5].tolist()}")
    valid = np.flatnonzero(src >= 0)
    nodes, first = np.unique(src[valid], return_index=True)
    return nodes, valid[first]


def nearest_source_times(graph: StreetGraph, source_nodes: np.ndarray, limit_s: float | None = None,
                         reverse: bool = True, source_offset_s: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Travel time between every node and its nearest source, in one multi-source search.

    Parameters
    ----------
    graph
        The street graph.
    source_nodes
        Node index per source (e.g. per pharmacy); −1 entries (unsnapped) are ignored.
        Several sources on one node: the first one listed is reported.
    limit_s
        Stop searching beyond this many seconds (nodes farther get ``inf``).
    reverse
        True: time from each node *to* the nearest source (what a resident travels; differs
        from the outward time on one-way streets). False: time from the sources.
    source_offset_s
        Optional seconds added at each source (e.g. the walk from a pharmacy's door to the
        node it snapped to), so the nearest source is chosen with them included; ``inf``
        offsets disable a source. ``limit_s`` then bounds offset + travel.

    Returns
    -------
    (seconds, source_index)
        float64 seconds per node (``inf`` if unreachable) and the position in ``source_nodes``
        of the nearest source (−1 if unreachable).
    """
    if source_offset_s is not None:
        return _nearest_with_offsets(graph, source_nodes, source_offset_s, limit_s, reverse)
    nodes, pos = _sources(graph, source_nodes)
    n = graph.n_nodes
    if nodes.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    csr = graph.csr_reverse if reverse else graph.csr
    dist, _, src = dijkstra(csr, directed=True, indices=nodes, min_only=True,
                            return_predecessors=True, limit=np.inf if limit_s is None else float(limit_s))
    # map the source node found back to the caller's source position
    lookup = np.full(n, -1, dtype=np.int64)
    lookup[nodes] = pos
    reached = src >= 0
    out = np.full(n, -1, dtype=np.int64)
    out[reached] = lookup[src[reached]]
    return np.asarray(dist, dtype=np.float64), out


def _nearest_with_offsets(graph: StreetGraph, source_nodes: np.ndarray, offsets: np.ndarray,
                          limit_s: float | None, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Multi-source search with a start-up cost per source, via one virtual super-source.

    The virtual node ``n`` gets an edge to each source node weighted by the source's offset;
    one Dijkstra from it gives min over sources of (offset + travel). Which source won is
    read off the shortest-path tree by pointer jumping (log(depth) vectorised steps).
    """
    src = np.asarray(source_nodes, dtype=np.int64).ravel()
    off = np.asarray(offsets, dtype=np.float64).ravel()
    if off.shape != src.shape:
        raise ValueError("source_offset_s must have one value per source node")
    _sources(graph, src)  # range check
    n = graph.n_nodes
    ok = np.flatnonzero((src >= 0) & np.isfinite(off))
    if ok.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if (off[ok] < 0).any():
        raise ValueError("source offsets must not be negative")
    # per node keep the cheapest source (first listed on ties)
    order = np.lexsort((ok, off[ok], src[ok]))
    cand = ok[order]
    first = np.ones(cand.size, dtype=bool)
    first[1:] = src[cand][1:] != src[cand][:-1]
    best = cand[first]
    base = graph.csr_reverse if reverse else graph.csr
    w = np.maximum(off[best], 1e-9)
    tgt = src[best]
    o = np.argsort(tgt)
    aug = sp.csr_matrix((np.concatenate([base.data, w[o]]), np.concatenate([base.indices, tgt[o]]),
                         np.concatenate([base.indptr, [base.nnz + tgt.size]])), shape=(n + 1, n + 1))
    dist, pred = dijkstra(aug, directed=True, indices=n, return_predecessors=True,
                          limit=np.inf if limit_s is None else float(limit_s))
    dist, pred = dist[:n], pred[:n]
    reached = pred >= 0
    # anc[i]: i itself if its parent is the virtual node, else its parent; then jump to the root
    anc = np.where(pred == n, np.arange(n), np.where(reached, pred, -1))
    while True:
        nxt = np.where(anc >= 0, anc[np.maximum(anc, 0)], -1)
        if np.array_equal(nxt, anc):
            break
        anc = nxt
    lookup = np.full(n, -1, dtype=np.int64)
    lookup[src[best]] = best
    which = np.where(reached, lookup[np.maximum(anc, 0)], -1)
    return np.asarray(dist, dtype=np.float64), which.astype(np.int64)


def times_from_sources(graph: StreetGraph, source_nodes: np.ndarray, limit_s: float | None = None,
                       reverse: bool = True) -> np.ndarray:
    """Per-source travel times: shape ``(n_sources, n_nodes)``, ``inf`` where unreachable.

    Row ``k`` holds, with ``reverse=True``, the time from each node *to* source ``k``;
    rows of −1 sources are all ``inf``.
    """
    src = np.asarray(source_nodes, dtype=np.int64).ravel()
    nodes, _ = _sources(graph, src)
    out = np.full((len(src), graph.n_nodes), np.inf)
    if nodes.size == 0:
        return out
    csr = graph.csr_reverse if reverse else graph.csr
    d = dijkstra(csr, directed=True, indices=nodes, limit=np.inf if limit_s is None else float(limit_s))
    row = np.searchsorted(nodes, src)
    ok = src >= 0
    out[ok] = d[row[ok]]
    return out


def shortest_path_length(graph: StreetGraph, a: int, b: int, weight: str = "length_m") -> float:
    """Shortest path from node ``a`` to node ``b`` (``inf`` if none).

    ``weight`` is ``"length_m"`` (metres along the shortest-distance route) or ``"time_s"``
    (seconds along the quickest route).
    """
    if weight not in ("length_m", "time_s"):
        raise ValueError("weight must be 'length_m' or 'time_s'")
    csr = graph.csr_length if weight == "length_m" else graph.csr
    d = dijkstra(csr, directed=True, indices=int(a))
    return float(d[int(b)])


def shortest_path_lengths(graph: StreetGraph, origins: np.ndarray, destinations: np.ndarray,
                          weight: str = "length_m") -> np.ndarray:
    """Vectorised ``shortest_path_length`` for origin–destination pairs (one search per origin)."""
    origins = np.asarray(origins, dtype=np.int64)
    destinations = np.asarray(destinations, dtype=np.int64)
    csr = graph.csr_length if weight == "length_m" else graph.csr
    uo, inv = np.unique(origins, return_inverse=True)
    d = dijkstra(csr, directed=True, indices=uo)
    return d[inv.ravel(), destinations]

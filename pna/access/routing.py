"""Snapping and shortest-path searches on a ``StreetGraph`` with compiled scipy routines.

Multi-source nearest searches run on a contracted "routing core" (``pna.access.core``:
``contract``, ``RoutingCore``; both re-exported here).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import dijkstra

from .core import RoutingCore, contract, nearest_on_core
from .graph import StreetGraph

__all__ = ["snap", "nearest_source_times", "times_from_sources", "shortest_path_length",
           "shortest_path_lengths", "RoutingCore", "contract"]


def snap(graph: StreetGraph, xy: np.ndarray, *, max_snap_m: float) -> tuple[np.ndarray, np.ndarray]:
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


def nearest_source_times(graph: StreetGraph, source_nodes: np.ndarray, *, limit_s: float | None = None,
                         reverse: bool = True, source_offset_s: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Travel time between every node and its nearest source, in one multi-source search.

    The search runs on the graph's routing core (``StreetGraph.routing_core``: pass-through
    chains contracted, built once per graph) and chain nodes are filled in from their chain's
    ends; times equal a search of the full graph up to float rounding.

    Parameters
    ----------
    graph
        The street graph.
    source_nodes
        Node index per source (e.g. per pharmacy); −1 entries (unsnapped) are ignored.
        Several sources on one node: the cheapest (with offsets), then the first listed, is
        reported.
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
        of the nearest source (−1 if unreachable). Where sources on different nodes tie, any
        of them may be reported.
    """
    src = np.asarray(source_nodes, dtype=np.int64).ravel()
    if source_offset_s is None:
        off = np.zeros(src.size)
    else:
        off = np.asarray(source_offset_s, dtype=np.float64).ravel()
        if off.shape != src.shape:
            raise ValueError("source_offset_s must have one value per source node")
    _sources(graph, src)  # range check
    n = graph.n_nodes
    ok = np.flatnonzero((src >= 0) & np.isfinite(off))
    if ok.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    if (off[ok] < 0).any():
        raise ValueError("source offsets must not be negative")
    return nearest_on_core(graph.routing_core, src[ok], off=off[ok], label=ok, limit_s=limit_s,
                           reverse=reverse)


def times_from_sources(graph: StreetGraph, source_nodes: np.ndarray, *, limit_s: float | None = None,
                       reverse: bool = True) -> np.ndarray:
    """Per-source travel times on the full graph (one compiled Dijkstra per distinct node).

    Parameters
    ----------
    graph
        The street graph.
    source_nodes
        Node index per source; −1 entries (unsnapped) give rows of ``inf``.
    limit_s
        Stop each search beyond this many seconds (nodes farther get ``inf``).
    reverse
        True: row ``k`` holds the time from each node *to* source ``k``; False: from it.

    Returns
    -------
    numpy.ndarray
        ``(n_sources, n_nodes)`` seconds, ``inf`` where unreachable.
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


def shortest_path_length(graph: StreetGraph, a: int, b: int, *, weight: str = "length_m") -> float:
    """Shortest path from node ``a`` to node ``b`` (``inf`` if none).

    Parameters
    ----------
    graph
        The street graph.
    a, b
        Node indices of the origin and the destination.
    weight
        ``"length_m"`` (metres along the shortest-distance route) or ``"time_s"`` (seconds
        along the quickest route).
    """
    if weight not in ("length_m", "time_s"):
        raise ValueError("weight must be 'length_m' or 'time_s'")
    csr = graph.csr_length if weight == "length_m" else graph.csr
    d = dijkstra(csr, directed=True, indices=int(a))
    return float(d[int(b)])


def shortest_path_lengths(graph: StreetGraph, origins: np.ndarray, destinations: np.ndarray, *,
                          weight: str = "length_m") -> np.ndarray:
    """Vectorised :func:`shortest_path_length` for origin–destination pairs.

    Parameters
    ----------
    graph
        The street graph.
    origins, destinations
        Node indices, one pair per element.
    weight
        ``"length_m"`` or ``"time_s"``.

    Returns
    -------
    numpy.ndarray
        Shortest path per pair (``inf`` if none); one search per distinct origin.
    """
    origins = np.asarray(origins, dtype=np.int64)
    destinations = np.asarray(destinations, dtype=np.int64)
    csr = graph.csr_length if weight == "length_m" else graph.csr
    uo, inv = np.unique(origins, return_inverse=True)
    d = dijkstra(csr, directed=True, indices=uo)
    return d[inv.ravel(), destinations]

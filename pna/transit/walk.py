"""Walking legs for the transit router: access, transfers, egress and walk-only journeys.

Two ways, chosen by the caller (and stated in the method note): shortest paths on the
OpenStreetMap walk graph (``pna.access.graph.StreetGraph``; snap distance walked in a
straight line at the same speed), or straight-line distance x walk circuity at walk speed.
All legs are whole seconds, rounded up, so the router and the reference checker agree exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from ..access.graph import StreetGraph
from .raptor import INF, WalkLinks


def _secs(x: np.ndarray) -> np.ndarray:
    return np.ceil(np.round(x, 6)).astype(np.int64)


def _pairs(tree_a: cKDTree, tree_b: cKDTree, r: float) -> np.ndarray:
    """Sorted (i, j) index pairs within ``r`` metres (i from a, j from b)."""
    sdm = tree_a.sparse_distance_matrix(tree_b, r, output_type="ndarray")
    out = np.stack([sdm["i"], sdm["j"]], axis=1).astype(np.int64) if len(sdm) else np.zeros((0, 2), np.int64)
    # sparse_distance_matrix omits exact zero distances: add coincident points back.
    zero = tree_a.query_ball_tree(tree_b, 1e-9)
    extra = [(i, j) for i, js in enumerate(zero) for j in js]
    if extra:
        out = np.unique(np.vstack([out, np.array(extra, dtype=np.int64)]), axis=0)
    order = np.lexsort((out[:, 1], out[:, 0])) if len(out) else np.array([], np.int64)
    return out[order]


def straight_line_links(origin_xy: np.ndarray, stop_xy: np.ndarray, *, site_xy: np.ndarray,
                        speed_kmh: float, circuity: float, max_access_m: float,
                        max_transfer_m: float, max_direct_s: float) -> WalkLinks:
    """Walking legs from straight-line distance x ``circuity`` at ``speed_kmh``.

    A leg counts when its walking distance (straight line x circuity) is within the limit:
    ``max_access_m`` for access and egress, ``max_transfer_m`` for transfers and
    ``max_direct_s`` seconds for a walk-only journey.
    """
    mps = speed_kmh / 3.6
    to, ts, tp = cKDTree(origin_xy), cKDTree(stop_xy), cKDTree(site_xy)

    def leg(ta, tb, xa, xb, limit_m):
        pr = _pairs(ta, tb, limit_m / circuity)
        d = np.hypot(*(xa[pr[:, 0]] - xb[pr[:, 1]]).T) * circuity
        return pr[:, 0], pr[:, 1], _secs(d / mps).astype(np.int32)

    access = leg(to, ts, origin_xy, stop_xy, max_access_m)
    tr = leg(ts, ts, stop_xy, stop_xy, max_transfer_m)
    ne = tr[0] != tr[1]
    transfer = (tr[0][ne], tr[1][ne], tr[2][ne])
    egress = leg(ts, tp, stop_xy, site_xy, max_access_m)
    d = np.hypot(site_xy[:, None, 0] - origin_xy[None, :, 0], site_xy[:, None, 1] - origin_xy[None, :, 1])
    direct = _secs(d * circuity / mps)
    direct = np.where(direct <= max_direct_s, direct, INF).astype(np.int32)
    return WalkLinks(access=access, transfer=transfer, egress=egress, direct=direct)


def _snap(node_xy: np.ndarray, xy: np.ndarray, max_snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    d, i = cKDTree(node_xy).query(xy)
    i = np.where(d <= max_snap_m, i, -1)
    return i.astype(np.int64), d


def _network_secs(csr, src_nodes: np.ndarray, src_snap_s: np.ndarray, dst_nodes: np.ndarray,
                  dst_snap_s: np.ndarray, limit_s: float, batch: int = 64) -> tuple[np.ndarray, ...]:
    """Pairs (src i, dst j, whole seconds) with snap + network + snap time <= limit_s."""
    ok_src = np.flatnonzero(src_nodes >= 0)
    ok_dst = np.flatnonzero(dst_nodes >= 0)
    ii, jj, ww = [], [], []
    for k in range(0, len(ok_src), batch):
        rows = ok_src[k:k + batch]
        uniq, inv = np.unique(src_nodes[rows], return_inverse=True)
        dist = dijkstra(csr, directed=True, indices=uniq, limit=limit_s)
        t = dist[inv][:, dst_nodes[ok_dst]] + src_snap_s[rows, None] + dst_snap_s[None, ok_dst]
        sec = _secs(np.where(np.isfinite(t), t, 0))
        hit = np.isfinite(t) & (sec <= limit_s)
        r, c = np.nonzero(hit)
        ii.append(rows[r])
        jj.append(ok_dst[c])
        ww.append(sec[r, c])

    def cat(xs: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(xs).astype(dt) if xs else np.array([], dt)

    return cat(ii, np.int64), cat(jj, np.int64), cat(ww, np.int64)


def graph_links(graph: StreetGraph, origin_xy: np.ndarray, *, stop_xy: np.ndarray, site_xy: np.ndarray,
                speed_kmh: float, max_access_m: float, max_transfer_m: float,
                max_direct_s: float, max_snap_m: float, circuity: float = 1.3) -> WalkLinks:
    """Walking legs as shortest paths on a walk graph.

    The graph is a ``StreetGraph`` (``csr`` in seconds, ``node_xy`` in EPSG:27700); distance
    limits become time limits at ``speed_kmh``.

    A leg with an end further than ``max_snap_m`` from the graph (a point outside the
    extract) is taken as straight line x ``circuity`` instead, so no one is cut off just
    because the extract is smaller than the area; :func:`unsnapped` counts such points.
    """
    mps = speed_kmh / 3.6
    csr = graph.csr
    no, so = _snap(graph.node_xy, origin_xy, max_snap_m)
    ns, ss = _snap(graph.node_xy, stop_xy, max_snap_m)
    npn, sp = _snap(graph.node_xy, site_xy, max_snap_m)
    so, ss, sp = so / mps, ss / mps, sp / mps
    sl = straight_line_links(origin_xy, stop_xy, site_xy=site_xy, speed_kmh=speed_kmh, circuity=circuity,
                             max_access_m=max_access_m, max_transfer_m=max_transfer_m,
                             max_direct_s=max_direct_s)

    def merge(net, fallback, a_ok, b_ok):
        keep = ~(a_ok[fallback[0]] & b_ok[fallback[1]])      # straight line only off the graph
        parts = [np.concatenate([net[k], fallback[k][keep]]) for k in range(3)]
        order = np.lexsort((parts[1], parts[0]))
        return parts[0][order].astype(np.int64), parts[1][order].astype(np.int64), parts[2][order].astype(np.int32)

    o_ok, s_ok, p_ok = no >= 0, ns >= 0, npn >= 0
    access = merge(_network_secs(csr, no, so, ns, ss, max_access_m / mps), sl.access, o_ok, s_ok)
    tr = _network_secs(csr, ns, ss, ns, ss, max_transfer_m / mps)
    ne = tr[0] != tr[1]
    transfer = merge((tr[0][ne], tr[1][ne], tr[2][ne]), sl.transfer, s_ok, s_ok)
    egress = merge(_network_secs(csr, ns, ss, npn, sp, max_access_m / mps), sl.egress, s_ok, p_ok)
    # walk-only: search backwards from each site over the reversed graph
    back = _network_secs(csr.T.tocsr(), npn, sp, no, so, max_direct_s)
    direct = np.full((len(site_xy), len(origin_xy)), INF, dtype=np.int32)
    direct[back[0], back[1]] = back[2]
    off = ~(p_ok[:, None] & o_ok[None, :])
    direct[off] = sl.direct[off]
    return WalkLinks(access=access, transfer=transfer, egress=egress, direct=direct)


def unsnapped(graph: StreetGraph, xy: np.ndarray, *, max_snap_m: float) -> int:
    """How many points lie further than ``max_snap_m`` from the graph."""
    return int((_snap(graph.node_xy, xy, max_snap_m)[0] < 0).sum()) if len(xy) else 0

"""The routing core: a street graph's travel-time matrix with its pass-through chains contracted.

Low level on purpose: it imports no other ``pna`` module. ``pna.access.graph`` builds a core
for ``StreetGraph.routing_core`` and ``pna.access.routing`` searches it, so imports run one way:
routing -> graph -> core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

__all__ = ["RoutingCore", "contract", "nearest_on_core"]

# --- routing core: degree-2 chains contracted away ---------------------------------------
#
# Three quarters of OSM nodes only shape a street between two junctions. A node is a pure
# pass-through when it has exactly two distinct neighbours, no self-loop, and either edges
# both ways to both (a two-way street) or one edge in from one neighbour and one edge out to
# the other (a one-way street); any other pattern (a one-way meeting a two-way, a dead end, a
# junction) stays in the core. Maximal runs of pass-through nodes ("chains") between core
# nodes a and b become one core edge each way the chain can be driven; a search runs on the
# core and every chain node's time is then read off its two ends (and any source inside its
# chain) with numpy. Along-chain times are kept as exact double-double prefix sums so the
# differences taken for sources inside a chain lose no precision.


@dataclass(frozen=True, eq=False)
class RoutingCore:
    """A street graph with its pass-through chains contracted (built by ``contract``).

    Chain nodes are stored flat, chain by chain, each chain in order from its core end ``a``
    to its core end ``b``. ``F`` is the time from ``a`` along the chain to the node and ``G``
    the time from the node back to ``a``, each a ``(hi, lo)`` pair summing to the exact sum of
    the edge times; ``*_to_*`` are the times between a chain node and its chain's ends
    (``inf`` against a one-way chain).
    """

    n_nodes: int
    core_nodes: np.ndarray        # graph node of each core node, ascending
    core_index: np.ndarray        # (n,) position in core_nodes, -1 for chain nodes
    csr: sp.csr_matrix            # core graph, travel seconds
    csr_reverse: sp.csr_matrix
    node: np.ndarray              # graph node of each chain node
    chain: np.ndarray             # its chain
    slot: np.ndarray              # (n,) position in ``node``, -1 for core nodes
    ca: np.ndarray                # core index of the chain's ends
    cb: np.ndarray
    a_to_x: np.ndarray
    x_to_a: np.ndarray
    b_to_x: np.ndarray
    x_to_b: np.ndarray
    F_hi: np.ndarray
    F_lo: np.ndarray
    G_hi: np.ndarray
    G_lo: np.ndarray
    f_ok: np.ndarray              # per chain: can be travelled a -> b / b -> a
    g_ok: np.ndarray
    chain_start: np.ndarray       # per chain: first position in ``node`` and length
    chain_len: np.ndarray
    order: np.ndarray             # (n,) position of each graph node in [core nodes, chain nodes]

    @property
    def n_core(self) -> int:
        """Number of core (kept) nodes."""
        return int(self.core_nodes.size)


def contract(csr: sp.csr_matrix) -> RoutingCore:
    """Contract the pass-through chains of a travel-time matrix (see ``RoutingCore``).

    Exact: shortest times on the core equal those on the full graph at core nodes, and
    ``nearest_source_times`` recovers every chain node's time from its chain's ends.
    """
    csr = sp.csr_matrix(csr, dtype=np.float64, copy=True)
    csr.sum_duplicates()
    n = csr.shape[0]
    coo = csr.tocoo()
    loop = coo.row == coo.col
    selfloop = np.zeros(n, dtype=bool)
    selfloop[coo.row[loop]] = True
    out_p = sp.csr_matrix((np.ones(int((~loop).sum())), (coo.row[~loop], coo.col[~loop])), shape=(n, n))
    in_p = out_p.T.tocsr()
    und = (out_p + in_p).tocsr()
    und.sum_duplicates()
    und.sort_indices()
    deg = np.diff(und.indptr)
    outdeg, indeg = np.diff(out_p.indptr), np.diff(in_p.indptr)
    con = (~selfloop) & (deg == 2) & (outdeg == indeg) & ((outdeg == 1) | (outdeg == 2))

    # neighbours and the four edge times of each contractible node
    cn = np.flatnonzero(con)
    n0 = np.full(n, -1, dtype=np.int64)
    n1 = np.full(n, -1, dtype=np.int64)
    n0[cn] = und.indices[und.indptr[cn]]
    n1[cn] = und.indices[und.indptr[cn] + 1]

    def w(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        # edge time, or −1 where there is no edge (stored zeros are real zero-time edges)
        full = np.full(n, -1.0)
        if r.size:
            has = np.asarray(out_p[r, c]).ravel() > 0
            full[cn] = np.where(has, np.asarray(csr[r, c]).ravel(), -1.0)
        return full

    wo0, wo1 = w(cn, n0[cn]), w(cn, n1[cn])          # node -> neighbour
    wi0, wi1 = w(n0[cn], cn), w(n1[cn], cn)          # neighbour -> node

    # walk each chain from a core end (plain Python over ~n steps, once per graph)
    con_l = con.tolist()
    n0_l, n1_l = n0.tolist(), n1.tolist()
    wo0_l, wo1_l, wi0_l, wi1_l = wo0.tolist(), wo1.tolist(), wi0.tolist(), wi1.tolist()
    seen = [False] * n
    nodes: list[int] = []
    chain_id: list[int] = []
    Fh: list[float] = []
    Fl: list[float] = []
    Gh: list[float] = []
    Gl: list[float] = []
    ends_a: list[int] = []
    ends_b: list[int] = []
    tot: list[tuple[float, float, float, float, bool, bool]] = []

    def walk(a: int, x: int) -> None:
        k = len(ends_a)
        prev, cur = a, x
        fs = fc = gs = gc = 0.0
        fok = gok = True
        while True:
            if n0_l[cur] == prev:
                wf, wb, nxt, wf2, wb2 = wi0_l[cur], wo0_l[cur], n1_l[cur], wo1_l[cur], wi1_l[cur]
            else:
                wf, wb, nxt, wf2, wb2 = wi1_l[cur], wo1_l[cur], n0_l[cur], wo0_l[cur], wi0_l[cur]
            fok = fok and wf >= 0
            gok = gok and wb >= 0
            # Neumaier sums (inlined: hot loop; times are >= 0 on a travelable chain, and a
            # chain with a missing edge is masked by fok/gok): fs + fc is the exact running sum
            t = fs + wf
            fc += (fs - t) + wf if fs >= wf else (wf - t) + fs
            fs = t
            t = gs + wb
            gc += (gs - t) + wb if gs >= wb else (wb - t) + gs
            gs = t
            seen[cur] = True
            nodes.append(cur)
            chain_id.append(k)
            Fh.append(fs)
            Fl.append(fc)
            Gh.append(gs)
            Gl.append(gc)
            if not con_l[nxt]:
                fok = fok and wf2 >= 0
                gok = gok and wb2 >= 0
                t = fs + wf2
                fc += (fs - t) + wf2 if fs >= wf2 else (wf2 - t) + fs
                fs = t
                t = gs + wb2
                gc += (gs - t) + wb2 if gs >= wb2 else (wb2 - t) + gs
                gs = t
                ends_a.append(a)
                ends_b.append(nxt)
                tot.append((fs, fc, gs, gc, fok, gok))
                return
            prev, cur = cur, nxt

    # chain ends: contractible nodes next to a core node, in node order (deterministic)
    for x in cn.tolist():
        if seen[x]:
            continue
        for nb in (n0_l[x], n1_l[x]):
            if not con_l[nb]:
                walk(nb, x)
                break
    # rings with no core node at all (an isolated loop road): promote one node to the core
    for x in cn.tolist():
        if not seen[x]:
            con_l[x] = False
            con[x] = False
            seen[x] = True
            walk(x, n0_l[x])

    core_nodes = np.flatnonzero(~con)
    core_index = np.full(n, -1, dtype=np.int64)
    core_index[core_nodes] = np.arange(core_nodes.size)
    node = np.asarray(nodes, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    slot[node] = np.arange(node.size)
    t = np.asarray(tot, dtype=np.float64).reshape(-1, 6)
    a_arr = np.asarray(ends_a, dtype=np.int64)
    b_arr = np.asarray(ends_b, dtype=np.int64)
    f_ok, g_ok = t[:, 4].astype(bool), t[:, 5].astype(bool)

    # core edges: direct core-core edges plus one per chain and direction, cheapest kept
    keep = (~con[coo.row]) & (~con[coo.col]) & (coo.row != coo.col)
    fw = f_ok & (a_arr != b_arr)
    bw = g_ok & (a_arr != b_arr)
    u = np.concatenate([coo.row[keep], a_arr[fw], b_arr[bw]]).astype(np.int64)
    v = np.concatenate([coo.col[keep], b_arr[fw], a_arr[bw]]).astype(np.int64)
    wt = np.concatenate([coo.data[keep], t[fw, 0] + t[fw, 1], t[bw, 2] + t[bw, 3]])
    order = np.lexsort((wt, v, u))
    u, v, wt = u[order], v[order], wt[order]
    first = np.ones(u.size, dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    nc = core_nodes.size
    core = sp.csr_matrix((wt[first], (core_index[u[first]], core_index[v[first]])), shape=(nc, nc))
    core.sort_indices()
    chain = np.asarray(chain_id, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    order[np.concatenate([core_nodes, node])] = np.arange(n)
    i32 = np.int32 if n < 2**31 - 1 else np.int64      # compact indices: less memory traffic per query
    fh, fl, gh, gl = (np.asarray(x, dtype=np.float64) for x in (Fh, Fl, Gh, Gl))
    fo, go = f_ok[chain], g_ok[chain]
    nch = a_arr.size
    return RoutingCore(
        n_nodes=n, core_nodes=core_nodes, core_index=core_index, csr=core, csr_reverse=core.T.tocsr(),
        node=node, chain=chain, slot=slot, ca=core_index[a_arr[chain]].astype(i32),
        cb=core_index[b_arr[chain]].astype(i32),
        a_to_x=np.where(fo, fh + fl, np.inf), x_to_a=np.where(go, gh + gl, np.inf),
        x_to_b=np.where(fo, (t[chain, 0] - fh) + (t[chain, 1] - fl), np.inf),
        b_to_x=np.where(go, (t[chain, 2] - gh) + (t[chain, 3] - gl), np.inf),
        F_hi=fh, F_lo=fl, G_hi=gh, G_lo=gl, f_ok=f_ok, g_ok=g_ok,
        chain_start=np.searchsorted(chain, np.arange(nch)), chain_len=np.bincount(chain, minlength=nch),
        order=order.astype(i32))


def nearest_on_core(core: RoutingCore, node: np.ndarray, *, off: np.ndarray, label: np.ndarray,
                    limit_s: float | None, reverse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Multi-source nearest search on a routing core, in graph node order.

    Parameters
    ----------
    core
        From :func:`contract`.
    node
        Graph node of each source (all valid, ``>= 0``).
    off
        Start-up seconds at each source (finite, ``>= 0``).
    label
        What to report for each source as the nearest (the caller's position of it).
    limit_s
        Nodes further than this many seconds get ``inf`` (None: no limit).
    reverse
        True: time from each node *to* its nearest source; False: from the sources.

    Returns
    -------
    (seconds, label)
        float64 seconds per graph node (``inf`` if unreachable) and the label of its nearest
        source (−1 if unreachable).
    """
    limit = np.inf if limit_s is None else float(limit_s)
    # reverse: times *to* the sources, leaving a chain node towards a or b; else from them
    via_a, via_b = (core.x_to_a, core.x_to_b) if reverse else (core.a_to_x, core.b_to_x)
    in_a, in_b = (core.a_to_x, core.b_to_x) if reverse else (core.x_to_a, core.x_to_b)
    # several sources on one node: the cheapest, then the first listed
    o = np.lexsort((label, off, node))
    node, off, label = node[o], off[o], label[o]
    first = np.ones(node.size, dtype=bool)
    first[1:] = node[1:] != node[:-1]
    node, off, label = node[first], off[first], label[first]
    ci = core.core_index[node]
    on = ci >= 0
    direct = on & (off == 0)
    # every other source becomes an extra node with edges into the core: to its own node
    # (weighted by its offset), or, inside a chain, to both ends of its chain
    sl = core.slot[node[~on]]
    ext_core = np.flatnonzero(on & ~direct)
    ext_chain = np.flatnonzero(~on)
    k = ext_core.size + ext_chain.size
    nc = core.n_core
    csr = core.csr_reverse if reverse else core.csr
    lookup = np.empty(nc + k, dtype=np.int64)
    lookup[ci[direct]] = label[direct]
    if k:
        ea, eb = in_a[sl] + off[ext_chain], in_b[sl] + off[ext_chain]
        fa, fb = np.isfinite(ea), np.isfinite(eb)
        counts = np.concatenate([np.ones(ext_core.size, dtype=np.int64), fa.astype(np.int64) + fb])
        # row order: core sources, then chain sources each with its a entry before its b entry
        cols = np.concatenate([ci[ext_core], np.stack([core.ca[sl], core.cb[sl]], axis=1)[
            np.stack([fa, fb], axis=1)]])
        wts = np.concatenate([off[ext_core], np.stack([ea, eb], axis=1)[np.stack([fa, fb], axis=1)]])
        indptr = (csr.nnz + np.cumsum(counts)).astype(csr.indptr.dtype)
        searched = sp.csr_matrix((np.concatenate([csr.data, wts]),
                                  np.concatenate([csr.indices, cols.astype(csr.indices.dtype)]),
                                  np.concatenate([csr.indptr, indptr])), shape=(nc + k, nc + k))
        lookup[nc:] = np.concatenate([label[ext_core], label[ext_chain]])
        start = np.concatenate([ci[direct], nc + np.arange(k)])
    else:
        searched, start = csr, ci[direct]
    d, _, root = dijkstra(searched, directed=True, indices=start, min_only=True, return_predecessors=True,
                          limit=limit)
    dc = d[:nc]
    wc = np.where(root[:nc] >= 0, lookup[np.maximum(root[:nc], 0)], -1)
    # chain nodes: leave the chain at a or at b, whichever is quicker overall
    dx = dc[core.ca]
    dx += via_a
    db = dc[core.cb]
    db += via_b
    use_b = db < dx
    np.copyto(dx, db, where=use_b)
    wx = wc[np.where(use_b, core.cb, core.ca)]
    if sl.size:
        _sources_in_chains(core, sl, off[~on], label[~on], reverse, dx, wx)
    # back to graph node order: core nodes first, then chain nodes, one gather
    dist = np.concatenate([dc, dx])[core.order]
    which = np.concatenate([wc, wx])[core.order]
    far = np.isinf(dist)
    if limit_s is not None:
        far |= dist > limit
    dist[far] = np.inf
    which[far] = -1
    return dist, which


def _sources_in_chains(core: RoutingCore, sl: np.ndarray, off: np.ndarray, label: np.ndarray,
                       reverse: bool, dx: np.ndarray, wx: np.ndarray) -> None:
    """Let each source inside a chain reach the nodes of its own chain directly (in place)."""
    ch = core.chain[sl]
    start, length = core.chain_start[ch], core.chain_len[ch]
    # one row per (source, node of its chain)
    k = np.repeat(np.arange(sl.size), length)
    base = np.repeat(np.cumsum(length) - length, length)
    x = np.repeat(start, length) + (np.arange(k.size) - base)
    p = sl[k]
    c = ch[k]
    # along-chain time between x and p, as a difference of exact prefix sums
    lo, hi = np.minimum(x, p), np.maximum(x, p)
    fwd = np.where(core.f_ok[c], (core.F_hi[hi] - core.F_hi[lo]) + (core.F_lo[hi] - core.F_lo[lo]), np.inf)
    bwd = np.where(core.g_ok[c], (core.G_hi[hi] - core.G_hi[lo]) + (core.G_lo[hi] - core.G_lo[lo]), np.inf)
    along_ab = p > x if reverse else p < x   # the trip runs in the chain's a -> b direction
    t = np.where(x == p, 0.0, np.where(along_ab, fwd, bwd)) + off[k]
    o = np.lexsort((label[k], t, x))
    x, t, lab = x[o], t[o], label[k][o]
    first = np.ones(x.size, dtype=bool)
    first[1:] = x[1:] != x[:-1]
    x, t, lab = x[first], t[first], lab[first]
    better = t < dx[x]
    dx[x[better]] = t[better]
    wx[x[better]] = lab[better]

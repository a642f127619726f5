"""Earliest-arrival public-transport routing over a departure window: range-RAPTOR.

The same journey model and the same outputs as :func:`pna.transit.raptor.route_many` (access
walk -> trip -> [transfer walk -> trip]* -> egress walk, at most ``max_transfers + 1`` trips,
walk-only always allowed; boarding needs ``departure >= time at stop`` and pickup allowed,
alighting needs drop-off allowed; integer seconds), but per origin the departure minutes are
processed from the latest to the earliest and the labels are kept from one departure to the
next, as R5 does. A journey that leaves later is also open to someone who leaves earlier (they
wait at the origin), so every label of a later departure is a valid upper bound for an earlier
one, and each departure only relaxes what it improves: typically the access stops, whose
boarding times fall by one step, and the few trips that become catchable because of it.

Labels per round ``k`` (``k`` trips at most): ``B[k][s]``, the earliest time at stop ``s`` ready
to board (after the access walk, or after a vehicle arrival and a transfer walk or a 0 s change
at the same stop), and ``A[k][s]``, the earliest arrival by vehicle at ``s``. Both fall with
``k``; when a departure lowers ``A[k-1][s]`` or ``B[k-1][s]``, the same value is merged into
round ``k`` without re-scanning (boarding there again would reproduce what round ``k-1``
already found). Round ``k`` scans only the patterns through stops whose ``B[k-1]`` fell by a
new vehicle arrival (or by the access walk, for ``k = 1``), and relaxes transfers only from
stops whose ``A[k]`` fell in that scan. The arrival at each site is the best of the previous
(later) departure's, the walk-only arrival and the egress walks from the stops whose final
``A`` fell. The result equals ``route_many`` exactly (both are exact; tests check them against
each other and against the brute-force ``reference.py``).

The per-origin scan is compiled with numba: each departure touches a different, data-dependent
handful of stops and patterns, which plain numpy cannot express without a Python loop per
departure and round. The kernel releases the GIL, so origins are split over threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# numba's on-disk cache of compiled kernels goes under the project's git-ignored .cache/
# (read when numba is first imported, so set before the import below).
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / ".cache" / "numba"))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from .raptor import INF, Timetable, WalkLinks  # noqa: E402

__all__ = ["FlatTimetable", "flatten", "route_range"]


@dataclass
class FlatTimetable:
    """A :class:`Timetable`'s patterns as flat arrays (CSR style) for the compiled kernel."""

    pat_stop_off: np.ndarray   # (P+1,) offsets into pat_stops / pat_pu / pat_do
    pat_stops: np.ndarray      # stop index per (pattern, position)
    pat_pu: np.ndarray         # bool: pickup allowed
    pat_do: np.ndarray         # bool: drop-off allowed
    pat_ntrips: np.ndarray     # (P,) trips per pattern
    pat_time_off: np.ndarray   # (P+1,) offsets into dep / arr (trip-major: trip * m + position)
    dep: np.ndarray            # departure seconds, int32
    arr: np.ndarray            # arrival seconds, int32
    sp_off: np.ndarray         # (S+1,) per stop: its boarding positions (pattern, position)
    sp_pat: np.ndarray
    sp_pos: np.ndarray


def flatten(tt: Timetable) -> FlatTimetable:
    """Flatten the patterns of ``tt`` (see :class:`FlatTimetable`)."""
    pats = tt.patterns
    m = np.array([len(p.stops) for p in pats], dtype=np.int64)
    nt = np.array([p.dep.shape[0] for p in pats], dtype=np.int64)
    stop_off = np.concatenate([[0], np.cumsum(m)]).astype(np.int64)
    time_off = np.concatenate([[0], np.cumsum(m * nt)]).astype(np.int64)

    def cat(xs: list[np.ndarray], dtype) -> np.ndarray:
        return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype)

    stops = cat([p.stops for p in pats], np.int64)
    pu = cat([p.pickup for p in pats], np.bool_)
    do = cat([p.dropoff for p in pats], np.bool_)
    dep = cat([p.dep.ravel() for p in pats], np.int32)
    arr = cat([p.arr[:-1].ravel() for p in pats], np.int32)   # without the INF "no trip" row
    pat_of = np.repeat(np.arange(len(pats), dtype=np.int64), m)
    pos_of = np.arange(len(stops), dtype=np.int64) - np.repeat(stop_off[:-1], m)
    board = np.flatnonzero(pu)
    order = board[np.argsort(stops[board], kind="stable")]
    sp_off = np.concatenate([[0], np.cumsum(np.bincount(stops[board], minlength=tt.n_stops))]).astype(np.int64)
    return FlatTimetable(pat_stop_off=stop_off, pat_stops=stops, pat_pu=pu, pat_do=do, pat_ntrips=nt,
                         pat_time_off=time_off, dep=dep, arr=arr, sp_off=sp_off, sp_pat=pat_of[order],
                         sp_pos=pos_of[order])


def _csr(key: np.ndarray, n: int, *cols: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rows of ``cols`` grouped by ``key`` (0..n-1): (offsets, *sorted cols)."""
    key = np.asarray(key, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    off = np.concatenate([[0], np.cumsum(np.bincount(key, minlength=n))]).astype(np.int64)
    return (off, *(np.asarray(c)[order] for c in cols))


@numba.njit(inline="always", cache=True, nogil=True)
def _push(stamp, gen, work, n, s):  # pragma: no cover
    """Append ``s`` to the work list ``work[:n]`` unless generation ``gen`` listed it; the new length."""
    if stamp[s] != gen:
        stamp[s] = gen
        work[n] = s
        n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _route_origins(o0, o1, order, deps, K, pat_stop_off, pat_stops, pat_pu, pat_do, pat_ntrips,
                   pat_time_off, dep_t, arr_t, sp_off, sp_pat, sp_pos, tr_off, tr_to, tr_w,
                   acc_off, acc_stop, acc_w, eg_off, eg_site, eg_w, direct, out):  # pragma: no cover
    inf = np.int32(2**30)
    S = len(sp_off) - 1
    P = len(pat_ntrips)
    n_sites = direct.shape[0]
    B = np.empty((K + 1, S), np.int32)
    A = np.empty((K + 2, S), np.int32)
    res = np.empty(n_sites, np.int32)
    walk = np.empty(n_sites, np.int32)
    buf = np.empty((n_sites, len(order)), np.int32)          # this origin's rows of ``out``
    # work lists (stop or pattern indices) and generation stamps for "already listed"
    tA, tA2 = np.empty(S, np.int64), np.empty(S, np.int64)     # stops whose A[k] fell (scan or merge)
    tB, tB2 = np.empty(S, np.int64), np.empty(S, np.int64)     # stops whose B[k] fell (relax or merge)
    mk, mk2 = np.empty(S, np.int64), np.empty(S, np.int64)     # stops whose B[k] fell by a new arrival
    imp = np.empty(S, np.int64)                                 # stops whose A[k] fell in the scan
    pats = np.empty(max(P, 1), np.int64)
    first = np.empty(max(P, 1), np.int64)
    st_a = np.zeros(S, np.int64)
    st_b = np.zeros(S, np.int64)
    st_m = np.zeros(S, np.int64)
    st_i = np.zeros(S, np.int64)
    st_p = np.zeros(max(P, 1), np.int64)
    gen = 0
    for o in range(o0, o1):
        B[:, :] = inf
        A[:, :] = inf
        res[:] = inf
        walk[:] = direct[:, o]
        for j in range(len(order)):
            d = order[j]
            t = deps[d]
            gen += 1
            n_b = 0
            n_m = 0
            for q in range(acc_off[o], acc_off[o + 1]):
                s = acc_stop[q]
                v = t + acc_w[q]
                if v < B[0, s]:
                    B[0, s] = v
                    n_b = _push(st_b, gen, tB, n_b, s)
                    n_m = _push(st_m, gen, mk, n_m, s)
            n_a = 0
            for k in range(1, K + 2):
                gen += 1
                # round k-1's vehicle arrivals are also arrivals with at most k trips
                n_a2 = 0
                if k >= 2:
                    for x in range(n_a):
                        s = tA[x]
                        if A[k - 1, s] < A[k, s]:
                            A[k, s] = A[k - 1, s]
                            n_a2 = _push(st_a, gen, tA2, n_a2, s)
                # patterns through the marked stops, from the first marked boarding position
                n_p = 0
                for x in range(n_m):
                    s = mk[x]
                    for q in range(sp_off[s], sp_off[s + 1]):
                        p = sp_pat[q]
                        if st_p[p] != gen:
                            st_p[p] = gen
                            first[p] = sp_pos[q]
                            pats[n_p] = p
                            n_p += 1
                        elif sp_pos[q] < first[p]:
                            first[p] = sp_pos[q]
                n_i = 0
                for x in range(n_p):
                    p = pats[x]
                    b0 = pat_stop_off[p]
                    m = pat_stop_off[p + 1] - b0
                    nt = pat_ntrips[p]
                    tb = pat_time_off[p]
                    cur = nt
                    for i in range(first[p], m):
                        s = pat_stops[b0 + i]
                        if cur < nt and pat_do[b0 + i]:
                            a = arr_t[tb + cur * m + i]
                            if a < A[k, s]:
                                A[k, s] = a
                                n_i = _push(st_i, gen, imp, n_i, s)
                                n_a2 = _push(st_a, gen, tA2, n_a2, s)
                        if pat_pu[b0 + i] and cur > 0:
                            bt = B[k - 1, s]
                            if bt < inf and dep_t[tb + (cur - 1) * m + i] >= bt:
                                lo = 0
                                hi = cur - 1
                                while lo < hi:
                                    mid = (lo + hi) // 2
                                    if dep_t[tb + mid * m + i] >= bt:
                                        hi = mid
                                    else:
                                        lo = mid + 1
                                cur = lo
                tA, tA2 = tA2, tA
                n_a = n_a2
                if k > K:
                    break
                # boarding labels for round k+1: round k's, lowered by the new arrivals. Merging
                # B[k-1] into B[k] only prunes (boarding there again would repeat round k's scan):
                # transfers that do not beat the fewer-trip label mark nothing.
                n_b2 = 0
                n_m2 = 0
                for x in range(n_b):
                    s = tB[x]
                    if B[k - 1, s] < B[k, s]:
                        B[k, s] = B[k - 1, s]
                        n_b2 = _push(st_b, gen, tB2, n_b2, s)
                for x in range(n_i):
                    s = imp[x]
                    a = A[k, s]
                    if a < B[k, s]:            # change at the same stop, 0 s
                        B[k, s] = a
                        n_b2 = _push(st_b, gen, tB2, n_b2, s)
                        n_m2 = _push(st_m, gen, mk2, n_m2, s)
                    for q in range(tr_off[s], tr_off[s + 1]):
                        s2 = tr_to[q]
                        v = a + tr_w[q]
                        if v < B[k, s2]:
                            B[k, s2] = v
                            n_b2 = _push(st_b, gen, tB2, n_b2, s2)
                            n_m2 = _push(st_m, gen, mk2, n_m2, s2)
                tB, tB2 = tB2, tB
                mk, mk2 = mk2, mk
                n_b = n_b2
                n_m = n_m2
            # sites: the later departure's arrival, egress from the stops whose final A fell, walk-only
            for x in range(n_a):
                s = tA[x]
                a = A[K + 1, s]
                for q in range(eg_off[s], eg_off[s + 1]):
                    v = a + eg_w[q]
                    if v < res[eg_site[q]]:
                        res[eg_site[q]] = v
            for p in range(n_sites):
                w = walk[p]
                if w < inf and t + w < res[p]:
                    res[p] = t + w
                buf[p, d] = res[p]
        out[:, o, :] = buf


def route_range(tt: Timetable, links: WalkLinks, *, departures: np.ndarray, n_origins: int,
                max_transfers: int, threads: int | None = None, flat: FlatTimetable | None = None) -> np.ndarray:
    """Earliest arrival at every site, for every origin and departure time (range-RAPTOR).

    Parameters
    ----------
    tt, links
        Timetable and walking legs (origins and sites as indexed in ``links``).
    departures
        (n_dep,) departure times, seconds since service-day midnight, in any order.
    n_origins
        Number of origins.
    max_transfers
        Transfer limit.
    threads
        Threads over origins (default: up to 2, the cores of the machines this runs on).
    flat
        :func:`flatten` of ``tt`` if already built.

    Returns
    -------
    ndarray
        (n_sites, n_origins, n_dep) int32 arrival seconds, INF where not reachable: the same
        array as :func:`pna.transit.raptor.route_many`.
    """
    deps = np.asarray(departures, dtype=np.int32)
    n_sites = links.direct.shape[0]
    out = np.full((n_sites, n_origins, len(deps)), INF, dtype=np.int32)
    if n_origins == 0 or len(deps) == 0 or n_sites == 0:
        return out
    ft = flat if flat is not None else flatten(tt)
    S = tt.n_stops
    a_o, a_s, a_w = links.access
    keep = np.asarray(a_o) < n_origins
    acc = _csr(np.asarray(a_o)[keep], n_origins, np.asarray(a_s, np.int64)[keep], np.asarray(a_w, np.int32)[keep])
    tr = _csr(links.transfer[0], S, np.asarray(links.transfer[1], np.int64), np.asarray(links.transfer[2], np.int32))
    eg = _csr(links.egress[0], S, np.asarray(links.egress[1], np.int64), np.asarray(links.egress[2], np.int32))
    direct = np.ascontiguousarray(links.direct[:, :n_origins], dtype=np.int32)
    order = np.argsort(-deps.astype(np.int64), kind="stable").astype(np.int64)   # latest first
    args = (order, deps, int(max_transfers), ft.pat_stop_off, ft.pat_stops, ft.pat_pu, ft.pat_do, ft.pat_ntrips,
            ft.pat_time_off, ft.dep, ft.arr, ft.sp_off, ft.sp_pat, ft.sp_pos, *tr, *acc, *eg, direct, out)
    n_threads = max(1, min(threads or min(2, os.cpu_count() or 1), n_origins))
    if n_threads == 1:
        _route_origins(0, n_origins, *args)
        return out
    # small chunks handed out in turn, so a slow stretch of origins does not hold one thread up
    step = max(1, min(64, -(-n_origins // (8 * n_threads))))
    with ThreadPoolExecutor(n_threads) as pool:
        for f in [pool.submit(_route_origins, o, min(n_origins, o + step), *args)
                  for o in range(0, n_origins, step)]:
            f.result()
    return out

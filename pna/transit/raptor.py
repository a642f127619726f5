"""Earliest-arrival public-transport routing: RAPTOR vectorised over many queries.

Why RAPTOR rather than CSA: the transfer limit (``max_transfers``) is the round count of
RAPTOR, so it costs nothing extra, whereas CSA needs one label set per number of trips.
Vectorised: in numpy the cost is the number of array operations, not their length, so every
(origin, departure minute) pair becomes one column of a label matrix and each route is scanned
once per round for *all* of them at the same time (about 10^4 numpy calls for the whole 3-hour
window instead of 10^4 per query). It still repeats every departure minute in full, so at region
size range-RAPTOR (``range_raptor.py``, compiled, labels reused across departures) is the
default engine; this one stays as its baseline and cross-check (identical outputs).

Journey model (``reference.py`` implements the same model independently):
access walk -> trip -> [transfer walk -> trip]* -> egress walk, at most ``max_transfers + 1``
trips; a transfer at the same stop takes 0 s; a walk-only journey (origin -> site) is always
allowed. Boarding needs ``departure >= time at stop`` (and pickup allowed); alighting needs
drop-off allowed. All times are integer seconds since service-day midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from .gtfs import Feed
from .services import active_trips

INF = np.int32(2**30)  # "unreachable"; leaves headroom so INF + walk never overflows int32


@dataclass
class Pattern:
    """Trips that serve the same stops with the same pickup/drop-off rules, in FIFO order."""

    stops: np.ndarray        # stop indices along the pattern, length m
    dep: np.ndarray          # (n_trips, m) departure seconds, non-decreasing down each column
    arr: np.ndarray          # (n_trips + 1, m) arrival seconds; last row INF ("no trip")
    pickup: np.ndarray       # (m,) bool: boarding allowed
    dropoff: np.ndarray      # (m,) bool: alighting allowed
    trip_ids: np.ndarray     # (n_trips,) GTFS trip ids


@dataclass
class Timetable:
    """The trips of one service date, grouped into patterns, with stops indexed 0..n-1."""

    date: str
    stop_ids: np.ndarray     # GTFS stop ids, index = stop index
    stop_xy: np.ndarray      # (n_stops, 2) EPSG:27700
    patterns: list[Pattern]
    stop_patterns: list[np.ndarray]  # per stop: the pattern indices serving it
    n_trips: int
    n_stop_times: int

    @property
    def n_stops(self) -> int:
        """Number of stops."""
        return len(self.stop_ids)


def _fifo_groups(dep: np.ndarray, arr: np.ndarray) -> list[list[int]]:
    """Split trips (rows sorted by first departure) into groups with no overtaking."""
    groups: list[list[int]] = []
    for t in range(len(dep)):
        for g in groups:
            last = g[-1]
            if (dep[t] >= dep[last]).all() and (arr[t] >= arr[last]).all():
                g.append(t)
                break
        else:
            groups.append([t])
    return groups


def build_timetable(feed: Feed, date, *, start_s: int = 0, end_s: int = 48 * 3600) -> Timetable:
    """Group the trips running on ``date`` into FIFO patterns.

    Parameters
    ----------
    feed
        A validated feed.
    date
        The service day.
    start_s, end_s
        Seconds since service-day midnight. Only trips with a stop event inside
        ``[start_s, end_s]`` are kept: a journey that starts at or after ``start_s`` and
        arrives by ``end_s`` can use no other trip.

    Returns
    -------
    Timetable
    """
    trips = active_trips(feed, date)
    st = feed.stop_times[feed.stop_times["trip_id"].isin(trips["trip_id"])]
    span = st.groupby("trip_id", sort=True).agg(first=("departure_s", "min"), last=("arrival_s", "max"))
    keep = span.index[(span["last"] >= start_s) & (span["first"] <= end_s)]
    st = st[st["trip_id"].isin(keep)]
    stop_ids = np.array(sorted(st["stop_id"].unique()), dtype=object)
    sidx = pd.Series(np.arange(len(stop_ids)), index=stop_ids)
    stops = feed.stops.set_index("stop_id").loc[stop_ids]
    stop_xy = stops[["easting", "northing"]].to_numpy(dtype=float)

    st = st.assign(s=sidx.loc[st["stop_id"]].to_numpy(),
                   pu=(st["pickup_type"] != 1).to_numpy(), do=(st["drop_off_type"] != 1).to_numpy())
    groups: dict[tuple, list[tuple[int, str, np.ndarray, np.ndarray]]] = {}
    for tid, g in st.groupby("trip_id", sort=True):
        s = g["s"].to_numpy()
        pu, do = g["pu"].to_numpy().copy(), g["do"].to_numpy().copy()
        pu[-1] = False   # nothing to ride to from the last stop
        do[0] = False
        key = (tuple(s), tuple(pu), tuple(do))
        groups.setdefault(key, []).append((int(g["departure_s"].iloc[0]), tid,
                                           g["departure_s"].to_numpy(np.int32),
                                           g["arrival_s"].to_numpy(np.int32)))
    patterns: list[Pattern] = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda x: (x[0], x[1]))
        dep = np.vstack([m[2] for m in members])
        arr = np.vstack([m[3] for m in members])
        tids = np.array([m[1] for m in members], dtype=object)
        for grp in _fifo_groups(dep, arr):
            a = np.vstack([arr[grp], np.full((1, arr.shape[1]), INF, dtype=np.int32)])
            patterns.append(Pattern(stops=np.array(key[0], dtype=np.int64), dep=dep[grp], arr=a,
                                    pickup=np.array(key[1]), dropoff=np.array(key[2]),
                                    trip_ids=tids[grp]))
    serving: list[list[int]] = [[] for _ in range(len(stop_ids))]
    for p, pat in enumerate(patterns):
        for s in np.unique(pat.stops):
            serving[s].append(p)
    return Timetable(date=str(pd.Timestamp(date).date()), stop_ids=stop_ids, stop_xy=stop_xy,
                     patterns=patterns, stop_patterns=[np.array(x, dtype=np.int64) for x in serving],
                     n_trips=len(keep), n_stop_times=len(st))


@dataclass
class WalkLinks:
    """Walking legs, in integer seconds, all as sparse (from, to, seconds) triples.

    ``access``: origin -> stop; ``transfer``: stop -> other stop; ``egress``: stop -> site;
    ``direct``: (n_sites, n_origins) origin -> site walk-only seconds (INF if not walkable).
    """

    access: tuple[np.ndarray, np.ndarray, np.ndarray]
    transfer: tuple[np.ndarray, np.ndarray, np.ndarray]
    egress: tuple[np.ndarray, np.ndarray, np.ndarray]
    direct: np.ndarray


def _relax_transfers(board: np.ndarray, alight: np.ndarray, improved: np.ndarray,
                     transfer: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """board[t] = min(board[t], alight[s] + w) for improved s; returns stops whose board fell."""
    newly = np.zeros(board.shape[0], dtype=bool)
    for s in np.flatnonzero(improved):     # same-stop transfer, 0 s
        before = board[s].copy()
        np.minimum(board[s], alight[s], out=board[s])
        newly[s] |= bool((board[s] < before).any())
    src, dst, w = transfer
    if len(src):
        sel = improved[src]
        s_, d_, w_ = src[sel], dst[sel], w[sel]
        for s, d, ww in zip(s_.tolist(), d_.tolist(), w_.tolist()):
            cand = alight[s] + np.int32(ww)
            if (cand < board[d]).any():
                np.minimum(board[d], cand, out=board[d])
                newly[d] = True
    return newly


def raptor_columns(tt: Timetable, board0: np.ndarray, *,
                   transfer: tuple[np.ndarray, np.ndarray, np.ndarray],
                   max_transfers: int) -> np.ndarray:
    """Run RAPTOR for many queries at once.

    Parameters
    ----------
    tt
        The timetable.
    board0
        (n_stops, n_queries) int32: time each query can first be at each stop (after its access
        walk), INF where not reachable on foot.
    transfer
        (from_stop, to_stop, seconds) walking transfers between different stops.
    max_transfers
        At most ``max_transfers + 1`` trips.

    Returns
    -------
    ndarray
        (n_stops, n_queries) int32: earliest arrival *by vehicle* at each stop (INF if none),
        i.e. the times from which an egress walk may start.
    """
    board = board0.copy()
    alight = np.full_like(board, INF)
    marked = cast(np.ndarray, (board < INF).any(axis=1))  # an array for 2-D input; numpy's stubs allow a scalar
    for _ in range(max_transfers + 1):
        idx = np.flatnonzero(marked)
        if len(idx) == 0:
            break
        pats = np.unique(np.concatenate([tt.stop_patterns[s] for s in idx]))
        improved = np.zeros(tt.n_stops, dtype=bool)
        for p in pats.tolist():
            pat = tt.patterns[p]
            m_idx = np.flatnonzero(marked[pat.stops] & pat.pickup)
            if len(m_idx) == 0:
                continue
            cur = None   # per query: index of the trip being ridden (n_trips = none -> INF row)
            for i in range(int(m_idx[0]), len(pat.stops)):
                s = pat.stops[i]
                if cur is not None and pat.dropoff[i]:
                    a = pat.arr[cur, i]
                    if (a < alight[s]).any():
                        np.minimum(alight[s], a, out=alight[s])
                        improved[s] = True
                if pat.pickup[i]:
                    # ``board`` is only written after all routes are scanned, so it holds the
                    # previous round's labels here, as RAPTOR requires.
                    b = board[s]
                    if cur is None:
                        if not (b < INF).any():
                            continue
                        cur = np.searchsorted(pat.dep[:, i], b, side="left")
                    else:
                        np.minimum(cur, np.searchsorted(pat.dep[:, i], b, side="left"), out=cur)
        if not improved.any():
            break
        marked = _relax_transfers(board, alight, improved, transfer)
    return alight


def route_many(tt: Timetable, links: WalkLinks, *, departures: np.ndarray, n_origins: int,
               max_transfers: int, max_columns: int = 8192) -> np.ndarray:
    """Earliest arrival at every site, for every origin and departure time.

    Parameters
    ----------
    tt, links
        Timetable and walking legs (origins and sites as indexed in ``links``).
    departures
        (n_dep,) departure times, seconds since service-day midnight.
    n_origins
        Number of origins.
    max_transfers
        Transfer limit.
    max_columns
        Queries per block (bounds memory: 2 x n_stops x max_columns x 4 bytes).

    Returns
    -------
    ndarray
        (n_sites, n_origins, n_dep) int32 arrival seconds, INF where not reachable.
    """
    departures = np.asarray(departures, dtype=np.int32)
    n_dep = len(departures)
    n_sites = links.direct.shape[0]
    out = np.full((n_sites, n_origins, n_dep), INF, dtype=np.int32)
    a_o, a_s, a_w = links.access
    e_s, e_p, e_w = links.egress
    block = max(1, max_columns // max(n_dep, 1))
    for o0 in range(0, n_origins, block):
        o1 = min(n_origins, o0 + block)
        nb = o1 - o0
        board = np.full((tt.n_stops, nb, n_dep), INF, dtype=np.int32)
        sel = (a_o >= o0) & (a_o < o1)
        board[a_s[sel], a_o[sel] - o0, :] = departures[None, :] + a_w[sel, None].astype(np.int32)
        alight = raptor_columns(tt, board.reshape(tt.n_stops, nb * n_dep), transfer=links.transfer,
                                max_transfers=max_transfers).reshape(tt.n_stops, nb, n_dep)
        res = out[:, o0:o1, :]
        direct = links.direct[:, o0:o1]
        np.minimum(res, np.where(direct[:, :, None] < INF, direct[:, :, None] + departures[None, None, :],
                                 INF).astype(np.int32), out=res)
        for s, p, w in zip(e_s.tolist(), e_p.tolist(), e_w.tolist()):
            cand = alight[s] + np.int32(w)
            np.minimum(res[p], cand, out=res[p])
        np.minimum(res, INF, out=res)
    return out

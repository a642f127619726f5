"""Brute-force checker: earliest arrival by Dijkstra on an explicit time-expanded graph.

Independent of ``raptor.py`` (it reads the feed's stop_times, not the patterns), it builds
one node per event and layer:

* ``B(stop, t, k)``: waiting at a stop at a departure time ``t`` having ridden ``k`` trips,
  chained by waiting arcs to the next departure time at that stop;
* ``D(trip, i, k)`` / ``A(trip, i, k)``: on board the ``k``-th trip departing from / arrived at
  its ``i``-th stop (riding arcs, dwell arcs);
* boarding arcs ``B(s, dep, k-1) -> D(trip, i, k)`` where pickup is allowed, alighting arcs
  from ``A`` (where drop-off is allowed) to the first ``B(s', t, k)`` with
  ``t >= arrival + walk(s, s')`` (``s' = s`` with 0 s, or a walking transfer), and egress arcs
  to one sink node per site.

A query (origin, departure) seeds the first departure node reachable after each access walk
and the walk-only arrival at each site, then runs a plain heapq Dijkstra on absolute times.
It is slow (pure Python) and exists to test the router: both must agree to the second.
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict

import numpy as np

from .gtfs import Feed
from .raptor import INF, WalkLinks
from .services import active_trips


class TimeExpandedGraph:
    """The time-expanded graph of one service date (see module docstring).

    Parameters
    ----------
    feed
        A validated feed.
    date
        The service day.
    stop_ids
        Stop ids in the order ``links`` indexes them (``Timetable.stop_ids``).
    links
        Walking legs (access, transfers, egress, walk-only).
    max_transfers
        Transfer limit, as the router's.
    """

    def __init__(self, feed: Feed, date, *, stop_ids: np.ndarray, links: WalkLinks, max_transfers: int):
        self.K = max_transfers
        self.links = links
        self.n_sites = links.direct.shape[0]
        index = {sid: i for i, sid in enumerate(stop_ids)}
        trips = set(active_trips(feed, date)["trip_id"])
        st = feed.stop_times[feed.stop_times["trip_id"].isin(trips)]
        st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
        events: list[tuple] = []   # (trip, i, stop, arr, dep, can_board, can_alight)
        for tid, g in st.groupby("trip_id", sort=True):
            n = len(g)
            for i, (sid, a, d, pu, do) in enumerate(zip(g["stop_id"], g["arrival_s"], g["departure_s"],
                                                        g["pickup_type"], g["drop_off_type"])):
                s = index.get(sid, -1)     # stops with no walking leg still carry trips
                if s < 0:
                    s = index.setdefault(sid, len(index))
                events.append((tid, i, s, int(a), int(d), pu != 1 and i < n - 1, do != 1 and i > 0))
        self.n_stops = len(index)
        # departure times per stop (boarding events only)
        times: dict[int, list[int]] = defaultdict(list)
        for e in events:
            if e[5]:
                times[e[2]].append(e[4])
        self.times = {s: sorted(set(v)) for s, v in times.items()}
        self._id: dict[tuple, int] = {}
        self.adj: list[list[tuple[int, int]]] = []
        for s, ts in self.times.items():
            for k in range(self.K + 1):
                prev, last_t = None, 0
                for t in ts:
                    n = self._node(("B", s, t, k))
                    if prev is not None:
                        self.adj[prev].append((n, t - last_t))
                    prev, last_t = n, t
        sinks = [self._node(("P", p)) for p in range(self.n_sites)]
        self.sinks = sinks
        tr_by_stop: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for a, b, w in zip(*links.transfer):
            tr_by_stop[int(a)].append((int(b), int(w)))
        eg_by_stop: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for s, p, w in zip(*links.egress):
            eg_by_stop[int(s)].append((int(p), int(w)))
        by_trip: dict[str, list[tuple]] = defaultdict(list)
        for e in events:
            by_trip[e[0]].append(e)
        for tid, evs in by_trip.items():
            for k in range(1, self.K + 2):
                for j, (_, i, s, a, d, can_b, can_a) in enumerate(evs):
                    A = self._node(("A", tid, i, k))
                    if j + 1 < len(evs):
                        D = self._node(("D", tid, i, k))
                        self.adj[A].append((D, d - a))
                        self.adj[D].append((self._node(("A", tid, evs[j + 1][1], k)), evs[j + 1][3] - d))
                        if can_b:
                            self.adj[self._node(("B", s, d, k - 1))].append((D, 0))
                    if can_a:
                        if k <= self.K:
                            for s2, w in [(s, 0)] + tr_by_stop.get(s, []):
                                b = self._first_board(s2, a + w, k)
                                if b is not None:
                                    self.adj[A].append((b[0], w + b[1]))
                        for p, w in eg_by_stop.get(s, []):
                            self.adj[A].append((sinks[p], w))
        self.access: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for o, s, w in zip(*links.access):
            self.access[int(o)].append((int(s), int(w)))

    def _node(self, key: tuple) -> int:
        n = self._id.get(key)
        if n is None:
            n = self._id[key] = len(self.adj)
            self.adj.append([])
        return n

    def _first_board(self, s: int, t: int, k: int) -> tuple[int, int] | None:
        """(node, wait) of the first departure at stop s at or after time t, layer k."""
        ts = self.times.get(s)
        if not ts:
            return None
        j = bisect.bisect_left(ts, t)
        if j == len(ts):
            return None
        return self._id[("B", s, ts[j], k)], ts[j] - t

    def earliest_arrival(self, origin: int, departure: int, *, horizon_s: int | None = None) -> np.ndarray:
        """Arrival seconds at every site (INF if none) for one origin and departure time."""
        dist: dict[int, int] = {}
        heap: list[tuple[int, int]] = []
        for p in range(self.n_sites):
            w = int(self.links.direct[p, origin])
            if w < INF:
                heap.append((departure + w, self.sinks[p]))
        for s, w in self.access.get(origin, []):
            b = self._first_board(s, departure + w, 0)
            if b is not None:
                heap.append((departure + w + b[1], b[0]))
        heapq.heapify(heap)
        limit = None if horizon_s is None else departure + horizon_s
        while heap:
            t, n = heapq.heappop(heap)
            if n in dist:
                continue
            if limit is not None and t > limit:
                break
            dist[n] = t
            for m, w in self.adj[n]:
                if m not in dist:
                    heapq.heappush(heap, (t + w, m))
        out = np.full(self.n_sites, INF, dtype=np.int64)
        for p, n in enumerate(self.sinks):
            if n in dist:
                out[p] = dist[n]
        return out

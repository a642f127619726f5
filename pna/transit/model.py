"""Public-transport travel times as a ``TravelModel`` (``pna.access.engine``).

Like r5py, a demand point's travel time to a site is the distribution over a departure
window (default 07:00-10:00 at 1-minute steps on a typical weekday) of
``earliest arrival - departure``; ``times_to``/``nearest`` give the median, and
:meth:`TransitModel.nearest_stats` also the configured percentile. Medians and percentiles
use the nearest-rank rule (:func:`pna.access.stats.rank_stat`: an observed value, so an
unreachable share gives ``inf``, never NaN).
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from ..access.engine import clock
from ..access.graph import StreetGraph
from ..access.stats import rank_stat
from ..config import TransitSpec
from ..crs import to_bng
from ..modes import Method, Mode
from ..provenance import portable_source
from .gtfs import Feed
from .range_raptor import FlatTimetable, flatten, route_range
from .raptor import INF, Timetable, WalkLinks, build_timetable, route_many
from .services import active_trips, typical_day, typical_weekday
from .walk import graph_links, straight_line_links, unsnapped

__all__ = ["ENGINES", "TransitModel", "hhmm_to_s"]

#: Routers a :class:`TransitModel` can use (same results; see its ``engine`` parameter).
ENGINES = ("range", "vectorised")


def hhmm_to_s(text: str) -> int:
    """``"07:30"`` -> 27000 seconds."""
    h, m = str(text).split(":")
    return int(h) * 3600 + int(m) * 60


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    if len(gdf) == 0:
        return np.empty((0, 2))
    g = (to_bng(gdf) if gdf.crs is not None else gdf).geometry
    return np.column_stack([g.x.to_numpy(float), g.y.to_numpy(float)])


class TransitModel:
    """Timetable travel times from demand points to sites (RAPTOR over a departure window).

    Parameters
    ----------
    feed
        A validated feed (:func:`pna.transit.gtfs.load_feed`).
    demand
        Demand points (EPSG:27700).
    spec
        ``cfg.travel.transit``: date, window, step, percentile, walking limits, transfer limit.
    walk_speed_kmh, walk_circuity
        Walking speed; circuity is used only without a walk graph.
    walk_graph
        A walk ``StreetGraph``; if given, walking legs follow it, else straight line x circuity.
    max_snap_m
        Points further than this from the walk graph get no walking legs.
    source
        Citation of the GTFS feed, for the method note.
    engine
        ``"range"`` (default): range-RAPTOR (:mod:`pna.transit.range_raptor`), departures
        latest to earliest with labels kept between them; ``"vectorised"``: every (origin,
        departure) as a column of one label matrix (:func:`pna.transit.raptor.route_many`).
        Both give identical arrival times; the vectorised one is kept as the benchmark baseline.

    Attributes
    ----------
    date
        The service day of the window.
    departure_s
        Departure seconds since midnight over the window (every ``spec.step_min`` minutes).
    """

    mode = Mode.TRANSIT
    method = Method.TIMETABLE
    is_estimate = False

    def __init__(self, feed: Feed, demand: gpd.GeoDataFrame, spec: TransitSpec, walk_speed_kmh: float,
                 walk_circuity: float, *, walk_graph: StreetGraph | None = None, max_snap_m: float = 500.0,
                 source: str = "", engine: str = "range"):
        if engine not in ENGINES:
            raise ValueError(f"unknown transit engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.engine = engine
        self.feed, self.demand, self.spec = feed, demand, spec
        self.walk_speed_kmh, self.walk_circuity = float(walk_speed_kmh), float(walk_circuity)
        self.walk_graph, self.max_snap_m = walk_graph, float(max_snap_m)
        self.percentile = int(spec.percentile)
        self.date_note = ""
        date = spec.date
        if date is not None and len(active_trips(feed, date)) == 0:
            self.date_note = (f" The configured date {date} has no services in the feed, so the "
                              "busiest Tuesday-Thursday was used instead.")
            date = None
        self.date: dt.date = date or typical_weekday(feed)
        self.start_s, self.end_s = hhmm_to_s(spec.window_start), hhmm_to_s(spec.window_end)
        self.departure_s = np.arange(self.start_s, self.end_s, spec.step_min * 60, dtype=np.int32)
        self.horizon_s = int(spec.max_journey_min) * 60
        self._origin_xy = _xy(demand)
        self._tt: dict[tuple, Timetable] = {}
        self._flat: dict[tuple, FlatTimetable] = {}
        self._cache: dict[tuple, np.ndarray] = {}
        walk = f"straight-line distance x {self.walk_circuity:g} circuity"
        if walk_graph is not None:
            far = unsnapped(walk_graph, self._origin_xy, max_snap_m=self.max_snap_m)
            walk = "shortest paths on the OpenStreetMap walk graph"
            if far:
                walk += (f" ({far} of {len(self._origin_xy)} demand points lie over {self.max_snap_m:g} m "
                         f"from the graph: their walking legs, and those of stops and sites off the "
                         f"graph, are straight line x {self.walk_circuity:g} circuity)")
        self.method_note = (
            f"Timetable: {source or portable_source(feed.source)}, service day {self.date.isoformat()} "
            f"({self.date:%A}); departures every {spec.step_min} min from {spec.window_start} to "
            f"{spec.window_end}; the median travel time over the window is shown "
            f"(percentile {self.percentile} also reported). RAPTOR earliest arrival with at most "
            f"{spec.max_transfers} transfers; walking at {self.walk_speed_kmh:g} km/h by {walk}: "
            f"to/from stops up to {spec.max_access_walk_m:g} m, transfers up to "
            f"{spec.max_transfer_walk_m:g} m; walking all the way counts when quicker. Journeys "
            f"over {spec.max_journey_min} min count as unreachable." + self.date_note)

    # ------------------------------------------------------------------
    def timetable(self, date: dt.date | None = None, start_s: int | None = None, *,
                  end_s: int | None = None) -> Timetable:
        """The timetable of ``date`` (default: the model's) for departures from ``start_s`` to ``end_s``.

        ``end_s`` defaults to the window's end; the timetable covers the journey limit after it.
        Cached.
        """
        date = date or self.date
        start_s = self.start_s if start_s is None else start_s
        end_s = self.end_s if end_s is None else end_s
        key = (str(date), start_s, end_s)
        if key not in self._tt:
            self._tt[key] = build_timetable(self.feed, date, start_s=start_s, end_s=end_s + self.horizon_s)
        return self._tt[key]

    def walk_links(self, tt: Timetable, site_xy: np.ndarray) -> WalkLinks:
        """Walking legs (access, transfers, egress to the sites at ``site_xy``, walk-only)."""
        sp = self.spec
        if self.walk_graph is not None:
            return graph_links(self.walk_graph, self._origin_xy, stop_xy=tt.stop_xy, site_xy=site_xy,
                               speed_kmh=self.walk_speed_kmh, max_access_m=sp.max_access_walk_m,
                               max_transfer_m=sp.max_transfer_walk_m, max_direct_s=self.horizon_s,
                               max_snap_m=self.max_snap_m, circuity=self.walk_circuity)
        return straight_line_links(self._origin_xy, tt.stop_xy, site_xy=site_xy, speed_kmh=self.walk_speed_kmh,
                                   circuity=self.walk_circuity, max_access_m=sp.max_access_walk_m,
                                   max_transfer_m=sp.max_transfer_walk_m, max_direct_s=self.horizon_s)

    def route(self, tt: Timetable, links: WalkLinks, departures: np.ndarray) -> np.ndarray:
        """Earliest arrivals ``(n_sites, n_demand, n_dep)`` by the model's engine (no journey limit applied)."""
        if self.engine == "vectorised":
            return route_many(tt, links, departures=departures, n_origins=len(self._origin_xy),
                              max_transfers=self.spec.max_transfers)
        key = (tt.date, id(tt))
        if key not in self._flat:
            self._flat = {key: flatten(tt)}
        return route_range(tt, links, departures=departures, n_origins=len(self._origin_xy),
                           max_transfers=self.spec.max_transfers, flat=self._flat[key])

    def arrival_seconds(self, sites: gpd.GeoDataFrame, *, date: dt.date | None = None,
                        departures: np.ndarray | None = None) -> np.ndarray:
        """Earliest arrival seconds, ``(n_sites, n_demand, n_dep)`` (INF beyond the journey limit).

        Parameters
        ----------
        sites
            Sites (EPSG:27700).
        date
            Service day (default: the model's).
        departures
            Departure seconds since midnight (default: the model's window, ``departure_s``).
        """
        deps = self.departure_s if departures is None else np.asarray(departures, dtype=np.int32)
        xy = _xy(sites)
        key = (xy.round(3).tobytes(), str(date or self.date), deps.tobytes())
        if key not in self._cache:
            tt = self.timetable(date, int(deps.min()), end_s=int(deps.max()))
            links = self.walk_links(tt, xy)
            arr = self.route(tt, links, deps)
            arr = np.where(arr - deps[None, None, :] <= self.horizon_s, arr, INF).astype(np.int32)
            self._cache = {key: arr}   # keep one result: they can be large
        return self._cache[key]

    def window_minutes(self, sites: gpd.GeoDataFrame, *, date: dt.date | None = None,
                       departures: np.ndarray | None = None) -> np.ndarray:
        """Travel minutes per departure, ``(n_sites, n_demand, n_dep)`` (inf if unreachable).

        Parameters are those of :meth:`arrival_seconds`.
        """
        arr = self.arrival_seconds(sites, date=date, departures=departures)
        deps = self.departure_s if departures is None else np.asarray(departures)
        return np.where(arr < INF, (arr - deps[None, None, :]) / 60.0, np.inf)

    def window(self, sites: gpd.GeoDataFrame, *, limit_min: float | None = None) -> np.ndarray:
        """Minutes per departure of the configured window, ``(n_sites, n_demand, n_dep)``.

        Parameters
        ----------
        sites
            Sites (EPSG:27700).
        limit_min
            Not used: journeys are already bounded by ``spec.max_journey_min``.

        Returns
        -------
        numpy.ndarray
            :meth:`window_minutes` (one value per departure, so a median over the window can be
            taken after the minimum over sites, as :meth:`nearest` does).
        """
        if len(sites) == 0:
            return np.empty((0, len(self.demand), len(self.departure_s)))
        return np.asarray(self.window_minutes(sites), dtype=float)

    def departures(self, sites: gpd.GeoDataFrame, *, weekday: int, minute: int,
                   window_min: int = 60) -> tuple[np.ndarray, np.ndarray, str]:
        """Minutes for departures every ``spec.step_min`` over ``window_min`` from ``minute``.

        Parameters
        ----------
        sites
            Sites (EPSG:27700).
        weekday
            0 = Monday; the service day is :meth:`day_for` that weekday.
        minute
            First departure, minutes since midnight.
        window_min
            Length of the departure window in minutes.

        Returns
        -------
        (minutes, depart_minutes, note)
            ``(n_sites, n_demand, k)`` minutes per departure (inf if unreachable), the ``k``
            departure minutes, and the service day and departures in plain words.
        """
        date = self.day_for(weekday)
        step = self.spec.step_min
        deps = np.arange(minute * 60, (minute + window_min) * 60, step * 60, dtype=np.int32)
        note = (f"service day {date.isoformat()}, departures every {step} min from "
                f"{clock(minute)} for {window_min} min, median")
        if len(sites) == 0:
            return np.empty((0, len(self.demand), len(deps))), deps / 60.0, note
        return self.window_minutes(sites, date=date, departures=deps), deps / 60.0, note

    def for_points(self, points: gpd.GeoDataFrame) -> None:
        """None: a timetable model is not rebuilt for other points.

        Its routing is per origin set; callers take each point's nearest demand point instead.
        """
        return None

    def minutes_from(self, xy: tuple[float, float], targets: gpd.GeoDataFrame) -> np.ndarray:
        """NaN for every target: the timetable model routes from residents' homes only."""
        return np.full(len(targets), np.nan)

    def times_to(self, sites: gpd.GeoDataFrame) -> np.ndarray:
        """Median minutes over the window from every demand point to every site, (n_sites, n_demand)."""
        if len(sites) == 0:
            return np.empty((0, len(self.demand)))
        return rank_stat(self.window_minutes(sites), 50)

    def nearest(self, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Median minutes to the nearest site over the window, and that site's index, per demand point.

        The site is the one with the lowest median; its index is -1 where nothing is reachable.
        """
        if len(sites) == 0:
            return np.full(len(self.demand), np.inf), np.full(len(self.demand), -1, dtype=np.int64)
        w = self.window_minutes(sites)
        minutes = rank_stat(w.min(axis=0), 50)
        per_site = rank_stat(w, 50)
        idx = np.argmin(per_site, axis=0).astype(np.int64)
        idx[~np.isfinite(minutes)] = -1
        return minutes, idx

    def nearest_stats(self, sites: gpd.GeoDataFrame) -> pd.DataFrame:
        """Per demand point: median, percentile, best and worst minutes to the nearest site.

        Also the share of departures from which a site is reachable.
        """
        w = self.window_minutes(sites).min(axis=0) if len(sites) else \
            np.full((len(self.demand), len(self.departure_s)), np.inf)
        return pd.DataFrame({
            "point_id": self.demand["point_id"].to_numpy() if "point_id" in self.demand else
            np.arange(len(self.demand)),
            "minutes_median": rank_stat(w, 50),
            f"minutes_p{self.percentile}": rank_stat(w, self.percentile),
            "minutes_min": w.min(axis=1), "minutes_max": w.max(axis=1),
            "share_departures_reachable": np.isfinite(w).mean(axis=1),
        })

    def day_for(self, weekday: int) -> dt.date:
        """The service date used for a scenario on ``weekday`` (0 = Monday).

        That is the model's own date if it is that weekday, else the busiest such day in the feed.
        """
        if self.date.weekday() == weekday:
            return self.date
        return typical_day(self.feed, (weekday,))

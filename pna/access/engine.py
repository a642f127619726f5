"""Travel models: one interface for network, straight-line and timetable engines.

Coverage, the report and the application assessor only see a :class:`TravelModel`:
minutes from each demand point to each site, to the nearest site, per departure over the
model's window or from a given clock time, and the same engine for other points. No caller
looks at a model's class or attributes beyond the protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np

from ..config import Config
from ..modes import Method, Mode
from ..quality import QualityLog
from . import routing
from .graph import StreetGraph
from .supply import site_xy

__all__ = ["TravelModel", "NetworkModel", "connector_speed_kmh", "clock", "single_departure"]

STAGE = "access.engine"


@runtime_checkable
class TravelModel(Protocol):
    """What every travel-time engine provides (see docs/ARCHITECTURE.md, "Travel models").

    Attributes
    ----------
    mode
        How people travel (walk, drive, transit).
    method
        How the times are made (network, straight_line, timetable).
    is_estimate
        True where the times are an estimate (straight line), to be labelled as such.
    method_note
        The method in plain words, for the report.
    demand
        The demand points the model was built for (EPSG:27700).
    """

    mode: Mode
    method: Method
    is_estimate: bool
    method_note: str
    demand: gpd.GeoDataFrame

    def times_to(self, sites: gpd.GeoDataFrame) -> np.ndarray:
        """Minutes from every demand point to every site: shape (n_sites, n_demand); inf if unreachable."""
        ...

    def nearest(self, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(minutes to the nearest site, index of that site) per demand point."""
        ...

    def window(self, sites: gpd.GeoDataFrame, *, limit_min: float | None = None) -> np.ndarray:
        """Minutes per departure over the model's window: shape (n_sites, n_demand, k).

        ``k`` is the number of departures of a timetable model's configured window, 1 for a
        model whose times do not depend on the clock. Where the model's search can be bounded
        (a street network), times beyond ``limit_min`` are ``inf``; others ignore it.
        """
        ...

    def departures(self, sites: gpd.GeoDataFrame, *, weekday: int, minute: int,
                   window_min: int = 60) -> tuple[np.ndarray, np.ndarray, str]:
        """Minutes for departures from ``minute`` on a day of ``weekday`` (0 = Monday).

        Returns (minutes (n_sites, n_demand, k), departure minutes since midnight (k,), note).
        """
        ...

    def for_points(self, points: gpd.GeoDataFrame) -> TravelModel | None:
        """The same engine rebuilt for other demand points, or None where it cannot be."""
        ...

    def minutes_from(self, xy: tuple[float, float], targets: gpd.GeoDataFrame) -> np.ndarray:
        """Minutes from one point (EPSG:27700) to each target; NaN where the engine cannot say."""
        ...


def clock(minute: int) -> str:
    """``HH:MM`` of a whole minute since midnight (``1230`` -> ``"20:30"``)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def single_departure(model: TravelModel, sites: gpd.GeoDataFrame, *, minute: int
                     ) -> tuple[np.ndarray, np.ndarray, str]:
    """:meth:`TravelModel.departures` of a model whose times do not depend on the clock.

    Parameters
    ----------
    model
        The model (its ``times_to`` is used).
    sites
        Sites (EPSG:27700).
    minute
        Departure minute since midnight.

    Returns
    -------
    (minutes, depart_minutes, note)
        ``times_to(sites)[:, :, None]``, ``[minute]`` and ``"departing HH:MM"``.
    """
    return (np.asarray(model.times_to(sites))[:, :, None], np.array([float(minute)]),
            f"departing {clock(minute)}")


def connector_speed_kmh(cfg: Config, mode: Mode | str) -> float:
    """Speed for the straight leg between a point and its street node.

    Walkers walk it; for driving it is the slowest configured road class (a car park or
    private drive), so the leg is never made quicker than the streets themselves.

    Parameters
    ----------
    cfg
        Config (``travel.walk.speed_kmh``, ``travel.drive.highway_speeds_kmh``).
    mode
        ``walk`` or ``drive``.
    """
    if mode == Mode.WALK:
        return float(cfg.travel.walk.speed_kmh)
    return float(min(cfg.travel.drive.highway_speeds_kmh.values()))


class NetworkModel:
    """Travel times over a street graph (scipy compiled Dijkstra).

    Parameters
    ----------
    graph
        A :class:`pna.access.graph.StreetGraph` for ``mode``.
    demand
        Demand points (EPSG:27700). Each is snapped to its nearest graph node within
        ``cfg.travel.max_snap_m``; points further away (outside the extract, say) cannot be
        reached: their minutes are ``inf`` and coverage counts them as not covered.
    cfg
        Config (snap distance, speeds).
    mode
        ``walk`` or ``drive``.
    quality
        Unsnapped demand points and sites are recorded here as exceptions.

    Notes
    -----
    A trip is: straight connector from the home to its street node (at
    :func:`connector_speed_kmh`), the network route, and the straight connector from the
    pharmacy's street node to the pharmacy. In :meth:`nearest` each pharmacy's connector leg
    is the start-up offset of one compiled multi-source search, so the choice is exact.
    """

    method = Method.NETWORK
    is_estimate = False

    def __init__(self, graph: StreetGraph, demand: gpd.GeoDataFrame, cfg: Config, mode: Mode | str,
                 quality: QualityLog | None = None):
        mode = Mode(mode)
        self.graph = graph
        self.demand = demand
        self.mode = mode
        self.cfg = cfg
        self.quality = quality
        self.max_snap_m = float(cfg.travel.max_snap_m)
        self.connector_mps = connector_speed_kmh(cfg, mode) / 3.6
        xy = site_xy(demand)
        self.demand_node, self.demand_snap_m = self._snap(xy)
        unsnapped = self.demand_node < 0
        self.n_unsnapped = int(unsnapped.sum())
        self.pop_unsnapped = float(demand["population"].to_numpy(float)[unsnapped].sum()) \
            if "population" in demand else float("nan")
        if quality is not None:
            for pid in demand["point_id"].to_numpy()[unsnapped]:
                quality.add(STAGE, f"{mode} street network", None, pid,
                            f"demand point is more than {self.max_snap_m:g} m from the {mode} network "
                            "(outside the extract?); it counts as not covered", "geometry", "flagged")
        speed = ("walking speed" if mode == Mode.WALK
                 else f"OSM maxspeed or per-class road speeds × congestion factor "
                      f"{cfg.travel.drive.congestion_factor:g}")
        self.method_note = (
            f"Street-network {mode} times over OpenStreetMap ({graph.n_nodes:,} nodes) at {speed}"
            + (f" {cfg.travel.walk.speed_kmh:g} km/h" if mode == Mode.WALK else "")
            + f"; homes and pharmacies joined to the nearest street node within {self.max_snap_m:g} m"
            + (f"; {self.n_unsnapped} of {len(demand)} demand points "
               f"({self.pop_unsnapped:,.0f} residents) lie beyond that and count as not covered"
               if self.n_unsnapped else ""))

    def _snap(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(xy) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        node, dist = routing.snap(self.graph, xy, max_snap_m=self.max_snap_m)
        return np.asarray(node, dtype=np.int64), np.asarray(dist, dtype=float)

    def _sites(self, sites: gpd.GeoDataFrame, record: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(street node, connector seconds) per site; node −1 where it cannot be snapped."""
        node, dist = self._snap(site_xy(sites))
        bad = node < 0
        if record and self.quality is not None and bad.any():
            for code in sites["ods_code"].to_numpy()[bad]:
                self.quality.add(STAGE, f"{self.mode} street network", None, code,
                                 f"pharmacy is more than {self.max_snap_m:g} m from the {self.mode} network; "
                                 "it cannot be reached in this mode", "geometry", "flagged")
        return node, np.where(bad, np.inf, dist / self.connector_mps)

    @property
    def demand_connector_s(self) -> np.ndarray:
        """Seconds of each demand point's straight connector to its node (``inf`` if unsnapped)."""
        return np.where(self.demand_node >= 0, self.demand_snap_m / self.connector_mps, np.inf)

    def node_seconds(self, sites: gpd.GeoDataFrame, limit_s: float | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from every graph node to its nearest site (connector included), and that site."""
        node, conn = self._sites(sites)
        ok = np.flatnonzero(node >= 0)
        n = self.graph.n_nodes
        if ok.size == 0:
            return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        # Each pharmacy's own connector leg is a start-up offset of the search, so the nearest
        # pharmacy is chosen with it included (exact, not chosen first and corrected after).
        secs, src = routing.nearest_source_times(self.graph, node[ok], limit_s=limit_s, reverse=True,
                                                 source_offset_s=conn[ok])
        secs = np.asarray(secs, dtype=float)
        src = np.asarray(src, dtype=np.int64)
        reached = (src >= 0) & np.isfinite(secs)
        site_idx = np.full(n, -1, dtype=np.int64)
        site_idx[reached] = ok[src[reached]]
        out = np.full(n, np.inf)
        out[reached] = secs[reached]
        return out, site_idx

    def nearest(self, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(minutes to the nearest site, index of that site; −1 if none) per demand point."""
        secs, idx = self.node_seconds(sites)
        dn = self.demand_node
        ok = dn >= 0
        minutes = np.full(len(dn), np.inf)
        site = np.full(len(dn), -1, dtype=np.int64)
        minutes[ok] = (secs[dn[ok]] + self.demand_connector_s[ok]) / 60.0
        site[ok] = idx[dn[ok]]
        site[~np.isfinite(minutes)] = -1
        return minutes, site

    def _site_minutes(self, sites: gpd.GeoDataFrame, limit_s: float | None, chunk: int) -> np.ndarray:
        """(n_sites, n_demand) minutes, one reversed search per site (bounded by ``limit_s``)."""
        node, conn = self._sites(sites, record=False)
        out = np.full((len(sites), len(self.demand)), np.inf)
        dn = self.demand_node
        okd = dn >= 0
        dconn = self.demand_connector_s[okd]
        rows = np.flatnonzero(node >= 0)
        for start in range(0, rows.size, chunk):
            r = rows[start:start + chunk]
            # searched over reversed edges: time *to* each site (one-way streets)
            d = routing.times_from_sources(self.graph, node[r], limit_s=limit_s, reverse=True)
            out[np.ix_(r, np.flatnonzero(okd))] = (d[:, dn[okd]] + dconn[None, :] + conn[r, None]) / 60.0
        return out

    def times_to(self, sites: gpd.GeoDataFrame, chunk: int = 64) -> np.ndarray:
        """Minutes from every demand point to every site, shape (n_sites, n_demand); inf if unreachable."""
        return self._site_minutes(sites, None, chunk)

    def window(self, sites: gpd.GeoDataFrame, *, limit_min: float | None = None) -> np.ndarray:
        """Minutes from every demand point to each site, ``(n_sites, n_demand, 1)``.

        Parameters
        ----------
        sites
            Sites (EPSG:27700).
        limit_min
            Stop each site's reverse search at this many minutes: points further get ``inf``
            (coverage at thresholds up to the limit is unaffected). None: no limit.

        Returns
        -------
        numpy.ndarray
            One departure (street times do not depend on the clock): site connector, network
            route and home connector, as :meth:`times_to`.
        """
        limit_s = None if limit_min is None else float(limit_min) * 60.0
        out = self._site_minutes(sites, limit_s, 64)
        if limit_min is not None:
            out[out > limit_min] = np.inf
        return out[:, :, None]

    def departures(self, sites: gpd.GeoDataFrame, *, weekday: int, minute: int,
                   window_min: int = 60) -> tuple[np.ndarray, np.ndarray, str]:
        """Minutes for a departure at ``minute``: street times do not depend on the clock.

        Parameters
        ----------
        sites
            Sites (EPSG:27700).
        weekday, window_min
            Not used (one departure whatever the day).
        minute
            Departure minute since midnight.

        Returns
        -------
        (minutes, depart_minutes, note)
            See :func:`single_departure`.
        """
        return single_departure(self, sites, minute=minute)

    def for_points(self, points: gpd.GeoDataFrame) -> NetworkModel:
        """The same graph and speeds for other demand points (unsnapped points are not recorded).

        Parameters
        ----------
        points
            Points (EPSG:27700) with ``point_id`` (and ``population`` for the method note).
        """
        return NetworkModel(self.graph, points, self.cfg, self.mode)

    def minutes_from(self, xy: tuple[float, float], targets: gpd.GeoDataFrame) -> np.ndarray:
        """Minutes from one point to each target: one forward search from its street node.

        Parameters
        ----------
        xy
            The origin (EPSG:27700).
        targets
            Target sites (EPSG:27700).

        Returns
        -------
        numpy.ndarray
            Minutes per target, connectors included; ``inf`` where either end is off the network.
        """
        node, snap = routing.snap(self.graph, np.array([xy], dtype=float), max_snap_m=self.max_snap_m)
        if node[0] < 0:
            return np.full(len(targets), np.inf)
        tn, tsnap = routing.snap(self.graph, site_xy(targets), max_snap_m=self.max_snap_m)
        d = routing.times_from_sources(self.graph, node, reverse=False)[0]
        out = np.full(len(targets), np.inf)
        ok = tn >= 0
        out[ok] = (d[tn[ok]] + (snap[0] + tsnap[ok]) / self.connector_mps) / 60.0
        return out

    def minutes_at(self, xy: np.ndarray, sites: gpd.GeoDataFrame, *,
                   node_seconds: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(minutes to the nearest site, its index) for arbitrary points, via their nearest node.

        Parameters
        ----------
        xy
            ``(n, 2)`` easting, northing (EPSG:27700).
        sites
            Sites (EPSG:27700).
        node_seconds
            A result of :meth:`node_seconds` for ``sites`` to reuse.
        """
        secs, idx = node_seconds if node_seconds is not None else self.node_seconds(sites)
        node, dist = self._snap(np.asarray(xy, dtype=float))
        ok = node >= 0
        minutes = np.full(len(node), np.inf)
        site = np.full(len(node), -1, dtype=np.int64)
        minutes[ok] = (secs[node[ok]] + dist[ok] / self.connector_mps) / 60.0
        site[ok] = idx[node[ok]]
        return minutes, site

"""Straight-line travel-time estimate, used when no street network is supplied.

minutes = crow-fly distance × circuity / speed. The circuity factor stands for
the extra length of real routes over the straight line (see
``pna.access.calibrate`` and ``benchmarks/results/calibration.json`` for the
values measured on a real street network).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from scipy.spatial import cKDTree

from ..modes import Method, Mode
from .engine import single_departure
from .supply import site_xy

__all__ = ["StraightLineModel"]


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    return site_xy(gdf)


class StraightLineModel:
    """A :class:`pna.access.engine.TravelModel` from crow-fly distances.

    Parameters
    ----------
    demand
        Demand points (EPSG:27700).
    mode
        ``walk``, ``drive`` or ``transit``.
    speed_kmh
        Average door-to-door speed.
    circuity
        Ratio of route length to straight-line length (≥ 1).
    """

    method = Method.STRAIGHT_LINE
    is_estimate = True

    def __init__(self, demand: gpd.GeoDataFrame, mode: Mode | str, speed_kmh: float, circuity: float):
        if speed_kmh <= 0 or circuity < 1:
            raise ValueError("speed_kmh must be > 0 and circuity >= 1")
        self.demand = demand
        self.mode = Mode(mode)
        self.speed_kmh = float(speed_kmh)
        self.circuity = float(circuity)
        self._xy = _xy(demand)
        self.method_note = (f"Estimate: straight-line distance × {self.circuity:.2f} circuity at "
                            f"{self.speed_kmh:g} km/h; no street network was supplied")

    @property
    def metres_per_minute(self) -> float:
        """Straight-line metres covered per minute (before circuity)."""
        return self.speed_kmh * 1000.0 / 60.0

    def _minutes(self, metres: np.ndarray) -> np.ndarray:
        return metres * self.circuity / self.metres_per_minute

    def times_to(self, sites: gpd.GeoDataFrame) -> np.ndarray:
        """Minutes from every demand point to every site, shape (n_sites, n_demand)."""
        s = _xy(sites)
        d = np.hypot(s[:, None, 0] - self._xy[None, :, 0], s[:, None, 1] - self._xy[None, :, 1])
        return self._minutes(d)

    def window(self, sites: gpd.GeoDataFrame, *, limit_min: float | None = None) -> np.ndarray:
        """Minutes from every demand point to each site, ``(n_sites, n_demand, 1)``.

        Parameters
        ----------
        sites
            Sites (EPSG:27700).
        limit_min
            Not used: the estimate is one vectorised distance, with nothing to bound.

        Returns
        -------
        numpy.ndarray
            :meth:`times_to` with one departure axis (the estimate does not depend on the clock).
        """
        return np.asarray(self.times_to(sites), dtype=float)[:, :, None]

    def departures(self, sites: gpd.GeoDataFrame, *, weekday: int, minute: int,
                   window_min: int = 60) -> tuple[np.ndarray, np.ndarray, str]:
        """Minutes for a departure at ``minute``: the estimate does not depend on the clock.

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
            See :func:`pna.access.engine.single_departure`.
        """
        return single_departure(self, sites, minute=minute)

    def for_points(self, points: gpd.GeoDataFrame) -> StraightLineModel:
        """The same estimate (speed, circuity, method note) for other points (EPSG:27700)."""
        model = StraightLineModel(points, self.mode, self.speed_kmh, self.circuity)
        model.method_note = self.method_note
        return model

    def minutes_from(self, xy: tuple[float, float], targets: gpd.GeoDataFrame) -> np.ndarray:
        """Minutes from one point to each target: straight line × circuity at the model's speed."""
        t = _xy(targets)
        dist = np.hypot(t[:, 0] - xy[0], t[:, 1] - xy[1]) if len(t) else np.empty(0)
        return self._minutes(dist)

    def minutes_at(self, xy: np.ndarray, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(minutes to the nearest site, its index) for arbitrary points ``xy`` (n×2)."""
        s = _xy(sites)
        if len(s) == 0:
            return np.full(len(xy), np.inf), np.full(len(xy), -1, dtype=np.int64)
        dist, idx = cKDTree(s).query(np.asarray(xy, dtype=float), k=1)
        return self._minutes(dist), idx.astype(np.int64)

    def nearest(self, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(minutes to the nearest site, index of that site) per demand point."""
        return self.minutes_at(self._xy, sites)

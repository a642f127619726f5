"""Incremental what-if travel times: open, close or move one pharmacy without a full re-run.

For each mode a :class:`ModeState` keeps, per demand point, the minutes to every current
site (``window``: ``(n_sites, n_demand, k)``; ``k`` departures for a timetable model, else 1)
and the ``K`` nearest sites in order (``top_idx`` / ``top_min``). Then:

* closing sites is an O(n_demand·K) pass: each point takes its nearest site that stays open
  (only points whose K nearest all close fall back to the full matrix);
* opening a site is the model's :meth:`~pna.access.engine.TravelModel.window` for it — one
  Dijkstra from the site's street node on the reversed graph, bounded by the largest
  threshold, for a network model; one vectorised distance for the straight-line model; one
  RAPTOR run for a timetable — and an element-wise minimum.

The minutes agree with re-running the model's nearest search on the changed site set
(``tests/assess/test_whatif.py``; ``benchmarks/bench_assess.py`` times both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np

from ..access.engine import TravelModel
from ..access.stats import rank_stat
from ..modes import Mode

__all__ = ["TOP_K", "ModeState", "build_state", "build_states", "site_window"]

#: Nearest sites kept per demand point: closing up to K-1 sites never touches the full matrix.
TOP_K = 3


def _rank_median(values: np.ndarray) -> np.ndarray:
    """Nearest-rank median over the departures (last) axis, as the timetable model reports it.

    Identity when the axis has length 1.
    """
    return rank_stat(values, 50)


def site_window(model: TravelModel, sites: gpd.GeoDataFrame, *, limit_min: float | None = None) -> np.ndarray:
    """Minutes from every demand point to each site, ``(n_sites, n_demand, k)``.

    A thin alias of :meth:`pna.access.engine.TravelModel.window`.

    Parameters
    ----------
    model
        A ``TravelModel``.
    sites
        Sites (EPSG:27700) with an ``ods_code`` column.
    limit_min
        Where the model's search can be bounded (a street network): stop each search at this
        many minutes (points further get ``inf``). Coverage at thresholds up to the limit is
        unaffected.

    Notes
    -----
    Timetable models keep one value per departure (``k`` > 1) so the median over the window can
    be taken after the minimum over sites, as ``TransitModel.nearest`` does.
    """
    return model.window(sites, limit_min=limit_min)


@dataclass
class ModeState:
    """Per-mode distance structures for incremental what-ifs (see the module docstring).

    Attributes
    ----------
    model
        The travel model the structures were built from.
    sites
        The supply, positions as in ``window``.
    window
        ``(n_sites, n_demand, k)`` minutes per departure.
    top_idx, top_min
        ``(K, n_demand, k)``: each point's K nearest sites, nearest first, and their minutes.
    site_agg
        ``(n_sites, n_demand)`` per-site minutes (the median over the window).
    """

    model: TravelModel
    sites: gpd.GeoDataFrame
    window: np.ndarray            # (n_sites, n_demand, k) minutes
    top_idx: np.ndarray           # (K, n_demand, k) site index, nearest first
    top_min: np.ndarray           # (K, n_demand, k) minutes
    site_agg: np.ndarray          # (n_sites, n_demand) per-site minutes (median over the window)
    codes: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.codes = self.sites["ods_code"].astype(str).to_numpy(dtype=object)
        self._pos = {c: i for i, c in enumerate(self.codes)}

    @property
    def mode(self) -> Mode:
        """The model's travel mode."""
        return self.model.mode

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return self.window.shape[1]

    def index_of(self, codes: Sequence[str]) -> np.ndarray:
        """Site positions of ODS codes (those not in the supply are skipped)."""
        pos = self._pos
        return np.unique(np.array([pos[c] for c in codes if c in pos], dtype=np.int64))

    # -- the baseline ------------------------------------------------------------
    def minutes(self) -> np.ndarray:
        """Minutes to the nearest current site per demand point."""
        return _rank_median(self.top_min[0])

    def nearest_index(self) -> np.ndarray:
        """Position of the nearest current site per demand point (−1 where none is reachable)."""
        return self._nearest(np.empty(0, dtype=np.int64), None)[1]

    # -- what-ifs -------------------------------------------------------------------
    def _closed_window(self, closed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(min minutes, nearest site) per point and departure with ``closed`` sites removed."""
        if closed.size == 0:
            return self.top_min[0], self.top_idx[0]
        if closed.size == 1:  # the common case: the next-nearest takes over
            return self._without_one(int(closed[0]))
        shut = np.isin(self.top_idx, closed)                 # (K, n, k)
        first = np.argmax(~shut, axis=0)                      # first open among the K nearest
        best = np.take_along_axis(self.top_min, first[None], axis=0)[0]
        idx = np.take_along_axis(self.top_idx, first[None], axis=0)[0]
        lost = shut.all(axis=0)
        if lost.any():  # every one of the K nearest closes: search the full matrix there
            keep = np.ones(self.window.shape[0], dtype=bool)
            keep[closed] = False
            cols = np.nonzero(lost)
            sub = self.window[:, cols[0], cols[1]]            # (n_sites, m)
            sub = np.where(keep[:, None], sub, np.inf)
            j = np.argmin(sub, axis=0)
            best = best.copy()
            idx = idx.copy()
            best[cols] = sub[j, np.arange(sub.shape[1])]
            idx[cols] = np.where(np.isfinite(best[cols]), j, -1)
        return best, idx

    def _without_one(self, s: int, cols: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(min minutes, nearest site) per point (``cols``) and departure if site ``s`` alone closes."""
        first = self.top_idx[0][cols] == s
        if self.top_idx.shape[0] > 1:
            nxt_min, nxt_idx = self.top_min[1][cols], self.top_idx[1][cols]
        else:
            nxt_min = np.full(first.shape, np.inf)
            nxt_idx = np.full(first.shape, -1, dtype=np.int64)
        return (np.where(first, nxt_min, self.top_min[0][cols]),
                np.where(first, nxt_idx, self.top_idx[0][cols]))

    def minutes_without(self, s: int, cols: np.ndarray) -> np.ndarray:
        """Minutes at demand points ``cols`` if site position ``s`` alone closed: O(len(cols))."""
        return _rank_median(self._without_one(s, cols)[0])

    def _nearest(self, closed: np.ndarray, added: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        best, idx = self._closed_window(closed)
        n_sites = self.window.shape[0]
        if added is not None and added.shape[0]:
            a_min = added.min(axis=0)
            a_idx = n_sites + np.argmin(added, axis=0)
            better = a_min < best
            best = np.where(better, a_min, best)
            idx = np.where(better, a_idx, idx)
        minutes = _rank_median(best)
        if best.shape[-1] == 1:
            site = idx[..., 0]
        else:  # timetable: the site with the lowest median, as TransitModel.nearest reports it
            agg = self.site_agg.copy()
            if closed.size:
                agg[closed] = np.inf
            if added is not None and added.shape[0]:
                agg = np.vstack([agg, _rank_median(added)])
            site = np.argmin(agg, axis=0)
        site = np.where(np.isfinite(minutes), site, -1).astype(np.int64)
        return minutes, site

    def what_if(self, close: Sequence[str] = (), add: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Minutes to the nearest pharmacy per demand point after closing and adding sites.

        Parameters
        ----------
        close
            ODS codes that close (codes not in this mode's supply change nothing).
        add
            Windows of added sites from ``model.window(...)``, ``(m, n_demand, k)``.

        Returns
        -------
        (minutes, site)
            Site positions index ``sites`` then the added sites (``n_sites + j``); −1 where
            nothing is reachable.
        """
        return self._nearest(self.index_of(close), add)

    def label(self, site: np.ndarray, added_codes: Sequence[str] = ()) -> np.ndarray:
        """ODS codes (or the added sites' labels) for site positions; None for −1."""
        labels = np.concatenate([self.codes, np.asarray(list(added_codes), dtype=object)])
        out = np.full(len(site), None, dtype=object)
        ok = site >= 0
        out[ok] = labels[site[ok]]
        return out


def build_state(model: TravelModel, sites: gpd.GeoDataFrame) -> ModeState:
    """Precompute the per-site minutes and each point's K nearest sites for one model.

    Parameters
    ----------
    model
        A ``TravelModel`` built for the demand points.
    sites
        The supply the model's results were computed for (``select_supply(...).sites``),
        EPSG:27700.

    Returns
    -------
    ModeState
    """
    sites = sites.reset_index(drop=True)
    window = model.window(sites)
    n_sites, n_dem, k = window.shape
    kk = min(TOP_K, max(n_sites, 1))
    if n_sites == 0:
        top_idx = np.full((1, n_dem, k), -1, dtype=np.int64)
        top_min = np.full((1, n_dem, k), np.inf)
    else:
        part = np.argpartition(window, kk - 1, axis=0)[:kk] if n_sites > kk else \
            np.broadcast_to(np.arange(n_sites)[:, None, None], (n_sites, n_dem, k)).copy()
        vals = np.take_along_axis(window, part, axis=0)
        order = np.argsort(vals, axis=0, kind="stable")
        top_idx = np.take_along_axis(part, order, axis=0).astype(np.int64)
        top_min = np.take_along_axis(vals, order, axis=0)
        # a tie among the K nearest goes to the lower site position, as an argmin would
        tie_fix = np.lexsort((top_idx, top_min), axis=0)
        top_idx = np.take_along_axis(top_idx, tie_fix, axis=0)
        top_min = np.take_along_axis(top_min, tie_fix, axis=0)
        top_idx = np.where(np.isfinite(top_min), top_idx, -1)
    return ModeState(model=model, sites=sites, window=window, top_idx=top_idx, top_min=top_min,
                     site_agg=_rank_median(window))


def build_states(*, models: Mapping[Mode, TravelModel], supply: gpd.GeoDataFrame) -> dict[Mode, ModeState]:
    """Per-mode what-if structures: one :func:`build_state` per model, in mode order.

    Parameters
    ----------
    models
        ``{mode: TravelModel}``, all built for the same demand points.
    supply
        The face-to-face supply (``select_supply(...).sites``), EPSG:27700.

    Returns
    -------
    dict[Mode, ModeState]
        Keyed by mode, in sorted mode order.
    """
    return {Mode(mode): build_state(models[mode], supply) for mode in sorted(models)}

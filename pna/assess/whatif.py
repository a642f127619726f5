"""Incremental what-if travel times: open, close or move one pharmacy without a full re-run.

For each mode a :class:`ModeState` keeps, per demand point, the minutes to every current
site (``window``: ``(n_sites, n_demand, k)``; ``k`` departures for a timetable model, else 1)
and the ``K`` nearest sites in order (``top_idx`` / ``top_min``). Then:

* closing sites is an O(n_demand·K) pass: each point takes its nearest site that stays open
  (only points whose K nearest all close fall back to the full matrix);
* opening a site is one single-source search — one Dijkstra from the site's street node on the
  reversed graph, bounded by the largest threshold, for a network model; one vectorised
  distance for the straight-line model; one RAPTOR run for a timetable — and an element-wise
  minimum.

The minutes agree with re-running the model's nearest search on the changed site set
(``tests/assess/test_whatif.py``; ``benchmarks/bench_assess.py`` times both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import geopandas as gpd
import numpy as np

from ..access.supply import select_supply, site_xy

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline import RunContext

#: Where :func:`mode_states` keeps the structures in ``ctx.meta``.
STATE_KEY = "assess_states"
#: Nearest sites kept per demand point: closing up to K-1 sites never touches the full matrix.
TOP_K = 3


def _rank_median(values: np.ndarray) -> np.ndarray:
    """Nearest-rank median along the last axis (an observed value; ``inf``-safe), as the
    timetable model reports it; identity when the axis has length 1."""
    if values.shape[-1] == 1:
        return values[..., 0]
    v = np.sort(values, axis=-1)
    k = max(int(np.ceil(0.5 * v.shape[-1])) - 1, 0)
    return v[..., k]


def is_network(model: object) -> bool:
    """True for a street-network model (``pna.access.engine.NetworkModel``)."""
    return all(hasattr(model, a) for a in ("graph", "demand_node", "demand_connector_s", "connector_mps"))


def site_window(model, sites: gpd.GeoDataFrame, limit_min: float | None = None) -> np.ndarray:
    """Minutes from every demand point to each site, ``(n_sites, n_demand, k)``.

    Parameters
    ----------
    model
        A ``TravelModel``.
    sites
        Sites (EPSG:27700) with an ``ods_code`` column.
    limit_min
        Network models only: stop each search at this many minutes (points further get
        ``inf``). Coverage at thresholds up to the limit is unaffected.

    Notes
    -----
    Timetable models (with ``window_minutes``) keep one value per departure so the median over
    the window can be taken after the minimum over sites, as ``TransitModel.nearest`` does.
    """
    n_dem = len(model.demand)
    if len(sites) == 0:
        return np.empty((0, n_dem, 1))
    if is_network(model):
        from ..access import routing

        node, snap_m = routing.snap(model.graph, site_xy(sites), model.max_snap_m)
        conn_s = np.where(node >= 0, snap_m / model.connector_mps, np.inf)
        limit_s = None if limit_min is None else float(limit_min) * 60.0
        d = routing.times_from_sources(model.graph, node, limit_s=limit_s, reverse=True)
        dn = model.demand_node
        out = np.full((len(sites), n_dem), np.inf)
        ok = dn >= 0
        out[:, ok] = (d[:, dn[ok]] + model.demand_connector_s[ok][None, :] + conn_s[:, None]) / 60.0
        if limit_min is not None:
            out[out > limit_min] = np.inf
        return out[:, :, None]
    if hasattr(model, "window_minutes"):
        return np.asarray(model.window_minutes(sites), dtype=float)
    return np.asarray(model.times_to(sites), dtype=float)[:, :, None]


@dataclass
class ModeState:
    """Per-mode distance structures for incremental what-ifs (see the module docstring)."""

    model: object
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
    def mode(self) -> str:
        return self.model.mode

    @property
    def n_demand(self) -> int:
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
            Windows of added sites from :func:`site_window`, ``(m, n_demand, k)``.

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


def build_state(model, sites: gpd.GeoDataFrame) -> ModeState:
    """Precompute the per-site minutes and each point's K nearest sites for one model.

    Parameters
    ----------
    model
        A ``TravelModel`` built for the demand points.
    sites
        The supply the model's results were computed for (``select_supply``), EPSG:27700.
    """
    sites = sites.reset_index(drop=True)
    window = site_window(model, sites)
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


def mode_states(ctx: "RunContext") -> dict[str, ModeState]:
    """Per-mode what-if structures for a run (``ctx.models`` over the face-to-face supply),
    built once and kept in ``ctx.meta[STATE_KEY]`` for every later assessment."""
    states = ctx.meta.setdefault(STATE_KEY, {})
    supply = None
    for mode in sorted(ctx.models):
        if mode not in states:
            if supply is None:
                supply = select_supply(ctx.pharmacies, ctx.cfg)
            states[mode] = build_state(ctx.models[mode], supply)
    return states

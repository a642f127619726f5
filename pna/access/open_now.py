"""Access to pharmacies that are *open*: at a given moment, or when you get there.

A pharmacy counts only if it is open when the traveller arrives. Because a traveller can
always leave later or wait, "arriving at an open pharmacy" means arriving at the first
moment, at or after the earliest possible arrival, when it is open that day: the time
counted is ``first open minute >= arrival`` minus departure (``inf`` if it does not open
again that day). With ``wait=False`` a pharmacy closed at the earliest arrival does not count.

Pharmacies whose hours are unknown are excluded by default (``unknown="exclude"``) and the
count is reported; ``unknown="include"`` treats them as always open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..loaders.hours import DAYS, is_blank, parse_day
from ..modes import Mode
from .engine import TravelModel, clock
from .stats import rank_stat

DAY_MIN = 24 * 60


@dataclass(frozen=True)
class Scenario:
    """A moment to test: ``label``, ``weekday`` (0 = Monday) and departure ``minute`` since midnight."""

    label: str
    weekday: int
    minute: int


DEFAULT_SCENARIOS = (Scenario("Weekday 20:00", 2, 20 * 60), Scenario("Saturday 14:00", 5, 14 * 60),
                     Scenario("Sunday 11:00", 6, 11 * 60))


def _day(weekday: int | str) -> str:
    return DAYS[weekday] if isinstance(weekday, (int, np.integer)) else str(weekday).lower()[:3]


def day_intervals(pharmacies: pd.DataFrame, weekday: int | str) -> tuple[list[tuple], np.ndarray]:
    """Each pharmacy's opening intervals on ``weekday`` and a mask of unknown hours.

    Uses ``intervals_<day>`` (from ``summarise_hours``) when present, else parses
    ``hours_<day>``. Hours are unknown where ``hours_known`` is false, the day is blank, or
    there is no hours column at all.
    """
    d = _day(weekday)
    n = len(pharmacies)
    unknown = np.zeros(n, dtype=bool)
    if "hours_known" in pharmacies:
        unknown |= ~pharmacies["hours_known"].fillna(False).astype(bool).to_numpy()
    if f"intervals_{d}" in pharmacies:
        ivs = [tuple(v) if isinstance(v, (tuple, list)) else () for v in pharmacies[f"intervals_{d}"]]
        if f"hours_{d}" in pharmacies:
            unknown |= np.array([is_blank(v) for v in pharmacies[f"hours_{d}"]], dtype=bool)
    elif f"hours_{d}" in pharmacies:
        raw = pharmacies[f"hours_{d}"].tolist()
        unknown |= np.array([is_blank(v) for v in raw], dtype=bool)
        ivs = [() if is_blank(v) else parse_day(v) for v in raw]
    else:
        ivs, unknown = [()] * n, np.ones(n, dtype=bool)
    ivs = [() if u else iv for iv, u in zip(ivs, unknown)]
    return ivs, unknown


def open_at(pharmacies: pd.DataFrame, weekday: int | str, *, minute: float,
            unknown: str = "exclude") -> np.ndarray:
    """Boolean mask of the pharmacies open on ``weekday`` at ``minute`` since midnight.

    Parameters
    ----------
    pharmacies
        Pharmacies with ``intervals_<day>`` or ``hours_<day>`` (see :func:`day_intervals`).
    weekday
        0 = Monday, or a day name (``"sun"``).
    minute
        Minutes since midnight. Intervals include their start and exclude their end.
    unknown
        ``"exclude"`` (closed) or ``"include"`` (open) for pharmacies with unknown hours.
    """
    ivs, unk = day_intervals(pharmacies, weekday)
    mask = np.array([any(a <= minute < b for a, b in iv) for iv in ivs], dtype=bool)
    if unknown == "include":
        mask |= unk
    elif unknown != "exclude":
        raise ValueError("unknown must be 'exclude' or 'include'")
    return mask


def next_open_minute(intervals: list[tuple], arrival_min: np.ndarray, *, wait: bool = True) -> np.ndarray:
    """First minute at or after each arrival when each site is open (``inf`` if none that day).

    Parameters
    ----------
    intervals
        One tuple of (start, end) minutes per site.
    arrival_min
        Arrival minutes since midnight, shape (n_sites, ...).
    wait
        If false, a site closed at the arrival time gives ``inf``.
    """
    arr = np.asarray(arrival_min, dtype=float)
    out = np.full(arr.shape, np.inf)
    for i, iv in enumerate(intervals):
        a = arr[i]
        best = np.full(a.shape, np.inf)
        for s, e in iv:
            inside = (a >= s) & (a < e)
            best = np.where(inside, np.minimum(best, a), best)
            if wait:
                best = np.where(a < s, np.minimum(best, s), best)
        out[i] = best
    return out


def open_minutes(times_min: np.ndarray, pharmacies: pd.DataFrame, *, weekday: int | str,
                 depart_min: float | np.ndarray, unknown: str = "exclude",
                 wait: bool = True) -> np.ndarray:
    """Travel minutes to each site counting only a site open on arrival.

    Parameters
    ----------
    times_min
        ``(n_sites, ...)`` minutes from departure.
    pharmacies
        The sites, with opening hours.
    weekday
        0 = Monday, or a day name.
    depart_min
        Departure minutes since midnight; broadcasts against the trailing axes of ``times_min``.
    unknown, wait
        As :func:`open_at` and :func:`next_open_minute`.

    Returns
    -------
    numpy.ndarray
        Like ``times_min``: arrival = departure + travel time, and the result is the minutes
        until the first moment the site is open on arrival (see module docstring), ``inf``
        otherwise.
    """
    ivs, unk = day_intervals(pharmacies, weekday)
    if unknown == "include":
        ivs = [((0, DAY_MIN),) if u else iv for iv, u in zip(ivs, unk)]
    t = np.asarray(times_min, dtype=float)
    dep = np.broadcast_to(np.asarray(depart_min, dtype=float), t.shape[1:])
    arrival = t + dep[None, ...]
    nxt = next_open_minute(ivs, np.where(np.isfinite(arrival), arrival, np.inf), wait=wait)
    return np.where(np.isfinite(nxt), nxt - dep[None, ...], np.inf)


def nearest_open(model: TravelModel, sites: gpd.GeoDataFrame, *, scenario: Scenario,
                 unknown: str = "exclude", wait: bool = True, window_min: int = 60
                 ) -> tuple[np.ndarray, str]:
    """Minutes from every demand point to the nearest pharmacy open on arrival.

    Each departure the model makes for the scenario (:meth:`TravelModel.departures`: for a
    timetable, departures every ``step_min`` over ``window_min`` minutes from the scenario
    time on a service day of that weekday; otherwise the one departure at the scenario time)
    gets its own arrivals; the nearest-rank median over the departures is returned (for one
    departure, its value).

    Parameters
    ----------
    model
        A ``TravelModel`` built for the demand points.
    sites
        Pharmacies with opening hours and geometry (EPSG:27700).
    scenario
        The moment of departure.
    unknown, wait
        As :func:`open_minutes`.
    window_min
        Length of a timetable model's departure window.

    Returns
    -------
    (minutes, note)
        Minutes per demand point (``inf`` where no open pharmacy is reached) and the
        departures in plain words.
    """
    if len(sites) == 0:
        return np.full(len(model.demand), np.inf), "no sites"
    w, deps, note = model.departures(sites, weekday=scenario.weekday, minute=scenario.minute,
                                     window_min=window_min)   # (sites, demand, dep)
    per = open_minutes(w, sites, weekday=scenario.weekday, depart_min=deps, unknown=unknown, wait=wait)
    return rank_stat(per.min(axis=0), 50), note


SCENARIO_COLUMNS = ["scenario", "weekday", "depart", "mode", "method", "is_estimate", "threshold_min",
                    "population", "population_within", "share_within", "sites_open_at_departure",
                    "sites_hours_unknown", "unknown_hours", "note", "provenance"]


def scenario_table(models: Mapping[Mode, TravelModel], sites: gpd.GeoDataFrame, demand: pd.DataFrame,
                   thresholds: Mapping[Mode, Sequence[float]] | Sequence[float], *,
                   scenarios: Sequence[Scenario] = DEFAULT_SCENARIOS, unknown: str = "exclude",
                   wait: bool = True, provenance: str = "",
                   minutes: Mapping[tuple[str, Mode], tuple[np.ndarray, str]] | None = None) -> pd.DataFrame:
    """Residents within each threshold of a pharmacy open when they arrive, per scenario and mode.

    Parameters
    ----------
    models
        ``{mode: TravelModel}`` (walk, drive, transit ...), all built for ``demand``.
    sites
        Pharmacies with opening hours (``intervals_<day>`` or ``hours_<day>``) and geometry.
    demand
        Demand points with ``population``.
    thresholds
        Minutes, one list for all modes or ``{mode: [minutes]}``.
    scenarios
        :class:`Scenario` items, e.g. ``Scenario("Sunday 11:00", 6, 660)``.
    minutes
        Per-point minutes and notes already computed by :func:`nearest_open`, keyed by
        ``(scenario label, mode)`` (so a timetable is routed once per scenario); computed here if None.

    Returns
    -------
    pandas.DataFrame
        One row per scenario, mode and threshold (``SCENARIO_COLUMNS``).
    """
    pop = demand["population"].to_numpy(float)
    rows = []
    for sc in scenarios:
        open_dep = open_at(sites, sc.weekday, minute=sc.minute, unknown=unknown)
        _, unk = day_intervals(sites, sc.weekday)
        for mode in sorted(models):
            m = models[mode]
            if minutes is not None:
                mins, note = minutes[(sc.label, mode)]
            else:
                mins, note = nearest_open(m, sites, scenario=sc, unknown=unknown, wait=wait)
            ths = thresholds[mode] if isinstance(thresholds, Mapping) else thresholds
            for t in ths:
                within = float(pop[mins <= t].sum())
                rows.append({"scenario": sc.label, "weekday": DAYS[sc.weekday],
                             "depart": clock(sc.minute), "mode": mode,
                             "method": m.method, "is_estimate": bool(m.is_estimate), "threshold_min": t,
                             "population": float(pop.sum()), "population_within": within,
                             "share_within": within / float(pop.sum()) if pop.sum() > 0 else np.nan,
                             "sites_open_at_departure": int(open_dep.sum()),
                             "sites_hours_unknown": int(unk.sum()),
                             "unknown_hours": unknown, "note": note, "provenance": provenance})
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)

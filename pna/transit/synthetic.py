"""Synthetic regional GTFS feeds, built from the statistics of a real feed, for scale tests.

:func:`feed_statistics` measures a real feed (the shipped Newport one): distances between
consecutive stops of a trip, running speeds between them, headways between successive trips of a
route and direction from the same first stop, stops per trip and each route's daily service span.
:func:`write_regional_feed` then lays out a region of ``n_routes`` routes: each starts near one of
a few dozen towns and heads for another, in hops drawn from the real stop spacings; a new stop
within ``share_m`` of an existing one becomes that stop, so routes meet at shared stops (towns
get busy interchanges). Each route runs both ways at a headway and over a service span drawn
from the real ones, then all headways are scaled by one factor so that the day has about
``n_trips`` trips. Running speeds are drawn per route from the real per-hop speeds and slowed in
the morning peak and varied per trip, so a later, faster trip can overtake an earlier one; a few routes are limited
stop (pick-up only at the first stops, set-down only at the last). Times are whole minutes, as
in the real timetables. The feed is written as GTFS text files (read by
:func:`pna.transit.gtfs.load_feed` like any other) and is the same for the same seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from ..crs import BNG, WGS84
from .gtfs import Feed

__all__ = ["feed_statistics", "write_regional_feed"]


def feed_statistics(feed: Feed) -> dict[str, np.ndarray]:
    """Empirical distributions of a real feed (see the module docstring), as arrays.

    Keys: ``hop_m`` (metres between consecutive stops), ``speed_mps`` (hop distance / running
    time, hops with a positive time), ``headway_s`` (between successive trips of a route from
    the same first stop to the same last stop, 2-180 min), ``stops_per_trip``, ``span_s``
    (first to last departure of each route over the day).
    """
    st = feed.stop_times.merge(feed.stops[["stop_id", "easting", "northing"]], on="stop_id")
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    g = st.groupby("trip_id", sort=False)
    hop = np.hypot(g["easting"].diff(), g["northing"].diff()).to_numpy()
    dt = (st["arrival_s"] - g["departure_s"].shift()).to_numpy()
    ok = np.isfinite(hop)
    fast = ok & (dt > 0)
    trips = g.agg(first_s=("departure_s", "min"), first_stop=("stop_id", "first"),
                  last_stop=("stop_id", "last"), n=("stop_id", "size")).reset_index()
    trips = trips.merge(feed.trips[["trip_id", "route_id"]], on="trip_id")
    heads = []
    for _, grp in trips.groupby(["route_id", "first_stop", "last_stop"]):
        d = np.diff(np.sort(grp["first_s"].unique()))
        heads.append(d[(d >= 120) & (d <= 180 * 60)])
    span = trips.groupby("route_id")["first_s"].agg(lambda x: x.max() - x.min()).to_numpy()
    return {"hop_m": hop[ok], "speed_mps": hop[fast] / dt[fast],
            "headway_s": np.concatenate(heads) if heads else np.array([1800.0]),
            "stops_per_trip": trips["n"].to_numpy(), "span_s": span[span > 0]}


def _hhmmss(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.int64)
    return np.char.add(np.char.add(np.char.zfill((s // 3600).astype(str), 2), ":"),
                       np.char.add(np.char.add(np.char.zfill((s // 60 % 60).astype(str), 2), ":"),
                                   np.char.zfill((s % 60).astype(str), 2)))


def write_regional_feed(folder: str | Path, stats: dict[str, np.ndarray], *, n_routes: int = 600,
                        n_trips: int = 10_000, n_towns: int = 40, region_km: float = 90.0,
                        centre: tuple[float, float] = (420_000.0, 300_000.0), share_m: float = 40.0,
                        stops_per_route: float | None = None, limited_share: float = 0.03,
                        trip_speed_sd: float = 0.06, seed: int = 0) -> dict[str, int]:
    """Write a synthetic regional feed (see the module docstring) to ``folder``.

    Parameters
    ----------
    folder
        Where the GTFS ``.txt`` files go (created).
    stats
        :func:`feed_statistics` of a real feed.
    n_routes, n_trips
        Routes, and trips on the service day (about: rounding per route).
    n_towns, region_km, centre
        Towns the routes run between, in a square of ``region_km`` around ``centre`` (EPSG:27700).
    share_m
        A new stop this close to an existing one is that stop.
    stops_per_route
        Mean stops per route (default: the real mean stops per trip).
    limited_share
        Share of routes that are limited stop.
    trip_speed_sd
        Spread (log scale) of each trip's running speed around its route's.
    seed
        Random seed.

    Returns
    -------
    dict
        Counts: ``stops``, ``routes``, ``trips``, ``stop_times``.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hop_m = np.clip(stats["hop_m"], 60.0, 2500.0)            # local stop spacing, not coach legs
    speed = np.clip(stats["speed_mps"], 2.0, 20.0)
    heads = stats["headway_s"].astype(float)
    spans = np.clip(stats["span_s"].astype(float), 3 * 3600, 18 * 3600)
    lengths = stats["stops_per_trip"].astype(float)
    lengths = lengths[lengths >= 5]
    if stops_per_route is not None:
        lengths = lengths * stops_per_route / lengths.mean()
    half = region_km * 500.0
    towns = np.asarray(centre) + rng.uniform(-half, half, size=(n_towns, 2))
    weight = rng.pareto(1.2, n_towns) + 1.0                  # a few big towns, many small ones
    weight /= weight.sum()

    cell = share_m
    grid: dict[tuple[int, int], list[int]] = {}
    xy: list[tuple[float, float]] = []

    def stop_at(x: float, y: float) -> int:
        cx, cy = int(np.floor(x / cell)), int(np.floor(y / cell))
        for i in range(cx - 1, cx + 2):
            for j in range(cy - 1, cy + 2):
                for s in grid.get((i, j), ()):
                    if (xy[s][0] - x) ** 2 + (xy[s][1] - y) ** 2 <= share_m ** 2:
                        return s
        xy.append((x, y))
        grid.setdefault((cx, cy), []).append(len(xy) - 1)
        return len(xy) - 1

    routes: list[list[int]] = []
    for _ in range(n_routes):
        a, b = rng.choice(n_towns, size=2, replace=False, p=weight)
        n = max(5, int(round(rng.choice(lengths))))
        p = towns[a] + rng.normal(0, 1500.0, 2)
        target = towns[b] + rng.normal(0, 1500.0, 2)
        heading = np.arctan2(*(target - p)[::-1])
        seq = [stop_at(*p)]
        for _ in range(n - 1):
            want = np.arctan2(*(target - p)[::-1])
            turn = np.angle(np.exp(1j * (want - heading)))
            heading += 0.3 * turn + rng.normal(0, 0.35)
            p = p + rng.choice(hop_m) * np.array([np.cos(heading), np.sin(heading)])
            s = stop_at(*p)
            if s != seq[-1]:
                seq.append(s)
        routes.append(seq)

    # headways and spans from the real ones, scaled by one factor to give about n_trips a day
    h = rng.choice(heads, size=n_routes)
    span = rng.choice(spans, size=n_routes)
    lo, hi = 1e-3, 1e3                                       # bisect the factor on the whole-trip count
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        if (2 * (span // np.maximum(h * mid, 300.0) + 1)).sum() > n_trips:
            lo = mid
        else:
            hi = mid
    h = np.maximum(h * hi, 300.0)
    start = rng.uniform(5 * 3600, 8 * 3600, size=n_routes)
    v_route = rng.choice(speed, size=n_routes)
    limited = rng.random(n_routes) < limited_share
    xy_arr = np.array(xy)

    cols: dict[str, list[np.ndarray]] = {"trip": [], "t": [], "stop": [], "seq": [], "pu": [], "do": []}
    trip_rows: list[tuple[str, str, str, int]] = []
    for r, seq in enumerate(routes):
        for direction, stops in enumerate((seq, seq[::-1])):
            pts = xy_arr[stops]
            dist = np.hypot(*np.diff(pts, axis=0).T)
            hop_v = v_route[r] * rng.uniform(0.8, 1.25, size=len(dist))   # per-hop variation
            n_dep = int(span[r] // h[r]) + 1
            first = start[r] + direction * rng.uniform(0, h[r]) + np.arange(n_dep) * h[r]
            pu = np.zeros(len(stops), np.int64)
            do = np.zeros(len(stops), np.int64)
            if limited[r] and len(stops) >= 8:
                do[:3] = 1                                  # pick up only
                pu[-3:] = 1                                 # set down only
            for t0 in first:
                clock = t0 / 3600.0
                peak = 1.0 + 0.35 * np.exp(-((clock - 8.25) / 0.75) ** 2)       # slower in the morning peak
                v = hop_v * np.exp(rng.normal(0.0, trip_speed_sd)) / peak
                run = np.concatenate([[0.0], np.cumsum(dist / v)])
                times = np.maximum.accumulate((np.round((t0 + run) / 60.0) * 60).astype(np.int64))
                cols["trip"].append(np.full(len(stops), len(trip_rows)))
                trip_rows.append((f"R{r}", "WK", f"R{r}_{direction}_{len(trip_rows)}", direction))
                cols["t"].append(times)
                cols["stop"].append(np.asarray(stops))
                cols["seq"].append(np.arange(1, len(stops) + 1))
                cols["pu"].append(pu)
                cols["do"].append(do)
    c = {k: np.concatenate(v) for k, v in cols.items()}
    hms = _hhmmss(c["t"])
    trip_ids = np.array([t[2] for t in trip_rows], dtype=object)
    stop_times = pd.DataFrame({"trip_id": trip_ids[c["trip"]], "arrival_time": hms, "departure_time": hms,
                               "stop_id": np.char.add("S", c["stop"].astype(str)), "stop_sequence": c["seq"],
                               "pickup_type": c["pu"], "drop_off_type": c["do"]})
    lon, lat = Transformer.from_crs(BNG, WGS84, always_xy=True).transform(xy_arr[:, 0], xy_arr[:, 1])
    pd.DataFrame({"agency_id": ["A"], "agency_name": ["Synthetic Regional Buses"],
                  "agency_url": ["http://example.invalid"], "agency_timezone": ["Europe/London"]}
                 ).to_csv(folder / "agency.txt", index=False)
    pd.DataFrame({"route_id": [f"R{r}" for r in range(n_routes)], "agency_id": "A",
                  "route_short_name": [str(r + 1) for r in range(n_routes)], "route_type": 3}
                 ).to_csv(folder / "routes.txt", index=False)
    pd.DataFrame({"stop_id": [f"S{s}" for s in range(len(xy))], "stop_name": [f"Stop {s}" for s in range(len(xy))],
                  "stop_lat": np.round(lat, 6), "stop_lon": np.round(lon, 6)}).to_csv(folder / "stops.txt", index=False)
    pd.DataFrame({"service_id": ["WK"], "monday": [1], "tuesday": [1], "wednesday": [1], "thursday": [1],
                  "friday": [1], "saturday": [0], "sunday": [0], "start_date": ["20230605"],
                  "end_date": ["20240301"]}).to_csv(folder / "calendar.txt", index=False)
    pd.DataFrame(trip_rows, columns=["route_id", "service_id", "trip_id", "direction_id"]
                 ).to_csv(folder / "trips.txt", index=False)
    stop_times.to_csv(folder / "stop_times.txt", index=False)
    return {"stops": len(xy), "routes": n_routes, "trips": len(trip_rows), "stop_times": len(stop_times)}

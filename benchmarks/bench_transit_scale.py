"""Region-size timetables: range-RAPTOR against the vectorised router on a synthetic regional feed.

Run:  .venv/bin/python benchmarks/bench_transit_scale.py [--quick]

The feed (``pna.transit.synthetic``) is built from the real Newport GTFS's stop spacing, running
speeds, headways, trip lengths and service spans: about 20,000 stops, 600 routes and 10,000 trips a
day (seed 1), written as GTFS text files under ``.cache/bench/`` and read by the real reader. 1,000
origins and 300 sites are placed near random stops (seeded); walking legs are straight line x
circuity with the default transit settings (07:00-10:00 every minute = 180 departures, at most 4
transfers, 800 m access, 400 m transfers, 120 min journey limit).

Each router runs in a fresh process, so its peak memory (max RSS) is its own: range-RAPTOR for all
1,000 origins (2 threads, then 1 thread), and the vectorised router of ``raptor.route_many`` (the
engine before range-RAPTOR) on the first ``BASELINE_ORIGINS`` origins only, extrapolated linearly
to 1,000 (its cost is linear in origins: fixed blocks of 45 origins x 180 departures). The two are
checked to agree exactly on those origins. Writes benchmarks/results/transit_scale.json and .md and
the README's table between its bench_transit_scale markers (``--quick``: 100 origins, nothing written).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "pna-data"
NEWPORT_GTFS = DATA / "networks" / "newport-20230613_gtfs.zip"
CACHE = ROOT / ".cache" / "bench" / "transit_regional"
RESULTS = ROOT / "benchmarks" / "results"
FEED = {"n_routes": 600, "n_trips": 10_000, "n_towns": 40, "region_km": 90.0, "stops_per_route": 35.0, "seed": 1}
N_ORIGINS, N_SITES, BASELINE_ORIGINS = 1000, 300, 90
TARGET_S, TARGET_MB = 60.0, 4096.0


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def make_feed() -> dict:
    """Write the synthetic feed (if not already there for these settings); its counts and the real statistics."""
    from pna.quality import QualityLog
    from pna.transit.gtfs import load_feed
    from pna.transit.synthetic import feed_statistics, write_regional_feed

    stats = feed_statistics(load_feed(NEWPORT_GTFS, QualityLog()))
    summary = {k: {"n": int(len(v)), "p5": round(float(np.percentile(v, 5)), 1),
                   "median": round(float(np.median(v)), 1), "p95": round(float(np.percentile(v, 95)), 1)}
               for k, v in stats.items()}
    stamp = CACHE / "settings.json"
    t0 = time.perf_counter()
    if stamp.exists() and json.loads(stamp.read_text()).get("settings") == FEED:
        counts = json.loads(stamp.read_text())["counts"]
    else:
        counts = write_regional_feed(CACHE, stats, **FEED)
        stamp.write_text(json.dumps({"settings": FEED, "counts": counts}))
    return {"counts": counts, "write_s": round(time.perf_counter() - t0, 2), "newport_statistics": summary}


def measure(engine: str, n_origins: int, out_npy: Path | None) -> dict:
    """One engine in this (fresh) process; times and peak memory."""
    import geopandas as gpd

    from pna.config import TransitSpec
    from pna.quality import QualityLog
    from pna.transit.gtfs import load_feed
    from pna.transit.model import TransitModel

    r: dict = {"engine": engine, "origins": n_origins}
    t0 = time.perf_counter()
    feed = load_feed(CACHE, QualityLog())
    r["feed_load_s"] = round(time.perf_counter() - t0, 2)
    rng = np.random.default_rng(7)
    xy = feed.stops[["easting", "northing"]].to_numpy(float)
    origins = xy[rng.integers(0, len(xy), N_ORIGINS)] + rng.normal(0, 250.0, (N_ORIGINS, 2))
    sites = xy[rng.integers(0, len(xy), N_SITES)] + rng.normal(0, 100.0, (N_SITES, 2))
    demand = gpd.GeoDataFrame({"point_id": np.arange(n_origins).astype(str)},
                              geometry=gpd.points_from_xy(*origins[:n_origins].T), crs=27700)
    spec = TransitSpec(thresholds_min=[5, 10, 15, 20, 30], date="2023-06-13")
    model = TransitModel(feed, demand, spec, 4.8, 1.33, engine=engine)
    t0 = time.perf_counter()
    tt = model.timetable()
    r["timetable_s"] = round(time.perf_counter() - t0, 2)
    r["timetable"] = {"stops": tt.n_stops, "trips": tt.n_trips, "patterns": len(tt.patterns),
                      "stop_times": tt.n_stop_times}
    t0 = time.perf_counter()
    links = model.walk_links(tt, sites)
    r["walk_links_s"] = round(time.perf_counter() - t0, 2)
    r["walk_links"] = {"access": len(links.access[0]), "transfer": len(links.transfer[0]),
                       "egress": len(links.egress[0])}
    deps = model.departure_s
    r["departures"] = len(deps)
    if engine == "range":
        from pna.transit.range_raptor import route_range
        t0 = time.perf_counter()
        route_range(tt, links, departures=deps[:1], n_origins=1, max_transfers=spec.max_transfers, threads=1)
        r["kernel_load_s"] = round(time.perf_counter() - t0, 2)   # numba: cached kernel (or compile) + flatten
    t0 = time.perf_counter()
    arr = model.route(tt, links, deps)
    r["route_s"] = round(time.perf_counter() - t0, 2)
    r["load_average_1min"] = round(os.getloadavg()[0], 2)      # other work on the machine during the run
    if engine == "range":
        from pna.transit.range_raptor import route_range
        t0 = time.perf_counter()
        one = route_range(tt, links, departures=deps, n_origins=n_origins, max_transfers=spec.max_transfers,
                          threads=1)
        r["route_1_thread_s"] = round(time.perf_counter() - t0, 2)
        assert (one == arr).all()
        del one
    r["end_to_end_s"] = round(r["feed_load_s"] + r["timetable_s"] + r["walk_links_s"] + r["route_s"]
                              + r.get("kernel_load_s", 0.0), 2)
    within = (arr - deps[None, None, :]) <= spec.max_journey_min * 60
    r["reachable_share"] = round(float(within.mean()), 4)
    r["origins_reaching_a_site"] = int(within.any(axis=(0, 2)).sum())
    r["max_rss_mb"] = _rss_mb()
    if out_npy is not None:
        np.save(out_npy, arr[:, :BASELINE_ORIGINS])
    return r


def _child(engine: str, n: int, npy: Path) -> dict:
    p = subprocess.run([sys.executable, __file__, "--measure", engine, str(n), str(npy)], check=True,
                       capture_output=True, text=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--measure", nargs=3, metavar=("ENGINE", "N", "NPY"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure[0], int(args.measure[1]), Path(args.measure[2]))))
        return {}
    CACHE.mkdir(parents=True, exist_ok=True)
    feed = make_feed()
    n = 100 if args.quick else N_ORIGINS
    n_base = min(BASELINE_ORIGINS, n)
    rng_npy, vec_npy = CACHE / "range.npy", CACHE / "vectorised.npy"
    fast = _child("range", n, rng_npy)
    base = _child("vectorised", n_base, vec_npy)
    a, b = np.load(rng_npy), np.load(vec_npy)
    agree = int((a[:, :n_base] == b).sum())
    base_extra = round(base["route_s"] * n / n_base, 1)
    res = {
        "feed": {**feed["counts"], "settings": FEED, "write_s": feed["write_s"]},
        "newport_statistics": feed["newport_statistics"],
        "origins": n, "sites": N_SITES, "departures": fast["departures"], "queries": n * fast["departures"],
        "window": "07:00-10:00 every 1 min, at most 4 transfers, journeys up to 120 min",
        "range": fast, "vectorised": base,
        "vectorised_origins_timed": n_base,
        "vectorised_route_extrapolated_s": base_extra,
        "speedup_route_2_threads": round(base_extra / fast["route_s"], 1),
        "speedup_route_1_thread": round(base_extra / fast["route_1_thread_s"], 1),
        "agreement": {"site_arrivals_compared": int(b.size), "identical": agree},
        "baseline_note": (f"vectorised router timed on the first {n_base} of {n} origins (all 180 departures) "
                          f"and extrapolated linearly to {n} origins; range-RAPTOR timed on all {n}"),
        "targets": {"route_s": TARGET_S, "end_to_end_s": TARGET_S, "max_rss_mb": TARGET_MB,
                    "met": bool(fast["end_to_end_s"] <= TARGET_S and fast["max_rss_mb"] <= TARGET_MB)},
        "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
        "cores": os.cpu_count(),
    }
    print(json.dumps({k: v for k, v in res.items() if k != "newport_statistics"}, indent=1))
    if not args.quick:
        write_results(res, RESULTS)
    return res


#: (label, function of the results) of the rows of transit_scale.md and of the README's table.
ROWS = (
    ("range-RAPTOR, all origins x departures, 2 threads (s)", lambda r: r["range"]["route_s"]),
    ("range-RAPTOR, 1 thread (s)", lambda r: r["range"]["route_1_thread_s"]),
    ("vectorised RAPTOR (previous engine), extrapolated from the timed origins (s)",
     lambda r: r["vectorised_route_extrapolated_s"]),
    ("speed-up of range-RAPTOR, same run, 2 threads / 1 thread (x)",
     lambda r: f"{r['speedup_route_2_threads']} / {r['speedup_route_1_thread']}"),
    ("end to end with range-RAPTOR: read GTFS, timetable, walk legs, route (s)", lambda r: r["range"]["end_to_end_s"]),
    ("peak memory, range-RAPTOR process (max RSS, MB)", lambda r: r["range"]["max_rss_mb"]),
    ("peak memory, vectorised process on its subset (max RSS, MB)", lambda r: r["vectorised"]["max_rss_mb"]),
    ("identical site arrivals on the timed origins", lambda r: f"{r['agreement']['identical']:,} of "
                                                               f"{r['agreement']['site_arrivals_compared']:,}"),
)


def _title(r: dict) -> str:
    f = r["feed"]
    return (f"regional timetable (synthetic: {f['stops']:,} stops, {f['routes']} routes, {f['trips']:,} trips/day), "
            f"{r['origins']:,} origins x {r['departures']} departures")


def _rows(r: dict) -> list[str]:
    return [f"| {label} | {fn(r):,} |" if isinstance(fn(r), int | float) else f"| {label} | {fn(r)} |"
            for label, fn in ROWS]


def write_results(res: dict, out: Path) -> None:
    """transit_scale.json, transit_scale.md and (for the default folder) the README table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "transit_scale.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    s, f, fr = res["newport_statistics"], res["feed"], res["range"]
    met = "met" if res["targets"]["met"] else "NOT met"
    lines = ["# Region-size timetables: range-RAPTOR vs the vectorised router", "",
             f"Synthetic feed (`pna/transit/synthetic.py`, seed {f['settings']['seed']}): {f['stops']:,} stops, "
             f"{f['routes']} routes, {f['trips']:,} trips and {f['stop_times']:,} stop times a day, from the real "
             "Newport GTFS's statistics (median / 5th-95th percentile): stop spacing "
             f"{s['hop_m']['median']} m ({s['hop_m']['p5']}-{s['hop_m']['p95']}), running speed "
             f"{s['speed_mps']['median']} m/s ({s['speed_mps']['p5']}-{s['speed_mps']['p95']}), headway "
             f"{s['headway_s']['median'] / 60:g} min ({s['headway_s']['p5'] / 60:g}-{s['headway_s']['p95'] / 60:g}; "
             "all headways then scaled by one factor to give the trip count), "
             f"{s['stops_per_trip']['median']:g} stops per trip (scaled to a mean of "
             f"{f['settings']['stops_per_route']:g}). Written as GTFS text files and read by `pna.transit.gtfs`.",
             "",
             f"In the window: {fr['timetable']['trips']:,} trips, {fr['timetable']['patterns']:,} patterns; "
             f"{res['origins']:,} origins and {res['sites']} sites near random stops; {res['window']}; "
             f"straight-line walking legs ({fr['walk_links']['access']:,} access, {fr['walk_links']['transfer']:,} "
             f"transfer, {fr['walk_links']['egress']:,} egress). {fr['origins_reaching_a_site']:,} origins reach a "
             f"site; {fr['reachable_share']:.1%} of (site, origin, departure) arrivals are within the limit.",
             "", f"| {_title(res)} | value |", "|---|---|"]
    lines += _rows(res)
    lines += ["", f"{res['baseline_note']}. Each router ran in a fresh process (peak memory is its own) "
              f"on a {res['cores']}-core machine shared with other work (1-minute load average "
              f"{fr['load_average_1min']} after the range run, {res['vectorised']['load_average_1min']} after the "
              "vectorised one; a second thread helps only when a core is free). Stage times of the range run: "
              "read GTFS "
              f"{fr['feed_load_s']} s, timetable {fr['timetable_s']} s, walk legs {fr['walk_links_s']} s, "
              f"compiled-kernel load (numba cache under .cache/numba) {fr['kernel_load_s']} s, routing "
              f"{fr['route_s']} s.", "",
              f"Targets: at most {res['targets']['end_to_end_s']:g} s end to end and "
              f"{res['targets']['max_rss_mb']:g} MB: {met}."]
    (out / "transit_scale.md").write_text("\n".join(lines) + "\n")
    if out == RESULTS:
        update_readme(res, ROOT / "README.md")


def update_readme(res: dict, readme: Path) -> None:
    """Regenerate the README's regional transit table (between its two markers) from the results."""
    start = "<!-- bench_transit_scale: start (written by benchmarks/bench_transit_scale.py) -->"
    end = "<!-- bench_transit_scale: end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        return
    out = [start, "", f"| {_title(res)} | value |", "|---|---|", *_rows(res), "", end]
    readme.write_text(text[:text.index(start)] + "\n".join(out) + text[text.index(end) + len(end):])


if __name__ == "__main__":
    main()

"""Benchmark: timetable travel times for every Newport demand point over a departure window.

Runs the vectorised RAPTOR router (all origins x all departure minutes as columns of one
label matrix) and, in the same run, a naive baseline: the same router called once per
(origin, departure) pair, and the brute-force time-expanded Dijkstra of ``reference.py``.
The baselines are timed on a sample of pairs and extrapolated to the full grid (stated in
the output). Also checks the vectorised results against the reference on the sample.

Usage: ``.venv/bin/python benchmarks/bench_transit.py [--quick]``
(``--quick``: 07:00-08:00 window and a smaller baseline sample).
Writes ``benchmarks/results/transit.json`` and ``transit.md`` (unless ``--quick``).
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pna.access.demand import build_demand_points  # noqa: E402
from pna.loaders.osm import pharmacy_sites  # noqa: E402
from pna.config import load_config  # noqa: E402
from pna.io import write_json, write_text  # noqa: E402
from pna.quality import QualityLog  # noqa: E402
from pna.transit.gtfs import load_feed  # noqa: E402
from pna.transit.model import TransitModel  # noqa: E402
from pna.transit.raptor import INF, WalkLinks, route_many  # noqa: E402
from pna.transit.reference import TimeExpandedGraph  # noqa: E402

AREA = "W06000022"  # Newport


def newport_lsoa(cfg) -> gpd.GeoDataFrame:
    """Newport's LSOA11s with mid-2020 population (minimal ``ctx.lsoa`` for the demand builder)."""
    lk = pd.read_csv(cfg.data_dir / "lookups/lookup_lsoa11_ltla21.csv", dtype=str)
    codes = sorted(lk.loc[lk["ltla21_code"] == AREA, "lsoa11_code"])
    poly = gpd.read_file(cfg.data_path(cfg.inputs.lsoa_boundaries))
    poly = poly[poly["lsoa11_code"].isin(codes)].to_crs(27700)
    pop = pd.read_csv(cfg.data_path(cfg.inputs.population), dtype={"lsoa11_code": str})
    pop = pop[pop["lsoa11_code"].isin(codes)].set_index("lsoa11_code")
    older = [str(a) for a in range(65, 90)] + ["90+"]
    poly["pop_total"] = pop["total_population"].reindex(poly["lsoa11_code"]).to_numpy(float)
    poly["pop_65plus"] = pop[older].sum(axis=1).reindex(poly["lsoa11_code"]).to_numpy(float)
    poly["locality"] = "Newport"
    poly["imd2019_quintile"] = np.nan
    return poly.sort_values("lsoa11_code").reset_index(drop=True)


def osm_pharmacies(cfg) -> gpd.GeoDataFrame:
    """OpenStreetMap pharmacies of the Newport extract as supply sites."""
    g = pharmacy_sites(cfg.data_path(cfg.network.osm_extract))
    g["in_area"], g["dist_to_area_m"] = True, 0.0
    return g


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    cfg = load_config(ROOT / "config/newport.yaml")
    spec = cfg.travel.transit
    if args.quick:
        spec = spec.model_copy(update={"window_end": "08:00"})
    n_sample = 12 if args.quick else 40

    q = QualityLog()
    t0 = time.perf_counter()
    feed = load_feed(cfg.data_path(cfg.network.gtfs), q)
    t_load = time.perf_counter() - t0
    demand = build_demand_points(cfg, newport_lsoa(cfg))
    sites = osm_pharmacies(cfg)
    model = TransitModel(feed, demand, spec, cfg.travel.walk.speed_kmh, cfg.travel.walk.circuity,
                         source=cfg.network.gtfs.cite())
    deps = model.departure_s
    n_o, n_d = len(demand), len(deps)

    tt = model.timetable()
    t0 = time.perf_counter()
    links = model.walk_links(tt, np.column_stack([sites.geometry.x, sites.geometry.y]))
    t_links = time.perf_counter() - t0

    # vectorised: best of 3
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        arr = route_many(tt, links, departures=deps, n_origins=n_o, max_transfers=spec.max_transfers)
        runs.append(time.perf_counter() - t0)
    t_vec = min(runs)
    tracemalloc.start()
    route_many(tt, links, departures=deps, n_origins=n_o, max_transfers=spec.max_transfers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    rng = np.random.default_rng(20230613)
    pairs = sorted({(int(o), int(d)) for o, d in zip(rng.integers(0, n_o, 4 * n_sample),
                                                     rng.integers(0, n_d, 4 * n_sample))})[:n_sample]
    # naive 1: the same router, one (origin, departure) query per call
    t0 = time.perf_counter()
    naive = {}
    for o, d in pairs:
        a_o, a_s, a_w = links.access
        sel = a_o == o
        one = WalkLinks(access=(np.zeros(sel.sum(), np.int64), a_s[sel], a_w[sel]), transfer=links.transfer,
                        egress=links.egress, direct=links.direct[:, [o]])
        naive[(o, d)] = route_many(tt, one, departures=deps[[d]], n_origins=1,
                                   max_transfers=spec.max_transfers)[:, 0, 0]
    t_naive = (time.perf_counter() - t0) / len(pairs)
    # naive 2: brute-force time-expanded Dijkstra per query
    t0 = time.perf_counter()
    ref = TimeExpandedGraph(feed, model.date, stop_ids=tt.stop_ids, links=links,
                            max_transfers=spec.max_transfers)
    t_ref_build = time.perf_counter() - t0
    horizon = spec.max_journey_min * 60
    t0 = time.perf_counter()
    agree = total = 0
    for o, d in pairs:
        r = ref.earliest_arrival(o, int(deps[d]), horizon_s=horizon)
        r = np.where(r - deps[d] <= horizon, r, INF)
        v = np.where(arr[:, o, d] - deps[d] <= horizon, arr[:, o, d], INF)
        nv = np.where(naive[(o, d)] - deps[d] <= horizon, naive[(o, d)], INF)
        agree += int(((r == v) & (nv == v)).sum())
        total += len(r)
    t_ref = (time.perf_counter() - t0) / len(pairs)

    minutes, _ = model.nearest(sites)
    stats = model.nearest_stats(sites)
    walk_only = np.where(links.direct < INF, links.direct, INF).min(axis=0)          # per origin
    best = arr.min(axis=0)                                                             # (origin, dep)
    bus_helps = (best - deps[None, :]) < walk_only[:, None]
    # the same stage with walking legs on the OSM walk graph (cached graph build not timed)
    from pna.access.graph import build_graphs
    g = build_graphs(cfg.data_path(cfg.network.osm_extract), cfg, modes=("walk",))["walk"]
    gm = TransitModel(feed, demand, spec, cfg.travel.walk.speed_kmh, cfg.travel.walk.circuity, walk_graph=g)
    t0 = time.perf_counter()
    g_links = gm.walk_links(tt, np.column_stack([sites.geometry.x, sites.geometry.y]))
    t_glinks = time.perf_counter() - t0
    t0 = time.perf_counter()
    route_many(tt, g_links, departures=deps, n_origins=n_o, max_transfers=spec.max_transfers)
    t_groute = time.perf_counter() - t0
    g_minutes, _ = gm.nearest(sites)
    pop = demand["population"].to_numpy(float)
    cov = {str(t): round(float(pop[minutes <= t].sum() / pop.sum()), 4) for t in spec.thresholds_min}
    n_q = n_o * n_d
    res = {
        "area": "Newport (W06000022)",
        "feed": {k: v for k, v in feed.stats().items()},
        "service_day": model.date.isoformat(),
        "window": f"{spec.window_start}-{spec.window_end} every {spec.step_min} min",
        "origins": n_o, "departures": n_d, "queries": n_q, "sites": len(sites),
        "timetable": {"trips": tt.n_trips, "stops": tt.n_stops, "patterns": len(tt.patterns),
                      "stop_times": tt.n_stop_times},
        "walk_legs": "straight line x circuity (benchmark isolates the router)",
        "walk_links": {"access": len(links.access[0]), "transfer": len(links.transfer[0]),
                       "egress": len(links.egress[0]), "seconds": round(t_links, 4)},
        "feed_load_s": round(t_load, 3),
        "vectorised_s": round(t_vec, 4),
        "vectorised_runs_s": [round(r, 4) for r in runs],
        "per_departure_ms": round(1000 * t_vec / n_d, 3),
        "per_query_us": round(1e6 * t_vec / n_q, 3),
        "naive_raptor_per_query_s": round(t_naive, 6),
        "naive_raptor_extrapolated_s": round(t_naive * n_q, 2),
        "ratio_vs_naive_raptor": round(t_naive * n_q / t_vec, 1),
        "reference_build_s": round(t_ref_build, 3),
        "reference_dijkstra_per_query_s": round(t_ref, 6),
        "reference_extrapolated_s": round(t_ref * n_q + t_ref_build, 2),
        "ratio_vs_reference": round((t_ref * n_q + t_ref_build) / t_vec, 1),
        "baseline_sample_queries": len(pairs),
        "baseline_note": (f"baselines timed on {len(pairs)} sampled (origin, departure) queries and "
                          f"extrapolated to all {n_q}"),
        "agreement": {"site_arrivals_compared": total, "identical": agree},
        "peak_traced_memory_mb": round(peak / 2**20, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "median_minutes_to_nearest": round(float(np.median(minutes)), 2),
        f"median_p{spec.percentile}_minutes": round(float(np.median(stats[f'minutes_p{spec.percentile}'])), 2),
        "coverage_share_within_min": cov,
        "queries_where_a_bus_beats_walking": int(bus_helps.sum()),
        "origins_where_a_bus_ever_beats_walking": int(bus_helps.any(axis=1).sum()),
        "origins_unreachable_within_limit": int((~np.isfinite(minutes)).sum()),
        "walk_graph": {"walk_links_s": round(t_glinks, 3), "route_s": round(t_groute, 4),
                       "access": len(g_links.access[0]), "transfer": len(g_links.transfer[0]),
                       "egress": len(g_links.egress[0]),
                       "coverage_share_within_min": {str(t): round(float(pop[g_minutes <= t].sum() / pop.sum()), 4)
                                                     for t in spec.thresholds_min}},
        "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
    }
    print(pd.Series({k: v for k, v in res.items() if not isinstance(v, dict)}).to_string())
    print(res["agreement"], res["coverage_share_within_min"])
    if not args.quick:
        out = ROOT / "benchmarks/results"
        write_json(res, out / "transit.json")
        write_text(_markdown(res), out / "transit.md")
    return res


def _markdown(r: dict) -> str:
    f = r["feed"]
    return f"""# Transit router benchmark (Newport)

Feed: {f['routes']} routes, {f['trips']} trips, {f['stop_times']} stop times, {f['stops']} stops
({f['stops_served']} served), valid {f['valid_from']}..{f['valid_to']}; service day {r['service_day']}
({r['timetable']['trips']} trips, {r['timetable']['patterns']} patterns in the window + journey limit).

Grid: {r['origins']} demand points (one per Newport LSOA11) x {r['departures']} departures
({r['window']}) = {r['queries']:,} queries, {r['sites']} OSM pharmacies. Walk legs: {r['walk_legs']}.

| method | seconds (all queries) | per departure | ratio |
|---|---|---|---|
| vectorised RAPTOR (all queries as matrix columns) | {r['vectorised_s']} | {r['per_departure_ms']} ms | 1 |
| naive: same RAPTOR, one query per call | {r['naive_raptor_extrapolated_s']} (extrapolated) | | {r['ratio_vs_naive_raptor']}x slower |
| brute force: time-expanded Dijkstra per query | {r['reference_extrapolated_s']} (extrapolated) | | {r['ratio_vs_reference']}x slower |

{r['baseline_note']}. Peak traced memory of the vectorised run {r['peak_traced_memory_mb']} MB
(process max RSS {r['max_rss_mb']} MB). Agreement on the sample: {r['agreement']['identical']} of
{r['agreement']['site_arrivals_compared']} site arrival times identical to the second (vectorised,
naive and reference).

Median travel time to the nearest pharmacy (median over the window): {r['median_minutes_to_nearest']} min.
Share of residents within threshold minutes (straight-line walking legs): {r['coverage_share_within_min']};
with walking legs on the OSM walk graph: {r['walk_graph']['coverage_share_within_min']}
(graph walk legs built in {r['walk_graph']['walk_links_s']} s, routing {r['walk_graph']['route_s']} s).

What the numbers mean: this BODS subset is thin (16 routes: 8 Newport Bus, 4 Megabus coach,
3 Stagecoach, 1 First; 176 trips a day, 67 in the window) and
the 12 pharmacies are those mapped in the central-Newport OSM extract, so a bus beats walking all
the way in {r['queries_where_a_bus_beats_walking']:,} of {r['queries']:,} (origin, departure) queries, from
{r['origins_where_a_bus_ever_beats_walking']} of {r['origins']} origins; {r['origins_unreachable_within_limit']}
origins reach no pharmacy within the journey limit (straight-line legs; with the graph, points beyond
the extract cannot be snapped and count as unreachable). These are real results for these inputs, not a
statement about Newport's full bus network.
"""


if __name__ == "__main__":
    main()

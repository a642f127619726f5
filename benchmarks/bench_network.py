"""Benchmark the street-graph builder and routing against OSMnx / networkx on the same data.

Run:  .venv/bin/python benchmarks/bench_network.py [--quick]

(a) extract -> walk + drive graphs: ``pna.access.graph`` (no cache) vs ``osmnx.graph_from_xml``
    on OSM XML holding exactly the ways our rules keep (OSMnx's time excludes that filtering and
    the XML writing, which favours OSMnx).
(b) time from ~10k demand points to the nearest of the real pharmacy locations:
    ``nearest_source_times`` (scipy csgraph, multi-source) vs
    ``networkx.multi_source_dijkstra_path_length`` on the same graph (reversed for drive).
(c) peak memory: tracemalloc peak of each builder (separate, untimed runs) and the process's
    maximum resident set size.
Also checks agreement: shortest-path metres on >=50 origin-destination pairs vs OSMnx.
Writes benchmarks/results/network.json and network.md (a --quick run only prints).
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import sys
import tempfile
import tracemalloc
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
from pyproj import Transformer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from timing import best_of  # noqa: E402  (benchmarks/timing.py)

from pna.access.graph import build_graph, drive_rules, walk_rules  # noqa: E402
from pna.loaders.osm import read_address_points, read_highways, read_pharmacies, write_osm_xml  # noqa: E402
from pna.access.routing import nearest_source_times, shortest_path_lengths, snap  # noqa: E402
from pna.config import Travel  # noqa: E402
from pna.io import write_json, write_text  # noqa: E402

DATA = ROOT.parent / "shared" / "pna-data"
NEWPORT = DATA / "networks" / "newport-2023-06-13.osm.pbf"
ODS = DATA / "pharmacies" / "ods_edispensary_2025-05.csv"
RESULTS = ROOT / "benchmarks" / "results"
EXTRACT_DATE = "20230613"
TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
TRAVEL = Travel()
DRIVE = dict(drive_speeds_kmh=dict(TRAVEL.drive.highway_speeds_kmh),
             congestion_factor=TRAVEL.drive.congestion_factor)


def peak_mb(fn) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def ours_build(extract: Path) -> dict:
    ways = read_highways(extract)
    return {"walk": build_graph(ways, "walk", walk_speed_kmh=TRAVEL.walk.speed_kmh),
            "drive": build_graph(ways, "drive", **DRIVE)}


def write_mode_xml(extract: Path, tmp: Path) -> dict[str, Path]:
    ways = read_highways(extract)
    keep = {"walk": walk_rules(ways.tags)[0],
            "drive": drive_rules(ways.tags, set(DRIVE["drive_speeds_kmh"]))[0]}
    return {m: write_osm_xml(extract, tmp / f"{m}.osm", way_ids=ways.way_id[k]) for m, k in keep.items()}


def osmnx_build(xml: dict[str, Path], simplify: bool) -> dict:
    return {"walk": ox.graph_from_xml(xml["walk"], bidirectional=True, simplify=simplify),
            "drive": ox.graph_from_xml(xml["drive"], bidirectional=False, simplify=simplify)}


def pharmacy_points(extract: Path) -> tuple[pd.DataFrame, str]:
    """Real pharmacy locations: OSM pharmacies, plus ODS pharmacies open on the extract date whose
    postcode carries OSM address points (placed at their mean)."""
    osm = read_pharmacies(extract)[["lon", "lat"]].assign(source="osm")
    note = f"{len(osm)} OpenStreetMap pharmacies"
    if ODS.is_file():
        ods = pd.read_csv(ODS, header=None, dtype=str, usecols=[0, 9, 10, 11])
        ods.columns = ["ods_code", "postcode", "open_date", "close_date"]
        ods = ods[(ods["open_date"].fillna("99999999") <= EXTRACT_DATE)
                  & (ods["close_date"].isna() | (ods["close_date"].fillna("") > EXTRACT_DATE))]
        ap = read_address_points(extract).groupby("postcode")[["lon", "lat"]].mean()
        hit = ods.merge(ap, left_on="postcode", right_index=True).sort_values("ods_code")
        osm = pd.concat([osm, hit[["lon", "lat"]].assign(source="ods_postcode")], ignore_index=True)
        note += f" + {len(hit)} ODS pharmacies open on {EXTRACT_DATE} placed at their postcode's OSM address points"
    return osm, note


def demand_grid(g, n_side: int, max_snap_m: float) -> np.ndarray:
    (x0, y0), (x1, y1) = g.node_xy.min(axis=0), g.node_xy.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(x0, x1, n_side), np.linspace(y0, y1, n_side))
    idx, _ = snap(g, np.column_stack([gx.ravel(), gy.ravel()]), max_snap_m=max_snap_m)
    return idx[idx >= 0]


def agreement(g, G, n_origins: int = 10, per_origin: int = 6) -> dict:
    rng = np.random.default_rng(0)
    origins = np.repeat(rng.choice(g.n_nodes, n_origins, replace=False), per_origin)
    dests = rng.choice(g.n_nodes, len(origins), replace=False)
    ours = shortest_path_lengths(g, origins, dests)
    theirs = np.empty(len(origins))
    for o in np.unique(origins):
        d = nx.single_source_dijkstra_path_length(G, int(g.node_osmid[o]), weight="length")
        sel = origins == o
        theirs[sel] = [d.get(int(g.node_osmid[t]), np.inf) for t in dests[sel]]
    ok = np.isfinite(theirs) & np.isfinite(ours)
    rel = np.abs(ours[ok] - theirs[ok]) / np.maximum(theirs[ok], 1.0)
    return {"pairs": int(len(origins)), "both_reachable": int(ok.sum()),
            "max_rel_diff_pct": round(float(rel.max() * 100), 4),
            "mean_rel_diff_pct": round(float(rel.mean() * 100), 4),
            "median_path_m": round(float(np.median(theirs[ok])), 1)}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one repeat, 30x30 demand grid, no OSMnx memory run")
    ap.add_argument("--extract", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None,
                    help="results folder (default benchmarks/results; a --quick run writes nothing unless given)")
    args = ap.parse_args(argv)
    extract = args.extract or NEWPORT
    reps = 1 if args.quick else 3
    n_side = 30 if args.quick else 100
    rep_near = (5, 2) if args.quick else (20, 5)
    res: dict = {"extract": extract.name, "quick": bool(args.quick),
                 "repeats": {"build_ours": reps, "build_osmnx": 1, "nearest_ours": rep_near[0],
                             "nearest_networkx": rep_near[1]},
                 "python": platform.python_version(), "osmnx": ox.__version__, "networkx": nx.__version__}

    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        # (a) building -------------------------------------------------------------------
        t_ours, graphs = best_of(lambda: ours_build(extract), reps)
        t_xml, xml = best_of(lambda: write_mode_xml(extract, tmp), 1)
        t_ox, oxg = best_of(lambda: osmnx_build(xml, simplify=True), 1)
        t_ox_raw, oxraw = best_of(lambda: osmnx_build(xml, simplify=False), 1)
        res["graphs"] = {m: {"nodes": g.n_nodes, "edges": g.n_edges, "dropped": g.dropped,
                             "ways_kept": g.stats["ways_kept"],
                             "ways_excluded": g.stats["ways_excluded"],
                             **({"maxspeed": g.stats["maxspeed"]} if m == "drive" else {})}
                         for m, g in graphs.items()}
        res["build"] = {
            "ours_s": round(t_ours, 3),
            "osmnx_simplified_s": round(t_ox, 3), "osmnx_unsimplified_s": round(t_ox_raw, 3),
            "ratio_vs_osmnx_simplified": round(t_ox / t_ours, 1),
            "ratio_vs_osmnx_unsimplified": round(t_ox_raw / t_ours, 1),
            "xml_write_s_not_counted": round(t_xml, 3),
            "osmnx_nodes": {m: len(G) for m, G in oxg.items()},
        }
        # agreement on unsimplified graphs (same node ids); strongly connected part for drive
        res["agreement_vs_osmnx"] = {}
        for m, g in graphs.items():
            G = ox.truncate.largest_component(oxraw[m], strongly=(m == "drive"))
            same_nodes = set(G.nodes) == set(g.node_osmid.tolist())
            res["agreement_vs_osmnx"][m] = {"same_node_set": same_nodes, **agreement(g, G)}
        del oxg, oxraw

        # (b) nearest pharmacy -----------------------------------------------------------
        ph, note = pharmacy_points(extract)
        px, py = TO_BNG.transform(ph["lon"].to_numpy(), ph["lat"].to_numpy())
        res["nearest"] = {"sources_note": note}
        for m, g in graphs.items():
            src, src_d = snap(g, np.column_stack([px, py]), max_snap_m=TRAVEL.max_snap_m)
            if not (src >= 0).any():
                res["nearest"][m] = {"skipped": "no pharmacy within max_snap_m of this graph"}
                continue
            demand = demand_grid(g, n_side, TRAVEL.max_snap_m)
            _ = g.csr_reverse  # built once per graph, like networkx's reversed view below

            def ours():
                t, which = nearest_source_times(g, src, reverse=True)
                return t[demand], which[demand]

            G = g.to_networkx()
            Gr = G.reverse(copy=True) if m == "drive" else G
            src_ids = set(g.node_osmid[src[src >= 0]].tolist())
            demand_ids = g.node_osmid[demand].tolist()

            def baseline():
                d = nx.multi_source_dijkstra_path_length(Gr, src_ids, weight="travel_time")
                return np.array([d.get(i, np.inf) for i in demand_ids])

            t_o, (tt, _) = best_of(ours, rep_near[0])
            t_n, tn = best_of(baseline, rep_near[1])
            fin = np.isfinite(tn)
            res["nearest"][m] = {
                "sources": int(len(src)), "sources_snapped": int((src >= 0).sum()),
                "distinct_source_nodes": len(src_ids),
                "max_source_snap_m": round(float(src_d[src >= 0].max()), 1),
                "demand_points": int(len(demand)), "graph_nodes_searched": g.n_nodes,
                "ours_s": round(t_o, 4), "networkx_s": round(t_n, 4), "ratio": round(t_n / t_o, 1),
                "max_abs_diff_s": float(np.max(np.abs(tt[fin] - tn[fin]))) if fin.any() else 0.0,
                "same_reachability": bool((np.isfinite(tt) == fin).all()),
                "median_min": round(float(np.median(tt[np.isfinite(tt)]) / 60), 2),
            }
        # (c) memory ---------------------------------------------------------------------
        res["memory"] = {
            "ours_build_tracemalloc_peak_mb": peak_mb(lambda: ours_build(extract)),
            "osmnx_build_tracemalloc_peak_mb": (None if args.quick else
                                                peak_mb(lambda: osmnx_build(xml, simplify=True))),
            "process_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }

    # a quick run only prints, unless told where to write, so it never replaces the full results
    out = args.out if args.out is not None else (None if args.quick else RESULTS)
    if out is not None:
        write_json(res, out / "network.json")
        write_text(render_md(res), out / "network.md")
    print(render_md(res))
    return res


def render_md(r: dict) -> str:
    b, mem, rp = r["build"], r["memory"], r["repeats"]
    lines = [f"# Network benchmark ({r['extract']}{', quick' if r['quick'] else ''})", "",
             f"Timings are the best of several runs on this machine (build: {rp['build_ours']} ours, "
             f"{rp['build_osmnx']} OSMnx; nearest: {rp['nearest_ours']} ours, {rp['nearest_networkx']} networkx); "
             "ratios are baseline time / our time, measured in the same run. OSMnx reads XML holding only "
             "the ways our rules keep; writing that XML is not counted. Nearest-pharmacy times exclude "
             "snapping and graph conversion on both sides.", "",
             "| measure | ours | baseline | ratio |", "|---|---|---|---|",
             f"| extract -> walk + drive graphs | {b['ours_s']:.3f} s | osmnx.graph_from_xml "
             f"{b['osmnx_simplified_s']:.2f} s (simplify=True) | {b['ratio_vs_osmnx_simplified']}x |",
             f"| same, OSMnx unsimplified | | {b['osmnx_unsimplified_s']:.2f} s | {b['ratio_vs_osmnx_unsimplified']}x |"]
    for m in ("walk", "drive"):
        n = r["nearest"][m]
        if "skipped" in n:
            lines.append(f"| nearest pharmacy, {m} | skipped: {n['skipped']} | | |")
            continue
        lines.append(f"| nearest pharmacy, {m}: {n['demand_points']:,} demand points, {n['sources_snapped']} sources "
                     f"| {n['ours_s'] * 1000:.1f} ms | networkx multi_source_dijkstra {n['networkx_s'] * 1000:.0f} ms "
                     f"| {n['ratio']}x |")
    lines.append(f"| peak traced memory, build | {mem['ours_build_tracemalloc_peak_mb']} MB | "
                 f"OSMnx {mem['osmnx_build_tracemalloc_peak_mb'] or '(not measured)'} MB | |")
    lines += ["", f"Process max RSS: {mem['process_maxrss_mb']} MB. Sources: {r['nearest']['sources_note']}.", "",
              "| graph | nodes | edges | dropped nodes | dropped km | components | path agreement vs OSMnx |",
              "|---|---|---|---|---|---|---|"]
    for m, g in r["graphs"].items():
        a = r["agreement_vs_osmnx"][m]
        lines.append(f"| {m} | {g['nodes']:,} | {g['edges']:,} | {g['dropped']['nodes']:,} | {g['dropped']['km']} "
                     f"| {g['dropped']['components']} | max {a['max_rel_diff_pct']}% over {a['both_reachable']} pairs"
                     f"{'' if a['same_node_set'] else ' (node sets differ)'} |")
    lines += ["", "Path lengths differ from OSMnx only by the earth model: ours are WGS84 geodesics, "
              "OSMnx's are spherical (haversine)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

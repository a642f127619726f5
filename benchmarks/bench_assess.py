"""Benchmark incremental what-ifs against full recomputation, in the same run.

Run:  .venv/bin/python benchmarks/bench_assess.py [--quick]

For each model — Leicester walk (straight-line estimate, Output Area demand points, the real
list's pharmacies) and Newport walk and drive (street network on the real OSM extract, LSOA
demand points, the pharmacies mapped in the extract) and Newport transit (real GTFS, RAPTOR over the
07:00-10:00 window) — times:

* closure of one pharmacy: ``ModeState.what_if(close=[code])`` vs the model's nearest search
  re-run on the site set without it;
* a new site: one bounded single-source search (a RAPTOR run for the timetable model) +
  element-wise minimum vs the nearest search re-run with the site added;
* relocation (closure + new) likewise;
* the whole single-closure resilience table vs one full nearest search per pharmacy;
* one complete Leicester application assessment (``assess_application``, all modes).

Agreement is checked on every scenario (max absolute difference in minutes; for the network
the incremental result is compared with the exact per-site search, and the number of points
where the multi-source search differs from it is reported). Writes
benchmarks/results/assess.json and assess.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from timing import best_of  # noqa: E402  (benchmarks/timing.py)

from pna import progress  # noqa: E402
from pna.io import write_json, write_text  # noqa: E402

DATA = ROOT.parent / "shared" / "pna-data"


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = np.isfinite(a), np.isfinite(b)
    if (fa != fb).any():
        return float("inf")
    return float(np.abs(a[fa] - b[fb]).max()) if fa.any() else 0.0


def leicester():
    """The Leicester stage results (straight-line models for every mode) and their supply."""
    from pna.config import load_config
    from pna.pipeline import build_results

    cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=DATA, output_dir=ROOT / "benchmarks" / "leicester.tmp")
    results = build_results(cfg)
    return results, results.access.supply.sites


def newport():
    from pna.access.demand import build_demand_points
    from pna.access.engine import NetworkModel
    from pna.access.graph import build_graphs
    from pna.loaders.osm import pharmacy_sites
    from pna.config import load_config
    from pna.geography.area import build_area
    from pna.quality import QualityLog

    cfg = load_config(ROOT / "config" / "newport.yaml", data_dir=DATA)
    q = QualityLog()
    _, lsoa, _ = build_area(cfg, q)
    demand = build_demand_points(cfg, lsoa, q)
    extract = cfg.data_path(cfg.network.osm_extract)
    graphs = build_graphs(extract, cfg)
    sites = pharmacy_sites(extract)[["ods_code", "trading_name", "geometry"]]
    return cfg, {m: NetworkModel(graphs[m], demand, cfg, m) for m in ("walk", "drive")}, sites, graphs


def bench_model(label: str, model, sites: gpd.GeoDataFrame, thresholds: list[int], n: int, repeats: int,
                exact=None, new_site_points: gpd.GeoDataFrame | None = None, graph=None) -> dict:
    """Incremental vs full for closures, new sites and relocations on one model.

    ``new_site_points`` (default: the model's demand points) place the new sites; ``graph``
    (a street model's ``StreetGraph``) adds the share of nodes a bounded search reaches.
    """
    from pna.assess.resilience import closure_losses
    from pna.assess.sites import site_frame
    from pna.assess.whatif import build_state

    exact = exact or (lambda s: model.nearest(s)[0])
    limit = float(max(thresholds))
    t_pre, st = best_of(lambda: build_state(model, sites), 1)
    codes = sites["ods_code"].tolist()[:n]
    dem = model.demand if new_site_points is None else new_site_points
    step = max(len(dem) // n, 1)
    new_xy = [(float(g.x) + 37.0, float(g.y) - 23.0) for g in dem.sort_values("point_id").geometry.iloc[::step][:n]]
    rows = {"closure": [], "new": [], "relocation": []}
    diffs = {"closure": 0.0, "new": 0.0, "relocation": 0.0}
    for code in codes:
        ti, got = best_of(lambda: st.what_if(close=[code])[0], repeats)
        rest = sites[sites["ods_code"] != code]
        tf, _ = best_of(lambda: model.nearest(rest), repeats)
        diffs["closure"] = max(diffs["closure"], _diff(got, exact(rest)))
        rows["closure"].append((ti, tf))
    for i, xy in enumerate(new_xy):
        sf = site_frame(xy)
        ti, got = best_of(lambda: st.what_if(add=model.window(sf, limit_min=limit))[0], repeats)
        plus = pd.concat([sites, sf], ignore_index=True)
        tf, _ = best_of(lambda: model.nearest(plus), repeats)
        want = exact(plus)
        inside = want <= limit
        diffs["new"] = max(diffs["new"], _diff(got[inside], want[inside]))
        rows["new"].append((ti, tf))
        code = codes[i % len(codes)]
        ti, got = best_of(lambda: st.what_if(close=[code], add=model.window(sf, limit_min=limit))[0], repeats)
        moved = pd.concat([sites[sites["ods_code"] != code], sf], ignore_index=True)
        tf, _ = best_of(lambda: model.nearest(moved), repeats)
        want = exact(moved)
        inside = want <= limit
        diffs["relocation"] = max(diffs["relocation"], _diff(got[inside], want[inside]))
        rows["relocation"].append((ti, tf))
    t_res, _ = best_of(lambda: closure_losses(st, thresholds), 1)
    pop = model.demand["population"].to_numpy(float)

    def full_res():
        out = []
        for code in sites["ods_code"]:
            m, _ = model.nearest(sites[sites["ods_code"] != code])
            out.append([pop[~(m <= t)].sum() for t in thresholds])
        return out
    t_res_full, _ = best_of(full_res, 1)
    quick = model.nearest(sites)[0]
    mismatch = int((np.abs(np.where(np.isfinite(quick), quick, -1) - np.where(np.isfinite(st.minutes()),
                                                                             st.minutes(), -1)) > 1e-6).sum())
    reach = None
    if graph is not None and new_xy:
        from pna.access import routing

        node, _ = routing.snap(graph, np.array(new_xy[:1]), max_snap_m=model.max_snap_m)
        d = routing.times_from_sources(graph, node, limit_s=limit * 60.0)[0]
        reach = float(np.isfinite(d).mean())
    out = {"model": label, "method": model.method, "bounded_search_nodes_reached_share": reach, "demand_points": len(model.demand), "sites": len(sites),
           "precompute_s": t_pre, "resilience_incremental_s": t_res, "resilience_full_s": t_res_full,
           "resilience_speedup": t_res_full / t_res if t_res > 0 else None,
           "points_where_multisource_differs_from_exact": mismatch}
    for k, v in rows.items():
        a = np.array(v)
        inc, full = float(np.median(a[:, 0])), float(np.median(a[:, 1]))
        out[k] = {"scenarios": len(v), "incremental_median_s": inc, "full_median_s": full,
                  "incremental_max_s": float(a[:, 0].max()), "speedup": full / inc if inc > 0 else None,
                  "max_abs_diff_min": diffs[k]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer scenarios and repeats")
    args = ap.parse_args(argv)
    progress.configure(quiet=True)
    n, repeats = (5, 1) if args.quick else (20, 3)
    from pna.assess.assessor import assess_application, prepare_assessor
    from pna.assess.whatif import build_states
    from pna.assess.sites import application_from_mapping

    ctx, supply = leicester()
    models = ctx.access.models
    results = [bench_model("Leicester walk (straight-line estimate)", models["walk"], supply,
                           list(ctx.cfg.travel.walk.thresholds_min), n, repeats)]
    ncfg, nmodels, nsites, _ = newport()
    for mode in ("walk", "drive"):
        m = nmodels[mode]

        def exact(s, m=m):
            t = m.times_to(s)
            return t.min(axis=0)
        results.append(bench_model(f"Newport {mode} (street network)", m, nsites,
                                   list(getattr(ncfg.travel, mode).thresholds_min), n, repeats, exact=exact,
                                   new_site_points=m.demand[m.demand_node >= 0], graph=m.graph))
    from pna.quality import QualityLog
    from pna.transit.stage import build_model

    tm = build_model(ncfg, nmodels["walk"].demand, QualityLog(), walk_graph=nmodels["walk"].graph)
    # one repeat: the timetable model caches its last result, which would flatter a repeated full run
    results.append(bench_model("Newport transit (timetable, RAPTOR over the window)", tm, nsites,
                               list(ncfg.travel.transit.thresholds_min), min(n, 5), 1))
    t_states, _ = best_of(lambda: build_states(models=models, supply=supply), 1)
    base = prepare_assessor(cfg=ctx.cfg, geography=ctx.geography, access=ctx.access, resilience=ctx.resilience)
    app = application_from_mapping({"name": "Benchmark", "kind": "relocation",
                                    "ods_code": supply["ods_code"].iloc[0], "postcode": "LE1 1WB"})
    t_assess, r = best_of(lambda: assess_application(app, base=base), repeats)
    summary = {"python": platform.python_version(), "machine": platform.machine(),
               "scenarios_per_kind": n, "repeats": repeats, "models": results,
               "leicester_assessment": {"modes": sorted(models), "build_states_s": t_states,
                                        "assess_application_s": t_assess}}
    out_dir = ROOT / "benchmarks" / "results"
    write_json(summary, out_dir / "assess.json")
    lines = ["# Application assessor: incremental what-ifs vs full recomputation", "",
             f"Same run, best of {repeats}; medians over {n} scenarios per kind. Full = the model's nearest "
             "search re-run on the changed site set. Network new-site searches are bounded at the largest "
             "threshold (exact within it; `max diff` compares points within the limit).", "",
             "| model | demand pts | sites | what-if | incremental (ms) | full (ms) | speed-up | max diff (min) |",
             "|---|---|---|---|---|---|---|---|"]
    for res in results:
        for k in ("closure", "new", "relocation"):
            v = res[k]
            lines.append(f"| {res['model']} | {res['demand_points']} | {res['sites']} | {k} | "
                         f"{v['incremental_median_s'] * 1e3:.3f} | {v['full_median_s'] * 1e3:.3f} | "
                         f"{v['speedup']:.1f}× | {v['max_abs_diff_min']:.2g} |")
        lines.append(f"| {res['model']} | | | resilience table (all sites) | {res['resilience_incremental_s'] * 1e3:.1f} | "
                     f"{res['resilience_full_s'] * 1e3:.1f} | {res['resilience_speedup']:.1f}× | |")
    lines += ["", "Precompute (per-site minutes, K nearest): " + "; ".join(
        f"{r['model']} {r['precompute_s'] * 1e3:.1f} ms" for r in results) + ".", "",
        f"One complete Leicester assessment (all {len(models)} modes, incl. coverage tables): "
        f"{t_assess * 1e3:.0f} ms after building the states once ({t_states * 1e3:.0f} ms).", "",
        "Points where the network model's multi-source search (each pharmacy's street connector a "
        "start-up offset of the search) is later than the exact per-site minimum: " + "; ".join(
            f"{r['model']} {r['points_where_multisource_differs_from_exact']}" for r in results if "network" in r["model"]) + "."]
    lines += ["", "Share of street nodes a bounded new-site search still visits (so its saving over one "
              "full search): " + "; ".join(f"{r['model']} {r['bounded_search_nodes_reached_share']:.0%}"
                                          for r in results if r["bounded_search_nodes_reached_share"] is not None)
              + ". The central-Newport extract is small, so within the largest threshold a drive search "
              "reaches almost all of it; on a county extract the bound prunes most of the graph. "
              "The timetable model's cost is the RAPTOR run over the departure window, which a new site "
              "needs once either way; closures and resilience need none."]
    write_text("\n".join(lines) + "\n", out_dir / "assess.md")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: ``pna england``, the straight-line baseline for every board, cold and warm.

Cold: an empty cache (the UK postcode directory decoded from the package). Warm: the same run
with the decoded directory cached. Also, in the same run, the baseline's nearest-pharmacy search
against a per-board loop (each board's residents searched against every pharmacy in England by
brute force, as a per-area tool would), with the ratio. Peak memory is the process's maximum
resident set (``ru_maxrss``).

Usage: ``.venv/bin/python benchmarks/bench_england.py``
Writes ``benchmarks/results/england.json`` and ``england.md``.
"""

from __future__ import annotations

import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pna.config import load_national_config  # noqa: E402
from pna.io import write_json, write_text  # noqa: E402
from pna.pipeline import england  # noqa: E402


def _per_board_brute_force(baseline) -> float:
    ph = baseline.tables["pharmacies"].dropna(subset=["easting"])
    xy = ph[["easting", "northing"]].to_numpy(float)
    t0 = time.perf_counter()
    for _, sub in baseline.lsoa.groupby("area_code"):
        pts = sub[["x", "y"]].to_numpy(float)
        for i in range(0, len(pts), 256):   # chunks keep the distance matrix small
            d = ((pts[i:i + 256, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
            d.min(axis=1)
    return time.perf_counter() - t0


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pna-bench-england-"))
    try:
        cfg = load_national_config(ROOT / "config" / "england.yaml", output_dir=work / "out")
        cfg = cfg.model_copy(update={"cache_dir": work / "cache"})
        t0 = time.perf_counter()
        baseline = england(cfg, workers=2)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        england(cfg, workers=2)
        warm = time.perf_counter() - t0
        from scipy.spatial import cKDTree

        ph = baseline.tables["pharmacies"].dropna(subset=["easting"])
        t0 = time.perf_counter()
        cKDTree(ph[["easting", "northing"]].to_numpy(float)).query(baseline.lsoa[["x", "y"]].to_numpy(float), k=2)
        tree = time.perf_counter() - t0
        brute = _per_board_brute_force(baseline)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res = {"machine": f"{platform.machine()}, {platform.python_version()}",
           "boards": int(baseline.tables["provision"].query("level == 'board'").shape[0]),
           "lsoas": int(len(baseline.lsoa)), "pharmacies_placed": int(len(ph)),
           "cold_s": round(cold, 2), "warm_s": round(warm, 2), "targets_s": {"cold": 120, "warm": 30},
           "nearest_two_kdtree_s": round(tree, 4), "nearest_one_per_board_brute_force_s": round(brute, 2),
           "speedup_kdtree_vs_per_board": round(brute / max(tree, 1e-9), 1), "peak_rss_mb": round(peak_mb)}
    out = ROOT / "benchmarks" / "results"
    write_json(res, out / "england.json")
    write_text("# pna england benchmark\n\n"
               f"{res['boards']} boards, {res['lsoas']:,} LSOAs, {res['pharmacies_placed']:,} pharmacies; {res['machine']}.\n\n"
               "| measure | value |\n|---|---|\n"
               f"| cold run (empty cache) | {cold:.1f} s (target 120 s) |\n"
               f"| warm run | {warm:.1f} s (target 30 s) |\n"
               f"| nearest two pharmacies, k-d tree, all England | {tree * 1000:.0f} ms |\n"
               f"| nearest pharmacy, per-board brute force | {brute:.1f} s |\n"
               f"| speed-up | {res['speedup_kdtree_vs_per_board']:,}x |\n"
               f"| peak memory | {res['peak_rss_mb']:,} MB |\n", out / "england.md")
    print(open(out / "england.md").read())


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

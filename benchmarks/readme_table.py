"""Regenerate the README's main benchmark table from benchmarks/results/{network,transit,assess}.json.

Run:  .venv/bin/python benchmarks/readme_table.py   (``make bench`` runs it after the benchmarks)

The table sits between the ``bench_summary`` markers of README.md; every figure in it is read from
the results files, so the README never holds a typed number.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START = "<!-- bench_summary: start (written by benchmarks/readme_table.py) -->"
END = "<!-- bench_summary: end -->"


def _ms(s: float) -> str:
    return f"{s * 1000:.2g} ms" if s < 0.01 else f"{s * 1000:.3g} ms" if s < 1 else f"{s:.3g} s"


def _x(r: float) -> str:
    return f"{r:.2g}×" if r < 10 else f"{r:.0f}×"


def _model(assess: dict, name: str) -> dict:
    return next(m for m in assess["models"] if m["model"].startswith(name))


def table(network: dict, transit: dict, assess: dict) -> list[str]:
    """The table's lines (header, rows, notes) from the three results files."""
    b, near = network["build"], network["nearest"]
    walk, drive = _model(assess, "Newport walk"), _model(assess, "Newport drive")
    rows = [
        ("Newport OSM extract → walk + drive graphs (pyosmium + numpy)", _ms(b["ours_s"]),
         f"`osmnx.graph_from_xml` {_ms(b['osmnx_simplified_s'])}", _x(b["ratio_vs_osmnx_simplified"])),
    ]
    for mode in ("walk", "drive"):
        n = near[mode]
        rows.append((f"nearest pharmacy for {n['demand_points']:,} {mode} demand points "
                     "(scipy.sparse.csgraph on the contracted routing core, exact)", _ms(n["ours_s"]),
                     f"networkx multi-source Dijkstra {_ms(n['networkx_s'])}", _x(n["ratio"])))
    rows += [
        (f"public transport: {transit['origins']} points × {transit['departures']} departures, vectorised RAPTOR "
         "(range-RAPTOR at region size: see below)", _ms(transit["vectorised_s"]),
         f"the same router one query at a time {_ms(transit['naive_raptor_extrapolated_s'])}",
         _x(transit["ratio_vs_naive_raptor"])),
        ("one closure what-if (Newport walk network)", _ms(walk["closure"]["incremental_median_s"]),
         f"full recomputation {_ms(walk['closure']['full_median_s'])}", _x(walk["closure"]["speedup"])),
        ("single-closure resilience table (Newport walk)", _ms(walk["resilience_incremental_s"]),
         f"full runs {_ms(walk['resilience_full_s'])}",
         _x(walk["resilience_full_s"] / walk["resilience_incremental_s"])),
        ("one new-site what-if (Newport drive / walk network)",
         f"{_ms(drive['new']['incremental_median_s'])} / {_ms(walk['new']['incremental_median_s'])}",
         f"full recomputation {_ms(drive['new']['full_median_s'])} / {_ms(walk['new']['full_median_s'])}",
         f"{_x(drive['new']['speedup'])} / {_x(walk['new']['speedup'])}"),
    ]
    agree = network["agreement_vs_osmnx"]
    worst = max(agree[m]["max_rel_diff_pct"] for m in agree)
    pairs = agree["walk"]["pairs"]
    ta = transit["agreement"]
    out = ["| what | ours | baseline | ratio |", "|---|---|---|---|"]
    out += [f"| {a} | {o} | {base} | {r} |" for a, o, base, r in rows]
    mem = network["memory"]
    out += ["", f"Peak memory: graph build {mem['ours_build_tracemalloc_peak_mb']} MB traced "
                f"(OSMnx {mem['osmnx_build_tracemalloc_peak_mb']} MB); RAPTOR over the window "
                f"{transit['peak_traced_memory_mb']} MB traced.",
            f"Correctness checks behind the speed: path lengths agree with OSMnx within {worst:.2f}% on {pairs} "
            "Newport origin–destination pairs per mode (geodesic vs haversine lengths); RAPTOR arrival times "
            f"equal an independent time-expanded Dijkstra on {ta['identical']:,} of {ta['site_arrivals_compared']:,} "
            "sampled site arrivals. Details: `benchmarks/results/{network,transit,assess}.md`."]
    return out


def update_readme(readme: Path = ROOT / "README.md", results: Path = RESULTS) -> bool:
    """Rewrite the table between the markers; False when the README has no markers."""
    text = readme.read_text()
    if START not in text or END not in text:
        return False
    data = {k: json.loads((results / f"{k}.json").read_text()) for k in ("network", "transit", "assess")}
    lines = [START, "", *table(data["network"], data["transit"], data["assess"]), "", END]
    readme.write_text(text[:text.index(START)] + "\n".join(lines) + text[text.index(END) + len(END):])
    return True


if __name__ == "__main__":
    if not update_readme():
        raise SystemExit("README.md has no bench_summary markers")

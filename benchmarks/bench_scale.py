"""Street-network engines at county scale, on synthetic extracts tiled from the real Newport one.

Run:  .venv/bin/python benchmarks/bench_scale.py [--tiles 1 5 18]

Each synthetic extract is written as ``.osm.pbf`` (so the real reader is exercised) under
``.cache/bench/``: the Newport highway ways and pharmacies copied onto a grid of tiles (n tiles as
kx x ky, the most nearly square factorisation: 18 is 6 x 3),
every other tile mirrored so that streets cut by the extract's edge meet their mirror image,
and each way end within 300 m of a seam joined to its image by a residential street (so the
tiles form one network and the largest-component filter keeps them all).

Per size, in a fresh process (so peak memory is the process's own): reading the extract and
building the walk and drive graphs; the nearest pharmacy from every node (multi-source
Dijkstra); the single-closure resilience table (``pna.assess.resilience``) for demand points
at a sample of nodes; one what-if per mode (one pharmacy moves 1 km: its closure and the new
site's travel times, ``pna.assess.whatif``); catchments for every pharmacy, both modes, thresholds 5-20 min
(``pna.access.contour``), against the buffered-segment method timed on 3 pharmacies in the
same process (per-pharmacy ratio); and a walk time raster at 100 m. The growth exponent b in
time ~ nodes^b is fitted over the sizes. Writes benchmarks/results/scale.json and scale.md.
"""

from __future__ import annotations

import argparse
import json
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
NEWPORT = DATA / "networks" / "newport-2023-06-13.osm.pbf"
CACHE = ROOT / ".cache" / "bench"
RESULTS = ROOT / "benchmarks" / "results"
ID_STEP = 20_000_000_000   # per-tile id offset, above every real OSM id
SEAM_M = 300.0


def _read(src: Path) -> tuple[dict[int, tuple[float, float]], list[tuple[int, list[int], dict]],
                              list[tuple[int, float, float, dict]]]:
    import osmium

    ways, used = [], set()
    for w in osmium.FileProcessor(str(src), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway")):
        refs = [n.ref for n in w.nodes]
        ways.append((w.id, refs, dict(w.tags)))
        used.update(refs)
    nodes, pharmacies = {}, []
    for n in osmium.FileProcessor(str(src), osmium.osm.NODE):
        if n.id in used and n.location.valid():
            nodes[n.id] = (n.location.lon, n.location.lat)
        if n.tags.get("amenity") == "pharmacy" and n.location.valid():
            pharmacies.append((n.id, n.location.lon, n.location.lat, dict(n.tags)))
    ways = [w for w in ways if all(r in nodes for r in w[1])]
    return nodes, ways, pharmacies


def tile_grid(n: int) -> tuple[int, int]:
    """``(kx, ky)`` with ``kx * ky == n``, ``kx >= ky``, as nearly square as ``n`` allows."""
    ky = max(d for d in range(1, int(n ** 0.5) + 1) if n % d == 0)
    return n // ky, ky


def write_tiled(src: Path, dst: Path, kx: int, ky: int) -> dict:
    """Write the kx x ky tiled extract (see the module docstring); returns counts."""
    import osmium

    nodes, ways, pharmacies = _read(src)
    ids = np.fromiter(nodes, dtype=np.int64)
    ll = np.array([nodes[i] for i in ids])
    # Tile edges at the 1st/99th percentiles: ways clipped by the extract keep a few nodes far
    # outside it, and the edges must be where most cut streets end.
    lo, hi = np.percentile(ll, 1, axis=0), np.percentile(ll, 99, axis=0)
    span = hi - lo
    ends = np.unique([r for _, refs, _ in ways for r in (refs[0], refs[-1])])
    pos = {int(i): j for j, i in enumerate(ids)}
    end_ll = ll[[pos[int(e)] for e in ends]]
    deg_per_m = np.array([1 / (111_320 * np.cos(np.radians(ll[:, 1].mean()))), 1 / 110_540])

    def place(xy: np.ndarray, i: int, j: int) -> np.ndarray:
        x = lo[0] + ((hi[0] - xy[:, 0]) if i % 2 else (xy[:, 0] - lo[0])) + i * span[0]
        y = lo[1] + ((hi[1] - xy[:, 1]) if j % 2 else (xy[:, 1] - lo[1])) + j * span[1]
        return np.column_stack([x, y])

    if dst.exists():
        dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    writer = osmium.SimpleWriter(str(dst))
    n_nodes = n_ways = 0
    try:
        tiles = [(i, j) for j in range(ky) for i in range(kx)]
        for t, (i, j) in enumerate(tiles):
            xy = place(ll, i, j)
            for nid, (x, y) in zip(ids.tolist(), xy.tolist()):
                writer.add_node(osmium.osm.mutable.Node(id=nid + t * ID_STEP, location=(x, y)))
            n_nodes += len(ids)
        for t, (i, j) in enumerate(tiles):
            pxy = place(np.array([[p[1], p[2]] for p in pharmacies]), i, j)
            for p, (x, y) in zip(pharmacies, pxy.tolist()):
                writer.add_node(osmium.osm.mutable.Node(id=p[0] + t * ID_STEP + ID_STEP // 2,
                                                        location=(x, y), tags=p[3]))
        for t, _ in enumerate(tiles):
            for wid, refs, tags in ways:
                writer.add_way(osmium.osm.mutable.Way(id=wid + t * ID_STEP, nodes=[r + t * ID_STEP for r in refs],
                                                      tags=tags))
                n_ways += 1
        # Seams: a way end near the east (north) edge of a tile meets its mirror in the next tile.
        link_id = kx * ky * ID_STEP + 1
        # A mirrored tile's east (north) edge is the original's west (south) edge.
        east = {0: np.abs(hi[0] - end_ll[:, 0]) / deg_per_m[0] <= SEAM_M,
                1: np.abs(end_ll[:, 0] - lo[0]) / deg_per_m[0] <= SEAM_M}
        north = {0: np.abs(hi[1] - end_ll[:, 1]) / deg_per_m[1] <= SEAM_M,
                 1: np.abs(end_ll[:, 1] - lo[1]) / deg_per_m[1] <= SEAM_M}
        for t, (i, j) in enumerate(tiles):
            for di, dj, near in ((1, 0, east[i % 2]), (0, 1, north[j % 2])):
                a, b = i + di, j + dj
                if a >= kx or b >= ky:
                    continue
                t2 = tiles.index((a, b))
                # Tiles mirror alternately, so a node near the shared edge in one tile has its
                # own copy just across it in the other: join the two.
                for e in ends[near]:
                    writer.add_way(osmium.osm.mutable.Way(id=link_id, nodes=[int(e) + t * ID_STEP,
                                                                             int(e) + t2 * ID_STEP],
                                                          tags={"highway": "residential"}))
                    link_id += 1
                    n_ways += 1
    finally:
        writer.close()
    return {"nodes_written": n_nodes, "ways_written": n_ways, "pharmacies": len(pharmacies) * kx * ky}


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t, 3)


def measure(pbf: Path) -> dict:
    """All measurements for one extract (run in a child process)."""
    import geopandas as gpd
    import shapely

    from pna.access.contour import catchment_grid, contour_isochrones
    from pna.access.engine import NetworkModel
    from pna.access.graph import build_graph
    from pna.access.isochrones import network_isochrones
    from pna.access.raster import write_time_raster
    from pna.access.routing import nearest_source_times, snap
    from pna.access.stage import CONTOUR_CELL_M
    from pna.assess.resilience import resilience_table
    from pna.assess.whatif import build_state, site_window
    from pna.config import load_config
    from pna.crs import BNG
    from pna.loaders.osm import read_highways, read_pharmacies
    from pna.modes import Mode
    from pna.quality import QualityLog

    cfg = load_config(ROOT / "config" / "newport.yaml", data_dir=DATA, output_dir=CACHE / "out")
    r: dict = {}
    ways, r["read_s"] = _timed(lambda: read_highways(pbf))
    drive = dict(drive_speeds_kmh=dict(cfg.travel.drive.highway_speeds_kmh),
                 congestion_factor=cfg.travel.drive.congestion_factor)
    graphs = {}
    graphs[Mode.WALK], r["build_walk_s"] = _timed(lambda: build_graph(ways, "walk",
                                                                        walk_speed_kmh=cfg.travel.walk.speed_kmh))
    graphs[Mode.DRIVE], r["build_drive_s"] = _timed(lambda: build_graph(ways, "drive", **drive))
    r["walk_nodes"], r["drive_nodes"] = graphs[Mode.WALK].n_nodes, graphs[Mode.DRIVE].n_nodes
    ph = read_pharmacies(pbf)
    sites = gpd.GeoDataFrame({"ods_code": [f"S{i:05d}" for i in range(len(ph))]},
                             geometry=gpd.points_from_xy(ph["lon"], ph["lat"]), crs=4326).to_crs(BNG)
    r["pharmacies"] = len(sites)
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    rng = np.random.default_rng(0)
    for mode, g in graphs.items():
        m = mode.value
        node, _ = snap(g, xy, max_snap_m=500.0)
        _, r[f"nearest_{m}_s"] = _timed(lambda: nearest_source_times(g, node[node >= 0]))
        grid, r[f"catchment_pairs_{m}_s"] = _timed(lambda: catchment_grid(g, cell_m=CONTOUR_CELL_M[mode]))
        r[f"catchment_pairs_{m}"] = grid.n_pairs
        iso, r[f"catchments_{m}_s"] = _timed(lambda: contour_isochrones(g, sites, [5, 10, 15, 20], grid=grid))
        r[f"catchments_{m}"] = len(iso)
        sample = sites.iloc[:3]
        _, old = _timed(lambda: network_isochrones(g, sample, [5, 10, 15, 20], buffer_m=50.0,
                                                   grid_m=5.0 if mode == Mode.WALK else 10.0))
        r[f"buffered_{m}_s_per_pharmacy"] = round(old / len(sample), 3)
        new_per = (r[f"catchments_{m}_s"] + r[f"catchment_pairs_{m}_s"]) / max(len(sites), 1)
        r[f"catchments_{m}_s_per_pharmacy"] = round(new_per, 4)
        # Demand: 20,000 population-weighted points at sampled street nodes.
        pick = rng.choice(g.n_nodes, min(20_000, g.n_nodes), replace=False)
        demand = gpd.GeoDataFrame({"point_id": np.arange(len(pick)), "population": 50.0},
                                  geometry=gpd.points_from_xy(g.node_xy[pick, 0], g.node_xy[pick, 1]), crs=BNG)
        model = NetworkModel(g, demand, cfg, mode, QualityLog())
        _, r[f"resilience_{m}_s"] = _timed(lambda: resilience_table({mode: model}, sites))
        # What-if: the first pharmacy moves 1 km east (closes, and a site opens there).
        # The assessor's state (every pharmacy's times to every demand point), built once per run.
        state, r[f"whatif_state_{m}_s"] = _timed(lambda: build_state(model, sites))
        moved = sites.iloc[:1].copy()
        moved["geometry"] = moved.geometry.translate(1000.0, 0.0)
        moved["ods_code"] = "MOVED"

        def what_if() -> int:
            minutes, _ = state.what_if(close=[str(sites["ods_code"].iloc[0])],
                                       add=site_window(model, moved, limit_min=20.0))
            return int(np.isfinite(minutes).sum())

        r[f"whatif_{m}_reached"], r[f"whatif_{m}_s"] = _timed(what_if)
        if mode == Mode.WALK:
            area = gpd.GeoDataFrame(geometry=[shapely.box(*g.node_xy.min(axis=0), *g.node_xy.max(axis=0))], crs=BNG)
            _, r["raster_walk_s"] = _timed(lambda: write_time_raster(model, sites, area, CACHE / "walk.tif"))
    r["end_to_end_s"] = round(sum(v for k_, v in r.items() if k_.endswith("_s")), 2)
    r["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return r


def _fit(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2 or min(ys) <= 0:
        return None
    return round(float(np.polyfit(np.log(xs), np.log(ys), 1)[0]), 2)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiles", type=int, nargs="+", default=[1, 5, 18], help="tile counts (any; laid out by tile_grid)")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return {}
    rows = []
    for n in args.tiles:
        kx, ky = tile_grid(n)
        pbf = CACHE / f"newport_tiled_{kx}x{ky}.osm.pbf"
        counts, write_s = _timed(lambda: write_tiled(NEWPORT, pbf, kx, ky))
        child = subprocess.run([sys.executable, __file__, "--measure", str(pbf)], check=True,
                               capture_output=True, text=True)
        row = {"tiles": kx * ky, "grid": f"{kx}×{ky}", "pbf_mb": round(pbf.stat().st_size / 2**20, 1), "write_pbf_s": write_s, **counts,
               **json.loads(child.stdout.strip().splitlines()[-1])}
        print(json.dumps(row), flush=True)
        rows.append(row)
    nodes = [r["walk_nodes"] for r in rows]
    fits = {key: _fit(nodes, [r[key] for r in rows])
            for key in ("build_walk_s", "nearest_walk_s", "catchments_walk_s", "catchments_drive_s",
                        "resilience_walk_s", "whatif_walk_s", "end_to_end_s", "max_rss_mb")}
    for r in rows:  # speed-up of the contoured catchments over the buffered ones, same process
        for m in ("walk", "drive"):
            r[f"catchments_{m}_ratio"] = round(r[f"buffered_{m}_s_per_pharmacy"]
                                               / r[f"catchments_{m}_s_per_pharmacy"], 1)
    res = {"python": platform.python_version(), "machine": platform.machine(), "sizes": rows,
           "growth_exponent": fits}
    write_results(res, args.out)
    return res


def write_results(res: dict, out: Path) -> None:
    """scale.json, scale.md and (for the default folder) the README table."""
    rows, fits = res["sizes"], res["growth_exponent"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(res, indent=2, sort_keys=True) + "\n")
    lines = ["# Street networks at county scale (Newport tiled)", "",
             "Synthetic extracts: the real Newport extract tiled kx x ky (mirrored, seams joined), written as",
             ".osm.pbf and read by the real reader. One fresh process per size; times in seconds on this machine.",
             "", "| measure | " + " | ".join(f"{r.get('grid', r['tiles'])} tiles" for r in rows) + " | growth exponent |",
             "|---|" + "---|" * (len(rows) + 1)]
    lines += _table_rows(rows, fits, MD_ROWS)
    lines += ["", "Growth exponent b: time ~ (walk nodes)^b fitted over the sizes (1 = linear).",
              "Old-method times are for 3 pharmacies per size, in the same process.", "", _target_line(rows)]
    (out / "scale.md").write_text("\n".join(lines) + "\n")
    if out == RESULTS:
        update_readme(res, ROOT / "README.md")


def _target_line(rows: list[dict]) -> str:
    """Whether the smallest size of at least 200,000 walk nodes met the target (30 s, 2 GB end to end)."""
    big = [r for r in rows if r["walk_nodes"] >= TARGET_NODES]
    if not big:
        return f"Target: no size here reaches {TARGET_NODES:,} walk nodes, so the target was not tested."
    r = min(big, key=lambda r: r["walk_nodes"])
    met = r["end_to_end_s"] <= TARGET_S and r["max_rss_mb"] <= TARGET_MB
    return (f"Target: a network of about {TARGET_NODES:,} nodes end to end (both modes, all thresholds, raster, "
            f"catchments) in at most {TARGET_S} s and {TARGET_MB:,} MB. The smallest size here at least that large, "
            f"{r['walk_nodes']:,} walk nodes, took {r['end_to_end_s']} s and {r['max_rss_mb']:,} MB: "
            + ("met." if met else "not met."))


TARGET_NODES, TARGET_S, TARGET_MB = 200_000, 30, 2048

#: (result key, label) of the rows of scale.md and of the README's table.
MD_ROWS = (("walk_nodes", "walk graph nodes"), ("drive_nodes", "drive graph nodes"),
           ("pharmacies", "pharmacies"), ("read_s", "read extract"),
           ("build_walk_s", "build walk graph"), ("build_drive_s", "build drive graph"),
           ("nearest_walk_s", "nearest pharmacy, every walk node"),
           ("nearest_drive_s", "nearest pharmacy, every drive node"),
           ("catchment_pairs_walk_s", "catchment cell pairs, walk"),
           ("catchments_walk_s", "catchments, walk, all pharmacies x 4 thresholds"),
           ("catchment_pairs_drive_s", "catchment cell pairs, drive"),
           ("catchments_drive_s", "catchments, drive, all pharmacies x 4 thresholds"),
           ("catchments_walk_s_per_pharmacy", "contoured walk catchments, s per pharmacy"),
           ("buffered_walk_s_per_pharmacy", "buffered-segment walk catchments (old), s per pharmacy"),
           ("catchments_drive_s_per_pharmacy", "contoured drive catchments, s per pharmacy"),
           ("buffered_drive_s_per_pharmacy", "buffered-segment drive catchments (old), s per pharmacy"),
           ("catchments_walk_ratio", "walk catchments: old / contoured time per pharmacy (x)"),
           ("catchments_drive_ratio", "drive catchments: old / contoured time per pharmacy (x)"),
           ("resilience_walk_s", "single-closure resilience, walk, 20k demand points"),
           ("resilience_drive_s", "single-closure resilience, drive, 20k demand points"),
           ("whatif_state_walk_s", "what-if state, walk: every pharmacy's times to the demand points (once)"),
           ("whatif_state_drive_s", "what-if state, drive (once)"),
           ("whatif_walk_s", "what-if, walk: one pharmacy moves 1 km (close + open)"),
           ("whatif_drive_s", "what-if, drive: one pharmacy moves 1 km (close + open)"),
           ("raster_walk_s", "walk time raster, 100 m"),
           ("end_to_end_s", "end to end (sum of the above, both modes)"),
           ("max_rss_mb", "peak memory (max RSS, MB)"))
README_ROWS = (("end_to_end_s", "end to end, both modes: build, nearest, catchments, resilience, what-if, raster (s)"),
               ("catchments_drive_s_per_pharmacy", "drive catchments per pharmacy, contoured (s)"),
               ("buffered_drive_s_per_pharmacy", "drive catchments per pharmacy, buffered streets (old, s)"),
               ("catchments_walk_s_per_pharmacy", "walk catchments per pharmacy, contoured (s)"),
               ("buffered_walk_s_per_pharmacy", "walk catchments per pharmacy, buffered streets (old, s)"),
               ("catchments_drive_ratio", "drive catchments: speed-up over buffered streets, same run (x)"),
               ("catchments_walk_ratio", "walk catchments: speed-up over buffered streets, same run (x)"),
               ("max_rss_mb", "peak memory (MB)"))


def _table_rows(rows: list[dict], fits: dict, items: tuple[tuple[str, str], ...]) -> list[str]:
    """Markdown rows: label, the value per size, the growth exponent where fitted."""
    out = []
    for key, label in items:
        f = fits.get(key)
        out.append(f"| {label} | " + " | ".join(f"{r[key]:,}" for r in rows) + f" | {'' if f is None else f} |")
    return out


def update_readme(res: dict, readme: Path) -> None:
    """Regenerate the README's scale table (between its two markers) from the results."""
    start, end = "<!-- bench_scale: start (written by benchmarks/bench_scale.py) -->", "<!-- bench_scale: end -->"
    text = readme.read_text()
    if start not in text or end not in text:
        return
    rows = res["sizes"]
    fit = res["growth_exponent"]
    out = [start, "", "| street network (Newport tiled) | " + " | ".join(f"{r['walk_nodes']:,} walk nodes" for r in rows)
           + " | growth exponent |", "|---|" + "---|" * (len(rows) + 1)]
    out += _table_rows(rows, fit, README_ROWS)
    out += ["", end]
    readme.write_text(text[:text.index(start)] + "\n".join(out) + text[text.index(end) + len(end):])


if __name__ == "__main__":
    main()

"""Circuity: how much longer street routes are than the straight line.

The straight-line estimate multiplies crow-fly distance by a circuity factor. This
module measures that factor on a real street network, for trips of the length people
make to a pharmacy, so the configured values can cite a measurement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra

from ..config import Config
from ..io import write_json
from ..modes import Mode
from .graph import StreetGraph, build_graphs


def calibrate_circuity(graph: StreetGraph, n_pairs: int = 2000, *, seed: int = 0,
                       min_m: float = 200.0, max_m: float = 3000.0, n_origins: int = 100) -> dict:
    """Ratio of shortest network distance to straight-line distance for sampled node pairs.

    Parameters
    ----------
    graph
        Street graph (``csr_length`` weights: metres; for drive, one-way rules apply).
    n_pairs
        Pairs sampled (spread evenly over the origins).
    seed
        Random seed (same seed, same pairs, same figures).
    min_m, max_m
        Straight-line distance band of the pairs (pharmacy-trip distances).
    n_origins
        Origins sampled uniformly from the graph's nodes; destinations are sampled uniformly
        from the nodes in the band round each origin.

    Returns
    -------
    dict
        ``mode, n_pairs, median, p25, p75, mean, min_m, max_m, seed`` and per-distance-band medians
        (``by_band``), rounded to 3 decimals.
    """
    rng = np.random.default_rng(seed)
    n = graph.n_nodes
    origins = np.sort(rng.choice(n, size=min(n_origins, n), replace=False))
    per = int(np.ceil(n_pairs / len(origins)))
    d = dijkstra(graph.csr_length, directed=True, indices=origins, limit=max_m * 3)
    xy = graph.node_xy
    ratios, crow, lost = [], [], 0
    for k, o in enumerate(origins):
        straight = np.hypot(xy[:, 0] - xy[o, 0], xy[:, 1] - xy[o, 1])
        cand = np.flatnonzero((straight >= min_m) & (straight <= max_m))
        if cand.size == 0:
            continue
        pick = rng.choice(cand, size=min(per, cand.size), replace=False)
        net = d[k, pick]
        ok = np.isfinite(net)
        lost += int((~ok).sum())
        ratios.append(net[ok] / straight[pick][ok])
        crow.append(straight[pick][ok])
    r = np.concatenate(ratios)[:n_pairs]
    c = np.concatenate(crow)[:n_pairs]
    bands = [(min_m, 500.0), (500.0, 1000.0), (1000.0, 2000.0), (2000.0, max_m)]
    by_band = {f"{int(lo)}-{int(hi)} m": {"n": int(((c >= lo) & (c < hi)).sum()),
                                          "median": round(float(np.median(r[(c >= lo) & (c < hi)])), 3)}
               for lo, hi in bands if ((c >= lo) & (c < hi)).any()}
    return {"mode": graph.mode, "n_pairs": int(r.size), "median": round(float(np.median(r)), 3),
            "p25": round(float(np.percentile(r, 25)), 3), "p75": round(float(np.percentile(r, 75)), 3),
            "mean": round(float(np.mean(r)), 3), "min_m": min_m, "max_m": max_m, "seed": seed,
            "n_origins": int(len(origins)), "n_unreachable_dropped": lost, "by_band": by_band}


def write_calibration(cfg: Config, path: str | Path, *, n_pairs: int = 2000, seed: int = 0) -> dict:
    """Measure walk and drive circuity on ``cfg.network.osm_extract`` and write them as JSON.

    Parameters
    ----------
    cfg
        Config with ``network.osm_extract`` and the configured circuity factors.
    path
        The JSON file written.
    n_pairs, seed
        As :func:`calibrate_circuity`.

    Returns
    -------
    dict
        What was written.
    """
    src = cfg.network.osm_extract
    if src is None:
        raise ValueError("calibration needs network.osm_extract in the config")
    graphs = build_graphs(cfg.data_path(src), cfg)
    out = {
        "what": "Circuity = shortest street-network distance / straight-line distance between OSM nodes",
        "how": (f"{n_pairs} origin-destination node pairs per mode, origins drawn uniformly from the graph's "
                f"nodes with numpy default_rng(seed={seed}), destinations uniformly among the nodes "
                "200-3000 m away in a straight line (pharmacy-trip distances); network distance by "
                "scipy.sparse.csgraph.dijkstra on metres, drive respecting one-way streets; pairs "
                "with no route within 3x the band's upper limit are dropped and counted"),
        "network": src.cite(),
        "extract_file": src.path,
        "graph_sha256": {m: g.source_sha256 for m, g in graphs.items()},
        "modes": {m: calibrate_circuity(g, n_pairs=n_pairs, seed=seed) for m, g in graphs.items()},
        "configured": {Mode.WALK: cfg.travel.walk.circuity, Mode.DRIVE: cfg.travel.drive.circuity},
    }
    write_json(out, Path(path))
    return out


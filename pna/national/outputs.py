"""The national baseline's outputs: CSVs, a workbook, a summary page and one page per board.

One CSV per measure, a workbook of them, a summary page with a map and a sortable table, and
one page per board, linkable from the table (``boards/<code>.html``).

The board pages are independent, so they are made in parallel through a standard executor: a
local process pool by default, or a Dask distributed cluster when ``scheduler`` names one (the
same call then spreads per-area work, such as network runs, over many machines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import NationalConfig
from ..errors import ConfigError
from ..io import write_csv, write_json, write_text
from ..loaders import boundaries
from ..loaders.boards import BoardRegister
from ..quality import QualityLog
from ..report.exports import export_xlsx
from ..report.templating import environment
from .baseline import GROUPS, Baseline, walk_radius_km

__all__ = ["write_baseline", "run_parallel", "board_shapes", "MEASURES"]

#: The national tables written, in order, with their titles.
MEASURES = {
    "provision": "Pharmacies, opening hours and residents per board, region and England",
    "access": "Residents within 1.6 km (1 mile) and an estimated 20-minute walk of a pharmacy",
    "resilience": "Pharmacies whose closure alone would leave residents beyond 1.6 km",
    "cross_border": "Residents whose nearest pharmacy is on another board's list",
    "boards": "Boards on the pharmaceutical list and the areas they map to",
    "pharmacies": "Every pharmacy on the national list, placed or with the reason it was not",
}

# Five classes, light to dark (ColorBrewer "Blues", readable in grey and by colour-blind readers).
_CLASS_COLOURS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
_SVG_W = 520.0


def run_parallel(fn: Callable[[Any], Any], jobs: Sequence[Any], *, workers: int | None = None,
                 scheduler: str | None = None) -> list[Any]:
    """``[fn(job) for job in jobs]``, in order, on local processes or a Dask cluster.

    Parameters
    ----------
    fn
        A module-level function (it is sent to other processes).
    jobs
        Its arguments, one per call.
    workers
        Local processes (default: the CPUs; 1 runs in this process).
    scheduler
        A Dask distributed scheduler address; needs ``dask[distributed]`` installed.

    Raises
    ------
    ConfigError
        If a scheduler is named but Dask distributed is not installed.
    """
    if scheduler:
        try:
            from dask.distributed import Client  # optional: only for a cluster
        except ImportError:
            raise ConfigError(f"--scheduler {scheduler}: Dask distributed is not installed "
                              "(pip install 'dask[distributed]')") from None
        with Client(scheduler) as client:
            return list(client.gather(client.map(fn, list(jobs), pure=False)))
    if workers == 1 or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, jobs, chunksize=max(1, len(jobs) // (4 * (workers or 2)))))


def board_shapes(cfg: NationalConfig, register: BoardRegister, *, simplify_m: float = 250.0) -> dict[str, Any]:
    """Each board's outline (the union of its districts), simplified for drawing, by area code."""
    import shapely  # geometry union and simplification

    codes = sorted({d for b in register.boards.values() for d in b.districts})
    gdf = boundaries.read_features(cfg, cfg.inputs.la_boundaries, codes, prefix="ltla21").set_index("ltla21_code")
    out = {}
    for b in register.boards.values():
        geom = shapely.union_all(gdf.geometry.reindex(list(b.districts)).to_numpy())
        out[b.code] = geom.simplify(simplify_m, preserve_topology=True)
    return dict(sorted(out.items()))


def _svg_path(geom: Any, tx: Callable[[np.ndarray], np.ndarray]) -> str:
    polys = getattr(geom, "geoms", [geom])
    parts = []
    for p in polys:
        for ring in [p.exterior, *p.interiors]:
            xy = tx(np.asarray(ring.coords))
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
    return "".join(parts)


def _projector(bounds: Sequence[float], width: float) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    minx, miny, maxx, maxy = bounds
    scale = width / max(maxx - minx, 1.0)
    height = (maxy - miny) * scale

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([(xy[:, 0] - minx) * scale, (maxy - xy[:, 1]) * scale])

    return tx, height


def _classes(values: pd.Series) -> tuple[pd.Series, list[str]]:
    """Quintile classes (0-4) and their labels; unknown values get -1."""
    v = values.astype(float)
    known = v.dropna()
    edges = np.unique(np.quantile(known, [0, 0.2, 0.4, 0.6, 0.8, 1.0])) if len(known) else np.array([0.0, 1.0])
    cls = pd.Series(np.clip(np.searchsorted(edges, v.to_numpy(), side="right") - 1, 0, len(edges) - 2),
                    index=v.index).where(v.notna(), -1).astype(int)
    labels = [f"{edges[i]:.2f} to {edges[i + 1]:.2f}" for i in range(len(edges) - 1)]
    return cls, labels


def _choropleth(shapes: dict[str, Any], values: pd.Series, names: dict[str, str]) -> dict[str, Any]:
    import shapely

    bounds = shapely.union_all(list(shapes.values())).bounds
    tx, height = _projector(bounds, _SVG_W)
    cls, labels = _classes(values)
    paths = [{"code": code, "name": names.get(code, code), "d": _svg_path(g, tx),
              "fill": _CLASS_COLOURS[cls[code]] if cls.get(code, -1) >= 0 else "#ffffff",
              "value": values.get(code)} for code, g in shapes.items()]
    return {"width": _SVG_W, "height": round(height, 1), "paths": paths,
            "legend": list(zip(_CLASS_COLOURS[: len(labels)], labels))}


def _board_page(job: dict[str, Any]) -> tuple[str, str]:
    """One board's page (run in a worker process): ``(file name, html)``."""
    return f"{job['code']}.html", environment().get_template("england_board.html.j2").render(**job)


def _board_map(geom: Any, points: np.ndarray) -> dict[str, Any]:
    minx, miny, maxx, maxy = geom.bounds
    pad = 0.03 * max(maxx - minx, maxy - miny)
    tx, height = _projector((minx - pad, miny - pad, maxx + pad, maxy + pad), 360.0)
    dots = tx(points) if len(points) else np.zeros((0, 2))
    return {"width": 360.0, "height": round(height, 1), "outline": _svg_path(geom, tx),
            "dots": [(round(float(x), 1), round(float(y), 1)) for x, y in dots]}


def _rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")]


def write_baseline(baseline: Baseline, *, cfg: NationalConfig, register: BoardRegister, out: Path,
                   workers: int | None = None, scheduler: str | None = None,
                   quality: QualityLog | None = None) -> list[Path]:
    """Write every national output into ``out`` (an empty folder).

    Returns
    -------
    list of Path
        The files written.
    """
    t = baseline.tables
    written: list[Path] = []
    for name in MEASURES:
        written.append(write_csv(t[name], out / "measures" / f"{name}.csv"))
    if quality is not None:
        written.append(write_csv(quality.table(), out / "measures" / "exceptions.csv"))
        written.append(write_csv(quality.accounting_table(), out / "measures" / "row_accounting.csv"))
    written.append(export_xlsx({n: t[n] for n in MEASURES}, out / "england.xlsx", title="England PNA baseline"))

    prov = t["provision"]
    boards = prov[prov["level"] == "board"].set_index("area_code")
    eng = prov[prov["level"] == "england"].iloc[0]
    regions = prov[prov["level"] == "region"].set_index("area_name")
    acc = t["access"].set_index(["area_code", "group"])
    res = t["resilience"].set_index("area_code")
    xb = t["cross_border"].set_index("area_code")
    names = boards["area_name"].to_dict()
    shapes = board_shapes(cfg, register)
    table = []
    for code, b in boards.iterrows():
        a = acc.loc[(code, "all")]
        table.append({"code": code, "name": b["area_name"], "region": b["region"], "pharmacies": b["pharmacies"],
                      "population": b["population"], "rate": b["rate_per_10k"], "hours": b["hours_per_10k"],
                      "within": a["share_within_1_6km"], "walk": a["share_within_walk"],
                      "at_risk": res.loc[code, "residents_at_risk"],
                      "elsewhere": xb.loc[code, "share_nearest_elsewhere"]})
    common = {"as_at": cfg.as_at, "notes": baseline.notes, "sources": baseline.sources,
              "walk_km": walk_radius_km(cfg), "walk_minutes": cfg.gaps.walk_minutes}
    page = environment().get_template("england.html.j2").render(
        rows=table, england=eng, regions=_rows(regions.reset_index()),
        map=_choropleth(shapes, boards["rate_per_10k"], names), placed_share=baseline.placed_share, **common)
    written.append(write_text(page, out / "index.html"))

    ph = t["pharmacies"]
    jobs = []
    for code, b in boards.iterrows():
        pts = ph.loc[(ph["area_code"] == code) & ph["easting"].notna(), ["easting", "northing"]].to_numpy(float)
        region = b["region"] if isinstance(b["region"], str) else None
        jobs.append({"code": code, "name": b["area_name"], "board": b.to_dict(), "england": eng.to_dict(),
                     "region": {**regions.loc[region].to_dict(), "area_name": region} if region in regions.index
                     else None,
                     "access": _rows(t["access"][t["access"]["area_code"] == code]),
                     "resilience": res.loc[code].to_dict(), "cross_border": xb.loc[code].to_dict(),
                     "map": _board_map(shapes[code], pts), "groups": GROUPS,
                     "register": register.boards[next(n for n, x in register.boards.items() if x.code == code)],
                     **common})
    for fname, html in run_parallel(_board_page, jobs, workers=workers, scheduler=scheduler):
        written.append(write_text(html, out / "boards" / fname))
    meta = {"command": "pna england", "as_at": cfg.as_at.isoformat(), "sources": list(baseline.sources),
            "boards": len(boards), "placed_share": round(baseline.placed_share, 6),
            "files": sorted(str(p.relative_to(out)) for p in written)}
    written.append(write_json(meta, out / "run.json"))
    return written

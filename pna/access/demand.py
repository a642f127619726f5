"""Demand points: where residents live, from the finest open data configured.

Where 2011 Output Area (OA) polygons and OA populations are configured, each OA
becomes one point; otherwise each LSOA does. OA points are placed with
``representative_point()`` rather than the centroid: the centroid of a concave
or ring-shaped OA (one wrapped round a park, a river bend or a retail park) can
fall outside the OA, even in a neighbouring OA or in water, whereas a
representative point is guaranteed to lie inside the polygon.

The 2011 OA counts are only used as weights: each LSOA's current population
(``ctx.lsoa.pop_total``, mid-2020 SAPE) is shared between its OAs in proportion
to their 2011 residents, so the points always sum to the area total.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Config
from ..crs import BNG, to_bng
from ..errors import InputError
from ..io import read_table
from ..quality import QualityLog

STAGE = "access.demand"
DEMAND_COLUMNS = ["point_id", "population", "pop_65plus", "lsoa11_code", "locality",
                  "imd2019_quintile", "source", "geometry"]

# Column names used by ONS / CDRC OA products (2011 and 2021 vintages).
OA_CODE_COLUMNS = ("oa_code", "OA11CD", "oa11cd", "OA21CD", "oa21cd", "OA_CODE")
OA_LSOA_COLUMNS = ("LSOA11CD", "lsoa11cd", "lsoa11_code")
OA_POP_COLUMNS = ("Total_Population", "total_population", "population")


def _pick(columns: pd.Index, candidates: tuple[str, ...], file: Path, what: str) -> str:
    for c in candidates:
        if c in columns:
            return c
    raise InputError(file, f"no {what} column (looked for {', '.join(candidates)})")


def _oa_polygon_uri(path: Path) -> str:
    """A path GDAL can open: the first shapefile inside a zip, or the file itself."""
    if path.suffix.lower() != ".zip":
        return str(path)
    with zipfile.ZipFile(path) as zf:
        shps = sorted(n for n in zf.namelist() if n.lower().endswith(".shp"))
    if not shps:
        raise InputError(path, "zip holds no .shp file of Output Area polygons")
    return f"zip://{path}!{shps[0]}"


def read_output_areas(cfg: Config) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read the configured OA polygons (EPSG:27700) and OA population table.

    Returns
    -------
    (polygons, population)
        ``polygons``: ``oa_code, geometry``; ``population``: ``oa_code, lsoa11_code
        (may be missing), population_2011, source_row``.
    """
    polys_src, pop_src = cfg.inputs.output_areas, cfg.inputs.output_area_population
    assert polys_src is not None and pop_src is not None, "output areas are not configured"
    poly_path = cfg.data_path(polys_src)
    pop_path = cfg.data_path(pop_src)
    uri = _oa_polygon_uri(poly_path)
    try:
        polys = gpd.read_file(uri)
    except Exception as exc:  # GDAL errors carry no file name of ours
        raise InputError(poly_path, f"cannot read Output Area polygons: {exc}") from exc
    code = _pick(polys.columns, OA_CODE_COLUMNS, poly_path, "Output Area code")
    if polys.crs is None:
        raise InputError(poly_path, "Output Area polygons have no coordinate reference system")
    polys = to_bng(polys[[code, "geometry"]].rename(columns={code: "oa_code"}))
    polys["source_row"] = np.arange(1, len(polys) + 1)

    head = read_table(pop_path, dtype=None, keep_default_na=True)
    pcode = _pick(head.columns, OA_CODE_COLUMNS, pop_path, "Output Area code")
    ppop = _pick(head.columns, OA_POP_COLUMNS, pop_path, "population")
    plsoa = next((c for c in OA_LSOA_COLUMNS if c in head.columns), None)
    use = [pcode, ppop] + ([plsoa] if plsoa else [])
    pop = head[use].astype({pcode: str, **({plsoa: str} if plsoa else {})})
    pop = pop.rename(columns={pcode: "oa_code", ppop: "population_2011", **({plsoa: "lsoa11_code"} if plsoa else {})})
    pop["population_2011"] = pd.to_numeric(pop["population_2011"], errors="coerce")
    pop["source_row"] = np.arange(2, len(pop) + 2)  # header is line 1
    return polys, pop


def _lsoa_points(lsoa: gpd.GeoDataFrame, codes: pd.Index) -> gpd.GeoDataFrame:
    sub = lsoa[lsoa["lsoa11_code"].isin(codes)]
    return gpd.GeoDataFrame({
        "point_id": "lsoa:" + sub["lsoa11_code"].astype(str),
        "population": sub["pop_total"].astype(float).to_numpy(),
        "pop_65plus": sub["pop_65plus"].astype(float).to_numpy(),
        "lsoa11_code": sub["lsoa11_code"].to_numpy(),
        "source": "lsoa",
    }, geometry=sub.geometry.representative_point().to_numpy(), crs=BNG)


def _oa_points(cfg: Config, lsoa: gpd.GeoDataFrame, quality: QualityLog | None) -> gpd.GeoDataFrame:
    polys, pop = read_output_areas(cfg)
    assert cfg.inputs.output_areas is not None and cfg.inputs.output_area_population is not None  # read above
    poly_file = cfg.inputs.output_areas.path
    pop_file = cfg.inputs.output_area_population.path
    area_codes = set(lsoa["lsoa11_code"])

    def log(file: str, row, record: str, reason: str, field_: str = "", action: str = "quarantined"):
        if quality is not None:
            quality.add(STAGE, file, row, record, reason, field_, action)

    # Population rows: usable = known code, numeric non-negative count, not duplicated.
    bad_pop = pop["population_2011"].isna() | (pop["population_2011"] < 0)
    dup = pop["oa_code"].duplicated(keep="first")
    for r in pop[bad_pop].itertuples():
        log(pop_file, r.source_row, r.oa_code, "Output Area population is missing or negative", "population")
    for r in pop[dup & ~bad_pop].itertuples():
        log(pop_file, r.source_row, r.oa_code, "duplicate Output Area code; first row used", "oa_code")
    pop_ok = pop[~bad_pop & ~dup]

    polys = polys.copy()
    n_poly_in = len(polys)
    poly_dup = polys["oa_code"].duplicated(keep="first")
    for r in polys[poly_dup].itertuples():
        log(poly_file, r.source_row, r.oa_code, "duplicate Output Area polygon; first used", "oa_code")
    polys = polys[~poly_dup]
    empty = polys.geometry.is_empty | polys.geometry.isna()
    for r in polys[empty].itertuples():
        log(poly_file, r.source_row, r.oa_code, "Output Area polygon is empty", "geometry")
    polys = polys[~empty]
    polys["geometry"] = polys.geometry.representative_point()

    oa = polys.merge(pop_ok.drop(columns="source_row"), on="oa_code", how="left")
    if "lsoa11_code" not in oa.columns or oa["lsoa11_code"].isna().any():
        # No (or incomplete) OA->LSOA lookup in the population file: place by the LSOA polygon.
        joined = gpd.sjoin(oa[["geometry"]], lsoa[["lsoa11_code", "geometry"]], how="left",
                           predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        fill = joined["lsoa11_code"].reindex(oa.index)
        oa["lsoa11_code"] = oa.get("lsoa11_code", pd.Series(np.nan, index=oa.index)).fillna(fill)

    no_pop = oa["population_2011"].isna()
    for r in oa[no_pop].itertuples():
        log(poly_file, r.source_row, r.oa_code,
            "Output Area has no population in the OA population file; no demand point placed "
            "(its LSOA's residents are shared among the LSOA's other OAs)", "population")
    outside = ~no_pop & ~oa["lsoa11_code"].isin(area_codes)
    for r in oa[outside].itertuples():
        log(poly_file, r.source_row, r.oa_code,
            f"Output Area's LSOA {r.lsoa11_code} is not one of the area's LSOAs", "lsoa11_code")
    unmatched_pop = pop_ok[~pop_ok["oa_code"].isin(polys["oa_code"])]
    for r in unmatched_pop.itertuples():
        log(pop_file, r.source_row, r.oa_code, "Output Area has a population but no polygon", "oa_code")
    oa_ok = oa[~no_pop & ~outside].copy()
    if quality is not None:
        quality.account(f"{STAGE}.output_areas", poly_file, n_poly_in,
                        len(oa_ok), int(poly_dup.sum()) + int(empty.sum()) + int(no_pop.sum()) + int(outside.sum()))
        quality.account(f"{STAGE}.output_area_population", pop_file, len(pop),
                        len(pop_ok) - len(unmatched_pop),
                        int(bad_pop.sum()) + int((dup & ~bad_pop).sum()) + len(unmatched_pop))

    # Scale 2011 OA counts to each LSOA's current total (and its 65+ count alike).
    lsoa_tot = lsoa.set_index("lsoa11_code")[["pop_total", "pop_65plus"]].astype(float)
    oa_sum = oa_ok.groupby("lsoa11_code")["population_2011"].transform("sum")
    n_in = oa_ok.groupby("lsoa11_code")["population_2011"].transform("size")
    weight = np.where(oa_sum > 0, oa_ok["population_2011"] / oa_sum.where(oa_sum > 0, 1), 1.0 / n_in)
    zero = oa_ok.loc[oa_sum <= 0, "lsoa11_code"].unique()
    for code in sorted(zero):
        log(pop_file, None, code, "all of this LSOA's Output Areas have 2011 population 0; "
            "its residents are shared equally between them", "population", "flagged")
    tot = lsoa_tot.reindex(oa_ok["lsoa11_code"])
    oa_pts = gpd.GeoDataFrame({
        "point_id": "oa:" + oa_ok["oa_code"].astype(str),
        "population": weight * tot["pop_total"].to_numpy(),
        "pop_65plus": weight * tot["pop_65plus"].to_numpy(),
        "lsoa11_code": oa_ok["lsoa11_code"].to_numpy(),
        "source": "output_area",
    }, geometry=oa_ok.geometry.to_numpy(), crs=BNG)

    # LSOAs with no usable OA still need their residents: fall back to one LSOA point.
    missing = sorted(area_codes - set(oa_pts["lsoa11_code"]))
    for code in missing:
        log(pop_file, None, code, "LSOA has no usable Output Area; one LSOA point used instead",
            "lsoa11_code", "flagged")
    if missing:
        oa_pts = pd.concat([oa_pts, _lsoa_points(lsoa, pd.Index(missing))], ignore_index=True)
    return oa_pts


def build_demand_points(cfg: Config, lsoa: gpd.GeoDataFrame,
                        quality: QualityLog | None = None) -> gpd.GeoDataFrame:
    """One weighted point per Output Area (or per LSOA where OAs are not configured).

    Parameters
    ----------
    cfg
        Area configuration; ``inputs.output_areas`` and ``inputs.output_area_population``
        switch on Output Area points.
    lsoa
        The area's LSOAs (``ctx.lsoa``): ``lsoa11_code, locality, pop_total, pop_65plus,
        imd2019_quintile, geometry`` in EPSG:27700.
    quality
        Exceptions (OAs without population, outside the area, ...) are recorded here.

    Returns
    -------
    geopandas.GeoDataFrame
        ``point_id, population, pop_65plus, lsoa11_code, locality, imd2019_quintile,
        source, geometry``, sorted by ``point_id``; ``population`` sums to
        ``lsoa.pop_total.sum()``.
    """
    lsoa = to_bng(lsoa) if lsoa.crs is not None else lsoa
    if cfg.inputs.output_areas is not None and cfg.inputs.output_area_population is not None:
        pts = _oa_points(cfg, lsoa, quality)
    else:
        pts = _lsoa_points(lsoa, pd.Index(lsoa["lsoa11_code"]))
    attrs = lsoa.set_index("lsoa11_code")
    pts["locality"] = (attrs["locality"].reindex(pts["lsoa11_code"]).to_numpy()
                       if "locality" in attrs else None)
    pts["imd2019_quintile"] = (attrs["imd2019_quintile"].reindex(pts["lsoa11_code"]).to_numpy()
                               if "imd2019_quintile" in attrs else np.nan)
    pts = pts[DEMAND_COLUMNS].sort_values("point_id", kind="stable").reset_index(drop=True)
    total, expect = float(pts["population"].sum()), float(lsoa["pop_total"].sum())
    if not np.isclose(total, expect, rtol=1e-9, atol=1e-6):
        raise AssertionError(f"demand points sum to {total}, not the area total {expect}")
    return gpd.GeoDataFrame(pts, geometry="geometry", crs=BNG)

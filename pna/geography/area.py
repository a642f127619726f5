"""The area's geography: boundary, LSOAs with population and deprivation, localities.

``build_area`` is the geography stage's entry point; the LSOA table follows the
``ctx.lsoa`` contract in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import AreaSpec, Config
from ..errors import InputError
from ..io import read_table
from ..loaders import boundaries
from ..loaders.deprivation import load_imd2019
from ..loaders.localities import load_localities
from ..loaders.population import BAND_COLUMNS, GROUP_COLUMNS, age_groups, load_sape
from ..provenance import with_provenance
from ..quality import QualityLog
from .localities import default_groups, district_localities, grouped_localities

STAGE = "geography"
POPULATION_COLUMNS = GROUP_COLUMNS + BAND_COLUMNS
IMD_COLUMNS = ["imd2019_rank", "imd2019_decile", "imd2019_quintile"]
LSOA_COLUMNS = (["lsoa11_code", "lsoa11_name", "msoa11_code", "msoa11_name", "locality"]
                + POPULATION_COLUMNS + IMD_COLUMNS + ["geometry"])


def area_lsoa_codes(cfg: Config, area: gpd.GeoDataFrame) -> list[str]:
    """The area's LSOA 2011 codes: from ``inputs.lsoa_la_lookup``, else by spatial containment.

    Spatial containment keeps the LSOAs whose representative point lies inside the
    (generalised) area polygon.
    """
    src = cfg.inputs.lsoa_la_lookup
    if src is not None:
        path = cfg.data_path(src)
        raw = read_table(path)
        lsoa_col = next((c for c in raw.columns if c.lower() in ("lsoa11_code", "lsoa11cd")), None)
        wanted = cfg.area.all_codes
        la_cols = [c for c in raw.columns if c != lsoa_col and c.lower().endswith(("_code", "cd"))
                   and raw[c].isin(wanted).any()]
        if lsoa_col is None:
            raise InputError(path, "no LSOA 2011 code column (lsoa11_code / LSOA11CD)")
        if not la_cols:
            raise InputError(path, f"area code(s) {', '.join(sorted(wanted))} not found in any code column")
        codes = raw.loc[raw[la_cols[0]].isin(wanted), lsoa_col].str.strip()
        return sorted(set(codes))
    near = boundaries.load_lsoa(cfg, bbox=boundaries.area_bbox_4326(area, 100.0))
    inside = near.geometry.representative_point().within(area.geometry.union_all())
    return sorted(near.loc[inside, "lsoa11_code"])


def as_board_codes(postcodes: pd.DataFrame, spec: AreaSpec) -> pd.DataFrame:
    """The postcode table with the area's district and later codes given as the area's own code.

    A county's postcodes carry district codes, and postcodes of an authority formed since the
    lookups' vintage carry its new code; comparing them with the area code needs one code.
    """
    if "la_code" not in postcodes or spec.all_codes == {spec.code}:
        return postcodes
    out = postcodes.copy()
    out["la_code"] = out["la_code"].where(~out["la_code"].isin(spec.all_codes), spec.code)
    return out


def _localities(cfg: Config, msoa: pd.DataFrame, geo: gpd.GeoDataFrame, sape: pd.DataFrame,
                quality: QualityLog) -> pd.DataFrame:
    """Each MSOA's locality, by the configured rule."""
    rule = cfg.localities.chosen_rule
    named = load_localities(cfg, msoa["msoa11_code"].unique(), quality)
    if rule in ("file", "msoa"):
        return named
    if rule == "districts":
        if cfg.inputs.lsoa_la_lookup is None:
            raise InputError("localities.rule", "the districts rule needs inputs.lsoa_la_lookup (LSOA to district)")
        path = cfg.data_path(cfg.inputs.lsoa_la_lookup)
        raw = read_table(path)
        need = ["lsoa11_code", "ltla21_code", "ltla21_name"]
        if any(c not in raw.columns for c in need):
            raise InputError(path, f"the districts rule needs columns {', '.join(need)} (header has: "
                             f"{', '.join(raw.columns)})")
        raw = raw[need].drop_duplicates("lsoa11_code").set_index("lsoa11_code")
        names = raw.drop_duplicates("ltla21_code").set_index("ltla21_code")["ltla21_name"]
        return district_localities(msoa, raw["ltla21_code"], names)
    pts = geo.geometry.reindex(msoa.index).representative_point()
    w = sape["total_population"].reindex(msoa.index).astype(float)
    df = pd.DataFrame({"msoa11_code": msoa["msoa11_code"], "wx": pts.x * w, "wy": pts.y * w, "w": w})
    agg = df.groupby("msoa11_code").sum()
    centres = pd.DataFrame({"x": agg["wx"] / agg["w"], "y": agg["wy"] / agg["w"], "population": agg["w"],
                            "name": named["locality"].reindex(agg.index)})
    return grouped_localities(centres, groups=cfg.localities.groups or default_groups(len(centres)))


def _msoa_lookup(cfg: Config, codes: list[str]) -> pd.DataFrame:
    path = cfg.data_path(cfg.inputs.lsoa_msoa_lookup)
    raw = read_table(path)
    need = ["lsoa11_code", "msoa11_code", "msoa11_name"]
    low = {c.lower(): c for c in raw.columns}
    alias = {"lsoa11_code": ["lsoa11_code", "lsoa11cd"], "msoa11_code": ["msoa11_code", "msoa11cd"],
             "msoa11_name": ["msoa11_name", "msoa11nm"]}
    cols = {}
    for k in need:
        found = next((low[a] for a in alias[k] if a in low), None)
        if found is None:
            raise InputError(path, f"no {' / '.join(alias[k])} column (header has: {', '.join(raw.columns)})")
        cols[found] = k
    lk = raw[list(cols)].rename(columns=cols).drop_duplicates("lsoa11_code").set_index("lsoa11_code")
    absent = sorted(set(codes) - set(lk.index))
    if absent:
        raise InputError(path, f"{len(absent)} LSOA(s) of the area have no MSOA: {', '.join(absent[:10])}")
    return lk.loc[codes]


def _imd(cfg: Config, codes: list[str], quality: QualityLog) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(codes, name="lsoa11_code"), columns=IMD_COLUMNS, dtype=float)
    if cfg.inputs.imd2019 is None:
        return out
    imd = load_imd2019(cfg.data_path(cfg.inputs.imd2019))
    out[IMD_COLUMNS] = imd.reindex(codes)[IMD_COLUMNS].astype(float).to_numpy()
    # Only English LSOAs (E01...) have an English IMD; missing ones there are a data problem.
    lacking = [c for c in codes if c.startswith("E") and np.isnan(out.at[c, "imd2019_rank"])]
    for c in lacking:
        quality.add(STAGE, cfg.data_path(cfg.inputs.imd2019).name, None, c,
                    "English LSOA has no IMD 2019 rank; deprivation left blank", field_="imd2019_rank",
                    action="flagged")
    return out


def build_area(cfg: Config, quality: QualityLog) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build the area boundary, its LSOAs and its localities.

    Parameters
    ----------
    cfg
        The area config (``inputs.la_boundaries``, ``lsoa_boundaries``, ``lsoa_msoa_lookup``,
        ``population``, optional ``lsoa_la_lookup``, ``imd2019``, ``msoa_names``; ``localities``).
    quality
        Receives flagged rows (population totals, missing IMD).

    Returns
    -------
    area : geopandas.GeoDataFrame
        One row: ``area_code, area_name, pop_total, geometry, provenance``.
    lsoa : geopandas.GeoDataFrame
        The ``ctx.lsoa`` contract, one row per LSOA 2011, sorted by code, plus ``provenance``.
    localities : geopandas.GeoDataFrame
        One row per locality (sorted by name): ``locality, n_msoa, n_lsoa``, the population
        columns summed, ``geometry`` (the dissolved LSOAs), ``provenance``.
    """
    area = boundaries.load_area(cfg)
    codes = area_lsoa_codes(cfg, area)
    if not codes:
        raise InputError(cfg.data_path(cfg.inputs.lsoa_la_lookup or cfg.inputs.lsoa_boundaries),
                         f"no LSOAs found for area {cfg.area.code}")
    geo = boundaries.load_lsoa(cfg, codes).set_index("lsoa11_code")
    msoa = _msoa_lookup(cfg, codes)
    sape = load_sape(cfg.data_path(cfg.inputs.population), codes, quality, cache=cfg.input_cache)
    loc = _localities(cfg, msoa, geo, sape, quality)
    pop = age_groups(sape)
    imd = _imd(cfg, codes, quality)

    lsoa = pd.DataFrame(index=pd.Index(codes, name="lsoa11_code"))
    lsoa["lsoa11_name"] = geo["lsoa11_name"]
    lsoa["msoa11_code"] = msoa["msoa11_code"]
    lsoa["msoa11_name"] = msoa["msoa11_name"]
    lsoa["locality"] = loc["locality"].reindex(lsoa["msoa11_code"]).to_numpy()
    lsoa = lsoa.join(pop).join(imd)
    lsoa = gpd.GeoDataFrame(lsoa.reset_index(), geometry=geo.geometry.reindex(codes).to_numpy(),
                            crs=boundaries.CRS)[LSOA_COLUMNS]
    sources = [cfg.inputs.lsoa_boundaries, cfg.inputs.lsoa_msoa_lookup, cfg.inputs.lsoa_la_lookup,
               cfg.inputs.population, cfg.localities.file, cfg.inputs.msoa_names if cfg.localities.file is None
               else None, cfg.inputs.imd2019]
    lsoa = with_provenance(lsoa, *sources)

    localities = dissolve_localities(lsoa)
    localities = with_provenance(localities, *sources)
    area["pop_total"] = float(lsoa["pop_total"].sum())
    # The area's outline is the union of its LSOAs: the generalised LA polygon has far fewer
    # vertices (23 against 102 for Leicester, up to ~490 m apart), too coarse for the 0.5 km
    # bands, and the union agrees with the localities and the population base by construction.
    area["geometry"] = [shapely.make_valid(lsoa.geometry.union_all())]
    area = with_provenance(area[["area_code", "area_name", "pop_total", "geometry"]],
                           cfg.inputs.la_boundaries, cfg.inputs.lsoa_boundaries, cfg.inputs.population)
    return area, lsoa, localities


def dissolve_localities(lsoa: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon per locality with population columns summed (sorted by locality name)."""
    agg = lsoa.groupby("locality", sort=True).agg(
        n_msoa=("msoa11_code", "nunique"), n_lsoa=("lsoa11_code", "size"),
        **{c: (c, "sum") for c in POPULATION_COLUMNS})
    geom = lsoa.dissolve(by="locality", sort=True).geometry
    out = gpd.GeoDataFrame(agg.reset_index(), geometry=geom.reindex(agg.index).to_numpy(), crs=lsoa.crs)
    return out

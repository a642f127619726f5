"""``pna england``: the straight-line baseline for every Health and Wellbeing Board at once.

All of England is computed together, so cross-border supply is exact: every resident's nearest
pharmacy is searched among every placed pharmacy on the national list, whichever board lists
it. Residents are placed at LSOA points (each LSOA's mid-year population at one point inside
it); distances are straight lines on the British National Grid, searched with a k-d tree
(:class:`scipy.spatial.cKDTree`: a nearest-two query for 33,000 points among 10,000 pharmacies
takes milliseconds, where a per-board loop would repeat the national search 150 times).

Result columns
--------------
``provision`` (one row per board, then one per NHS England region, then England):
    ``level, area_code, area_name, region, pharmacies, population, rate_per_10k,
    weekly_hours, hours_per_10k``.
``access`` (one row per board and group ``all``, ``most_deprived_quintile``, ``aged_65plus``):
    ``area_code, area_name, group, population, within_1_6km, share_within_1_6km,
    within_walk, share_within_walk``.
``resilience`` (one row per board): ``pharmacies_sole_within_1_6km`` (pharmacies whose closure
    alone would leave some residents with no pharmacy within 1.6 km), ``residents_at_risk``.
``cross_border`` (one row per board): residents whose nearest pharmacy is on another board's
    list, their share, and the other boards' pharmacies that are nearest for some residents.
``pharmacies``: every list row, placed or with the reason it was not, and a note where its board
    is not known (such a pharmacy still serves residents, but counts for no board).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..config import NationalConfig
from ..errors import InputError
from ..io import read_table
from ..loaders import boundaries
from ..loaders.boards import BoardRegister
from ..loaders.deprivation import load_imd2019
from ..loaders.hours import summarise_hours
from ..loaders.national_postcodes import load_national_postcodes, national_citation
from ..loaders.pharmacies import load_ods_history, load_pharmaceutical_list, normalise_postcodes
from ..loaders.population import age_groups, load_sape
from ..quality import QualityLog

__all__ = ["Baseline", "build_baseline", "walk_radius_km", "GROUPS"]

#: The resident groups of the access table.
GROUPS = ("all", "most_deprived_quintile", "aged_65plus")


def walk_radius_km(cfg: NationalConfig) -> float:
    """The straight-line distance an estimated walk of ``gaps.walk_minutes`` covers."""
    walk = cfg.travel.walk
    return cfg.gaps.walk_minutes / 60.0 * walk.speed_kmh / walk.circuity


@dataclass(frozen=True)
class Baseline:
    """The national baseline (see the module notes for each table's columns).

    Attributes
    ----------
    tables
        ``provision, access, resilience, cross_border, pharmacies, boards`` by name.
    lsoa
        One row per English LSOA: ``lsoa11_code, area_code, population, pop_65plus, imd_quintile,
        x, y, nearest_m, nearest_ods, nearest_area``.
    notes
        Plain-English statements of method and limits.
    sources
        The inputs cited.
    placed_share
        Share of the national list's rows placed at a postcode.
    """

    tables: Mapping[str, pd.DataFrame]
    lsoa: pd.DataFrame
    notes: tuple[str, ...]
    sources: tuple[str, ...]
    placed_share: float


def _pharmacies(cfg: NationalConfig, register: BoardRegister, quality: QualityLog) -> pd.DataFrame:
    src = cfg.inputs.pharmaceutical_list
    assert src is not None  # board_register needs it too
    ph = summarise_hours(load_pharmaceutical_list(cfg.data_path(src), quality, source=src))
    pcs = load_national_postcodes(quality=quality, cache_dir=cfg.cache).set_index("postcode")
    pc = normalise_postcodes(ph["postcode"])
    found = pc.isin(pcs.index)
    ph["easting"] = pcs["easting"].reindex(pc).to_numpy(float)
    ph["northing"] = pcs["northing"].reindex(pc).to_numpy(float)
    codes = {n: b.code for n, b in register.boards.items()}
    ph["area_code"] = ph["hwb"].str.strip().map(codes)
    ph["unplaced_reason"] = np.where(pc.eq("") | pc.isna(), "no postcode",
                                     np.where(~found, "postcode not in the UK postcode directory", ""))
    no_board = ph["area_code"].isna()
    ph["board_note"] = np.where(~no_board, "", np.where(ph["hwb"].str.strip().eq(""), "no board named on the list",
                                                         "the board name maps to no area"))
    ods = load_ods_history(cfg.data_path(cfg.inputs.ods_history), quality, source=cfg.inputs.ods_history)
    grouping = ods.drop_duplicates("ods_code", keep="last").set_index("ods_code")["national_grouping"]
    ph["region_code"] = ph["ods_code"].map(grouping).where(lambda s: s.isin(cfg.boards.regions.keys()))
    return ph


def _lsoa(cfg: NationalConfig, register: BoardRegister, quality: QualityLog) -> pd.DataFrame:
    lk = read_table(cfg.data_path(cfg.inputs.lsoa_la_lookup), usecols=["lsoa11_code", "ltla21_code"]) \
        if cfg.inputs.lsoa_la_lookup is not None else None
    if lk is None:
        raise InputError("inputs.lsoa_la_lookup", "pna england needs the LSOA to district lookup")
    district_board = {d: b.code for b in register.boards.values() for d in b.districts}
    lk = lk[lk["lsoa11_code"].str.startswith("E01")].drop_duplicates("lsoa11_code").set_index("lsoa11_code")
    sape = load_sape(cfg.data_path(cfg.inputs.population), None, quality, code_prefix="E01", cache=cfg.input_cache)
    pop = age_groups(sape)[["pop_total", "pop_65plus"]]
    geo = boundaries.read_features(cfg, cfg.inputs.lsoa_boundaries, None, prefix="lsoa11")
    geo = geo[geo["lsoa11_code"].str.startswith("E01")].set_index("lsoa11_code")
    pts = geo.geometry.representative_point()
    out = pd.DataFrame(index=pop.index.rename("lsoa11_code"))
    out["area_code"] = lk["ltla21_code"].reindex(out.index).map(district_board)
    out["population"] = pop["pop_total"]
    out["pop_65plus"] = pop["pop_65plus"]
    imd = load_imd2019(cfg.data_path(cfg.inputs.imd2019)) if cfg.inputs.imd2019 is not None else None
    out["imd_quintile"] = imd["imd2019_quintile"].reindex(out.index) if imd is not None else np.nan
    out["x"] = pts.x.reindex(out.index).to_numpy(float)
    out["y"] = pts.y.reindex(out.index).to_numpy(float)
    lost = out["x"].isna() | out["area_code"].isna()
    for code in out.index[lost]:
        quality.add("england", "LSOA", None, code, "no boundary or no board for this LSOA; left out of access",
                    action="flagged")
    return out


def build_baseline(*, cfg: NationalConfig, register: BoardRegister, quality: QualityLog) -> Baseline:
    """Every board's provision, access, resilience and cross-border figures.

    Parameters
    ----------
    cfg
        The national config.
    register
        The boards (:func:`pna.national.area_config.board_register`).
    quality
        Receives the row accounting of every input and the rows left out.
    """
    from scipy.spatial import cKDTree  # one national nearest-neighbour index

    ph = _pharmacies(cfg, register, quality)
    lsoa = _lsoa(cfg, register, quality)
    # every pharmacy with a place serves residents, even one whose board is not known
    placed = ph[ph["easting"].notna()].reset_index(drop=True)
    limit_m = cfg.gaps.straight_line_km * 1000.0
    walk_m = walk_radius_km(cfg) * 1000.0

    ok = lsoa["x"].notna() & lsoa["area_code"].notna()
    pts = lsoa.loc[ok, ["x", "y"]].to_numpy(float)
    tree = cKDTree(placed[["easting", "northing"]].to_numpy(float))
    dist, idx = tree.query(pts, k=2)
    near = lsoa.loc[ok].copy()
    near["nearest_m"] = dist[:, 0]
    near["second_m"] = dist[:, 1]
    near["nearest_ods"] = placed["ods_code"].to_numpy()[idx[:, 0]]
    near["nearest_area"] = placed["area_code"].to_numpy()[idx[:, 0]]

    names = {b.code: b.name for b in register.boards.values()}
    board_region = (placed.dropna(subset=["region_code"]).groupby("area_code")["region_code"]
                    .agg(lambda s: s.value_counts().sort_index().idxmax()))
    tables = {
        "provision": _provision(cfg, ph, lsoa, names, board_region),
        "access": _access(near, names, limit_m, walk_m),
        "resilience": _resilience(near, placed, names, limit_m),
        "cross_border": _cross_border(near, names),
        "pharmacies": _pharmacy_table(ph),
        "boards": register.frame().assign(region=lambda f: f["area_code"].map(board_region)
                                          .map(cfg.boards.regions)),
    }
    share = float(len(placed) / len(ph)) if len(ph) else 0.0
    notes = (
        f"{len(placed):,} of the {len(ph):,} pharmacies on the national list ({share:.2%}) were placed at their "
        "postcode; the rest are listed with the reason.",
        "Residents are placed at one point in each LSOA (about 1,500 people), so a share is the share of "
        "residents whose LSOA point is within the distance.",
        f"Distances are straight lines. The walk figure counts a pharmacy within {walk_radius_km(cfg):.2f} km in a "
        f"straight line as within a {cfg.gaps.walk_minutes}-minute walk ({cfg.travel.walk.speed_kmh:g} km/h, "
        f"streets {cfg.travel.walk.circuity:g} times the straight line): an estimate, not a street-network time.",
        "Distance-selling pharmacies cannot be told apart in this edition of the list, so every listed pharmacy "
        "counts as one residents can reach.",
        "Every pharmacy in England counts for every resident, whichever board lists it (cross-border supply).",
    )
    sources = tuple(s.cite() for s in (cfg.inputs.pharmaceutical_list, cfg.inputs.ods_history,
                                       cfg.inputs.population, cfg.inputs.lsoa_boundaries, cfg.inputs.lsoa_la_lookup,
                                       cfg.inputs.imd2019, cfg.boards.upper_tier_lookup, cfg.boards.districts_2024)
                    if s is not None) + (national_citation(),)
    return Baseline(tables=MappingProxyType(tables), lsoa=near, notes=notes, sources=sources, placed_share=share)


def _rate(n: pd.Series | float, pop: pd.Series | float) -> pd.Series | float:
    return n / pop * 10_000.0


def _provision(cfg: NationalConfig, ph: pd.DataFrame, lsoa: pd.DataFrame, names: dict[str, str],
               board_region: pd.Series) -> pd.DataFrame:
    listed = ph[ph["area_code"].notna()]
    by = listed.groupby("area_code").agg(pharmacies=("ods_code", "size"), weekly_hours=("weekly_hours", "sum"))
    pop = lsoa.dropna(subset=["area_code"]).groupby("area_code")["population"].sum()
    b = pd.DataFrame({"area_code": sorted(names)}).set_index("area_code")
    b["area_name"] = pd.Series(names)
    b["region"] = board_region.reindex(b.index).map(cfg.boards.regions)
    b["pharmacies"] = by["pharmacies"].reindex(b.index).fillna(0).astype(int)
    b["population"] = pop.reindex(b.index)
    b["weekly_hours"] = by["weekly_hours"].reindex(b.index).fillna(0.0)
    b.insert(0, "level", "board")
    reg = b.dropna(subset=["region"]).groupby("region").agg(pharmacies=("pharmacies", "sum"),
                                                            population=("population", "sum"),
                                                            weekly_hours=("weekly_hours", "sum"))
    reg = reg.reset_index().rename(columns={"region": "area_name"}).assign(level="region", area_code="",
                                                                            region=lambda f: f["area_name"])
    eng = pd.DataFrame([{"level": "england", "area_code": "E92000001", "area_name": "England", "region": "",
                         "pharmacies": int(len(listed)), "population": float(lsoa["population"].sum()),
                         "weekly_hours": float(listed["weekly_hours"].sum())}])
    out = pd.concat([b.reset_index(), reg, eng], ignore_index=True)
    out["rate_per_10k"] = _rate(out["pharmacies"], out["population"])
    out["hours_per_10k"] = _rate(out["weekly_hours"], out["population"])
    cols = ["level", "area_code", "area_name", "region", "pharmacies", "population", "rate_per_10k",
            "weekly_hours", "hours_per_10k"]
    return out[cols]


def _access(near: pd.DataFrame, names: dict[str, str], limit_m: float, walk_m: float) -> pd.DataFrame:
    rows = []
    masks = {"all": pd.Series(True, index=near.index), "most_deprived_quintile": near["imd_quintile"].eq(1),
             "aged_65plus": pd.Series(True, index=near.index)}
    for group in GROUPS:
        weight = near["pop_65plus"] if group == "aged_65plus" else near["population"]
        w = weight.where(masks[group], 0.0)
        df = pd.DataFrame({"area_code": near["area_code"], "population": w,
                           "within_1_6km": w.where(near["nearest_m"] <= limit_m, 0.0),
                           "within_walk": w.where(near["nearest_m"] <= walk_m, 0.0)})
        g = df.groupby("area_code").sum().reindex(sorted(names))
        g["group"] = group
        rows.append(g)
    out = pd.concat(rows).reset_index()
    out["area_name"] = out["area_code"].map(names)
    pop = out["population"].where(out["population"] > 0)   # no residents in the group: share not known
    out["share_within_1_6km"] = out["within_1_6km"] / pop
    out["share_within_walk"] = out["within_walk"] / pop
    cols = ["area_code", "area_name", "group", "population", "within_1_6km", "share_within_1_6km",
            "within_walk", "share_within_walk"]
    return out[cols].sort_values(["area_code", "group"], key=lambda s: s.map({g: i for i, g in enumerate(GROUPS)})
                                 if s.name == "group" else s, kind="stable").reset_index(drop=True)


def _resilience(near: pd.DataFrame, placed: pd.DataFrame, names: dict[str, str], limit_m: float) -> pd.DataFrame:
    sole = near[(near["nearest_m"] <= limit_m) & (near["second_m"] > limit_m)]
    per = sole.groupby("nearest_ods")["population"].sum()
    board = placed.set_index("ods_code")["area_code"]
    df = pd.DataFrame({"ods_code": per.index, "residents": per.to_numpy(), "area_code": board.reindex(per.index)
                       .to_numpy()})
    g = df.groupby("area_code").agg(pharmacies_sole_within_1_6km=("ods_code", "size"),
                                    residents_at_risk=("residents", "sum")).reindex(sorted(names))
    g["pharmacies_sole_within_1_6km"] = g["pharmacies_sole_within_1_6km"].fillna(0).astype(int)
    g["residents_at_risk"] = g["residents_at_risk"].fillna(0.0)
    g["pharmacies"] = placed.groupby("area_code").size().reindex(g.index).fillna(0).astype(int)
    g = g.reset_index()
    g.insert(1, "area_name", g["area_code"].map(names))
    return g


def _cross_border(near: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    other = near["nearest_area"].ne(near["area_code"])
    df = pd.DataFrame({"area_code": near["area_code"], "population": near["population"],
                       "nearest_elsewhere": near["population"].where(other, 0.0)})
    g = df.groupby("area_code").sum().reindex(sorted(names))
    g["share_nearest_elsewhere"] = g["nearest_elsewhere"] / g["population"].where(g["population"] > 0)
    g["other_boards_pharmacies_nearest"] = (near[other].groupby("area_code")["nearest_ods"].nunique()
                                            .reindex(g.index).fillna(0).astype(int))
    g = g.reset_index()
    g.insert(1, "area_name", g["area_code"].map(names))
    return g


def _pharmacy_table(ph: pd.DataFrame) -> pd.DataFrame:
    cols = ["ods_code", "hwb", "area_code", "trading_name", "postcode", "easting", "northing", "weekly_hours",
            "region_code", "unplaced_reason", "board_note", "source_row"]
    return ph[cols].sort_values("ods_code", kind="stable").reset_index(drop=True)

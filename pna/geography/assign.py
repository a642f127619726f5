"""Assign located pharmacies to LSOAs, MSOAs and localities, and to distance bands outside.

Locality override file (CSV; ``overrides.locality`` in the config)::

    ods_code,locality,reason

``locality`` must be one of the area's locality names. Use it where a pharmacy near a
(generalised) locality boundary has been checked and belongs to the other side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import Config
from ..crs import BNG as CRS
from ..crs import require_bng
from ..errors import InputError
from ..io import read_table
from ..loaders.postcodes import normalise_postcodes
from ..quality import QualityLog
from .geocode import geocode, postcode_index, read_geocode_overrides

STAGE = "geography"
INSIDE = "inside"


def band_labels(bands_km: list[float]) -> list[str]:
    """Labels of the distance bands outside the area: ``["0-0.5 km", "0.5-1 km", "1-1.5 km"]``."""
    edges = [0.0, *bands_km]
    return [f"{lo:g}-{hi:g} km" for lo, hi in zip(edges[:-1], edges[1:])]


def band_of(distance_m: np.ndarray, bands_km: list[float]) -> np.ndarray:
    """Band label per distance (metres; upper edges inclusive); None beyond the outermost band."""
    edges_m = np.asarray(bands_km, dtype=float) * 1000.0
    idx = np.searchsorted(edges_m, np.asarray(distance_m, dtype=float), side="left")
    labels = np.array([*band_labels(bands_km), None], dtype=object)
    return labels[np.minimum(idx, len(bands_km))]


def read_locality_overrides(path: Path | None, localities: list[str]) -> pd.DataFrame:
    """Read and validate a locality override CSV.

    Returns
    -------
    pandas.DataFrame
        Index ``ods_code``; columns ``locality, reason, line``.

    Raises
    ------
    InputError
        Missing columns, blank fields, a repeated ODS code, or a locality name that is not
        one of ``localities``, naming the file and row.
    """
    empty = pd.DataFrame(columns=["locality", "reason", "line"], index=pd.Index([], name="ods_code"))
    if path is None:
        return empty
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "locality override file not found (create it with the header "
                         "ods_code,locality,reason)")
    raw = read_table(path)
    for col in ("ods_code", "locality", "reason"):
        if col not in raw.columns:
            raise InputError(path, f"column '{col}' missing")
    known = set(localities)
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(raw.itertuples(index=False)):
        line = i + 2
        ods, loc, reason = str(r.ods_code).strip().upper(), str(r.locality).strip(), str(r.reason).strip()
        if not ods:
            raise InputError(path, "blank ods_code", row=line)
        if ods in seen:
            raise InputError(path, f"{ods} overridden twice (first at row {seen[ods]})", row=line)
        seen[ods] = line
        if loc not in known:
            raise InputError(path, f"{ods}: unknown locality '{loc}' (known: {', '.join(sorted(known))})",
                             row=line)
        if not reason:
            raise InputError(path, f"{ods}: a reason is required", row=line)
        rows.append({"ods_code": ods, "locality": loc, "reason": reason, "line": line})
    return pd.DataFrame(rows).set_index("ods_code") if rows else empty


def _first_hit(points: np.ndarray, tree_geoms: gpd.GeoSeries) -> np.ndarray:
    """Index of the first (lowest-index) polygon intersecting each point; -1 if none."""
    hit = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0:
        return hit
    src, tgt = tree_geoms.sindex.query(points, predicate="intersects")
    order = np.lexsort((tgt, src))
    src, tgt = src[order], tgt[order]
    first = np.r_[True, src[1:] != src[:-1]] if len(src) else np.array([], dtype=bool)
    hit[src[first]] = tgt[first]
    return hit


def _nearest(points: np.ndarray, tree_geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Nearest polygon per point (ties: lowest index) and the distance in metres."""
    src, tgt = tree_geoms.sindex.nearest(points, return_all=True)
    order = np.lexsort((tgt, src))
    src, tgt = src[order], tgt[order]
    first = np.r_[True, src[1:] != src[:-1]]
    idx = np.empty(len(points), dtype=np.int64)
    idx[src[first]] = tgt[first]
    dist = shapely.distance(points, tree_geoms.values[idx])
    return idx, np.asarray(dist, dtype=float)


@dataclass(frozen=True)
class Placed:
    """Pharmacies placed in the area's geography, with plain notes on what was left out."""

    pharmacies: gpd.GeoDataFrame
    notes: tuple[str, ...] = ()
    beyond_outer_band: int = 0


@dataclass(frozen=True)
class CrossBorder:
    """Other boards' pharmacies within the outermost band, with notes and counts."""

    candidates: gpd.GeoDataFrame
    notes: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)


def assign_pharmacies(pharmacies_gdf: gpd.GeoDataFrame, *, lsoa: gpd.GeoDataFrame,
                      localities: gpd.GeoDataFrame, area: gpd.GeoDataFrame, bands_km: list[float],
                      flag_m: float, overrides_path: Path | None, quality: QualityLog,
                      hwb_name: str | None = None, source_file: str = "pharmaceutical list") -> Placed:
    """Assign pharmacies to the area's geography and to boundary bands.

    Parameters
    ----------
    pharmacies_gdf
        Located pharmacies (EPSG:27700 points), e.g. the area's list plus cross-border candidates.
    lsoa, localities, area
        From :func:`pna.geography.area.build_area`.
    bands_km
        Upper edges of the bands outside the area, e.g. ``[0.5, 1.0, 1.5]``.
    flag_m
        Pharmacies within this distance of another locality are flagged
        (``near_locality_boundary``): the boundaries are generalised.
    overrides_path
        Locality override CSV, or None.
    quality
        Receives flagged rows (near a locality boundary, in no LSOA polygon, on the area's
        list but outside its boundary, another board's pharmacy inside it) and overrides.
    hwb_name
        If given (and there is an ``hwb`` column), ``in_area`` means "on this board's list".
        Otherwise an existing ``in_area`` column is kept (set by :func:`~pna.geography.geocode.geocode`
        and :func:`cross_border_candidates`); failing that it means "inside the area polygon".

    source_file
        Name of the pharmacies' file, used in the exceptions.

    Returns
    -------
    Placed
        ``pharmacies``: input columns plus ``lsoa11_code, msoa11_code, locality, locality_source,
        dist_to_locality_boundary_m, near_locality_boundary, in_area, dist_to_area_m, band``.
        Rows beyond the outermost band are dropped; their number is ``beyond_outer_band`` and
        ``notes`` says so in plain words.
    """
    g = require_bng(pharmacies_gdf, "pharmacies").copy()
    n = len(g)
    pts = g.geometry.values
    ods = g["ods_code"].astype(str).to_numpy()
    rows = g["source_row"].to_numpy() if "source_row" in g.columns else np.full(n, None)
    src_file = source_file

    def _row(i: int | np.integer) -> int | None:
        return None if rows[i] is None or pd.isna(rows[i]) else int(rows[i])

    area_geom = area.geometry.union_all()
    d_area = np.asarray(shapely.distance(pts, area_geom), dtype=float)
    geo_inside = d_area == 0
    if hwb_name is not None and "hwb" in g.columns:
        in_area = (g["hwb"].astype(str).str.strip() == hwb_name).to_numpy()
    elif "in_area" in g.columns and g["in_area"].notna().all():
        in_area = g["in_area"].to_numpy(dtype=bool)
    else:
        in_area = geo_inside.copy()

    for i in np.flatnonzero(in_area & ~geo_inside):
        quality.add(STAGE, src_file, _row(i), ods[i],
                    f"on the area's list but placed {d_area[i]:.0f} m outside the (generalised) area "
                    "boundary; kept in the area and given the nearest LSOA", field_="geometry", action="flagged")
    for i in np.flatnonzero(~in_area & geo_inside):
        quality.add(STAGE, src_file, _row(i), ods[i],
                    f"another board's pharmacy ({g['hwb'].iloc[i] if 'hwb' in g.columns else '?'}) placed "
                    "inside the (generalised) area boundary; counted in the nearest band",
                    field_="geometry", action="flagged")

    # LSOA, MSOA and locality for the area's pharmacies.
    lsoa = lsoa.reset_index(drop=True)
    lsoa_idx = np.full(n, -1, dtype=np.int64)
    inside_idx = np.flatnonzero(in_area)
    lsoa_idx[inside_idx] = _first_hit(pts[inside_idx], lsoa.geometry)
    slivers = inside_idx[lsoa_idx[inside_idx] < 0]
    if len(slivers):
        near_idx, near_d = _nearest(pts[slivers], lsoa.geometry)
        lsoa_idx[slivers] = near_idx
        for i, j, d in zip(slivers, near_idx, near_d):
            if geo_inside[i]:  # outside-boundary rows were already flagged above
                quality.add(STAGE, src_file, _row(i), ods[i],
                            f"in no LSOA polygon (generalised boundaries); assigned to the nearest LSOA "
                            f"{lsoa['lsoa11_code'].iloc[j]}, {d:.0f} m away", field_="lsoa11_code",
                            action="flagged")
    have = lsoa_idx >= 0
    take = np.where(have, lsoa_idx, 0)
    for col in ("lsoa11_code", "msoa11_code", "locality"):
        g[col] = np.where(have, lsoa[col].to_numpy(dtype=object)[take], None)
    g["locality_source"] = np.where(have, "computed", None)  # type: ignore[call-overload]  # numpy stubs reject None

    # Distance to the nearest other locality: where a generalised boundary could mislead.
    dist_loc = np.full(n, np.nan)
    loc_names = localities["locality"].tolist()
    loc_geoms = localities.geometry.values
    for k, name in enumerate(loc_names):
        members = np.flatnonzero(have & (g["locality"].to_numpy(dtype=object) == name))
        others = shapely.union_all(np.delete(loc_geoms, k)) if len(loc_names) > 1 else None
        if len(members) and others is not None and not others.is_empty:
            dist_loc[members] = shapely.distance(pts[members], others)
    g["dist_to_locality_boundary_m"] = dist_loc
    near = have & (dist_loc <= flag_m)
    g["near_locality_boundary"] = near

    overrides = read_locality_overrides(overrides_path, loc_names)
    ov_name = Path(overrides_path).name if overrides_path is not None else ""
    overridden = np.zeros(n, dtype=bool)
    pos = {o: i for i, o in enumerate(ods)}
    for code, o in overrides.iterrows():
        at = pos.get(code)
        if at is None:
            quality.add(STAGE, ov_name, int(o["line"]), code, "override not used: ODS code not among the "
                        "located pharmacies", field_="ods_code", action="flagged")
            continue
        if not in_area[at]:
            quality.add(STAGE, ov_name, int(o["line"]), code, "override not used: pharmacy is not in the area",
                        field_="ods_code", action="flagged")
            continue
        quality.add(STAGE, ov_name, int(o["line"]), code,
                    f"locality {g['locality'].iloc[at]} -> {o['locality']}: {o['reason']}",
                    field_="locality", action="overridden")
        g.iloc[at, g.columns.get_loc("locality")] = o["locality"]
        g.iloc[at, g.columns.get_loc("locality_source")] = "override"
        overridden[at] = True
    for i in np.flatnonzero(near & ~overridden):
        quality.add(STAGE, src_file, _row(i), ods[i],
                    f"{dist_loc[i]:.0f} m from another locality (within {flag_m:g} m; generalised boundaries): "
                    f"check locality {g['locality'].iloc[i]}", field_="locality", action="flagged")

    # Bands outside the area.
    g["in_area"] = in_area
    g["dist_to_area_m"] = d_area
    band = np.where(in_area, INSIDE, band_of(d_area, bands_km))
    g["band"] = band
    beyond = pd.isna(band)
    g = g[~beyond]
    outer = band_labels(bands_km)[-1].split("-")[1]
    notes = []
    if beyond.any():
        notes.append(f"{int(beyond.sum())} pharmacies of other boards lie beyond {outer} of the area "
                     "and were left out.")
    n_check = int((near & ~overridden).sum())
    if n_check:
        notes.append(f"{n_check} of the area's pharmacies lie within {flag_m:g} m of another locality; locality "
                     "boundaries are generalised, so their locality is flagged for checking (see exceptions).")
    if len(slivers):
        notes.append(f"{len(slivers)} of the area's pharmacies fall in no (generalised) LSOA polygon and were "
                     "given the nearest LSOA.")
    return Placed(g, tuple(notes), int(beyond.sum()))


def cross_border_candidates(national_list: pd.DataFrame, postcodes: pd.DataFrame, *, area: gpd.GeoDataFrame,
                            bands_km: list[float], hwb_name: str, overrides_path: Path | None = None,
                            quality: QualityLog | None = None) -> CrossBorder:
    """Pharmacies of other boards that lie within the outermost band around the area.

    Other boards' postcodes missing from the postcode files are outside the files' coverage
    (they hold a region, not the country): they are counted in a note, by postcode area,
    not logged as exceptions. Geocode overrides apply here too (logged when ``quality``
    is given and the pharmacy falls within the bands).

    Returns
    -------
    CrossBorder
        ``candidates``: rows with ``easting, northing, geometry, geocode_source, postcode_la,
        dist_to_area_m, band``; ``notes`` and ``counts`` describe the rest.
    """
    others = national_list[national_list["hwb"].astype(str).str.strip() != hwb_name].copy()
    overrides = read_geocode_overrides(overrides_path)
    ods = others["ods_code"].astype(str).str.strip().str.upper()
    pc = normalise_postcodes(others["postcode"])
    ov = overrides.reindex(ods)
    replace_pc = (ov["postcode"].notna() & ov["easting"].isna()).to_numpy()
    pc = pc.where(~replace_pc, ov["postcode"].to_numpy())
    postcodes = postcode_index(postcodes)
    found = postcodes.reindex(pc.where(pc.notna(), ""))
    easting = found["easting"].to_numpy(dtype=float).copy()
    northing = found["northing"].to_numpy(dtype=float).copy()
    source = found["source"].to_numpy(dtype=object).copy()
    by_xy = ov["easting"].notna().to_numpy()
    easting[by_xy], northing[by_xy] = ov["easting"].to_numpy()[by_xy], ov["northing"].to_numpy()[by_xy]
    source[by_xy] = "override"
    located = ~np.isnan(easting)

    others["postcode"] = pc.where(pc.notna(), others["postcode"])
    others["easting"], others["northing"] = easting, northing
    others["geocode_source"], others["postcode_la"] = source, found["la_code"].to_numpy(dtype=object)
    missing = others[~located]
    cand = others[located]
    cand = gpd.GeoDataFrame(cand, geometry=gpd.points_from_xy(cand["easting"], cand["northing"]), crs=CRS)
    d = np.asarray(shapely.distance(cand.geometry.values, area.geometry.union_all()), dtype=float)
    cand["dist_to_area_m"] = d
    cand["band"] = band_of(d, bands_km)
    cand["in_area"] = False
    within = cand["band"].notna().to_numpy()
    cand = cand[within]

    if quality is not None and len(overrides):
        assert overrides_path is not None  # the overrides were read from it
        ov_name = Path(overrides_path).name
        for code in cand["ods_code"].astype(str).str.upper():
            if code in overrides.index:
                o = overrides.loc[code]
                what = (f"placed at {o['easting']:.0f}, {o['northing']:.0f}" if not pd.isna(o["easting"])
                        else f"postcode replaced by {o['postcode']}")
                quality.add(STAGE, ov_name, int(o["line"]), code, f"{what}: {o['reason']}",
                            field_="postcode", action="overridden")

    areas = missing["postcode"].astype(str).str.extract(r"^([A-Za-z]{1,2})")[0].fillna("?").str.upper()
    by_area = areas.value_counts().sort_index()
    outer = band_labels(bands_km)[-1].split("-")[1]
    notes = [f"Cross-border pharmacies: {len(others):,} pharmacies of other boards checked; "
             f"{int(located.sum()):,} placed from the postcode files, {int(within.sum())} of them within "
             f"{outer} of the area."]
    if len(missing):
        # Name the postcode areas the files hold at least partly: misses there may be near the area.
        held = set(pd.Series(postcodes.index.astype(str), dtype="string")
                   .str.extract(r"^([A-Z]{1,2})", expand=False).dropna().unique())
        partly = by_area[by_area.index.isin(held)]
        listed = ", ".join(f"{k} {v}" for k, v in partly.items()) or "none"
        notes.append(f"{len(missing):,} pharmacies of other boards could not be placed because their postcodes "
                     f"are outside the postcode files' coverage ({len(by_area)} postcode areas), so were not "
                     f"considered as cross-border pharmacies; in postcode areas the files cover at least "
                     f"in part: {listed}.")
    counts = {"checked": int(len(others)), "located": int(located.sum()),
              "not_in_postcode_files": int(len(missing)),
              **{str(k): int(v) for k, v in cand["band"].value_counts().sort_index().items()}}
    return CrossBorder(cand, tuple(notes), counts)


def place_pharmacies(*, cfg: Config, national_list: pd.DataFrame, postcodes: pd.DataFrame,
                     area: gpd.GeoDataFrame, lsoa: gpd.GeoDataFrame, localities: gpd.GeoDataFrame,
                     quality: QualityLog) -> Placed:
    """The geography stage for pharmacies: geocode the area's list, add cross-border candidates, assign.

    Parameters
    ----------
    cfg
        Area config (``area.code``, ``area.hwb_name``, ``boundary_bands_km``,
        ``locality_boundary_flag_m``, ``overrides.geocode``, ``overrides.locality``).
    national_list
        The parsed pharmaceutical list (all boards), ``pna.loaders.pharmacies`` contract.
    postcodes
        :func:`pna.loaders.postcodes.postcode_table`.
    area, lsoa, localities
        From :func:`pna.geography.area.build_area`.
    quality
        The run's quality log.

    Returns
    -------
    Placed
        The pharmacies (sorted: area first, then by band and ODS code) and plain notes.
    """
    hwb = cfg.area.hwb_name
    geo_ov = cfg.override_path("geocode")
    loc_ov = cfg.override_path("locality")
    list_src = cfg.inputs.pharmaceutical_list or cfg.inputs.ods_history
    src_file = cfg.data_path(list_src).name
    own = national_list[national_list["hwb"].astype(str).str.strip() == hwb]
    located = geocode(own, postcodes, overrides_path=geo_ov, area_code=cfg.area.code, quality=quality,
                      hwb_name=hwb, source_file=src_file, area=area)
    cross = cross_border_candidates(national_list, postcodes, area=area, bands_km=cfg.boundary_bands_km,
                                    hwb_name=hwb, overrides_path=geo_ov, quality=quality)
    both = pd.concat([located, cross.candidates.drop(columns=["dist_to_area_m", "band"])], ignore_index=True)
    both["in_area"] = both["in_area"].astype(bool)
    both = gpd.GeoDataFrame(both, geometry="geometry", crs=CRS)
    placed = assign_pharmacies(both, lsoa=lsoa, localities=localities, area=area, bands_km=cfg.boundary_bands_km,
                               flag_m=cfg.locality_boundary_flag_m, overrides_path=loc_ov, quality=quality,
                               hwb_name=hwb, source_file=src_file)
    out = placed.pharmacies
    notes = (*cross.notes, *placed.notes)
    order = out["band"].map({b: i for i, b in enumerate([INSIDE, *band_labels(cfg.boundary_bands_km)])})
    out = out.assign(_o=order).sort_values(["_o", "ods_code"], kind="stable").drop(columns="_o")
    out = out.reset_index(drop=True)
    return Placed(out, notes, placed.beyond_outer_band)

"""Locating postcodes and pharmacies from OpenStreetMap, where no postcode file covers an area.

OSM buildings and address nodes carry ``addr:postcode``; the mean position of every
point tagged with a postcode stands in for the postcode's centroid (Code-Point Open
uses the same idea: a point among the postcode's delivery addresses). OSM also maps
many pharmacies themselves (``amenity=pharmacy``), which place a pharmacy better
than any postcode point does.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from ..config import Config
from ..crs import BNG
from ..loaders import osm
from ..loaders.postcodes import normalise_postcodes
from ..quality import QualityLog

STAGE = "access.osm_geocode"
SOURCE_ADDRESS = "osm_address"
SOURCE_PHARMACY = "osm_pharmacy"
SOURCE_SECTOR = "osm_sector"
_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
_PC = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})$")
# Words that say nothing about which pharmacy a name means.
_STOP = frozenset({"PHARMACY", "PHARMACIES", "CHEMIST", "CHEMISTS", "LTD", "LIMITED", "THE", "AND", "&",
                   "UK", "PLC", "STORE", "STORES", "NEWPORT", "SUPERSTORE", "INSTORE", "IN"})


def postcodes_from_osm(extract: str | Path, quality: QualityLog | None = None) -> pd.DataFrame:
    """One point per postcode: the mean position of OSM features tagged ``addr:postcode``.

    Parameters
    ----------
    extract
        An ``.osm.pbf`` (or ``.osm``) file.
    quality
        Tags that are not a full UK postcode (``NP20``, typos) are recorded here as quarantined.

    Returns
    -------
    pandas.DataFrame
        ``postcode, easting, northing`` (EPSG:27700), ``la_code`` (None: OSM does not say),
        ``positional_quality`` (NaN), ``n_points`` (OSM features averaged), ``source``
        (``osm_address``), sorted by postcode.
    """
    pts = osm.read_address_points(extract)
    pc = normalise_postcodes(pts["postcode"])
    bad = pc.isna()
    if quality is not None:
        for r in pts[bad].itertuples():
            quality.add(STAGE, str(extract), None, f"{r.osm_type}/{r.osm_id}",
                        f"addr:postcode {r.postcode!r} is not a full UK postcode", "addr:postcode")
        quality.account(f"{STAGE}.address_points", str(extract), len(pts), int((~bad).sum()), int(bad.sum()))
    ok = pts[~bad].copy()
    ok["postcode"] = pc[~bad].astype(str).to_numpy()
    x, y = _TO_BNG.transform(ok["lon"].to_numpy(float), ok["lat"].to_numpy(float))
    ok["easting"], ok["northing"] = x, y
    g = ok.groupby("postcode", sort=True)
    out = pd.DataFrame({"easting": g["easting"].mean().round(1), "northing": g["northing"].mean().round(1),
                        "n_points": g.size()}).reset_index()
    out["la_code"] = None
    out["positional_quality"] = np.nan
    out["source"] = SOURCE_ADDRESS
    return out[["postcode", "easting", "northing", "la_code", "positional_quality", "n_points", "source"]]


def _tokens(name: object) -> frozenset[str]:
    if not isinstance(name, str):
        return frozenset()
    words = re.findall(r"[A-Z0-9]+", name.upper())
    return frozenset(w for w in words if w not in _STOP and len(w) > 1)


def locate_pharmacies(pharmacies: pd.DataFrame, extract: str | Path, postcodes: pd.DataFrame,
                      quality: QualityLog | None = None, sector_fallback: bool = True) -> pd.DataFrame:
    """Place pharmacies on OSM pharmacy points where they match, else at their OSM postcode point.

    Matching, in order: an OSM pharmacy with the same postcode and a shared distinctive name
    word; the only OSM pharmacy in that postcode; the only OSM pharmacy anywhere sharing a
    distinctive name word and the postcode's outward code. A pharmacy not matched goes to the
    mean position of its postcode's OSM addresses; failing that (if ``sector_fallback``) to the
    mean of its postcode sector's (``NP20 4``), flagged as approximate; one with none of these
    is an exception.

    Parameters
    ----------
    pharmacies
        ``ods_code, trading_name, postcode`` (list-shaped, e.g. from ``list_from_ods``).
    extract
        The OSM extract.
    postcodes
        From :func:`postcodes_from_osm` (or any table with ``postcode, easting, northing``).
    quality
        Pharmacies placed only at their sector are recorded here as flagged (kept); unlocatable
        ones as quarantined, since :func:`pharmacies_from_osm` drops them.

    Returns
    -------
    pandas.DataFrame
        ``pharmacies`` plus ``easting, northing`` (NaN where unlocatable), ``geocode_source``
        (``osm_pharmacy`` | ``osm_address`` | ``osm_sector`` | None), ``osm_ref`` (``node/123`` where matched).
    """
    osm_ph = osm.read_pharmacies(extract)
    x, y = _TO_BNG.transform(osm_ph["lon"].to_numpy(float), osm_ph["lat"].to_numpy(float))
    osm_ph = osm_ph.assign(easting=np.round(x, 1), northing=np.round(y, 1),
                           pc=normalise_postcodes(osm_ph["postcode"]),
                           tok=osm_ph["name"].map(_tokens) if len(osm_ph) else [],
                           ref=osm_ph["osm_type"] + "/" + osm_ph["osm_id"].astype(str))
    out = pharmacies.copy()
    out["easting"] = np.nan
    out["northing"] = np.nan
    out["geocode_source"] = None
    out["osm_ref"] = None
    pc = normalise_postcodes(out["postcode"])
    pcs = postcodes.set_index("postcode") if "postcode" in postcodes.columns else postcodes
    used: set[str] = set()
    toks = out["trading_name"].map(_tokens) if "trading_name" in out else pd.Series(
        [frozenset()] * len(out), index=out.index)

    def take(i, hit) -> None:
        used.add(hit["ref"])
        out.loc[i, ["easting", "northing"]] = [hit["easting"], hit["northing"]]
        out.at[i, "geocode_source"] = SOURCE_PHARMACY
        out.at[i, "osm_ref"] = hit["ref"]

    # Pass 1: same postcode (a shared name word decides between several); pass 2: a unique
    # name match within the outward code, for OSM points tagged with a neighbouring postcode.
    for i in out.index:
        p, tok = pc.at[i], toks.at[i]
        if not isinstance(p, str):
            continue
        cand = osm_ph[(osm_ph["pc"] == p) & ~osm_ph["ref"].isin(used)]
        named = cand[cand["tok"].map(lambda t, tok=tok: bool(t & tok))]
        if len(named) == 1:
            take(i, named.iloc[0])
        elif len(cand) == 1:
            take(i, cand.iloc[0])
    for i in out.index[out["geocode_source"].isna()]:
        p, tok = pc.at[i], toks.at[i]
        if not isinstance(p, str) or not tok:
            continue
        outward = p.split(" ")[0]
        pool = osm_ph[~osm_ph["ref"].isin(used) & osm_ph["pc"].fillna("").str.startswith(outward + " ")]
        named = pool[pool["tok"].map(lambda t, tok=tok: bool(t & tok))]
        if len(named) == 1:
            take(i, named.iloc[0])
    # Pass 3: the postcode's OSM address point; pass 4 (if allowed): the postcode sector's.
    sector_xy = (pcs.assign(sector=pcs.index.str[:-2]).groupby("sector")[["easting", "northing"]].mean().round(1)
                 if sector_fallback and len(pcs) else pd.DataFrame(columns=["easting", "northing"]))
    for i in out.index[out["geocode_source"].isna()]:
        p = pc.at[i]
        if isinstance(p, str) and p in pcs.index:
            out.loc[i, ["easting", "northing"]] = [pcs.at[p, "easting"], pcs.at[p, "northing"]]
            out.at[i, "geocode_source"] = SOURCE_ADDRESS
        elif isinstance(p, str) and p[:-2] in sector_xy.index:
            out.loc[i, ["easting", "northing"]] = sector_xy.loc[p[:-2]].to_numpy()
            out.at[i, "geocode_source"] = SOURCE_SECTOR
            if quality is not None:
                quality.add(STAGE, str(extract), out.at[i, "source_row"] if "source_row" in out else None,
                            out.at[i, "ods_code"],
                            f"postcode {p} has no OpenStreetMap address; placed at the mean of the OSM "
                            f"addresses in sector {p[:-2]} (may be several hundred metres out)",
                            "postcode", "flagged")
        elif quality is not None:
            quality.add(STAGE, str(extract), out.at[i, "source_row"] if "source_row" in out else None,
                        out.at[i, "ods_code"],
                        f"postcode {out.at[i, 'postcode']} has no OpenStreetMap address or pharmacy "
                        "in the extract; the pharmacy cannot be located", "postcode", "quarantined")
    return out


def pharmacies_from_osm(cfg: Config, candidates: pd.DataFrame, *, quality: QualityLog | None = None,
                        postcodes: pd.DataFrame | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Pharmacies for an area with no pharmaceutical list or postcode file, located from OSM.

    Candidates are the ODS rows open on the as-at date whose postcode district (``NP20``) occurs
    among the extract's OSM addresses: pharmacies elsewhere in the country are not looked for.
    Candidates that cannot be located are exceptions (see :func:`locate_pharmacies`).

    Parameters
    ----------
    cfg
        Config with ``network.osm_extract`` and ``area.hwb_name``.
    candidates
        List-shaped rows (``pna.loaders.pharmacies.list_from_ods`` of the ODS rows open on the
        as-at date, classified), for every area; only those in the extract's districts are kept.
    postcodes
        From :func:`postcodes_from_osm` (read here if None).

    Returns
    -------
    (geopandas.GeoDataFrame, str)
        List-shaped rows (``list_from_ods``) plus ``easting, northing, geometry`` (EPSG:27700),
        ``geocode_source``, ``osm_ref``; only located rows; and a note saying how many
        were located each way and how many could not be.
    """
    assert cfg.network.osm_extract is not None, "pharmacies_from_osm needs network.osm_extract"
    extract = cfg.data_path(cfg.network.osm_extract)
    pcs = postcodes_from_osm(extract, quality) if postcodes is None else postcodes
    districts = set(pcs["postcode"].str.split(" ").str[0])
    pc = normalise_postcodes(candidates["postcode"])
    cand = candidates[pc.str.split(" ").str[0].isin(districts).fillna(False).to_numpy()]
    located = locate_pharmacies(cand, extract, pcs, quality)
    ok = located["easting"].notna()
    if quality is not None:
        quality.account("pharmacies located from OpenStreetMap", extract.name, len(located), int(ok.sum()),
                        int((~ok).sum()))
    out = located[ok].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["easting"], out["northing"]), crs=BNG)
    counts = located["geocode_source"].value_counts()
    note = (
        f"No pharmaceutical list or postcode file covers this area: {len(cand)} ODS pharmacies open on "
        f"{cfg.as_at} in the postcode districts of the OpenStreetMap extract were located from OSM "
        f"({int(counts.get(SOURCE_PHARMACY, 0))} matched to a mapped pharmacy, "
        f"{int(counts.get(SOURCE_ADDRESS, 0))} placed at their postcode's OSM addresses, "
        f"{int(counts.get(SOURCE_SECTOR, 0))} only at their postcode sector's, several hundred metres "
        "uncertain); "
        f"{int((~ok).sum())} could not be located (see exceptions).")
    return gdf, note

"""The geography stage: the area, its small areas and localities; pharmacies located and assigned."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from ..config import Config
from ..errors import InputError
from ..loaders import pharmacies as ph
from ..loaders.postcodes import postcode_table
from ..loaders.stage import Inputs
from ..provenance import with_provenance
from ..quality import QualityLog
from ..schema import require_columns
from .area import as_board_codes, build_area
from .assign import Placed, assign_pharmacies, place_pharmacies
from .geocode import geocode
from .osm_geocode import pharmacies_from_osm, postcodes_from_osm

__all__ = ["Geography", "build_geography"]

PHARMACY_COLUMNS = ("ods_code", "hwb", "postcode", "easting", "northing", "geocode_source", "lsoa11_code",
                    "locality", "in_area", "dist_to_area_m", "band")
LSOA_COLUMNS = ("lsoa11_code", "msoa11_code", "locality", "pop_total", "pop_65plus", "imd2019_quintile")


@dataclass(frozen=True)
class Geography:
    """Result of the geography stage (column contracts in docs/ARCHITECTURE.md).

    Attributes
    ----------
    area
        One row: the board's outline (EPSG:27700).
    lsoa
        The area's LSOAs with population, locality and IMD.
    localities
        One polygon per locality, with population, sorted by name.
    postcodes
        Postcode coordinates (index ``postcode``: ``easting, northing, la_code, source``).
    pharmacies
        The area's pharmacies and cross-border ones within the outermost band, located and
        assigned to LSOA, locality and band.
    reconciliation
        The list compared with ODS on the as-at date (None where there is no list).
    list_changes
        Where ``as_at`` is earlier than the list's date: openings, closures and changes of
        ownership between the two (``pna.loaders.pharmacies.CHANGE_COLUMNS``); else None.
    notes
        Plain statements of limits.
    """

    area: gpd.GeoDataFrame
    lsoa: gpd.GeoDataFrame
    localities: gpd.GeoDataFrame
    postcodes: pd.DataFrame
    pharmacies: gpd.GeoDataFrame
    reconciliation: pd.DataFrame | None
    notes: tuple[str, ...]
    list_changes: pd.DataFrame | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The stage's output tables by name."""
        out = {} if self.reconciliation is None else {"reconciliation": self.reconciliation}
        if self.list_changes is not None:
            out["list_changes"] = self.list_changes
        return out


class _SeriesMap(Mapping[str, str]):
    """A read-only mapping over a Series, for look-ups by index.

    With the national directory the postcode table has 2.7 million rows, and copying it into a
    dict took seconds for a few thousand look-ups.
    """

    def __init__(self, series: pd.Series):
        # a dict of a repeated key keeps its last value: so does this
        self._s = series if series.index.is_unique else series[~series.index.duplicated(keep="last")]

    def __getitem__(self, key: str) -> str:
        try:
            return str(self._s.iat[self._s.index.get_loc(key)])
        except (KeyError, TypeError):
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._s.index)

    def __len__(self) -> int:
        return len(self._s)


def build_geography(*, cfg: Config, inputs: Inputs, quality: QualityLog) -> Geography:
    """Area, LSOAs and localities; pharmacies geocoded and assigned, cross-border ones banded.

    Parameters
    ----------
    cfg
        Area config.
    inputs
        The inputs stage's result.
    quality
        Quarantined and flagged rows, overrides, row accounting.
    """
    area, lsoa, localities = build_area(cfg, quality)
    notes: list[str] = []
    table = as_board_codes(postcode_table(cfg, quality), cfg.area)
    from_osm = bool(cfg.inputs.postcodes_from_osm) and cfg.network.osm_extract is not None
    if from_osm:
        assert cfg.network.osm_extract is not None  # implied by from_osm
        osm_pc = postcodes_from_osm(cfg.data_path(cfg.network.osm_extract), quality).set_index("postcode")
        table = pd.concat([table, osm_pc[~osm_pc.index.isin(table.index)]]) if len(table) else osm_pc
        notes.append("Pharmacy postcodes were located from OpenStreetMap pharmacies and address points "
                     "(no official postcode coordinates were supplied for this area).")
    postcode_la: Mapping[str, str] = _SeriesMap(table["la_code"].dropna()) if "la_code" in table else {}
    candidates, list_changes = inputs.candidates, None
    list_date = cfg.inputs.pharmaceutical_list_date
    if inputs.has_list and list_date is not None and cfg.as_at < list_date:
        candidates, changes = ph.list_as_at(inputs.candidates, inputs.ods, cfg.as_at, list_date=list_date,
                                            postcode_la=postcode_la, area_code=cfg.area.code,
                                            hwb_name=cfg.area.hwb_name)
        candidates = ph.classify(candidates, cfg)
        list_changes = with_provenance(changes, cfg.inputs.ods_history, cfg.inputs.pharmaceutical_list)
        own = candidates[candidates["hwb"] == cfg.area.hwb_name]
        unknown = int((~own["hours_known"].astype(bool)).sum())
        notes.append(f"The pharmacies are those open on {cfg.as_at:%d %B %Y}, rebuilt from ODS open and close dates: "
                     f"{len(own)} on this board's list that day. Opening hours come from the {list_date:%d %B %Y} "
                     f"list (or the row of the contractor that took over the same premises); "
                     f"{unknown} closed before that list, so their hours are unknown.")
    if inputs.has_list:
        placed = place_pharmacies(cfg=cfg, national_list=candidates, postcodes=table, area=area, lsoa=lsoa,
                                  localities=localities, quality=quality)
    else:
        placed = _place_without_list(cfg=cfg, inputs=inputs, postcodes=table, area=area, lsoa=lsoa,
                                     localities=localities, quality=quality, from_osm=from_osm, notes=notes)
    notes.extend(placed.notes)
    _require_pharmacies(cfg, inputs, candidates, placed.pharmacies, quality)
    reconciliation = None
    if inputs.national_list is not None:
        own = candidates[candidates["hwb"] == cfg.area.hwb_name]
        rec = ph.reconcile(own, inputs.ods, cfg.as_at, postcode_la, cfg.area.code, national_list=candidates)
        reconciliation = with_provenance(rec, cfg.inputs.pharmaceutical_list, cfg.inputs.ods_history,
                                         cfg.inputs.codepoint, cfg.inputs.postcode_directory)
    require_columns(placed.pharmacies, PHARMACY_COLUMNS, what="pharmacies (geography stage)", crs=True)
    require_columns(lsoa, LSOA_COLUMNS, what="LSOAs (geography stage)", crs=True)
    require_columns(localities, ("locality",), what="localities (geography stage)", crs=True)
    return Geography(area=area, lsoa=lsoa, localities=localities, postcodes=table, pharmacies=placed.pharmacies,
                     reconciliation=reconciliation, notes=tuple(dict.fromkeys(notes)), list_changes=list_changes)


def _require_pharmacies(cfg: Config, inputs: Inputs, candidates: pd.DataFrame, placed: pd.DataFrame,
                        quality: QualityLog) -> None:
    """Stop when the area ends with no pharmacies: a PNA of none is a broken input, not a finding."""
    if len(placed) and placed["in_area"].astype(bool).any():
        return
    src = cfg.inputs.pharmaceutical_list if inputs.has_list else cfg.inputs.ods_history
    assert src is not None  # has_list means a list was configured
    if inputs.has_list:
        codes = set(candidates.loc[candidates["hwb"].astype(str).str.strip() == cfg.area.hwb_name, "ods_code"])
        why = [f"{r['record']}: {r['reason']}" for r in quality.records
               if r["action"] == "quarantined" and r["record"] in codes]
        reason = (f"none of the {len(codes)} pharmacies listed for {cfg.area.hwb_name} could be placed"
                  + (" (" + "; ".join(why[:3]) + (f"; and {len(why) - 3} more" if len(why) > 3 else "") + ")"
                     if why else ""))
    else:
        reason = f"no open pharmacy of this file lies in area {cfg.area.code}"
    raise InputError(str(cfg.data_path(src)), reason)


def _place_without_list(*, cfg: Config, inputs: Inputs, postcodes: pd.DataFrame, area: gpd.GeoDataFrame,
                        lsoa: gpd.GeoDataFrame, localities: gpd.GeoDataFrame, quality: QualityLog,
                        from_osm: bool, notes: list[str]) -> Placed:
    """No list: membership is decided by location, among the open ODS pharmacies."""
    national = inputs.candidates
    source_file = cfg.data_path(cfg.inputs.ods_history).name
    if from_osm:
        located, note = pharmacies_from_osm(cfg, national, quality=quality, postcodes=postcodes.reset_index())
        located["postcode_la"] = None
        notes.append(note)
    else:
        districts = set(postcodes.index.str.split(" ").str[0])
        cand = national[national["postcode"].str.split(" ").str[0].isin(districts)]
        located = geocode(cand, postcodes, overrides_path=cfg.override_path("geocode"), area_code=cfg.area.code,
                          quality=quality, hwb_name=cfg.area.hwb_name)
        notes.append(f"{len(national) - len(cand)} open ODS pharmacies in postcode districts outside the "
                     "available postcode coordinates were not considered.")
        source_file = "pharmaceutical list"
    located = located.drop(columns="in_area", errors="ignore")
    return assign_pharmacies(located, lsoa=lsoa, localities=localities, area=area, bands_km=cfg.boundary_bands_km,
                             flag_m=cfg.locality_boundary_flag_m, overrides_path=cfg.override_path("locality"),
                             quality=quality, source_file=source_file)

"""ONS boundary polygons, read with pyogrio and reprojected once to EPSG:27700.

Only the features needed are read (an attribute ``where`` filter or a bounding box),
so the national files are never loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pyogrio

from ..config import Config, DataSource, NationalConfig
from ..errors import InputError

CRS = "EPSG:27700"


def _fields(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(path, "boundary file not found")
    try:
        return list(pyogrio.read_info(path)["fields"])
    except Exception as exc:  # pyogrio raises its own DataSourceError subclasses
        raise InputError(path, f"cannot read as a vector file: {exc}") from None


def _code_name_columns(path: Path, fields: list[str]) -> tuple[str, str | None]:
    """The code and name fields (``*_code``/``*cd`` and ``*_name``/``*nm``) of an ONS file."""
    low = [f.lower() for f in fields]
    code = next((f for f, lf in zip(fields, low) if lf.endswith("_code") or lf.endswith("cd")), None)
    name = next((f for f, lf in zip(fields, low) if lf.endswith("_name") or lf.endswith("nm")), None)
    if code is None:
        raise InputError(path, f"no code field (*_code or *CD) among {fields}")
    return code, name


def _sql_in(column: str, codes: Iterable[str]) -> str:
    quoted = ",".join("'" + str(c).replace("'", "''") + "'" for c in sorted(set(codes)))
    return f'"{column}" IN ({quoted})'


def read_features(cfg: Config | NationalConfig, source: DataSource, codes: Iterable[str] | None = None,
                  bbox: tuple[float, float, float, float] | None = None,
                  prefix: str = "") -> gpd.GeoDataFrame:
    """Read features of one boundary file by code and/or EPSG:4326 bounding box.

    Parameters
    ----------
    cfg, source
        The config and the boundary input.
    codes
        Codes to keep; every one must be present.
    bbox
        ``(minx, miny, maxx, maxy)`` in the file's CRS, to read only nearby features.
    prefix
        Output column prefix: the code and name fields become ``{prefix}_code`` and ``{prefix}_name``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``{prefix}_code, {prefix}_name, geometry`` in EPSG:27700, sorted by code.
    """
    path = cfg.data_path(source)
    fields = _fields(path)
    code_col, name_col = _code_name_columns(path, fields)
    codes = None if codes is None else sorted(set(codes))
    where = _sql_in(code_col, codes) if codes else None
    if codes is not None and not codes:
        where = "1 = 0"
    gdf = pyogrio.read_dataframe(path, where=where, bbox=bbox,
                                 columns=[c for c in (code_col, name_col) if c])
    if gdf.crs is None:
        raise InputError(path, "boundary file has no coordinate reference system")
    if codes is not None:
        absent = sorted(set(codes) - set(gdf[code_col]))
        if absent:
            raise InputError(path, f"{len(absent)} code(s) not in the boundary file: {', '.join(absent[:10])}")
    gdf = gdf.rename(columns={code_col: f"{prefix}_code"})
    if name_col:
        gdf = gdf.rename(columns={name_col: f"{prefix}_name"})
    else:
        gdf[f"{prefix}_name"] = gdf[f"{prefix}_code"]
    gdf = gdf.to_crs(CRS)
    gdf["geometry"] = gdf.geometry.make_valid()
    gdf = gdf[[f"{prefix}_code", f"{prefix}_name", "geometry"]]
    return gdf.sort_values(f"{prefix}_code", kind="stable").reset_index(drop=True)


def load_area(cfg: Config) -> gpd.GeoDataFrame:
    """The area's polygon from ``inputs.la_boundaries``: its district(s), dissolved.

    Returns
    -------
    geopandas.GeoDataFrame
        One row: ``area_code, area_name, geometry`` (EPSG:27700). ``area_name`` is the
        configured area name.
    """
    gdf = read_features(cfg, cfg.inputs.la_boundaries, cfg.area.district_codes, prefix="area")
    gdf["area_code"] = cfg.area.code   # a county is the union of its districts
    gdf = gdf.dissolve(by="area_code", as_index=False)[["area_code", "area_name", "geometry"]]
    gdf["area_name"] = cfg.area.name
    return gdf


def area_bbox_4326(area: gpd.GeoDataFrame, buffer_m: float = 0.0) -> tuple[float, float, float, float]:
    """Bounding box of an EPSG:27700 area (optionally buffered) in EPSG:4326, for ``bbox`` reads."""
    geom = area.geometry.buffer(buffer_m) if buffer_m else area.geometry
    minx, miny, maxx, maxy = (float(v) for v in geom.to_crs(4326).total_bounds)
    return minx, miny, maxx, maxy


def load_lsoa(cfg: Config, codes: Iterable[str] | None = None,
              bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """LSOA 2011 polygons by code (or within an EPSG:4326 bbox): ``lsoa11_code, lsoa11_name, geometry``."""
    return read_features(cfg, cfg.inputs.lsoa_boundaries, codes, bbox, prefix="lsoa11")


def load_msoa(cfg: Config, codes: Iterable[str] | None = None,
              bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """MSOA 2011 polygons by code (or within an EPSG:4326 bbox): ``msoa11_code, msoa11_name, geometry``."""
    return read_features(cfg, cfg.inputs.msoa_boundaries, codes, bbox, prefix="msoa11")

"""A GeoTIFF of travel time to the nearest pharmacy over the whole area.

Cells are ``cell_m`` squares on the British National Grid aligned to whole multiples
of ``cell_m``; each holds the minutes from its centre to the nearest pharmacy (float32),
or nodata outside the area or where no pharmacy can be reached. For a street network,
a cell centre takes the time of its nearest street node within the snap distance
plus the straight connector to it; for the straight-line model, the estimate from the
cell centre itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from rasterio.features import geometry_mask

from ..crs import BNG, to_bng
from ..modes import Mode

NODATA = -9999.0


class PointTimes(Protocol):
    """A travel model that gives minutes from arbitrary points.

    For example ``NetworkModel`` and ``StraightLineModel``.
    """

    mode: Mode

    def minutes_at(self, xy: np.ndarray, sites: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(minutes to the nearest site, its index) for points ``xy`` (n×2, EPSG:27700)."""
        ...


def grid_for(area: gpd.GeoDataFrame, cell_m: float = 100.0) -> tuple[np.ndarray, np.ndarray, object]:
    """Cell-centre coordinates (n×2, row-major), inside-area mask (rows×cols) and the transform."""
    area = to_bng(area)
    minx, miny, maxx, maxy = area.total_bounds
    x0 = np.floor(minx / cell_m) * cell_m
    y1 = np.ceil(maxy / cell_m) * cell_m
    cols = int(np.ceil((maxx - x0) / cell_m))
    rows = int(np.ceil((y1 - miny) / cell_m))
    transform = Affine.translation(x0, y1) @ Affine.scale(cell_m, -cell_m)
    inside = geometry_mask(list(area.geometry), out_shape=(rows, cols), transform=transform, invert=True)
    cx = x0 + (np.arange(cols) + 0.5) * cell_m
    cy = y1 - (np.arange(rows) + 0.5) * cell_m
    xx, yy = np.meshgrid(cx, cy)
    return np.column_stack([xx.ravel(), yy.ravel()]), inside, transform


def write_time_raster(model: PointTimes, sites: gpd.GeoDataFrame,
                      area: gpd.GeoDataFrame, path: str | Path, *, cell_m: float = 100.0) -> Path:
    """Write minutes to the nearest site for every cell of the area as a GeoTIFF.

    Parameters
    ----------
    model
        A travel model with ``minutes_at(xy, sites) -> (minutes, site_index)``
        (:class:`~pna.access.engine.NetworkModel`, :class:`~pna.access.straightline.StraightLineModel`).
    sites
        Pharmacies (EPSG:27700).
    area
        The area boundary; cells whose centre is outside it are nodata.
    path
        Output ``.tif``.
    cell_m
        Cell size in metres.

    Returns
    -------
    pathlib.Path
        The file written: EPSG:27700, one float32 band of minutes, nodata −9999, deflate
        compressed, no date tags (same inputs, same bytes).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    xy, inside, transform = grid_for(area, cell_m)
    minutes = np.full(inside.size, NODATA, dtype=np.float32)
    flat = inside.ravel()
    if flat.any():
        m, _ = model.minutes_at(xy[flat], sites)
        m = np.asarray(m, dtype=np.float64)
        minutes[flat] = np.where(np.isfinite(m), m, NODATA).astype(np.float32)
    data: np.ndarray = minutes.reshape(inside.shape)  # 2-D; numpy's stubs keep the 1-D shape type
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": "float32", "crs": BNG, "transform": transform, "nodata": NODATA,
               "compress": "deflate", "tiled": False}
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):  # no .aux.xml sidecar with statistics
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(1, units="minutes")
            dst.set_band_description(1, f"minutes to nearest pharmacy ({model.mode})")
    return path

"""The result of one travel-time engine for one mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..modes import Method, Mode


@dataclass
class AccessResult:
    """Travel time from every demand point to its nearest pharmacy, for one mode.

    ``demand`` holds the demand points with ``minutes`` (inf if unreachable) and
    ``nearest_ods``; ``coverage`` is the table described in docs/ARCHITECTURE.md.
    """

    mode: Mode
    method: Method
    is_estimate: bool
    method_note: str
    demand: gpd.GeoDataFrame
    coverage: pd.DataFrame
    isochrones: gpd.GeoDataFrame | None = None
    raster_path: Path | None = None
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

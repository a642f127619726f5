"""Column contracts, checked where a stage makes its result.

A stage result's tables are checked once, when the result is built, so a later stage never
meets a missing column as a ``KeyError`` deep inside its own code.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from .crs import require_bng
from .errors import PipelineError

__all__ = ["require_columns"]


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, what: str, crs: bool = False) -> pd.DataFrame:
    """Check that ``df`` has ``columns`` (and, with ``crs``, is a GeoDataFrame in EPSG:27700).

    Parameters
    ----------
    df
        The table to check.
    columns
        Columns the contract requires.
    what
        Name of the table, for the error message.
    crs
        Also require British National Grid geometry.

    Returns
    -------
    pandas.DataFrame
        ``df`` unchanged.

    Raises
    ------
    PipelineError
        Naming the table and the missing columns.
    """
    if not isinstance(df, pd.DataFrame):
        raise PipelineError(f"{what}: expected a table, found {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise PipelineError(f"{what}: missing column(s) {', '.join(missing)}")
    if crs:
        if not isinstance(df, gpd.GeoDataFrame):
            raise PipelineError(f"{what}: expected geometry (a GeoDataFrame)")
        require_bng(df, what)
    return df

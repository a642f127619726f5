"""What the report reads: the stage results of one run, frozen (the renderers never re-read inputs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from ..access.stage import Access
from ..assess.resilience import Resilience
from ..config import Config
from ..geography.stage import Geography
from ..loaders.stage import Inputs
from ..provision.stage import Provision
from ..statements.stage import Statements

__all__ = ["RunResults"]


@dataclass(frozen=True)
class RunResults:
    """Every stage result of one run, as the pipeline made them.

    Attributes
    ----------
    cfg
        Area config.
    inputs, geography, access, provision, resilience, statements
        The stage results.
    tables
        Every output table by name (the stages' tables, ``statements``, ``exceptions`` and
        ``row_accounting``), written to ``tables/`` by :mod:`pna.report.exports`.
    notes
        Plain statements of limits and estimates, in stage order.
    """

    cfg: Config
    inputs: Inputs
    geography: Geography
    access: Access
    provision: Provision
    resilience: Resilience
    statements: Statements
    tables: Mapping[str, pd.DataFrame]
    notes: tuple[str, ...]

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Extra map layers made by the stages (beyond area, localities, LSOAs, pharmacies)."""
        return {"resilience_necessary": self.resilience.layer}

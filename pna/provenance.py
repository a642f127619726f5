"""Provenance strings: every output table carries the sources and vintages behind it."""

from __future__ import annotations

import pandas as pd

from .config import DataSource

PROVENANCE_COLUMN = "provenance"


def cite(*sources: DataSource | str | None) -> str:
    """Join source citations, skipping missing ones, in a stable order without repeats."""
    seen: list[str] = []
    for s in sources:
        if s is None:
            continue
        text = s.cite() if isinstance(s, DataSource) else str(s)
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def with_provenance(df: pd.DataFrame, *sources: DataSource | str | None) -> pd.DataFrame:
    """Return a copy of ``df`` with a provenance column naming its sources."""
    out = df.copy()
    out[PROVENANCE_COLUMN] = cite(*sources)
    return out

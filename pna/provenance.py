"""Provenance strings: every output table carries the sources and vintages behind it."""

from __future__ import annotations

import os
from pathlib import PurePath

import pandas as pd

from .config import DataSource

PROVENANCE_COLUMN = "provenance"


def portable_source(source: str | os.PathLike[str]) -> str:
    """How outputs name a source file: by its name, never by an absolute path.

    An absolute path would make outputs depend on where the data directory happens to be,
    so the same inputs would give different bytes elsewhere. ``run.json`` maps each input
    file to its path under the data directory.

    Parameters
    ----------
    source
        A file name, a path, or a label such as ``/data/networks/feed.zip:stops.txt``.

    Returns
    -------
    str
        ``source`` unchanged when it is not an absolute path, else its last component
        (``feed.zip:stops.txt`` for the label above).
    """
    text = os.fspath(source)
    path = PurePath(text)
    return path.name if path.is_absolute() else text


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

"""Localities: the groups of MSOAs a PNA reports by.

A localities CSV maps every MSOA (2011) of the area to exactly one locality. Without one,
each MSOA is its own locality, named by the House of Commons Library MSOA name where
configured, else by its code.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import InputError
from ..io import read_csv_text
from ..quality import QualityLog

STAGE = "localities"


def _msoa_names(cfg: Config, codes: list[str]) -> pd.Series:
    """HCL names for the codes (missing ones fall back to the code); made unique within the area."""
    names = pd.Series(codes, index=codes, dtype=object)
    src = cfg.inputs.msoa_names
    if src is not None:
        path = cfg.data_path(src)
        text = read_csv_text(path)
        if text.header is None:
            raise InputError(path, "MSOA names file is empty")
        raw, _ = text.frame(keep_default_na=True)
        code_col = next((c for c in raw.columns if c.lower() in ("msoa11_code", "msoa11cd")), None)
        name_col = next((c for c in raw.columns if "name" in c.lower() and c != code_col
                         and ("hcl" in c.lower() or c.lower() in ("msoa11_name", "msoa11hclnm"))), None)
        if code_col is None or name_col is None:
            raise InputError(path, "expected an MSOA 2011 code column and a name column")
        lookup = raw.drop_duplicates(code_col).set_index(code_col)[name_col]
        found = lookup.reindex(codes)
        names = found.where(found.notna() & (found.str.strip() != ""), names)
    repeated = names.duplicated(keep=False)
    names[repeated] = names[repeated] + " (" + names.index[repeated] + ")"
    return names


def load_localities(cfg: Config, msoa_codes: Iterable[str], quality: QualityLog | None = None) -> pd.DataFrame:
    """Map each of the area's MSOAs to its locality.

    Parameters
    ----------
    cfg
        ``cfg.localities.file`` (with ``msoa_column``/``locality_column``), or None.
    msoa_codes
        The area's MSOA 2011 codes.
    quality
        If given, receives a flag for each locality of very few MSOAs (:func:`flag_small_localities`).

    Returns
    -------
    pandas.DataFrame
        Index ``msoa11_code`` (sorted); column ``locality``.

    Raises
    ------
    InputError
        Naming the file and row: a missing column, a line of the wrong width, a blank locality,
        an MSOA listed twice, an MSOA outside the area; or the area MSOAs the file does not list.
    """
    codes = sorted(set(msoa_codes))
    spec = cfg.localities
    if spec.file is None or spec.chosen_rule != "file":
        names = _msoa_names(cfg, codes)
        return pd.DataFrame({"locality": names.to_numpy()}, index=pd.Index(codes, name="msoa11_code"))
    path = cfg.data_path(spec.file)
    if not path.is_file():
        raise InputError(path, "localities file not found")
    text = read_csv_text(path)
    if text.header is None:
        raise InputError(path, "localities file is empty")
    raw, lines = text.frame()
    for col in (spec.msoa_column, spec.locality_column):
        if col not in raw.columns:
            raise InputError(path, f"column '{col}' missing (columns: {', '.join(raw.columns)})")
    msoa = raw[spec.msoa_column].str.strip()
    loc = raw[spec.locality_column].str.strip()
    area = set(codes)
    first_seen: dict[str, int] = {}
    for code, name, line in zip(msoa, loc, lines):
        if not code:
            raise InputError(path, "blank MSOA code", row=int(line))
        if not name:
            raise InputError(path, f"MSOA {code} has a blank locality", row=int(line))
        if code in first_seen:
            raise InputError(path, f"MSOA {code} listed twice (first at row {first_seen[code]})", row=int(line))
        first_seen[code] = int(line)
        if code not in area:
            raise InputError(path, f"MSOA {code} is not in area {cfg.area.code}", row=int(line))
    missing = sorted(area - set(first_seen))
    if missing:
        raise InputError(path, f"{len(missing)} MSOA(s) of area {cfg.area.code} have no locality: "
                         + ", ".join(missing))
    out = pd.DataFrame({"locality": loc.to_numpy()}, index=pd.Index(msoa.to_numpy(), name="msoa11_code"))
    if quality is not None:
        flag_small_localities(loc, lines, quality, path.name, spec.locality_column)
    return out.sort_index(kind="stable")


def flag_small_localities(locality: pd.Series, lines: np.ndarray, quality: QualityLog, source_file: str,
                          column: str) -> list[str]:
    """Flag localities of very few MSOAs among localities of many: most often a typo making a new name.

    A locality is flagged when it holds at most a quarter of the median locality's MSOAs (at
    least one) and the median locality holds three or more; its rates would also rest on a few
    thousand residents. A name close to another locality's (``Centrall`` beside ``Central``) is
    named in the reason.

    Parameters
    ----------
    locality
        The locality of each row of the file.
    lines
        Each row's line in the file.
    quality
        Receives one ``flagged`` exception per small locality, on its first row.
    source_file
        Named in the exceptions.
    column
        The file's locality column, named in the exceptions.

    Returns
    -------
    list of str
        The flagged locality names, sorted.
    """
    counts = pd.Series(np.asarray(locality, dtype=object)).value_counts()
    median = float(counts.median()) if len(counts) else 0.0
    if median < 3:
        return []
    limit = max(1, int(median // 4))
    first_line = pd.Series(np.asarray(lines)).groupby(np.asarray(locality, dtype=object)).min()
    flagged = sorted(str(n) for n, k in counts.items() if k <= limit)
    upper = {str(n).upper(): str(n) for n in counts.index}
    for name in flagged:
        others = [u for u in upper if u != name.upper() and counts[upper[u]] > limit]
        close = difflib.get_close_matches(name.upper(), others, n=1, cutoff=0.8)
        like = (f"; the name is close to {upper[close[0]]!r} ({counts[upper[close[0]]]} MSOAs): a typo?"
                if close else "")
        quality.add(STAGE, source_file, int(first_line[name]), name,
                    f"locality {name!r} has {counts[name]} MSOA(s) where the median locality has {median:g}"
                    f"{like}", field_=column, action="flagged")
    return flagged

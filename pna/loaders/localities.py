"""Localities: the groups of MSOAs a PNA reports by.

A localities CSV maps every MSOA (2011) of the area to exactly one locality. Without one,
each MSOA is its own locality, named by the House of Commons Library MSOA name where
configured, else by its code.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import InputError


def _msoa_names(cfg: Config, codes: list[str]) -> pd.Series:
    """HCL names for the codes (missing ones fall back to the code); made unique within the area."""
    names = pd.Series(codes, index=codes, dtype=object)
    src = cfg.inputs.msoa_names
    if src is not None:
        path = cfg.data_path(src)
        raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
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


def load_localities(cfg: Config, msoa_codes: Iterable[str]) -> pd.DataFrame:
    """Map each of the area's MSOAs to its locality.

    Parameters
    ----------
    cfg
        ``cfg.localities.file`` (with ``msoa_column``/``locality_column``), or None.
    msoa_codes
        The area's MSOA 2011 codes.

    Returns
    -------
    pandas.DataFrame
        Index ``msoa11_code`` (sorted); column ``locality``.

    Raises
    ------
    InputError
        Naming the file and row: a missing column, a blank locality, an MSOA listed twice,
        an MSOA outside the area; or the area MSOAs the file does not list.
    """
    codes = sorted(set(msoa_codes))
    spec = cfg.localities
    if spec.file is None:
        names = _msoa_names(cfg, codes)
        return pd.DataFrame({"locality": names.to_numpy()}, index=pd.Index(codes, name="msoa11_code"))
    path = cfg.data_path(spec.file)
    if not path.is_file():
        raise InputError(path, "localities file not found")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    for col in (spec.msoa_column, spec.locality_column):
        if col not in raw.columns:
            raise InputError(path, f"column '{col}' missing (columns: {', '.join(raw.columns)})")
    msoa = raw[spec.msoa_column].str.strip()
    loc = raw[spec.locality_column].str.strip()
    lines = np.arange(2, len(raw) + 2)
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
    return out.sort_index(kind="stable")

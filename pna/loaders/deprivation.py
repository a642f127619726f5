"""English Indices of Deprivation: IMD 2019 (LSOA 2011) and IMD 2025 (LSOA 2021).

Quintiles follow the published deciles: ``quintile = ceil(decile / 2)``, 1 = most deprived.
Files are read line by line (:func:`pna.io.read_csv_text`); a line of the wrong width, a
last line cut short, or a bad rank or decile stops the run (an :class:`~pna.errors.InputError`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import read_csv_text

# Column names in the tidy extracts and in the MHCLG "File 1/2" spreadsheets saved as CSV.
_RANK = ["IMD_rank", "Index of Multiple Deprivation (IMD) Rank",
         "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"]
_DECILE = ["IMD_decile", "Index of Multiple Deprivation (IMD) Decile",
           "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"]
_SCORE = ["IMD_score", "Index of Multiple Deprivation (IMD) Score"]


def _pick(columns: pd.Index, names: list[str]) -> str | None:
    return next((n for n in names if n in columns), None)


def _load(path: Path, code_names: list[str], code_out: str, prefix: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "deprivation file not found")
    text = read_csv_text(path)
    if text.header is None:
        raise InputError(path, "deprivation file is empty")
    raw, lines = text.frame(keep_default_na=True)
    code = _pick(raw.columns, code_names)
    rank, decile, score = _pick(raw.columns, _RANK), _pick(raw.columns, _DECILE), _pick(raw.columns, _SCORE)
    if code is None or rank is None or decile is None:
        absent = [names[0] for names, got in ((code_names, code), (_RANK, rank), (_DECILE, decile)) if got is None]
        raise InputError(path, f"missing column(s) {', '.join(absent)} (header has: {', '.join(raw.columns)})")
    r = pd.to_numeric(raw[rank], errors="coerce")
    d = pd.to_numeric(raw[decile], errors="coerce")
    bad = r.isna() | d.isna() | (r < 1) | (r > len(raw)) | ~d.isin(range(1, 11)) | raw[code].isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(path, f"rank must be 1..{len(raw)} and decile 1..10", row=int(lines[i]))
    codes = raw[code].str.strip()
    dup = codes.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(path, f"{codes.iloc[i]} appears more than once", row=int(lines[i]))
    out = pd.DataFrame({f"{prefix}_rank": r.astype(int).to_numpy(),
                        f"{prefix}_decile": d.astype(int).to_numpy()},
                       index=pd.Index(codes.to_numpy(), name=code_out))
    out[f"{prefix}_quintile"] = np.ceil(out[f"{prefix}_decile"] / 2).astype(int)
    if score is not None:
        out[f"{prefix}_score"] = pd.to_numeric(raw[score], errors="coerce").to_numpy()
    return out.sort_index(kind="stable")


def load_imd2019(path: Path) -> pd.DataFrame:
    """Read IMD 2019 ranks and deciles by LSOA 2011.

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa11_code``; ``imd2019_rank, imd2019_decile, imd2019_quintile`` (int,
        1 = most deprived), plus ``imd2019_score`` if the file has it.
    """
    return _load(path, ["lsoa11_code", "LSOA code (2011)", "lsoa11cd", "LSOA11CD"], "lsoa11_code", "imd2019")


def load_imd2025(path: Path) -> pd.DataFrame:
    """Read IMD 2025 ranks and deciles by LSOA 2021.

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa21_code``; ``imd2025_rank, imd2025_decile, imd2025_quintile`` (int,
        1 = most deprived), plus ``imd2025_score`` if the file has it.
    """
    return _load(path, ["lsoa21_code", "LSOA code (2021)", "lsoa21cd", "LSOA21CD"], "lsoa21_code", "imd2025")

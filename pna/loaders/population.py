"""ONS small area population estimates (SAPE) by single year of age, and derived age groups."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import cached_frames
from ..errors import InputError
from ..io import read_csv_text
from ..quality import QualityLog

STAGE = "population"
AGE_COLUMNS = [str(a) for a in range(90)] + ["90+"]
# Five-year bands age_0_4 .. age_80_84 then age_85plus (85..89 and 90+).
BAND_COLUMNS = [f"age_{a}_{a + 4}" for a in range(0, 85, 5)] + ["age_85plus"]
GROUP_COLUMNS = ["pop_total", "pop_18plus", "pop_65plus", "pop_0_17", "pop_18_64"]
_CODE_COLUMNS = ["lsoa11_code", "LSOA 2011 Code", "LSOA Code", "lsoa11cd", "LSOA11CD"]
_TOTAL_COLUMNS = ["total_population", "All Ages", "all_ages", "Total"]


def load_sape(path: Path, lsoa_codes: Iterable[str] | None = None,
              quality: QualityLog | None = None, *, code_prefix: str | None = None,
              cache: Path | None = None) -> pd.DataFrame:
    """Read a SAPE single-year-of-age table.

    Parameters
    ----------
    path
        CSV with an LSOA code column, a total column and ages ``0..89, 90+``.
    lsoa_codes
        If given, keep only these LSOAs; every one must be present.
    quality
        If given, rows whose total differs from the sum of ages are logged as flagged
        (kept, using the file's total).
    code_prefix
        If given, keep only LSOAs whose code starts with it (``"E01"``: England), before any check.
    cache
        The input cache folder (``cfg.input_cache``): a file read before with the same LSOAs is
        read back from Parquet (the national files take a second or more to parse).

    Returns
    -------
    pandas.DataFrame
        Index ``lsoa11_code``; float columns ``"0".."89", "90+", total_population``.

    Raises
    ------
    InputError
        Missing file or columns (naming the file's own header), a line of the wrong width or
        a last line cut short by the end of the file, a quote left open at the end of a line,
        a blank code, a blank, non-numeric or negative count (naming the row, LSOA and
        column), repeated codes, or requested LSOAs absent from the file.

    Notes
    -----
    Bad counts stop the run rather than quarantine the row: population is the denominator of
    every rate and coverage share, so dropping an LSOA would quietly shrink the population and
    inflate the rates; a published estimate with a blank or negative cell is a damaged file.
    """
    path = Path(path)
    codes = None if lsoa_codes is None else list(lsoa_codes)
    return cached_frames(cache, "population", files=[path], params=(codes, code_prefix), quality=quality,
                         build=lambda q: _load_sape(path, codes, q, code_prefix=code_prefix))


def _load_sape(path: Path, lsoa_codes: list[str] | None, quality: QualityLog, *,
               code_prefix: str | None) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "population file not found")
    text = read_csv_text(path)
    if text.header is None:
        raise InputError(path, "population file is empty")
    columns = text.columns
    code_col = next((c for c in _CODE_COLUMNS if c in columns), None)
    total_col = next((c for c in _TOTAL_COLUMNS if c in columns), None)
    missing = [c for c in AGE_COLUMNS if c not in columns]
    if code_col is None or total_col is None or missing:
        what = ([f"an LSOA code column (one of {', '.join(_CODE_COLUMNS)})"] if code_col is None else []) + (
            [f"a total column (one of {', '.join(_TOTAL_COLUMNS)})"] if total_col is None else []) + (
            [f"age columns {', '.join(missing[:5])}" + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")]
            if missing else [])
        cols = [str(c) for c in columns]
        shown = ", ".join(cols[:12]) + (f", ... ({len(cols)} columns)" if len(cols) > 12 else "")
        raise InputError(path, f"missing {'; '.join(what)} (header has: {shown})")
    # Only empty cells read as missing, so text such as "n/a" is quoted back in the error.
    raw, lines = text.frame(usecols=[code_col, total_col, *AGE_COLUMNS], dtype={code_col: str},
                            keep_default_na=False, na_values=[""])
    raw["_line"] = lines
    raw = raw.rename(columns={code_col: "lsoa11_code", total_col: "total_population"})
    raw["lsoa11_code"] = raw["lsoa11_code"].fillna("").str.strip()
    blank = raw["lsoa11_code"] == ""
    if blank.any():
        raise InputError(path, f"blank {code_col}", row=int(raw.loc[blank, "_line"].iloc[0]))
    if code_prefix is not None:
        raw = raw[raw["lsoa11_code"].str.startswith(code_prefix)]
    if lsoa_codes is not None:
        wanted = pd.Index(pd.unique(pd.Series(list(lsoa_codes), dtype=object)))
        absent = wanted.difference(raw["lsoa11_code"])
        if len(absent):
            raise InputError(path, f"{len(absent)} LSOA(s) not in the population file: "
                             + ", ".join(sorted(absent)[:10]))
        raw = raw[raw["lsoa11_code"].isin(wanted)]
    dup = raw["lsoa11_code"].duplicated()
    if dup.any():
        r = raw[dup].iloc[0]
        raise InputError(path, f"LSOA {r['lsoa11_code']} appears more than once", row=int(r["_line"]))
    values = raw[[*AGE_COLUMNS, "total_population"]].apply(pd.to_numeric, errors="coerce")
    bad = (values.isna() | (values < 0)).to_numpy()
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        col = values.columns[j]
        cell, num = raw[col].iat[i], values.iat[i, j]
        why = ("is blank" if pd.isna(cell) or not str(cell).strip() else
               f"{str(cell).strip()!r} is not a number" if np.isnan(num) else f"{num:g} is negative")
        file_col = total_col if col == "total_population" else col
        raise InputError(path, f"LSOA {raw['lsoa11_code'].iat[i]}, column {file_col!r}: population {why} "
                         "(counts must be non-negative numbers)", row=int(raw["_line"].iat[i]))
    out = values.astype(float)
    out.index = pd.Index(raw["lsoa11_code"], name="lsoa11_code")
    diff = out[AGE_COLUMNS].sum(axis=1) - out["total_population"]
    mismatch = diff.abs() > 0.5
    if mismatch.any():
        for code, line, d in zip(out.index[mismatch], raw["_line"][mismatch.to_numpy()], diff[mismatch]):
            quality.add(STAGE, path.name, int(line), code,
                        f"sum of single years differs from {total_col} by {d:+.0f}; file total used",
                        field_=total_col, action="flagged")
    out.attrs["total_mismatches"] = int(mismatch.sum())
    return out.sort_index(kind="stable")


def age_groups(sape: pd.DataFrame) -> pd.DataFrame:
    """Collapse single years of age to the ``ctx.lsoa`` population columns.

    Returns
    -------
    pandas.DataFrame
        Same index; ``pop_total`` (the file's total), ``pop_18plus, pop_65plus, pop_0_17,
        pop_18_64`` and five-year bands ``age_0_4 .. age_80_84, age_85plus``.
    """
    ages = sape[AGE_COLUMNS].to_numpy(dtype=float)
    out = pd.DataFrame(index=sape.index)
    out["pop_total"] = sape["total_population"].to_numpy(dtype=float)
    out["pop_18plus"] = ages[:, 18:].sum(axis=1)
    out["pop_65plus"] = ages[:, 65:].sum(axis=1)
    out["pop_0_17"] = ages[:, :18].sum(axis=1)
    out["pop_18_64"] = ages[:, 18:65].sum(axis=1)
    for i, name in enumerate(BAND_COLUMNS[:-1]):
        out[name] = ages[:, 5 * i:5 * i + 5].sum(axis=1)
    out["age_85plus"] = ages[:, 85:].sum(axis=1)
    return out

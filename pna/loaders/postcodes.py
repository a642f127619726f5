"""Postcode coordinates: OS Code-Point Open and the ONS postcode directory.

Both loaders return one row per postcode with the columns
``postcode, easting, northing, la_code, positional_quality, source`` (EPSG:27700 metres).
Rows that cannot place a postcode (malformed postcode, missing or impossible coordinates,
repeated postcode) are quarantined in the :class:`~pna.quality.QualityLog` with their reason.
Rows are counted by physical line (:func:`pna.io.read_csv_text`): blank lines, lines of the
wrong width and a last line cut short by the end of the file are quarantined too, and a
quote left open at the end of a line is an :class:`~pna.errors.InputError`.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import cached_frames
from ..config import Config
from ..errors import InputError
from ..io import FILE_FIELD, CsvText, read_csv_text
from ..quality import QualityLog
from .national_postcodes import COLUMNS, STAGE
from .national_postcodes import load_national_postcodes as _national

# Outward code (A9, A99, AA9, AA99, A9A, AA9A) then inward code (9AA).
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_POSTCODE_PATTERN = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$"

# Grid extent of Great Britain on EPSG:27700 (with the Scillies and Shetland).
_MAX_EASTING, _MAX_NORTHING = 700_000.0, 1_300_000.0

# Code-Point Open column order, as published in Code-Point_Open_Column_Headers.csv.
CODEPOINT_DEFAULT_HEADERS = ["PC", "PQ", "EA", "NO", "CY", "RH", "LH", "CC", "DC", "WC"]
# Code-Point positional quality 90: no coordinates for the postcode.
CODEPOINT_NO_COORDINATES = 90

# Accepted column names of ONS postcode directories (NSPD / ONSPD / NSPL), first match wins.
_DIRECTORY_COLUMNS = {
    "postcode": ["pcd", "pcds", "pcd2", "postcode"],
    "easting": ["oseast1m", "east1m", "easting"],
    "northing": ["osnrth1m", "north1m", "northing"],
    "la_code": ["laua", "lad25cd", "lad24cd", "lad23cd", "lad22cd", "lad21cd", "oslaua", "la_code"],
    "positional_quality": ["osgrdind", "positional_quality"],
}


def normalise_postcode(s: object) -> str | None:
    """Normalise a UK postcode to upper case with one space before the inward code.

    Parameters
    ----------
    s
        Any value; strings in any case and with any spacing are accepted.

    Returns
    -------
    str or None
        ``"LE1 1AA"`` style, or None if ``s`` is missing or not a valid postcode.

    Examples
    --------
    >>> normalise_postcode(" le11aa ")
    'LE1 1AA'
    >>> normalise_postcode("LE1") is None
    True
    """
    if s is None or (isinstance(s, float) and np.isnan(s)) or s is pd.NA:
        return None
    m = _POSTCODE.match(re.sub(r"\s+", "", str(s)).upper())
    return f"{m.group(1)} {m.group(2)}" if m else None


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_postcode`: invalid values become ``None``."""
    compact = values.astype("string").str.replace(r"\s+", "", regex=True).str.upper()
    parts = compact.str.extract(_POSTCODE_PATTERN)
    out = (parts[0] + " " + parts[1]).astype(object)
    return out.where(parts[0].notna(), None)


def _finish(df: pd.DataFrame, text: CsvText, problems: dict[int, str], source: str, quality: QualityLog,
            key: str) -> pd.DataFrame:
    """Validate parsed columns, quarantine bad rows, account, return the accepted table.

    ``df`` has one row per data line of ``text`` (blank for the lines in ``problems``).
    """
    path = text.path
    lines = text.lines
    raw_pc = df["postcode"].astype("string").fillna("")
    postcode = normalise_postcodes(df["postcode"])
    easting = pd.to_numeric(df["easting"], errors="coerce")
    northing = pd.to_numeric(df["northing"], errors="coerce")
    pq = pd.to_numeric(df["positional_quality"], errors="coerce")

    reason = pd.Series("", index=df.index, dtype=object)
    bad_pc = postcode.isna()
    reason[bad_pc] = "postcode not valid"
    no_xy = ~bad_pc & (easting.isna() | northing.isna())
    reason[no_xy] = "coordinates missing or not numeric"
    off_grid = ~bad_pc & ~no_xy & ((easting <= 0) | (northing <= 0) | (easting > _MAX_EASTING)
                                   | (northing > _MAX_NORTHING))
    reason[off_grid] = "coordinates outside Great Britain (zero or out of range)"
    if source == "codepoint":
        no_fix = ~bad_pc & ~no_xy & ~off_grid & (pq == CODEPOINT_NO_COORDINATES)
        reason[no_fix] = "positional quality 90: no coordinates for this postcode"
    ok = reason == ""
    dup = ok & postcode.where(ok).duplicated(keep="first")
    reason[dup] = "postcode repeated; first occurrence kept"
    fields = np.where(bad_pc | dup, "postcode", np.where(reason.str.startswith("positional"),
                                                        "positional_quality", "easting/northing"))
    # Lines that are not rows at all (blank, cut short, wrong width) keep that reason.
    broken = pd.Series(lines, index=df.index).map(problems)
    reason = broken.where(broken.notna(), reason)
    fields = np.where(broken.notna().to_numpy(), "", fields)
    raw_pc = raw_pc.where(broken.isna(), "line " + pd.Series(lines, index=df.index).astype(str))

    for i in np.flatnonzero((reason != "").to_numpy()):
        quality.add(STAGE, path.name, int(lines[i]), raw_pc.iloc[i], reason.iloc[i],
                    field_=str(fields[i]))
    keep = (reason == "").to_numpy()
    out = pd.DataFrame({
        "postcode": postcode[keep].astype(str),
        "easting": easting[keep].astype(float),
        "northing": northing[keep].astype(float),
        "la_code": df["la_code"][keep].astype("string").str.strip().replace("", pd.NA).astype(object),
        "positional_quality": pq[keep].astype(float),
        "source": source,
    }).reset_index(drop=True)
    quality.account(key, path.name, text.rows_in, int(keep.sum()), int(text.rows_in - keep.sum()))
    for why in text.file_flags():
        quality.add(STAGE, path.name, None, path.name, why, FILE_FIELD, "flagged")
    return out[COLUMNS]


def _read_codepoint_headers(headers_path: Path | None) -> list[str]:
    if headers_path is None:
        return CODEPOINT_DEFAULT_HEADERS
    if not headers_path.is_file():
        raise InputError(headers_path, "Code-Point Open column headers file not found")
    first = headers_path.read_text(encoding="utf-8-sig").splitlines()[0]
    return [h.strip().strip('"') for h in first.split(",")]


def load_codepoint(path: Path, headers_path: Path | None, quality: QualityLog) -> pd.DataFrame:
    """Read OS Code-Point Open: one area CSV (no header row), or the whole GB download.

    Parameters
    ----------
    path
        A Code-Point Open area file (e.g. ``le.csv``), or the GB download as OS ships it (the
        zip, or the folder it unzips to): every ``Data/CSV/*.csv`` is read, each with its own row
        accounting, and ``Doc/Code-Point_Open_Column_Headers.csv`` inside it is the default
        headers file.
    headers_path
        ``Code-Point_Open_Column_Headers.csv`` (its first row holds the short codes
        ``PC, PQ, EA, NO, ..., DC, ...``); if None the published column order is assumed.
    quality
        Receives quarantined rows and the row accounting (key ``postcodes:codepoint``).

    Returns
    -------
    pandas.DataFrame
        ``postcode, easting, northing, la_code, positional_quality, source`` (source ``codepoint``).
    """
    path = Path(path)
    if path.is_dir() or (path.is_file() and zipfile.is_zipfile(path)):
        return _codepoint_download(path, headers_path, quality)
    if not path.is_file():
        raise InputError(path, "Code-Point Open file not found")
    return _codepoint_file(path, headers_path, quality, "postcodes:codepoint")


def _codepoint_download(path: Path, headers_path: Path | None, quality: QualityLog) -> pd.DataFrame:
    """Every area file of a Code-Point Open GB download (zip or folder), in name order."""
    with tempfile.TemporaryDirectory(prefix="pna-codepoint-") as tmp:
        root = path
        if path.is_file():   # unzip only the CSVs: the download also holds documents
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".csv")]
                try:
                    zf.extractall(tmp, members=names)
                except (zipfile.BadZipFile, OSError) as exc:
                    raise InputError(path, f"the Code-Point Open zip is corrupt ({exc})") from None
            root = Path(tmp)
        files = sorted(p for p in root.rglob("*.csv") if p.parent.name.lower() == "csv"
                       and p.parent.parent.name.lower() == "data")
        if not files:
            raise InputError(path, "no Data/CSV/*.csv area files: not a Code-Point Open download")
        if headers_path is None:
            docs = sorted(root.rglob("Code-Point_Open_Column_Headers.csv"))
            headers_path = docs[0] if docs else None
        parts = [_codepoint_file(f, headers_path, quality, f"postcodes:codepoint:{f.name}")
                 for f in files]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def _codepoint_file(path: Path, headers_path: Path | None, quality: QualityLog, key: str) -> pd.DataFrame:
    headers = _read_codepoint_headers(Path(headers_path) if headers_path is not None else None)
    for need in ("PC", "PQ", "EA", "NO", "DC"):
        if need not in headers:
            raise InputError(headers_path or path, f"Code-Point header code {need} missing")
    text = read_csv_text(path, header=False, width=len(headers))
    widths = text.widths()
    if not widths:
        raise InputError(path, "Code-Point Open file is empty")
    if len(headers) not in widths:
        raise InputError(path, f"expected {len(headers)} columns (from the headers file), found {sorted(widths)}")
    rows, problems = text.rows()
    raw = pd.DataFrame(rows, columns=headers, dtype=object)
    df = raw.rename(columns={"PC": "postcode", "PQ": "positional_quality", "EA": "easting",
                             "NO": "northing", "DC": "la_code"})
    return _finish(df, text, problems, "codepoint", quality, key)


def load_postcode_directory(path: Path, quality: QualityLog) -> pd.DataFrame:
    """Read an ONS postcode directory CSV (NSPD, ONSPD or an extract of either).

    The columns are found by their ONS names (``pcd``/``pcds``, ``oseast1m``, ``osnrth1m``,
    ``laua``/``ladNNcd``, optional ``osgrdind``). Terminated postcodes without coordinates
    are quarantined.

    Returns
    -------
    pandas.DataFrame
        ``postcode, easting, northing, la_code, positional_quality, source``
        (source ``postcode_directory``; positional_quality is ``osgrdind`` or NaN).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "postcode directory file not found")
    text = read_csv_text(path)
    if text.header is None:
        raise InputError(path, "postcode directory file is empty")
    rows, problems = text.rows()
    raw = pd.DataFrame(rows, columns=text.columns, dtype=object)
    lower = {c.lower().strip(): c for c in raw.columns}
    cols = {}
    for target, names in _DIRECTORY_COLUMNS.items():
        found = next((lower[n] for n in names if n in lower), None)
        if found is None and target != "positional_quality":
            raise InputError(path, f"no {target} column (looked for {', '.join(names)}; "
                             f"header has: {', '.join(raw.columns)})")
        cols[target] = found
    df = pd.DataFrame({t: (raw[c] if c is not None else pd.Series(np.nan, index=raw.index))
                       for t, c in cols.items()})
    return _finish(df, text, problems, "postcode_directory", quality, "postcodes:postcode_directory")


def postcode_table(cfg: Config, quality: QualityLog) -> pd.DataFrame:
    """All configured postcode coordinates, one row per postcode, indexed by postcode.

    Code-Point Open is preferred where it is configured (it is the surveyed point);
    the ONS directory fills every postcode Code-Point does not hold. Either may be absent.

    Returns
    -------
    pandas.DataFrame
        Index ``postcode``; columns ``easting, northing, la_code, positional_quality, source``.
    """
    parts = []
    if cfg.inputs.codepoint is not None:
        headers = cfg.data_path(cfg.inputs.codepoint_headers) if cfg.inputs.codepoint_headers else None
        cp = cfg.data_path(cfg.inputs.codepoint)
        parts.append(cached_frames(cfg.input_cache, "codepoint", files=[cp, headers], quality=quality,
                                   build=lambda q: load_codepoint(cp, headers, q)))
    if cfg.inputs.postcode_directory is not None:
        pd_path = cfg.data_path(cfg.inputs.postcode_directory)
        parts.append(cached_frames(cfg.input_cache, "postcode-directory", files=[pd_path], quality=quality,
                                   build=lambda q: load_postcode_directory(pd_path, q)))
    national = cfg.inputs.national_postcodes
    if national or (national is None and not parts):
        # the whole UK directory: the default with no postcode file, or filling what the files lack
        parts.append(_national(quality=quality, cache_dir=cfg.cache_dir))
    if not parts:
        return pd.DataFrame(columns=COLUMNS).set_index("postcode")
    table = pd.concat(parts, ignore_index=True)
    table = table.drop_duplicates("postcode", keep="first")
    return table.sort_values("postcode", kind="stable").set_index("postcode")

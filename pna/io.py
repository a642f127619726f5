"""Deterministic writers: the same inputs give byte-identical files."""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

FIXED_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
FIXED_ISO_DATE = "2020-01-01T00:00:00Z"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(df: pd.DataFrame, path: Path, float_format: str = "%.10g") -> Path:
    """Write a CSV with fixed float formatting and Unix line endings (opens in Excel)."""
    ensure_dir(path.parent)
    data = df.drop(columns="geometry", errors="ignore")
    data.to_csv(path, index=False, lineterminator="\n", float_format=float_format, encoding="utf-8")
    return path


def write_json(obj: Any, path: Path) -> Path:
    """Write ``obj`` as indented JSON with sorted keys, so the same object gives the same bytes."""
    ensure_dir(path.parent)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    return path


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` as UTF-8 with Unix line endings."""
    ensure_dir(path.parent)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def stable_ids(html: str) -> str:
    """Replace folium's random uuid4 element ids with ids numbered by first appearance."""
    mapping: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        key = m.group(0)
        if key not in mapping:
            mapping[key] = f"{len(mapping):032x}"
        return mapping[key]

    return _HEX_ID.sub(repl, html)


def normalise_zip(path: Path) -> Path:
    """Rewrite a zip-based file (XLSX) with fixed member dates and order, for byte-identical runs."""
    with zipfile.ZipFile(path) as zin:
        members = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())
    return path


def gdal_fixed_date_env() -> dict[str, str]:
    """GDAL config that stamps GeoPackages with a fixed date instead of now."""
    return {"OGR_CURRENT_DATE": FIXED_ISO_DATE}


def set_gdal_fixed_date() -> None:
    """Apply :func:`gdal_fixed_date_env` to this process's environment."""
    os.environ.update(gdal_fixed_date_env())

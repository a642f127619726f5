"""Exports: the report as PDF (headless Chromium), all tables as one XLSX, spatial layers as one GeoPackage.

All three aim to be byte-identical across runs on the same inputs:

* PDF - Chromium stamps ``/CreationDate``, ``/ModDate`` and may write an ``/ID``; these are
  rewritten to fixed values of the same byte length, so the cross-reference offsets stay valid;
* XLSX - fixed workbook properties, then :func:`pna.io.normalise_zip`;
* GeoPackage - :func:`pna.io.set_gdal_fixed_date` before writing.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd

from ..io import ensure_dir, normalise_zip, set_gdal_fixed_date, write_csv
from ..progress import info
from .run import RunResults

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
FIXED_DATETIME = dt.datetime(2020, 1, 1, 0, 0, 0)
SHEET_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


# --------------------------------------------------------------------------- PDF
def find_chromium() -> str | None:
    """Path of a Chromium (or Chrome) executable for printing the PDF, or None if there is none."""
    for c in CHROMIUM_CANDIDATES:
        if Path(c).is_file():
            return c
    return shutil.which("chromium") or shutil.which("chromium-browser")


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(D:[^)]*\)")
_PDF_NODE_ID = re.compile(rb"\(node(\d+)\)")
_PDF_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")


def normalise_pdf(data: bytes) -> bytes:
    """Replace creation/modification dates and the document /ID with fixed, same-length values."""
    def fix_date(m: re.Match[bytes]) -> bytes:
        old = m.group(0)
        new = b"/" + m.group(1) + b"(D:20200101000000Z)"
        # keep byte length so xref offsets remain valid
        return new[:len(old)] + b" " * (len(old) - len(new)) if len(new) <= len(old) else old

    def fix_id(m: re.Match[bytes]) -> bytes:
        a, b = m.group(1), m.group(2)
        return m.group(0).replace(a, b"0" * len(a)).replace(b, b"0" * len(b))

    # Tagged-PDF structure elements carry DOM node ids ((node00000077), in /ID and /Headers) that depend on how
    # many nodes the browser created before printing; renumber them by first appearance, same width.
    mapping: dict[bytes, bytes] = {}

    def fix_node(m: re.Match[bytes]) -> bytes:
        digits = m.group(1)
        if digits not in mapping:
            mapping[digits] = str(len(mapping)).zfill(len(digits)).encode()[-len(digits):]
        return b"(node" + mapping[digits] + b")"

    data = _PDF_NODE_ID.sub(fix_node, data)
    return _PDF_ID.sub(fix_id, _PDF_DATE.sub(fix_date, data))


def export_pdf(html_path: Path, pdf_path: Path, timeout_s: float = 180.0) -> tuple[Path | None, str]:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium.

    Returns
    -------
    (path or None, note)
        ``None`` and a plain note when Chromium is not installed or fails.
    """
    exe = find_chromium()
    if exe is None:
        return None, "The PDF was not produced: Chromium is not installed (looked for /usr/bin/chromium)."
    ensure_dir(pdf_path.parent)
    with tempfile.TemporaryDirectory(prefix="pna-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-extensions",
               "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
               f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return None, f"The PDF was not produced: Chromium did not finish within {timeout_s:.0f} s."
    if proc.returncode != 0 or not pdf_path.is_file():
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] if proc.stderr else []
        return None, f"The PDF was not produced: Chromium exited with {proc.returncode} ({' '.join(tail)})."
    pdf_path.write_bytes(normalise_pdf(pdf_path.read_bytes()))
    return pdf_path, ""


# --------------------------------------------------------------------------- XLSX
def sheet_names(names: list[str]) -> dict[str, str]:
    r"""Excel-safe, unique sheet names (<= 31 characters, no ``[]:*?/\``), in the given order."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for n in names:
        base = _BAD_SHEET_CHARS.sub("_", n).strip("'") or "sheet"
        cand = base[:SHEET_MAX]
        k = 2
        while cand.lower() in used:
            suffix = f"~{k}"
            cand = base[:SHEET_MAX - len(suffix)] + suffix
            k += 1
        used.add(cand.lower())
        out[n] = cand
    return out


def _excel_value(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        if np.isnan(f):
            return None
        if np.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if v is pd.NaT:
        return None
    s = str(v)
    # a leading '=' would be read as a formula by spreadsheet software
    return "'" + s if s.startswith(("=", "+", "-", "@")) and not _is_number(s) else s


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def export_xlsx(tables: dict[str, pd.DataFrame], path: Path, title: str = "PNA tables") -> Path:
    """Write every table to one workbook, one sheet per table in name order, deterministically."""
    from openpyxl import Workbook
    from openpyxl.workbook.properties import CalcProperties

    ensure_dir(path.parent)
    wb = Workbook()
    wb.remove(wb.active)
    names = sorted(k for k, v in tables.items() if isinstance(v, pd.DataFrame))
    mapping = sheet_names(names)
    index = wb.create_sheet("contents")
    index.append(["sheet", "table", "rows", "provenance"])
    for name in names:
        df = tables[name].drop(columns="geometry", errors="ignore")
        ws = wb.create_sheet(mapping[name] if mapping[name].lower() != "contents" else "contents~2")
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            ws.append([_excel_value(v) for v in row])
        prov = "; ".join(dict.fromkeys(df["provenance"].astype(str))) if "provenance" in df and len(df) else ""
        index.append([ws.title, name, len(df), prov])
    props = wb.properties
    props.creator = "pna"
    props.lastModifiedBy = "pna"
    props.title = title
    props.created = FIXED_DATETIME
    props.modified = FIXED_DATETIME
    props.lastPrinted = None
    wb.calculation = CalcProperties(fullCalcOnLoad=False)
    wb.save(path)
    _fix_core_dates(path)
    return normalise_zip(path)


_W3CDTF = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _fix_core_dates(path: Path) -> None:
    """Openpyxl stamps docProps/core.xml 'modified' with the save time; fix it."""
    import io
    import zipfile

    with zipfile.ZipFile(path) as zin:
        members = [(i, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info_, data in members:
            if info_.filename == "docProps/core.xml":
                data = _W3CDTF.sub(rb"\g<1>2020-01-01T00:00:00Z\g<2>", data)
            zout.writestr(info_, data)
    path.write_bytes(buf.getvalue())


# --------------------------------------------------------------------------- GeoPackage
def export_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path) -> Path | None:
    """Write every layer to one GeoPackage (EPSG:27700), layers in name order, with a fixed GDAL date."""
    set_gdal_fixed_date()
    import pyogrio

    ensure_dir(path.parent)
    if path.exists():
        path.unlink()
    wrote = False
    for name in sorted(layers):
        g = layers[name]
        if not isinstance(g, gpd.GeoDataFrame) or g.empty or g.geometry.isna().all():
            continue
        g = g.copy()
        if g.crs is not None and g.crs.to_epsg() != 27700:
            g = g.to_crs(27700)
        for c in g.columns:
            if c != g.geometry.name and g[c].dtype == object:
                g[c] = g[c].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        g = g.reset_index(drop=True)
        pyogrio.write_dataframe(g, path, layer=name, driver="GPKG", append=wrote,
                                layer_options={"SPATIAL_INDEX": "NO"})
        wrote = True
    return path if wrote else None


# --------------------------------------------------------------------------- stage
def spatial_layers(run: RunResults) -> dict[str, gpd.GeoDataFrame]:
    """``run.layers`` plus the context's own geometries, each under a stable name.

    The context's geometries are the area, localities, LSOAs, pharmacies, demand points with
    minutes per mode, and isochrones.
    """
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, g in (("area", run.geography.area), ("localities", run.geography.localities),
                    ("lsoa", run.geography.lsoa), ("pharmacies", run.geography.pharmacies)):
        if isinstance(g, gpd.GeoDataFrame) and not g.empty:
            layers[name] = g
    for mode, res in sorted(run.access.results.items()):
        if isinstance(res.demand, gpd.GeoDataFrame) and not res.demand.empty:
            layers[f"demand_{mode}"] = res.demand
        if isinstance(res.isochrones, gpd.GeoDataFrame) and not res.isochrones.empty:
            layers[f"isochrones_{mode}"] = res.isochrones
    layers.update({k: v for k, v in run.layers.items() if isinstance(v, gpd.GeoDataFrame)})
    return layers


@dataclass(frozen=True)
class Exports:
    """Files written by the export stage and plain notes on anything not produced."""

    paths: Mapping[str, Path]
    notes: tuple[str, ...]


def write_tables(tables: Mapping[str, pd.DataFrame], out: Path) -> list[Path]:
    """Every table as CSV under ``out/tables/``; ``exceptions`` also as ``exceptions.csv`` at the top."""
    written = [write_csv(df, out / "tables" / f"{name}.csv") for name, df in sorted(tables.items())]
    if "exceptions" in tables:
        written.append(write_csv(tables["exceptions"], out / "exceptions.csv"))
    return written


def write_exports(run: RunResults, *, tables: Mapping[str, pd.DataFrame], report_html: Path,
                  pdf: bool = True) -> Exports:
    """Write ``report.pdf``, ``tables.xlsx`` and ``layers.gpkg`` under ``cfg.out``.

    Parameters
    ----------
    run
        The stage results (spatial layers).
    tables
        Every output table by name (the stages' and the report's self-check).
    report_html
        The rendered report, printed to PDF.
    pdf
        Also print the PDF (needs Chromium).
    """
    out = run.cfg.out
    paths: dict[str, Path] = {}
    notes: list[str] = []
    info("exports: tables.xlsx")
    paths["xlsx"] = export_xlsx(dict(tables), out / "tables.xlsx", f"PNA tables: {run.cfg.area.name}")
    info("exports: layers.gpkg")
    g = export_gpkg(spatial_layers(run), out / "layers.gpkg")
    if g is not None:
        paths["gpkg"] = g
    else:
        notes.append("No spatial layers were available, so layers.gpkg was not written.")
    if pdf:
        info("exports: report.pdf")
        p, note = export_pdf(report_html, out / "report.pdf")
        if p is not None:
            paths["pdf"] = p
        else:
            notes.append(note)
    return Exports(paths=MappingProxyType(paths), notes=tuple(notes))

"""XLSX, ODS, GeoPackage and PDF exports are complete and byte-identical across runs."""

from __future__ import annotations

import pyogrio
import pytest
from openpyxl import load_workbook

from pna.report.exports import (
    export_gpkg,
    export_xlsx,
    sheet_names,
    spatial_layers,
    write_exports,
)
from pna.report.pdf import normalise_pdf
from pna.report.render import render_report
from tests.report.synthetic import synthetic_context


def test_sheet_names_unique_and_short():
    names = ["coverage_walk", "a" * 40, "a" * 40 + "b", "A" * 31, "bad:/name?[x]"]
    m = sheet_names(names)
    vals = list(m.values())
    assert all(len(v) <= 31 for v in vals)
    assert len({v.lower() for v in vals}) == len(vals)
    assert m["coverage_walk"] == "Access coverage (walking)" and m["bad:/name?[x]"] == "Bad-name(x)"


def test_xlsx_complete_and_byte_identical(tmp_path):
    run = synthetic_context(tmp_path / "ctx")
    tables = {**run.tables, "formula": run.tables["provision"].assign(note="=1+1")}
    a = export_xlsx(tables, tmp_path / "a.xlsx")
    b = export_xlsx({**synthetic_context(tmp_path / "ctx2").tables, "formula": tables["formula"]},
                    tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()
    wb = load_workbook(a, read_only=True)
    names = sheet_names(sorted(tables))
    assert set(names.values()) <= set(wb.sheetnames) and wb.sheetnames[0] == "Contents"
    assert wb.sheetnames[-1] == "Columns"
    rows = list(wb[names["provision"]].iter_rows(values_only=True))
    assert rows[0][:3] == ("Level", "Locality", "Residents") and len(rows) == len(tables["provision"]) + 1
    assert list(wb[names["formula"]].iter_rows(min_row=2, values_only=True))[0][-1] == "'=1+1"
    assert wb.properties.modified.year == 2020


def test_gpkg_layers_and_byte_identical(tmp_path):
    run = synthetic_context(tmp_path / "x")
    # the stages' own extra layer (pharmacies necessary at the gap threshold) is empty here, so not written
    assert set(run.layers) == {"resilience_necessary"} and run.layers["resilience_necessary"].empty
    assert {"area", "localities", "lsoa", "pharmacies", "demand_walk"} <= set(spatial_layers(run))
    a = export_gpkg(spatial_layers(run), tmp_path / "a.gpkg")
    b = export_gpkg(spatial_layers(synthetic_context(tmp_path / "y")), tmp_path / "b.gpkg")
    assert a.read_bytes() == b.read_bytes()
    layers = {name for name, _ in pyogrio.list_layers(a)}
    assert layers == {"area", "localities", "lsoa", "pharmacies", "demand_walk"}
    ph = pyogrio.read_dataframe(a, layer="pharmacies")
    assert len(ph) == 6 and ph.crs.to_epsg() == 27700


def test_normalise_pdf_keeps_length():
    raw = b"%PDF-1.4\n/CreationDate (D:20261124020000+00'00') /ModDate(D:20261124020000+00'00')\n" \
          b"/ID [<0123ABCD><4567EF01>]\n<</ID (node00000077)>> <</Headers [(node00000077) (node00000081)]>>\n%%EOF"
    out = normalise_pdf(raw)
    assert len(out) == len(raw)
    assert b"2026" not in out and b"0123ABCD" not in out and b"D:20200101000000Z" in out
    assert b"<</ID (node00000000)>> <</Headers [(node00000000) (node00000001)]>>" in out


def test_write_exports_notes_missing_chromium(tmp_path, monkeypatch):
    run = synthetic_context(tmp_path / "out")
    report = render_report(run)
    monkeypatch.setattr("pna.report.pdf.find_chromium", lambda: None)
    exports = write_exports(run, tables={**run.tables, **report.tables}, report_html=report.paths["report"])
    paths = exports.paths
    assert "pdf" not in paths and {"xlsx", "ods", "gpkg"} <= set(paths)
    assert paths["ods"].name == "tables.ods" and paths["ods"].is_file()
    assert any("Chromium is not installed" in n for n in exports.notes)


@pytest.mark.e2e
def test_real_leicester_exports_byte_identical(tmp_path, leicester_results):
    run = leicester_results
    x1 = export_xlsx(dict(run.tables), tmp_path / "a.xlsx").read_bytes()
    x2 = export_xlsx(dict(run.tables), tmp_path / "b.xlsx").read_bytes()
    assert x1 == x2
    g1 = export_gpkg(spatial_layers(run), tmp_path / "a.gpkg").read_bytes()
    g2 = export_gpkg(spatial_layers(run), tmp_path / "b.gpkg").read_bytes()
    assert g1 == g2
    wb = load_workbook(tmp_path / "a.xlsx", read_only=True)
    # Contents and Columns besides one sheet per table
    assert len(wb.sheetnames) == len(run.tables) + 2 and all(len(n) <= 31 for n in wb.sheetnames)
    assert {n for n, _ in pyogrio.list_layers(tmp_path / "a.gpkg")} >= {"area", "localities", "lsoa", "pharmacies",
                                                                         "demand_walk"}

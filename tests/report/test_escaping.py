"""Hostile names are escaped everywhere the report and maps show them."""

from __future__ import annotations

import csv
import re

import pytest
from openpyxl import load_workbook

from pna.report.exports import export_xlsx, sheet_names
from pna.report.render import render_report
from tests.report.synthetic import AMP, EVIL, synthetic_context


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    base = tmp_path_factory.mktemp("escaping")
    svc = base / "services.csv"
    # a hostile service name and a hostile consultation answer too
    svc.write_text(f'ods_code,"{EVIL}"\nFA001,yes\nFA002,yes\n', encoding="utf-8")
    cons = base / "consultation.csv"
    # the comments are shown in the consultation report: hostile ones, properly quoted as an export writes them
    rows = [["respondent_type", "area", "purpose", "provision", "needs", "gaps", "conclusions", "comments"],
            ["Member of the public", "North", "Yes", "Yes", "Yes", "No", "Yes", EVIL],
            ["GP practice", "South", "Yes", "Yes", "Yes", "No", "Yes", AMP]]
    with cons.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    run = synthetic_context(base / "out", services=str(svc), consultation=str(cons))
    return run, render_report(run).paths


def test_report_escapes_names(out):
    _, paths = out
    html = paths["report"].read_text(encoding="utf-8")
    # the one script is the report's own (it swaps the static maps for the interactive ones)
    assert EVIL not in html and html.lower().count("<script") == 1
    assert '<script>document.documentElement.className = "js";</script>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert AMP not in html and "Smith &amp; Sons &#34;Chemist&#39;s&#34;" in html
    assert "<b>Low</b>" not in html and "&lt;b&gt;Low&lt;/b&gt;" in html


def test_maps_escape_names(out):
    _, paths = out
    maps = [p for k, p in paths.items() if k.startswith("map_")]
    assert any("service" in str(p) for p in maps)
    seen = 0
    for p in maps:
        text = p.read_text(encoding="utf-8")
        assert EVIL not in text, p.name
        assert "alert(1)</script>" not in text
        # folium writes tooltips into JavaScript template literals: no raw quote/backtick breaks out
        assert AMP not in text
        # escaped as HTML text, or inside folium's JSON (which escapes & again, as \u0026)
        seen += ("&lt;script&gt;alert(1)&lt;/script&gt;" in text
                 or "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;" in text)
        for m in re.finditer(r"bindTooltip\(\s*`(.*?)`", text, re.S):
            assert "<script" not in m.group(1) and "${" not in m.group(1)
    assert seen >= 3


def test_xlsx_keeps_names_as_text(out, tmp_path):
    run, _ = out
    p = export_xlsx(dict(run.tables), tmp_path / "t.xlsx")
    ws = load_workbook(p, read_only=True)[sheet_names(sorted(run.tables))["pharmacies"]]
    names = [r[1] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert EVIL in names and AMP in names

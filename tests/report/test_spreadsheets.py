"""The XLSX and ODS workbooks are readable for Excel users, typed, and byte-identical across writes."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from pna.report.exports import UNREACHABLE, export_ods, export_xlsx, sheet_names
from pna.report.labels import label, table_title

SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
LONG_A = "coverage_public_transport_evening_peak_1"  # 40 characters each, the same title but the last word
LONG_B = "coverage_public_transport_evening_peak_2"
PROJ = "projection_population_by_locality_and_age"


def _tables() -> dict[str, pd.DataFrame]:
    rates = pd.DataFrame({
        "locality": ["North", "South", "East"],
        "ods_code": ["FA001", "12345", "FA003"],
        "pop_65plus": [495, 612, 0],
        "rate_per_10k": [9.0909, np.nan, 2.5],
        "max_minutes": [12.5, np.inf, -np.inf],
        "is_100_hour": [True, False, True],
        "opened": [dt.date(2022, 3, 31), dt.date(2023, 1, 1), None],
        "ods_open_date": ["2021-04-01", None, "2020-12-31"],
        "responses": ["5", "7.5", "n/a"],
        "note": ["=HYPERLINK(\"x\")", "+1 more", "@risk"],
        "provenance": ["ONS (2021)", "ONS (2021)", "NHSBSA (2024)"],
        "geometry": [None, None, None],
    })
    proj = pd.DataFrame({"year": [2025, 2030], "locality": ["North", "North"],
                         "projected_population": [3300.0, 3410.5],
                         "when": pd.to_datetime(["2025-06-30", "2030-06-30"])})
    small = pd.DataFrame({"locality": ["North"], "share_within": [0.5]})
    return {"provision": rates, PROJ: proj, LONG_A: small, LONG_B: small, "not_a_table": "skipped"}  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    d = tmp_path_factory.mktemp("sheets")
    tables = _tables()
    return {
        "tables": tables,
        "xlsx": [export_xlsx(tables, d / f"t{k}.xlsx", "PNA tables: Test") for k in (1, 2)],
        "ods": [export_ods(tables, d / f"t{k}.ods", "PNA tables: Test") for k in (1, 2)],
        "names": sheet_names(sorted(k for k, v in tables.items() if isinstance(v, pd.DataFrame))),
    }


def test_sheet_names_readable_short_unique():
    m = sheet_names([PROJ, LONG_A, LONG_B, "contents", "a" * 40, "a" * 39 + "b", "bad:/name?[x]*"])
    vals = list(m.values())
    assert all(len(v) <= 31 for v in vals) and len({v.lower() for v in vals}) == len(vals)
    assert not any(set(v) & set("[]:*?/\\") for v in vals)
    assert m[PROJ] == "Proj pop by locality & age"  # abbreviated, not cut mid-word
    # the trailing "(...)" that tells sibling tables apart survives the shortening
    assert m[LONG_A] == "Access (transit evening peak 1)" and m[LONG_B] == "Access (transit evening peak 2)"
    assert m["a" * 39 + "b"] == m["a" * 40][:29] + " 2"  # one long word: cut, then numbered
    assert m["contents"] == "Contents 2"  # the workbook's own sheet names are reserved
    # every word of a shortened name is a whole word (or a known abbreviation) of the title
    for name in (PROJ, LONG_A):
        assert all(not w.isalpha() or w.lower() in table_title(name).lower() for w in m[name].split())


def test_xlsx_is_byte_identical(books):
    a, b = books["xlsx"]
    assert a.read_bytes() == b.read_bytes()


def test_xlsx_sheets_headers_and_layout(books):
    wb = load_workbook(books["xlsx"][0])
    names = books["names"]
    assert wb.sheetnames == ["Contents", *names.values(), "Columns"]
    assert all(len(n) <= 31 for n in wb.sheetnames) and len({n.lower() for n in wb.sheetnames}) == len(wb.sheetnames)
    for sheet in names.values():
        ws = wb[sheet]
        header = list(ws[1])
        assert all(c.font.b for c in header) and ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:{header[-1].column_letter}{ws.max_row}"
        assert not any(SNAKE.match(str(c.value)) for c in header), [c.value for c in header]
        assert all(c.alignment.wrap_text for c in header)
        widths = [ws.column_dimensions[c.column_letter].width for c in header]
        assert all(0 < w <= 50 for w in widths)
    ws = wb[names["provision"]]
    heads = [c.value for c in ws[1]]
    assert "Geometry" not in heads and label("rate_per_10k") in heads and label("pop_65plus") in heads


def test_xlsx_cell_types(books):
    ws = load_workbook(books["xlsx"][0])[books["names"]["provision"]]
    cols = {c.value: c.column for c in ws[1]}

    def cells(code):
        return [ws.cell(row=r, column=cols[label(code)]) for r in range(2, 5)]

    assert [c.data_type for c in cells("pop_65plus")] == ["n"] * 3
    rate = cells("rate_per_10k")
    assert rate[0].data_type == "n" and rate[0].value == pytest.approx(9.0909) and rate[1].value is None
    assert [c.value for c in cells("max_minutes")] == [12.5, UNREACHABLE, UNREACHABLE]
    assert [c.value for c in cells("is_100_hour")] == [True, False, True] and cells("is_100_hour")[0].data_type == "b"
    assert [c.value for c in cells("ods_code")] == ["FA001", "12345", "FA003"]  # codes stay text
    assert [c.value for c in cells("responses")] == [5, 7.5, "n/a"]  # numeric text becomes numbers
    assert [c.value for c in cells("note")] == ["'=HYPERLINK(\"x\")", "'+1 more", "'@risk"]
    assert all(c.data_type == "s" for c in cells("note"))
    for code in ("opened", "ods_open_date"):
        d = cells(code)
        assert d[0].is_date and d[0].number_format == "d mmmm yyyy", code
        assert d[0].value.date() in (dt.date(2022, 3, 31), dt.date(2021, 4, 1))
    assert cells("opened")[2].value is None and cells("ods_open_date")[1].value is None


def test_xlsx_contents_and_columns(books):
    wb = load_workbook(books["xlsx"][0])
    names, tables = books["names"], books["tables"]
    contents = wb["Contents"]
    assert contents["A1"].value == "PNA tables: Test" and contents["A1"].font.b
    rows = list(contents.iter_rows(min_row=5, values_only=True))
    assert len(rows) == len(names)
    by_code = {r[2]: r for r in rows}
    assert set(by_code) == set(names)
    assert by_code["provision"][:4] == (names["provision"], table_title("provision"), "provision", 3)
    assert by_code["provision"][4] == "ONS (2021); NHSBSA (2024)" and by_code[PROJ][4] is None
    link = contents.cell(row=5, column=1).hyperlink
    assert link.location == f"'{rows[0][0]}'!A1"
    cols = list(wb["Columns"].iter_rows(values_only=True))
    assert cols[0] == ("Sheet", "Column", "Code name")
    mapping = {(s, h): c for s, h, c in cols[1:]}
    assert mapping[(names["provision"], label("rate_per_10k"))] == "rate_per_10k"
    assert mapping[(names[PROJ], label("projected_population"))] == "projected_population"
    assert len(cols) - 1 == sum(len(tables[n].columns.drop("geometry", errors="ignore")) for n in names)


def test_ods_is_byte_identical_and_valid_zip(books):
    a, b = books["ods"]
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
        assert b"2020-01-01T00:00:00" in z.read("meta.xml")
        content = z.read("content.xml").decode()
    assert 'office:value-type="float"' in content and 'table:display-filter-buttons="true"' in content


def test_ods_values(books):
    sheets = pd.read_excel(books["ods"][0], engine="odf", sheet_name=None)
    names = books["names"]
    assert list(sheets) == ["Contents", *names.values(), "Columns"]
    prov = sheets[names["provision"]]
    assert not any(SNAKE.match(str(c)) for c in prov.columns)
    assert prov[label("pop_65plus")].tolist() == [495, 612, 0]
    assert prov[label("rate_per_10k")].iloc[0] == pytest.approx(9.0909) and pd.isna(prov[label("rate_per_10k")].iloc[1])
    assert prov[label("max_minutes")].tolist()[1:] == [UNREACHABLE, UNREACHABLE]
    assert prov[label("is_100_hour")].tolist() == [True, False, True]
    assert prov[label("ods_code")].tolist() == ["FA001", "12345", "FA003"]
    assert prov[label("opened")].iloc[0] == pd.Timestamp("2022-03-31")
    assert prov[label("note")].iloc[0] == "'=HYPERLINK(\"x\")"
    assert sheets[names[PROJ]][label("when")].iloc[0] == pd.Timestamp("2025-06-30")
    contents = pd.read_excel(books["ods"][0], engine="odf", sheet_name="Contents", header=3)
    assert len(contents) == len(names) and set(contents["Code name"]) == set(names)


def test_number_formats_show_people_whole_and_shares_as_percent(tmp_path):
    df = pd.DataFrame({"locality": ["A"], "population": [78960.38], "share_within": [0.38612],
                       "rate_per_10k": [2.401392], "max_minutes_after": [26.95]})
    p = export_xlsx({"provision": df}, tmp_path / "f.xlsx")
    ws = load_workbook(p)[sheet_names(["provision"])["provision"]]
    fmt = {ws.cell(row=1, column=j).value: ws.cell(row=2, column=j).number_format for j in range(1, 6)}
    assert fmt["Residents"] == "#,##0" and fmt["Share within"] == "0.0%"
    assert fmt["Pharmacies per 10,000 residents"] == "#,##0.0" and fmt["Longest time after closure (minutes)"] == "#,##0"
    assert ws.cell(row=2, column=2).value == 78960.38   # the cell keeps full precision


def test_ods_cells_carry_the_xlsx_number_formats_and_keep_spacing(tmp_path):
    df = pd.DataFrame({"locality": ["  Two  spaces\tand\na break"], "population": [78960.38],
                       "share_within": [0.38612], "rate_per_10k": [2.401392]})
    path = export_ods({"provision": df}, tmp_path / "f.ods")
    with zipfile.ZipFile(path) as z:
        content = z.read("content.xml").decode()
    # shown as the xlsx formats show them; the value keeps full precision
    assert ('table:style-name="ce_N_pct1" office:value-type="percentage" office:value="0.38612">'
            "<text:p>38.6%</text:p>") in content
    assert 'office:value="78960.38"><text:p>78,960</text:p>' in content
    assert 'office:value="2.401392"><text:p>2.4</text:p>' in content
    assert ('<text:p><text:s text:c="2"/>Two<text:s text:c="2"/>spaces<text:tab/>and<text:line-break/>a break'
            "</text:p>") in content
    sheet = pd.read_excel(path, engine="odf", sheet_name=sheet_names(["provision"])["provision"])
    assert sheet[label("share_within")].iloc[0] == pytest.approx(0.38612)
    assert sheet[label("population")].iloc[0] == pytest.approx(78960.38)

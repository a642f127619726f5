"""The published Leicester document as a reader gets it: the A4 PDF, the Word file and the spreadsheet.

Uses the real Leicester run of ``make pna`` (the session fixture ``leicester``).
"""

from __future__ import annotations

import re
import zipfile
from html.parser import HTMLParser

import pytest

from pna.report.render import SECTIONS, code_names

pytestmark = pytest.mark.e2e

A4 = (595.0, 842.0)
MARGIN_PT = 15 / 25.4 * 72   # the PDF's side margin
CODE_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
BODY_MAX_PAGES = 45


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for k, v in attrs:
            if k in ("alt", "title", "aria-label") and v:
                self.parts.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def leaks(text: str, names: set[str]) -> set[str]:
    found = {t for t in CODE_TOKEN.findall(text) if t in names}
    found |= {k for k in names if "." in k and re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", text)}
    return found


@pytest.fixture(scope="module")
def pdf(leicester):
    from pypdf import PdfReader

    _, out = leicester
    return PdfReader(out / "report.pdf")


@pytest.fixture(scope="module")
def pdf_pages(pdf):
    """Each page's text and its text runs as (x of the run's start in points, text), extracted once:
    pypdf takes seconds for the whole document."""
    pages = []
    for page in pdf.pages:
        runs: list[tuple[float, str]] = []

        def visit(text, cm, tm, font, size, runs=runs):
            runs.append((cm[0] * tm[4] + cm[2] * tm[5] + cm[4], text))
        pages.append((page.extract_text(visitor_text=visit), runs))
    return pages


@pytest.fixture(scope="module")
def docx(leicester):
    from docx import Document

    _, out = leicester
    return Document(str(out / "report.docx"))


def _outline(reader) -> list[tuple[str, int]]:
    flat = []

    def walk(items):
        for it in items:
            if isinstance(it, list):
                walk(it)
            else:
                flat.append((it.title, reader.get_destination_page_number(it) + 1))
    walk(reader.outline)
    return flat


def test_pdf_is_a4_numbered_with_bookmarks(pdf):
    for page in pdf.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - A4[0]) < 2 and abs(h - A4[1]) < 2
    n = len(pdf.pages)
    assert f"Page 1 of {n}" in pdf.pages[0].extract_text()
    assert f"Page {n} of {n}" in pdf.pages[-1].extract_text()
    assert "Draft for consultation" in pdf.pages[3].extract_text()
    titles = [t for t, _ in _outline(pdf)]
    from pna.report.render import Section
    for s in SECTIONS:
        assert Section(*s).heading in titles, s


def test_pdf_contents_has_page_numbers_and_body_fits(pdf):
    pages = dict(_outline(pdf))
    start_a = pages["Appendix A: Pharmacies, their hours and services"]
    assert pages["Executive summary"] < pages["1. Introduction and legislative basis"] < start_a
    assert start_a - 1 <= BODY_MAX_PAGES
    contents = next(p.extract_text() for p in pdf.pages[:4] if "Contents" in p.extract_text())
    assert re.search(rf"\b{start_a}\b", contents)


def test_pdf_has_maps_and_no_local_links(pdf):
    from pna.report.render import Section  # noqa: F401

    image_pages = set()
    for i, page in enumerate(pdf.pages):
        res = page.get("/Resources") or {}
        xobj = res.get("/XObject") or {}
        if any(xobj[k].get_object().get("/Subtype") == "/Image" for k in xobj):
            image_pages.add(i)
        for a in page.get("/Annots") or []:
            uri = (a.get_object().get("/A") or {}).get("/URI")
            assert uri is None or not str(uri).startswith("file:"), uri
            assert uri is None or "maps/" not in str(uri), uri
    text = {i: pdf.pages[i].extract_text() for i in image_pages}
    assert any("premises" in t.lower() and "Map 1" in t for t in text.values())
    assert any("walking" in t.lower() and "Map" in t for t in text.values())


def test_pdf_text_stays_inside_the_page(pdf_pages):
    limit = A4[0] - MARGIN_PT + 2
    worst = [(i + 1, round(x), text[:30]) for i, (_, runs) in enumerate(pdf_pages)
             for x, text in runs if text.strip() and x > limit]
    assert sum(len(runs) for _, runs in pdf_pages) > 1000   # the visitor saw the document
    assert not worst, worst[:10]


def test_docx_headings_maps_and_tables(docx, leicester):
    from docx.oxml.ns import qn

    from pna.report.render import Section

    heads = [p.text for p in docx.paragraphs if p.style.name == "Heading 2"]
    for s in SECTIONS:
        assert Section(*s).heading in heads, s
    pics = list(docx.element.body.iter(qn("wp:docPr")))
    assert len(pics) >= 10 and all(d.get("descr") for d in pics)
    assert any(d.get("descr").startswith(("Bar chart", "Line chart", "Grouped bars")) for d in pics)
    assert any("pharmacies" in d.get("descr") and "walking" not in d.get("descr") for d in pics)
    assert any("walking" in d.get("descr").lower() for d in pics)
    for t in docx.tables:
        first = t.rows[0]._tr
        assert first.find(qn("w:trPr")) is not None and first.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
    header = " ".join(p.text for p in docx.sections[0].header.paragraphs)
    assert "Draft for consultation" in header


def test_no_code_names_reach_readers(leicester, pdf_pages, docx):
    from openpyxl import load_workbook

    results, out = leicester
    names = code_names(results.tables)
    assert {"rate_per_10k", "gaps.min_share_covered", "optional.consultation"} <= names
    html = (out / "report.html").read_text(encoding="utf-8")
    assert not leaks(html_text(html), names), "HTML"
    pdf_text = " ".join(text for text, _ in pdf_pages)
    assert not leaks(pdf_text, names), "PDF"
    docx_text = " ".join(p.text for p in docx.paragraphs) + " ".join(
        c.text for t in docx.tables for r in t.rows for c in r.cells)
    assert not leaks(docx_text, names), "Word"
    wb = load_workbook(out / "tables.xlsx", read_only=True)
    heads = " ".join(str(c) for ws in wb.worksheets if ws.title not in ("Columns",)
                     for c in next(ws.iter_rows(max_row=1, values_only=True), ()) if c is not None)
    assert not leaks(heads, names), "XLSX headers"


def test_word_file_is_a_valid_zip_with_fixed_dates(leicester):
    _, out = leicester
    with zipfile.ZipFile(out / "report.docx") as z:
        assert z.testzip() is None
        core = z.read("docProps/core.xml").decode()
    assert "2020-01-01" in core or "2023-12-31" in core

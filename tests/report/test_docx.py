"""The Word export: the report HTML converted to .docx (pna.report.docx_export)."""

from __future__ import annotations

import datetime as dt
import struct
import zipfile
import zlib
from pathlib import Path

import lxml.html
import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Mm

from pna.report.docx_export import (
    CHART_NOTE,
    MAP_NOTE,
    TABLE_TEXT_SMALL,
    TOC_INSTR,
    export_docx,
    html_to_docx,
    iter_headings,
)

TITLE = "Pharmaceutical Needs Assessment: Testshire"
WP_DOCPR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"


def tiny_png(w: int = 4, h: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x00\x5e\xb8" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


SNIPPET = f"""<!DOCTYPE html>
<html lang="en-GB"><head><title>t</title><style>p {{ color: red; }}</style></head>
<body>
<header><p>Site banner, not part of the report</p></header>
<main>
<h1>{TITLE}</h1>
<p class="lede">The assessment as at 2024-03-31.</p>
<nav class="contents"><h2>Contents</h2><ol><li><a href="#intro">Introduction</a></li></ol></nav>
<h2 id="intro">Introduction</h2>
<p>There are <strong>52</strong> pharmacies, <em>roughly</em> <data value="2.1">2.1</data> per 10,000
   residents; see <a href="#t-rates">the table</a> and <a href="https://www.legislation.gov.uk/">the law</a>.</p>
<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>
<script>document.write("never shown")</script>
<ul><li>First point</li><li>Second point<ul><li>Nested point</li></ul></li></ul>
<ol><li>Step one</li><li>Step two</li></ol>
<ol><li>Again one</li></ol>
<h3 id="rates">Rates</h3>
<div class="table-wrap"><table id="t-rates">
<caption>Pharmacies per 10,000 residents</caption>
<thead><tr><th scope="col">Locality</th><th scope="col" class="num">Pharmacies</th><th scope="col" class="num">Rate</th></tr></thead>
<tbody>
<tr><th scope="row">North</th><td class="num"><data value="20">20</data></td><td class="n">2.40</td></tr>
<tr><th scope="row">South</th><td class="num"><data value="9">9</data></td><td>not known</td></tr>
</tbody></table></div>
<figure><figcaption>Chart: pharmacies per 10,000</figcaption>
<svg role="img"><title>Chart title</title><rect width="1" height="1"/></svg>
<img src="charts/rates.png" alt="Bar chart of pharmacies per 10,000 residents by locality"></figure>
<figure class="map"><figcaption>Map 1: premises</figcaption>
<iframe src="maps/premises.html" title="Map"></iframe></figure>
<figure><figcaption>Chart: age structure</figcaption><svg role="img"><title>Age</title></svg></figure>
<h4 id="deep">Detail</h4>
<details><summary>How this was computed</summary><p>By counting.</p></details>
<h2 id="end">Conclusions</h2>
<p>Done.</p>
</main>
<footer><p>Footer, not part of the report</p></footer>
</body></html>
"""


@pytest.fixture()
def base(tmp_path: Path) -> Path:
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "rates.png").write_bytes(tiny_png())
    return tmp_path


@pytest.fixture()
def docx_path(base: Path) -> Path:
    return html_to_docx(SNIPPET, base / "report.docx", base_dir=base, title=TITLE, subtitle="Testshire HWB",
                        status="Draft for consultation")


def near(emu, target) -> bool:
    """Equal to within Word's rounding (lengths are stored in twentieths of a point)."""
    return abs(emu - target) <= 635 * 40


def styled(doc, prefix: str) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith(prefix)]


def test_title_and_headings_in_order(docx_path):
    doc = Document(str(docx_path))
    assert doc.paragraphs[0].style.name == "Title" and doc.paragraphs[0].text == TITLE
    assert styled(doc, "Subtitle") == [("Subtitle", "Testshire HWB")]
    assert styled(doc, "Heading") == [("Heading 2", "Introduction"), ("Heading 3", "Rates"),
                                      ("Heading 4", "Detail"), ("Heading 2", "Conclusions")]
    texts = [p.text for p in doc.paragraphs]
    assert TITLE not in texts[1:], "the h1 repeating the title is dropped"
    assert not any("banner" in t or "Footer, not" in t for t in texts), "only <main> is converted"
    # the contents list is replaced by the TOC field, not copied
    assert "Contents" in texts and not any(p.style.name.startswith("Heading") and p.text == "Contents"
                                           for p in doc.paragraphs)


def test_runs_keep_bold_italic_and_numbers(docx_path):
    doc = Document(str(docx_path))
    p = next(p for p in doc.paragraphs if p.text.startswith("There are"))
    assert p.text == ("There are 52 pharmacies, roughly 2.1 per 10,000 residents; see the table and the law.")
    runs = {r.text: r for r in p.runs}
    assert runs["52"].bold and runs["roughly"].italic and "2.1" in runs
    # internal link to the table's bookmark, external link through a relationship
    anchors = [h.get(qn("w:anchor")) for h in p._p.iter(qn("w:hyperlink"))]
    assert "t_rates" in anchors
    assert any(r.reltype.endswith("/hyperlink") and r.target_ref == "https://www.legislation.gov.uk/"
               for r in doc.part.rels.values())
    assert doc.element.body.find(".//" + qn("w:bookmarkStart")) is not None


def test_lists(docx_path):
    doc = Document(str(docx_path))
    assert [t for _, t in styled(doc, "List Bullet")] == ["First point", "Second point", "Nested point"]
    assert styled(doc, "List Bullet 2") == [("List Bullet 2", "Nested point")]
    numbered = [p for p in doc.paragraphs if p.style.name == "List Number"]
    assert [p.text for p in numbered] == ["Step one", "Step two", "Again one"]
    ids = [p._p.pPr.numPr.numId.val if p._p.pPr.numPr is not None else None for p in numbered]
    assert ids[0] is not None and ids[2] is not None and ids[0] != ids[2], "each <ol> restarts its numbering"


def test_table_header_caption_and_numbers(docx_path):
    doc = Document(str(docx_path))
    assert len(doc.tables) == 1
    t = doc.tables[0]
    assert t.style.name in ("Light Grid Accent 1", "Table Grid")
    assert [c.text for c in t.rows[0].cells] == ["Locality", "Pharmacies", "Rate"]
    assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert all(r._tr.trPr is None or r._tr.trPr.find(qn("w:tblHeader")) is None for r in t.rows[1:])
    cap = t._tbl.getprevious()
    assert cap.tag == qn("w:p") and cap.pPr.pStyle.val == "Caption"
    assert "".join(e.text for e in cap.iter(qn("w:t"))) == "Pharmacies per 10,000 residents"
    north = t.rows[1].cells
    assert north[0].text == "North" and north[0].paragraphs[0].runs[0].bold
    assert north[1].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT  # <data>
    assert north[2].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT  # class "n"
    assert t.rows[2].cells[2].paragraphs[0].alignment is None  # text cell
    assert near(sum(c.width for c in t.columns), Mm(210) - 2 * Cm(2))


def test_pictures_have_alt_text_and_notes(docx_path):
    doc = Document(str(docx_path))
    pics = list(doc.element.body.iter(WP_DOCPR))
    assert len(pics) == 1
    alt = "Bar chart of pharmacies per 10,000 residents by locality"
    assert pics[0].get("descr") == alt and pics[0].get("title") == alt
    assert len(doc.inline_shapes) == 1
    assert [p.content_type for p in doc.part.package.iter_parts() if p.content_type.startswith("image/")] == [
        "image/png"]
    texts = [p.text for p in doc.paragraphs]
    # the svg chart with a PNG fallback gives no note; the map and the svg-only chart do
    assert texts.count(MAP_NOTE) == 1 and texts.count(CHART_NOTE) == 1
    assert [t for _, t in styled(doc, "Caption")] == ["Pharmacies per 10,000 residents", "Chart: pharmacies per 10,000",
                                                      "Map 1: premises", "Chart: age structure"]
    summary = next(p for p in doc.paragraphs if p.text == "How this was computed")
    assert summary.style.name == "Normal" and summary.runs[0].bold


def test_page_setup_header_footer_and_toc(docx_path):
    doc = Document(str(docx_path))
    s = doc.sections[0]
    assert near(s.page_width, Mm(210)) and near(s.page_height, Mm(297)) and s.orientation == WD_ORIENT.PORTRAIT
    assert all(near(m, Cm(2)) for m in (s.left_margin, s.right_margin, s.top_margin, s.bottom_margin))
    header = " ".join(p.text for p in s.header.paragraphs)
    assert TITLE in header and "Draft for consultation" in header
    footer = s.footer.paragraphs[0]
    instr = [e.text.strip() for e in footer._p.iter(qn("w:instrText"))]
    assert instr == ["PAGE", "NUMPAGES"] and footer.text.startswith("Page ") and " of " in footer.text
    body_instr = [e.text.strip() for e in doc.element.body.iter(qn("w:instrText"))]
    assert body_instr[0] == TOC_INSTR == 'TOC \\o "1-3" \\h \\z \\u'
    assert doc.settings.element.find(qn("w:updateFields")) is not None
    # the field's result is pre-filled with the headings of levels 1-3
    assert [p.text for p in doc.paragraphs if p.style.name.startswith("toc")] == [
        "Introduction\t", "Rates\t", "Conclusions\t"]


def test_text_is_escaped(docx_path):
    doc = Document(str(docx_path))
    texts = [p.text for p in doc.paragraphs]
    assert "<script>alert(1)</script> & more" in texts
    assert not any("never shown" in t or "color: red" in t for t in texts)
    xml = zipfile.ZipFile(docx_path).read("word/document.xml").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in xml and "<script>" not in xml


def test_byte_identical_and_fixed_properties(base, docx_path):
    again = html_to_docx(SNIPPET, base / "again.docx", base_dir=base, title=TITLE, subtitle="Testshire HWB",
                         status="Draft for consultation")
    assert docx_path.read_bytes() == again.read_bytes()
    cp = Document(str(docx_path)).core_properties
    assert (cp.author, cp.revision, cp.title, cp.content_status) == ("pna", 1, TITLE, "Draft for consultation")
    assert cp.created == cp.modified == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    names = zipfile.ZipFile(docx_path).namelist()
    assert names[0] == "[Content_Types].xml" and "docProps/thumbnail.jpeg" not in names
    assert {i.date_time for i in zipfile.ZipFile(docx_path).infolist()} == {(2020, 1, 1, 0, 0, 0)}
    later = html_to_docx(SNIPPET, base / "dated.docx", base_dir=base, title=TITLE,
                         created=dt.datetime(2024, 3, 31))
    assert Document(str(later)).core_properties.created == dt.datetime(2024, 3, 31, tzinfo=dt.UTC)


def _table(ncols: int, name: str) -> str:
    head = "".join(f'<th class="num">Column {i}</th>' for i in range(ncols))
    row = "".join(f'<td class="num">{i}</td>' for i in range(ncols))
    return (f'<table id="{name}"><caption>{name}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody><tr>{row}</tr></tbody></table><p>Source: {name}</p>")


def test_wide_tables_small_font_and_landscape(tmp_path):
    html = ("<main><h2>Wide</h2>" + _table(3, "narrow") + _table(9, "wide") + _table(14, "widest")
            + "<h2>After</h2><p>Portrait again.</p></main>")
    doc = Document(str(html_to_docx(html, tmp_path / "w.docx", base_dir=tmp_path, title="T")))
    narrow, wide, widest = doc.tables
    assert narrow.rows[1].cells[0].paragraphs[0].style.name != TABLE_TEXT_SMALL
    assert wide.rows[1].cells[0].paragraphs[0].style.name == TABLE_TEXT_SMALL
    assert widest.rows[1].cells[0].paragraphs[0].style.name == TABLE_TEXT_SMALL
    orient = [s.orientation for s in doc.sections]
    assert orient == [WD_ORIENT.PORTRAIT, WD_ORIENT.LANDSCAPE, WD_ORIENT.PORTRAIT]
    landscape = doc.sections[1]
    assert near(landscape.page_width, Mm(297)) and near(sum(c.width for c in widest.columns), Mm(297) - 2 * Cm(2))
    # the source note stays on the landscape page; the next heading returns to portrait
    paras = doc.paragraphs
    ends = [i for i, p in enumerate(paras) if p._p.pPr is not None and p._p.pPr.sectPr is not None]
    texts = [p.text for p in paras]
    assert texts.index("Source: wide") < ends[0] < texts.index("widest")  # the section ends before its caption
    assert texts.index("Source: widest") < ends[1] < texts.index("After")
    assert all(s.header.is_linked_to_previous for s in doc.sections[1:])


def test_images_outside_base_dir_or_not_raster_are_not_embedded(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(tiny_png())
    base = tmp_path / "out"
    base.mkdir()
    (base / "fake.png").write_text("<svg/>")
    html = ('<main><p><img src="../secret.png" alt="one"> <img src="fake.png" alt="two"> '
            '<img src="https://example.org/x.png" alt="three"></p></main>')
    doc = Document(str(html_to_docx(html, base / "x.docx", base_dir=base, title="T")))
    assert len(doc.inline_shapes) == 0
    assert doc.paragraphs[-1].text == ("[one: see the HTML report] [two: see the HTML report] "
                                       "[three: see the HTML report]")


def test_spans_and_data_uri_image(tmp_path):
    import base64

    uri = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    html = ('<main><table><tr><th>A</th><th colspan="2">B and C</th></tr>'
            '<tr><td rowspan="2">x</td><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>'
            f'<p><img src="{uri}" alt=""></p></main>')
    doc = Document(str(html_to_docx(html, tmp_path / "s.docx", base_dir=tmp_path, title="T")))
    t = doc.tables[0]
    assert len(t.columns) == 3 and t.cell(0, 1).text == t.cell(0, 2).text == "B and C"
    assert t.cell(1, 0).text == t.cell(2, 0).text == "x"
    assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # a first row of <th> is a header
    pics = list(doc.element.body.iter(WP_DOCPR))
    assert len(pics) == 1 and pics[0].get("descr"), "every picture gets alt text, even from alt=''"


# --------------------------------------------------------------------------- the real report
@pytest.mark.e2e
def test_real_leicester_report(leicester, tmp_path):
    _, out = leicester
    html_path = out / "report.html"
    html = html_path.read_text(encoding="utf-8")
    root = lxml.html.document_fromstring(html)
    title = " ".join(root.find(".//h1").text_content().split())
    path = export_docx(html_path, tmp_path / "report.docx", title=title, status="Draft for consultation")
    doc = Document(str(path))
    h2 = [t for level, t in iter_headings(html) if level == 2]
    nav_h2 = [" ".join(e.text_content().split()) for e in root.iterfind(".//nav//h2")]
    assert len(h2) >= 10 and "Contents" in nav_h2 and "Contents" not in h2
    assert h2 == [" ".join(x.split()) for _, x in styled(doc, "Heading 2")]
    printed = [t for t in root.findall(".//main//table")
               if not any("screen-only" in (a.get("class") or "").split() for a in t.iterancestors())]
    assert len(doc.tables) == len(printed) > 20
    for t in doc.tables:
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert list(doc.element.body.iter(qn("w:instrText")))[0].text.strip() == TOC_INSTR
    again = export_docx(html_path, tmp_path / "again.docx", title=title, status="Draft for consultation")
    assert again.read_bytes() == path.read_bytes()

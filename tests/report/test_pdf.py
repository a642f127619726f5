"""The publication PDF (pna.report.pdf): A4, running header and footer, contents with page numbers,
no links to local files, deterministic, printed by Debian's Chromium through Playwright."""

from __future__ import annotations

import asyncio
import io
import re
import threading
from pathlib import Path

import pytest

from pna.report import pdf as pdfmod
from tests.report.conftest import in_ci

pypdf = pytest.importorskip("pypdf")

pytestmark = pytest.mark.browser

TITLE = "Pharmaceutical Needs Assessment: Leicester <&> Rutland"
STATUS = "Draft for consultation"
SECTIONS = {  # id -> heading; each starts a page, so they are on pages 2, 3, 4
    "access": "1. Access to pharmacies",
    "need": "Current and future need for pharmaceutical services across every locality of the area, "
            "with a heading long enough to wrap onto a second line",
    "gaps": "Gaps in provision",
}
WIDE_COLS = 14

HTML = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Screen title</title>
<style>
@page {{ size: A4; }}
section {{ break-before: page; }}
.print-only {{ display: none; }}
nav.contents .toc-page {{ float: right; }}
table.wide {{ border-collapse: collapse; }}
@media print {{
  .print-only {{ display: block; }}
  .screen-only {{ display: none; }}
  table.wide {{ width: 100%; table-layout: fixed; font-size: 6pt; }}
  table.wide th {{ overflow-wrap: anywhere; }}
}}
</style></head>
<body>
<h1>{h1}</h1>
<nav class="contents" aria-label="Contents">
<h2 id="contents-heading">Contents</h2>
<ol>
{entries}
</ol>
</nav>
<p>See the <a href="maps/foo.html">local map page</a>, <a href="tables/t.csv"><em>a table</em></a> and
<a href="https://example.org">an external site</a>, or write to <a href="mailto:pna@example.org">us</a>.</p>
<iframe src="maps/foo.html" title="Interactive map"></iframe>
<p class="print-only">PRINTONLY marker</p>
<p class="screen-only">SCREENONLY marker</p>
<table class="wide"><thead><tr>{cols}</tr></thead><tbody><tr>{cells}</tr></tbody></table>
{sections}
</body></html>
"""


def build_html(folder: Path) -> Path:
    entries = "\n".join(f'<li><a href="#{i}">{h}</a> <span class="toc-page" data-for="{i}"></span></li>'
                        for i, h in SECTIONS.items())
    sections = "\n".join(f'<section><h2 id="{i}">{h}</h2><h3>Findings</h3><p>Text of {i}.</p>'
                         f'<p><a href="#access">Back to access</a></p></section>' for i, h in SECTIONS.items())
    cols = "".join(f"<th>Column{c:02d}heading</th>" for c in range(WIDE_COLS - 1)) + "<th>LASTCOL</th>"
    cells = "".join(f"<td>{c}</td>" for c in range(WIDE_COLS))
    (folder / "maps").mkdir()
    (folder / "maps" / "foo.html").write_text("<!DOCTYPE html><title>map</title><p>MAPFRAME</p>", encoding="utf-8")
    path = folder / "report.html"
    path.write_text(HTML.format(h1="Pharmaceutical Needs Assessment: Leicester &lt;&amp;&gt; Rutland",
                                entries=entries, sections=sections, cols=cols, cells=cells), encoding="utf-8")
    return path


def key(s: str) -> str:
    return re.sub(r"\s+", "", s).casefold()


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = pdfmod.find_chromium()
    if exe is None:
        if in_ci():
            pytest.fail("Chromium not found: run .ci/install-browser.sh (apt-get install chromium)")
        pytest.skip("Chromium not found")
    return exe


@pytest.fixture(scope="module")
def printed(chromium, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """``(html, pdf, html bytes before printing)`` from one export."""
    folder = tmp_path_factory.mktemp("pdf")
    html = build_html(folder)
    before = html.read_bytes()
    path, note = pdfmod.export_pdf(html, folder / "out" / "report.pdf", title=TITLE, status=STATUS, timeout_s=60)
    assert note == "" and path == folder / "out" / "report.pdf"
    return html, path, before


@pytest.fixture(scope="module")
def reader(printed):
    return pypdf.PdfReader(io.BytesIO(printed[1].read_bytes()))


@pytest.fixture(scope="module")
def texts(reader) -> list[str]:
    return [p.extract_text() for p in reader.pages]


def test_pages_are_a4_with_header_and_footer(reader, texts):
    assert len(reader.pages) == 4
    for n, (page, text) in enumerate(zip(reader.pages, texts), start=1):
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2, (n, w, h)
        assert f"Page {n} of 4" in text
        # the title is escaped into the header template, not read as markup
        assert f"{TITLE} \u2014 {STATUS}" in text


def test_header_sits_in_the_top_margin(reader):
    ys = [y for t, _, y in runs(reader.pages[0]) if STATUS in t]
    top_margin = 18 / 25.4 * 72
    assert ys and all(float(reader.pages[0].mediabox.height) - top_margin < y for y in ys)


def test_metadata_title(reader):
    assert reader.metadata.title == TITLE


def test_outline_has_every_section(reader):
    titles: list[str] = []

    def walk(items):
        for it in items:
            walk(it) if isinstance(it, list) else titles.append(key(it.title))

    walk(reader.outline)
    for heading in SECTIONS.values():
        assert key(heading) in titles


def runs(page) -> list[tuple[str, float, float]]:
    """(text, x, y) of each text run drawn on ``page``."""
    out: list[tuple[str, float, float]] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            m = pypdf.mult(tm, cm)
            out.append((text.strip(), m[4], m[5]))

    page.extract_text(visitor_text=visit)
    return out


def test_contents_show_page_numbers(reader, texts):
    drawn = runs(reader.pages[0])
    tops = [next(y for t, _, y in drawn if key(h[:20]) in key(t)) for h in SECTIONS.values()]
    bottoms = [*tops[1:], tops[-1] - 20]
    for n, (heading, top, below) in enumerate(zip(SECTIONS.values(), tops, bottoms), start=2):
        # the number is on one of the entry's lines (floated right by the page's CSS), before the next entry
        numbers = [t for t, _, y in drawn if top + 3 > y > below and re.fullmatch(r"\d+", t)]
        assert numbers == [str(n)], (heading, drawn)
        assert key(heading) in key(texts[n - 1])


def test_page_numbers_from_text_when_outline_lacks_a_target(printed):
    # index -1: not among the outline's headings, so found by the text after the contents
    targets = [{"id": i, "index": -1, "text": h} for i, h in SECTIONS.items()]
    assert pdfmod.toc_pages(printed[1].read_bytes(), [], targets) == {"access": "2", "need": "3", "gaps": "4"}


def test_no_links_to_local_files(reader, texts, printed):
    uris, dests = [], []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            a = annot.get_object()
            if "/A" in a and "/URI" in a["/A"]:
                uris.append(str(a["/A"]["/URI"]))
            elif "/Dest" in a:
                dests.append(str(a["/Dest"]))
    assert not [u for u in uris if u.startswith("file:") or "maps/foo" in u or "t.csv" in u], uris
    assert "https://example.org/" in uris and "mailto:pna@example.org" in uris
    # contents entries and "Back to access" stay internal links (a wrapped link has one box per line)
    assert set(dests) == {f"/{i}" for i in SECTIONS} and dests.count("/access") == 1 + len(SECTIONS)
    # the link text is kept; the iframe's page is not printed
    assert "local map page" in texts[0] and "a table" in texts[0]
    assert "MAPFRAME" not in "".join(texts)
    # the file on disk is untouched
    html, _, before = printed
    assert html.read_bytes() == before


def test_print_css_is_honoured(reader, texts):
    assert "PRINTONLY" in texts[0] and "SCREENONLY" not in texts[0]
    xs = [x for t, x, _ in runs(reader.pages[0]) if "LASTCOL" in t]
    right_margin = 15 / 25.4 * 72
    assert xs and all(x < float(reader.pages[0].mediabox.width) - right_margin for x in xs)


def test_byte_identical_and_works_inside_an_event_loop(printed, tmp_path):
    html, first, _ = printed

    async def again():  # as from Jupyter: Playwright's sync API must not run in this loop's thread
        return pdfmod.export_pdf(html, tmp_path / "again.pdf", title=TITLE, status=STATUS, timeout_s=60)

    # in a thread of its own: the suite's browser fixtures may already hold a loop in this one
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(r=asyncio.run(again())))
    t.start()
    t.join()
    path, note = out["r"]
    assert note == "" and path is not None
    assert path.read_bytes() == first.read_bytes()


def test_missing_chromium_gives_a_note(monkeypatch, tmp_path):
    monkeypatch.setattr(pdfmod, "find_chromium", lambda: None)
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    path, note = pdfmod.export_pdf(html, tmp_path / "r.pdf", title="T")
    assert path is None and "Chromium is not installed" in note
    assert not (tmp_path / "r.pdf").exists()


def test_browser_failure_gives_a_note(monkeypatch, tmp_path):
    monkeypatch.setattr(pdfmod, "find_chromium", lambda: str(tmp_path / "not-a-browser"))
    (tmp_path / "not-a-browser").write_text("", encoding="utf-8")
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>", encoding="utf-8")
    path, note = pdfmod.export_pdf(html, tmp_path / "r.pdf", title="T", timeout_s=30)
    assert path is None and note.startswith("The PDF was not produced: Chromium failed")
    assert not (tmp_path / "r.pdf").exists()


def test_header_template_escapes():
    assert pdfmod.header_template("A <b>&", "").endswith(">A &lt;b&gt;&amp;</div>")
    assert "A \u2014 Draft" in pdfmod.header_template("A", "Draft")
    assert "font-size: 8pt" in pdfmod.header_template("A")

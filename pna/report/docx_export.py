"""The report as a Word document (.docx), converted from the rendered HTML.

Boards adopt the PNA after analysts edit it in Word. The Word file carries the content of
``report.html``: that HTML document (its DOM) is the one model the HTML and the PDF share, so it is
converted element by element rather than rendered a second time from the stage results.

Mapping
-------
* ``h1``..``h6`` -> "Heading 1".."Heading 6" (the navigation pane and the contents field work);
  the caller's ``title`` is the "Title" paragraph, and an ``h1`` repeating it is dropped;
  headings and tables with an ``id`` get a bookmark, so ``<a href="#id">`` stays a link;
* ``p`` -> paragraphs, with ``strong``/``b`` bold, ``em``/``i`` italic, ``code`` monospace,
  ``data`` kept as its text, external links (http, https, mailto) as hyperlinks;
* ``ul``/``ol`` -> "List Bullet"/"List Number" (nested: "... 2", "... 3"); each ``ol`` restarts at 1;
* ``table`` -> a Word table in :data:`TABLE_STYLE`, its ``caption`` a "Caption" paragraph above it,
  the ``thead`` rows (or a first row of ``th``) repeating header rows (``w:tblHeader``), numeric
  cells (class ``n``/``num`` or holding a ``<data>``) right-aligned, row/col spans merged;
* ``figure``/``img`` -> inline pictures from PNG/JPEG files relative to ``base_dir`` (or ``data:``
  URIs), with alt text on every picture (``wp:docPr`` ``descr`` and ``title``); inline SVG charts
  and iframes (interactive maps) become a one-line note, unless the figure has a PNG/JPEG ``img``
  fallback; ``figcaption`` -> "Caption";
* ``nav`` (the HTML contents list) -> a Word ``TOC`` field (Word fills it when the file is opened);
* ``details``/``summary`` -> a bold, heading-less lead paragraph and its content;
* ``script``, ``style``, ``template``, form controls and ``hidden`` elements are skipped.

Wide tables: more than :data:`SMALL_FONT_COLS` columns are set in 8 pt ("Table Text Small"); more
than :data:`LANDSCAPE_COLS` also go in a landscape section, which lasts until the next heading or
narrower table (so the table's source note stays beside it). The small font alone keeps the
narrative flowing on portrait pages for the many 8-12 column tables; the landscape page is kept
for the few very wide ones (18 distance bands, 14 projection years), which 8 pt on 17 cm cannot
hold legibly.

Page: A4 portrait, 2 cm margins; header "title - status"; footer "Page X of Y" (PAGE and NUMPAGES).

Deterministic: core properties have a fixed date (the caller's or :data:`DEFAULT_DATE`), author
"pna", revision 1; the zip is rewritten by :func:`pna.io.normalise_zip` (fixed member dates, fixed
order). All text goes in as text, so markup in the HTML's text stays literal.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import lxml.html
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.image.image import Image as DocxImage
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Emu, Mm, Pt, RGBColor
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml.html import HtmlElement

from ..io import ensure_dir, normalise_zip

DEFAULT_DATE = dt.datetime(2000, 1, 1, 0, 0, 0)
AUTHOR = "pna"
TABLE_STYLE = "Light Grid Accent 1"
FALLBACK_TABLE_STYLE = "Table Grid"
TABLE_TEXT = "Table Text"
TABLE_TEXT_SMALL = "Table Text Small"
SOURCE_TEXT = "Source Text"
SMALL_FONT_COLS = 7
LANDSCAPE_COLS = 12
TOC_INSTR = 'TOC \\o "1-3" \\h \\z \\u'
MAP_NOTE = "Interactive map: see the HTML report."
CHART_NOTE = "Chart: see the HTML report."
CODE_FONT = "Consolas"
PAGE_W, PAGE_H = Mm(210), Mm(297)
MARGIN = Cm(2)
PX_EMU = 9525  # one CSS pixel (1/96 inch) in EMU

_SKIP = frozenset({"script", "style", "template", "head", "title", "meta", "link", "button", "input", "select",
                   "textarea", "option", "object", "embed", "video", "audio", "canvas", "map", "area", "source",
                   "track", "param", "dialog", "hr", "colgroup", "col"})
_BLOCK = frozenset({"html", "body", "main", "div", "section", "article", "aside", "header", "footer", "address",
                    "hgroup", "fieldset", "form", "noscript", "center", "search"})
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_WS = re.compile(r"[ \t\n\r\f]+")  # HTML whitespace only: a no-break space is content
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_LINK_SCHEMES = ("http://", "https://", "mailto:")
# w:settings children that must follow w:updateFields (ECMA-376 CT_Settings order)
_AFTER_UPDATE_FIELDS = ("hdrShapeDefaults", "footnotePr", "endnotePr", "compat", "docVars", "rsids", "mathPr",
                        "attachedSchema", "themeFontLang", "clrSchemeMapping", "doNotIncludeSubdocsInStats",
                        "doNotAutoCompressPictures", "forceUpgrade", "captions", "readModeInkLockDown",
                        "smartTagType", "schemaLibrary", "shapeDefaults", "doNotEmbedSmartTags", "decimalSymbol",
                        "listSeparator")


# --------------------------------------------------------------------------- small helpers
@dataclass(frozen=True)
class _Fmt:
    """Character formatting in force for inline content."""

    bold: bool = False
    italic: bool = False
    code: bool = False
    underline: bool = False
    strike: bool = False
    sup: bool = False
    sub: bool = False
    link: str | None = None  # "#bookmark" or an external URL


@dataclass(frozen=True)
class _Item:
    kind: str  # "t" text, "br" line break, "img" picture
    fmt: _Fmt
    text: str = ""
    el: HtmlElement | None = None


@dataclass
class _Ctx:
    """Where flushed inline content goes and how it is styled."""

    container: Any  # the Document or a table _Cell
    slot: list[Paragraph] = field(default_factory=list)  # an empty paragraph to fill first (a new cell's)
    style: str | None = None
    cont_style: str | None = None  # second and later paragraphs of a list item
    align: Any = None
    list_level: int = 0
    num_id: int | None = None
    used: bool = False  # a paragraph was written for this list item
    in_cell: bool = False
    max_width: int = int(PAGE_W - 2 * MARGIN)
    raster_figure: bool = False  # inside a figure with a PNG/JPEG img: svg/iframe are skipped silently
    caption: str = ""  # the enclosing figure's caption (alt text of last resort)
    noted: list[bool] = field(default_factory=list)  # the figure's note was written


def _clean(text: str) -> str:
    return _BAD_XML.sub("", text)


def _key(text: str) -> str:
    return _WS.sub(" ", text).strip().casefold()


def _tag(el: Any) -> str | None:
    return el.tag.lower() if isinstance(el.tag, str) else None


def _classes(el: HtmlElement) -> set[str]:
    return set((el.get("class") or "").split())


def _hidden(el: HtmlElement) -> bool:
    # "screen-only" marks what the printed document leaves out (map links, keys, interactive maps)
    return (el.get("hidden") is not None or (el.get("aria-hidden") or "").lower() == "true"
            or "screen-only" in (el.get("class") or "").split())


def _text(el: HtmlElement) -> str:
    return _WS.sub(" ", el.text_content()).strip()


def _normalise(items: list[_Item]) -> list[_Item]:
    """Collapse HTML whitespace across runs; drop leading/trailing space. Empty when there is no content."""
    out: list[_Item] = []
    space = True
    for it in items:
        if it.kind == "t":
            t = _WS.sub(" ", _clean(it.text))
            if space and t.startswith(" "):
                t = t[1:]
            if t:
                out.append(replace(it, text=t))
                space = t.endswith(" ")
        elif it.kind == "br":
            _rstrip(out)
            out.append(it)
            space = True
        else:
            out.append(it)
            space = False
    _rstrip(out)
    while out and out[-1].kind == "br":
        out.pop()
    return out if any(it.kind == "img" or (it.kind == "t" and it.text.strip()) for it in out) else []


def _rstrip(out: list[_Item]) -> None:
    while out and out[-1].kind == "t":
        t = out[-1].text.rstrip(" ")
        if t:
            out[-1] = replace(out[-1], text=t)
            return
        out.pop()


def _bookmark_name(html_id: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", html_id)
    if not base[:1].isalpha():
        base = "b_" + base
    base = base[:40]
    name, k = base, 2
    while name.lower() in used:
        suffix = f"_{k}"
        name = base[:40 - len(suffix)] + suffix
        k += 1
    used.add(name.lower())
    return name


def _field_begin(p: Paragraph, instr: str, *, dirty: bool = False) -> None:
    """Append the start of a complex field (begin, instruction, separate) to ``p``; its result follows."""
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    if dirty:
        begin.set(qn("w:dirty"), "true")
    p.add_run()._r.append(begin)
    code = OxmlElement("w:instrText")
    code.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    code.text = f" {instr} "
    p.add_run()._r.append(code)
    sep = OxmlElement("w:fldChar")
    sep.set(qn("w:fldCharType"), "separate")
    p.add_run()._r.append(sep)


def _field_end(p: Paragraph) -> None:
    """Append the end of a complex field to ``p`` (its result may span paragraphs since the begin)."""
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    p.add_run()._r.append(end)


def _field_runs(p: Paragraph, instr: str, placeholder: str, *, dirty: bool = False) -> None:
    """Append a complex field (begin, instruction, separate, placeholder result, end) to ``p``."""
    _field_begin(p, instr, dirty=dirty)
    p.add_run(placeholder)
    _field_end(p)


def _image_bytes(src: str, base_dir: Path) -> bytes | None:
    """PNG or JPEG bytes of ``src`` (a ``data:`` URI or a path inside ``base_dir``), else None."""
    src = src.strip()
    data: bytes | None = None
    if src.startswith("data:"):
        head, _, payload = src.partition(",")
        if ";base64" not in head:
            return None
        try:
            data = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            return None
    elif src and "://" not in src and not src.startswith(("//", "/", "file:", "javascript:")) and ":" not in src:
        rel = unquote(src.split("#", 1)[0].split("?", 1)[0])
        path = (base_dir / rel).resolve()
        if not path.is_relative_to(base_dir) or not path.is_file():
            return None
        data = path.read_bytes()
    if data is None or not (data.startswith(_PNG) or data.startswith(_JPEG)):
        return None
    return data


# --------------------------------------------------------------------------- converter
class _Converter:
    def __init__(self, doc: DocxDocument, root: HtmlElement, base_dir: Path, title: str) -> None:
        self.doc = doc
        self.root = root
        self.base_dir = base_dir.resolve()
        self.title_key = _key(title)
        self.title_dropped = False
        self.toc_done = False
        self.landscape = False
        self.pending: list[_Item] = []
        self.images: dict[str, bytes | None] = {}
        self.rids: dict[str, str] = {}
        self.style_ids: dict[str, str] = {}
        self.bm_next = 0
        used: set[str] = set()
        self.bookmarks: dict[str, str] = {}
        for el in root.iter():
            t = _tag(el)
            if (t in _HEADINGS or t == "table") and el.get("id") and el.get("id") not in self.bookmarks:
                self.bookmarks[el.get("id")] = _bookmark_name(el.get("id"), used)

    # ----------------------------------------------------------------- walking
    def run(self) -> None:
        body = _Ctx(container=self.doc)
        if self.root.find(".//nav") is None:
            self.toc()
        self.children(self.root, body, _Fmt())
        self.flush(body)

    def children(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt) -> None:
        if el.text:
            self.pending.append(_Item("t", fmt, el.text))
        for child in el:
            if _tag(child) is not None:
                self.node(child, ctx, fmt)
            if child.tail:
                self.pending.append(_Item("t", fmt, child.tail))

    def node(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt) -> None:
        t = _tag(el) or ""
        if t in _SKIP or _hidden(el):
            return
        if t == "nav":
            self.flush(ctx)
            if not self.toc_done and not ctx.in_cell:
                self.toc()
        elif t in _HEADINGS:
            self.heading(el, ctx, fmt, _HEADINGS[t])
        elif t == "p":
            self.flush(ctx)
            self.children(el, ctx, fmt)
            # source lines under tables and maps are small print, as in the PDF
            self.flush(ctx, style=SOURCE_TEXT if "source" in _classes(el) and not ctx.in_cell else None)
        elif t in ("ul", "ol"):
            self.list_(el, ctx, fmt)
        elif t == "li":  # an item outside a list: a bullet
            self.flush(ctx)
            self.item(el, self.list_ctx(ctx, ordered=False), fmt)
        elif t == "table":
            self.table(el, ctx)
        elif t == "figure":
            self.figure(el, ctx, fmt)
        elif t in ("figcaption", "caption"):
            self.flush(ctx)
            self.children(el, ctx, fmt)
            self.flush(ctx, style="Caption", keep=True)
        elif t == "img":
            self.pending.append(_Item("img", fmt, el=el))
        elif t in ("iframe", "svg", "math"):
            self.note(ctx, MAP_NOTE if t == "iframe" else CHART_NOTE)
        elif t == "br":
            self.pending.append(_Item("br", fmt))
        elif t == "summary":
            self.flush(ctx)
            self.children(el, ctx, replace(fmt, bold=True))
            self.flush(ctx, keep=True)
        elif t in ("details", "dl"):
            self.flush(ctx)
            self.children(el, ctx, fmt)
            self.flush(ctx)
        elif t == "dt":
            self.flush(ctx)
            self.children(el, ctx, replace(fmt, bold=True))
            self.flush(ctx, keep=True)
        elif t == "dd":
            self.flush(ctx)
            inner = replace(ctx, style="List Continue")
            self.children(el, inner, fmt)
            self.flush(inner)
        elif t == "blockquote":
            self.flush(ctx)
            inner = replace(ctx, style="Quote")
            self.children(el, inner, fmt)
            self.flush(inner)
        elif t == "pre":
            self.flush(ctx)
            self.pre(el, ctx, fmt)
        elif t in _BLOCK:
            self.flush(ctx)
            self.children(el, ctx, fmt)
            self.flush(ctx)
        else:
            self.children(el, ctx, self.inline_fmt(el, t, fmt))

    def inline_fmt(self, el: HtmlElement, t: str, fmt: _Fmt) -> _Fmt:
        if t in ("strong", "b"):
            return replace(fmt, bold=True)
        if t in ("em", "i", "cite", "var", "dfn"):
            return replace(fmt, italic=True)
        if t in ("code", "kbd", "samp", "tt"):
            return replace(fmt, code=True)
        if t in ("u", "ins"):
            return replace(fmt, underline=True)
        if t in ("s", "del", "strike"):
            return replace(fmt, strike=True)
        if t == "sup":
            return replace(fmt, sup=True)
        if t == "sub":
            return replace(fmt, sub=True)
        if t == "a":
            href = (el.get("href") or "").strip()
            if href.startswith("#") and href[1:] in self.bookmarks:
                return replace(fmt, link="#" + self.bookmarks[href[1:]])
            if href.lower().startswith(_LINK_SCHEMES):
                return replace(fmt, link=href)
        return fmt

    # ----------------------------------------------------------------- paragraphs
    def set_style(self, p: Paragraph, style: str) -> None:
        # python-docx scans every style to resolve a name on each assignment (quadratic on a long
        # report); the id is resolved once per name and written directly.
        sid = self.style_ids.get(style)
        if sid is None:
            sid = self.style_ids[style] = self.doc.styles[style].style_id
        p._p.get_or_add_pPr().get_or_add_pStyle().val = sid

    def new_paragraph(self, ctx: _Ctx, style: str | None) -> Paragraph:
        if ctx.slot:
            p = ctx.slot.pop()
        else:
            p = ctx.container.add_paragraph()
        if style:
            self.set_style(p, style)
        if ctx.align is not None:
            p.alignment = ctx.align
        return p

    def flush(self, ctx: _Ctx, *, style: str | None = None, keep: bool = False,
              bookmark: str | None = None) -> Paragraph | None:
        items = _normalise(self.pending)
        self.pending = []
        if not items:
            return None
        own = style is None  # the context's own paragraph (a list item's), not a caption or heading
        if style is None:
            style = ctx.cont_style if ctx.used and ctx.cont_style else ctx.style
        p = self.new_paragraph(ctx, style)
        if own and ctx.num_id is not None and not ctx.used:
            num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_ilvl().val = 0
            num_pr.get_or_add_numId().val = ctx.num_id
        ctx.used = True
        if keep:
            p.paragraph_format.keep_with_next = True
        if bookmark:
            self.bookmark(p, bookmark)
        self.emit(p, items, ctx)
        return p

    def bookmark(self, p: Paragraph, name: str) -> None:
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self.bm_next))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self.bm_next))
        self.bm_next += 1
        p._p.append(start)
        p._p.append(end)  # moved after the runs once they are written, see emit()

    def emit(self, p: Paragraph, items: list[_Item], ctx: _Ctx) -> None:
        ends = p._p.findall(qn("w:bookmarkEnd"))
        for link, group in groupby(items, key=lambda it: it.fmt.link):
            holder = None
            if link:
                holder = OxmlElement("w:hyperlink")
                if link.startswith("#"):
                    holder.set(qn("w:anchor"), link[1:])
                else:
                    if link not in self.rids:
                        self.rids[link] = self.doc.part.relate_to(link, RT.HYPERLINK, is_external=True)
                    holder.set(qn("r:id"), self.rids[link])
                p._p.append(holder)
            for it in group:
                run = p.add_run()
                if it.kind == "t":
                    run.text = it.text
                elif it.kind == "br":
                    run.add_break()
                else:
                    assert it.el is not None
                    self.picture(run, it.el, ctx)
                self.format(run, it.fmt)
                if holder is not None:
                    holder.append(run._r)
        for e in ends:
            p._p.append(e)

    def format(self, run: Run, fmt: _Fmt) -> None:
        f = run.font
        if fmt.bold:
            f.bold = True
        if fmt.italic:
            f.italic = True
        if fmt.underline:
            f.underline = True
        if fmt.strike:
            f.strike = True
        if fmt.sup:
            f.superscript = True
        if fmt.sub:
            f.subscript = True
        if fmt.code:
            f.name = CODE_FONT
        if fmt.link:
            run.style = self.doc.styles["Hyperlink"]

    def note(self, ctx: _Ctx, text: str) -> None:
        if ctx.raster_figure:
            return
        if ctx.noted:
            if ctx.noted[0]:
                return
            ctx.noted[0] = True
        self.flush(ctx)
        self.pending.append(_Item("t", _Fmt(italic=True), text))
        self.flush(ctx)

    def heading(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt, level: int) -> None:
        self.flush(ctx)
        if level == 1 and not self.title_dropped and _key(el.text_content()) == self.title_key:
            self.title_dropped = True
            return
        if ctx.in_cell or ctx.list_level:  # a heading inside a table or list would pollute the contents
            self.children(el, ctx, replace(fmt, bold=True))
            self.flush(ctx, keep=True)
            return
        if self.landscape:
            self.section(landscape=False)
        self.children(el, ctx, fmt)
        self.flush(ctx, style=f"Heading {level}", bookmark=self.bookmarks.get(el.get("id") or ""))

    def pre(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt) -> None:
        lines = _clean(el.text_content()).strip("\n").split("\n")
        p = self.new_paragraph(ctx, ctx.style)
        for i, line in enumerate(lines):
            if i:
                p.add_run().add_break()
            run = p.add_run(line)
            self.format(run, replace(fmt, code=True))

    # ----------------------------------------------------------------- lists
    def list_ctx(self, ctx: _Ctx, *, ordered: bool, start: int = 1) -> _Ctx:
        level = min(ctx.list_level + 1, 3)
        suffix = "" if level == 1 else f" {level}"
        style = ("List Number" if ordered else "List Bullet") + suffix
        cont = "List Continue" if level == 1 else "List Continue 2"
        num_id = self.restart_numbering(style, start) if ordered else None
        return replace(ctx, style=style, cont_style=cont, list_level=level, num_id=num_id, used=False)

    def restart_numbering(self, style: str, start: int) -> int | None:
        """A new numbering instance of ``style``'s list, starting at ``start``."""
        ppr = self.doc.styles[style].element.pPr
        if ppr is None or ppr.numPr is None or ppr.numPr.numId is None:
            return None
        numbering = self.doc.part.numbering_part.element
        base = numbering.num_having_numId(ppr.numPr.numId.val)
        num = numbering.add_num(base.abstractNumId.val)
        num.add_lvlOverride(ilvl=0).add_startOverride(start)
        return int(num.numId)

    def list_(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt) -> None:
        self.flush(ctx)
        ordered = _tag(el) == "ol"
        try:
            start = int(el.get("start") or 1)
        except ValueError:
            start = 1
        proto = self.list_ctx(ctx, ordered=ordered, start=start)
        for child in el:
            t = _tag(child)
            if t is None or t in _SKIP or _hidden(child):
                continue
            item_ctx = replace(proto, used=False)
            if t == "li":
                self.item(child, item_ctx, fmt)
            else:
                self.node(child, item_ctx, fmt)
                self.flush(item_ctx)

    def item(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt) -> None:
        self.children(el, ctx, fmt)
        self.flush(ctx)

    # ----------------------------------------------------------------- figures and pictures
    def figure(self, el: HtmlElement, ctx: _Ctx, fmt: _Fmt) -> None:
        self.flush(ctx)
        raster = any(_tag(img) == "img" and self.image(img.get("src") or "") is not None
                     for img in el.iter("img"))
        cap = next((_text(c) for c in el.iter("figcaption")), "")
        inner = replace(ctx, raster_figure=raster, caption=cap, noted=[False])
        self.children(el, inner, fmt)
        self.flush(inner)

    def image(self, src: str) -> bytes | None:
        if src not in self.images:
            self.images[src] = _image_bytes(src, self.base_dir)
        return self.images[src]

    def picture(self, run: Run, el: HtmlElement, ctx: _Ctx) -> None:
        src = el.get("src") or ""
        alt = _WS.sub(" ", el.get("alt") or el.get("title") or ctx.caption or "").strip()
        data = self.image(src)
        if data is None:
            run.text = f"[{alt or 'Image'}: see the HTML report]"
            run.font.italic = True
            return
        if not alt:
            alt = Path(unquote(src.split("?", 1)[0])).stem.replace("_", " ").replace("-", " ") if not \
                src.startswith("data:") else "Image"
        img = DocxImage.from_blob(data)
        width = img.px_width * PX_EMU
        try:
            width = int(float((el.get("width") or "").removesuffix("px")) * PX_EMU)
        except ValueError:
            pass
        width = max(PX_EMU, min(width, ctx.max_width))
        shape = run.add_picture(io.BytesIO(data), width=Emu(width))
        doc_pr = shape._inline.docPr
        doc_pr.set("descr", _clean(alt))
        doc_pr.set("title", _clean(alt))

    # ----------------------------------------------------------------- tables
    def table(self, el: HtmlElement, ctx: _Ctx) -> None:
        self.flush(ctx)
        caption = None
        rows: list[tuple[HtmlElement, bool]] = []
        for part in el:
            t = _tag(part)
            if t == "caption" and caption is None:
                caption = part
            elif t in ("thead", "tbody", "tfoot"):
                rows += [(tr, t == "thead") for tr in part if _tag(tr) == "tr"]
            elif t == "tr":
                rows.append((part, False))
        grid, ncols = self.layout(rows)
        if not grid or not ncols:
            return
        if not any(h for _, h in rows):  # no thead: a first row of th only is the header
            first = [c for c in rows[0][0] if _tag(c) in ("th", "td")]
            if first and all(_tag(c) == "th" for c in first):
                rows[0] = (rows[0][0], True)
        body = not ctx.in_cell
        if body:
            wide = ncols > LANDSCAPE_COLS
            if wide != self.landscape:
                self.section(landscape=wide)
        if caption is not None:
            self.children(caption, ctx, _Fmt())
        if not self.flush(ctx, style="Caption", keep=True, bookmark=self.bookmarks.get(el.get("id") or "")):
            if body and self.last_is_table():
                self.doc.add_paragraph()  # Word joins adjacent tables
        width = self.text_width() if body else ctx.max_width
        table: Table = ctx.container.add_table(rows=len(rows), cols=ncols)
        style = TABLE_STYLE if TABLE_STYLE in [s.name for s in self.doc.styles] else FALLBACK_TABLE_STYLE
        table.style = self.doc.styles[style]
        first_col = any(next((_tag(c) for c in tr if _tag(c) in ("th", "td")), None) == "th"
                        for tr, head in rows if not head)
        self.table_look(table, first_col)
        text_style = TABLE_TEXT_SMALL if ncols > SMALL_FONT_COLS else TABLE_TEXT
        cells = [list(r.cells) for r in table.rows]
        widths = self.column_widths(grid, ncols, width)
        table.autofit = False
        for j, w in enumerate(widths):
            table.columns[j].width = Emu(w)
        for (_, head), row in zip(rows, table.rows):
            tr_pr = row._tr.get_or_add_trPr()
            tr_pr.append(OxmlElement("w:cantSplit"))
            if head:
                tr_pr.append(OxmlElement("w:tblHeader"))
        for r, c, rs, cs, cel in grid:
            cell: _Cell = cells[r][c]
            if rs > 1 or cs > 1:
                cell = cell.merge(cells[min(r + rs, len(rows)) - 1][c + cs - 1])
            numeric = bool(_classes(cel) & {"n", "num"}) or cel.find(".//data") is not None
            cell.width = Emu(sum(widths[c:c + cs]))
            cctx = _Ctx(container=cell, slot=[cell.paragraphs[0]], style=text_style, in_cell=True,
                        align=WD_ALIGN_PARAGRAPH.RIGHT if numeric else None,
                        max_width=max(PX_EMU, sum(widths[c:c + cs])))
            fmt = _Fmt(bold=_tag(cel) == "th")
            self.children(cel, cctx, fmt)
            self.flush(cctx)
            if cctx.slot:  # an empty cell keeps its paragraph; give it the table style
                self.set_style(cctx.slot[0], text_style)

    @staticmethod
    def column_widths(grid: list[tuple[int, int, int, int, HtmlElement]], ncols: int, width: int) -> list[int]:
        """Column widths (EMU) from the content, so words are not broken ("Pharmacie s").

        Each column gets at least its longest word, then the rest in proportion to its typical text
        length (capped, so one long address column cannot take the whole table).
        """
        longest = [3] * ncols
        total = [0] * ncols
        count = [0] * ncols
        for _, c, _, cs, cel in grid:
            if cs != 1:
                continue
            text = _WS.sub(" ", cel.text_content()).strip()
            words = text.split(" ")
            longest[c] = max(longest[c], *(len(w) for w in words))
            total[c] += len(text)
            count[c] += 1
        weight = [max(float(longest[j]), min(total[j] / max(count[j], 1), 40.0)) for j in range(ncols)]
        scale = width / sum(weight)
        out = [int(w * scale) for w in weight]
        out[-1] += width - sum(out)   # the columns fill the text width exactly
        return out

    @staticmethod
    def layout(rows: list[tuple[HtmlElement, bool]]) -> tuple[list[tuple[int, int, int, int, HtmlElement]], int]:
        """Grid positions (row, col, rowspan, colspan, element) of the cells, and the column count."""
        taken: set[tuple[int, int]] = set()
        grid = []
        ncols = 0

        def span(cel: HtmlElement, attr: str) -> int:
            try:
                return max(1, min(int(cel.get(attr) or 1), 1000))
            except ValueError:
                return 1

        for r, (tr, _) in enumerate(rows):
            c = 0
            for cel in tr:
                if _tag(cel) not in ("th", "td"):
                    continue
                while (r, c) in taken:
                    c += 1
                rs, cs = min(span(cel, "rowspan"), len(rows) - r), span(cel, "colspan")
                for i in range(rs):
                    for j in range(cs):
                        taken.add((r + i, c + j))
                grid.append((r, c, rs, cs, cel))
                c += cs
                ncols = max(ncols, c)
        ncols = max([ncols, *(c + 1 for _, c in taken)]) if taken else 0
        return grid, ncols

    @staticmethod
    def table_look(table: Table, first_col: bool) -> None:
        tbl_pr = table._tbl.tblPr
        look = tbl_pr.find(qn("w:tblLook"))
        if look is None:
            look = OxmlElement("w:tblLook")
            tbl_pr.append(look)
        bits = 0x20 | 0x400 | (0x80 if first_col else 0)
        look.set(qn("w:val"), f"{bits:04X}")
        for name, on in (("firstRow", True), ("lastRow", False), ("firstColumn", first_col),
                         ("lastColumn", False), ("noHBand", False), ("noVBand", True)):
            look.set(qn(f"w:{name}"), "1" if on else "0")

    def last_is_table(self) -> bool:
        body = self.doc.element.body
        kids = [k for k in body if k.tag != qn("w:sectPr")]
        return bool(kids) and kids[-1].tag == qn("w:tbl")

    # ----------------------------------------------------------------- sections and contents
    def text_width(self) -> int:
        s = self.doc.sections[-1]
        return int((s.page_width or PAGE_W) - (s.left_margin or MARGIN) - (s.right_margin or MARGIN))

    def section(self, *, landscape: bool) -> None:
        sec = self.doc.add_section(WD_SECTION.NEW_PAGE)
        _page_setup(sec, landscape=landscape)
        self.landscape = landscape

    def toc_entries(self) -> list[tuple[int, str]]:
        """Headings of levels 1-3 as the document will hold them (title and the HTML contents list left out)."""
        out = []
        title_seen = False
        for el in self.root.iter(*(f"h{i}" for i in (1, 2, 3))):
            if any(_tag(a) in ("nav", "table", "ul", "ol") or _hidden(a) for a in el.iterancestors()) or _hidden(el):
                continue
            text = _WS.sub(" ", el.text_content()).strip()
            if el.tag == "h1" and not title_seen and _key(text) == self.title_key:
                title_seen = True
                continue
            if text:
                out.append((_HEADINGS[el.tag], text))
        return out

    def toc(self) -> None:
        # The field's result is pre-filled with the headings (no page numbers) so the contents read
        # even before Word updates the field; Word asks to update it on opening.
        self.toc_done = True
        self.doc.add_paragraph("Contents", style="TOC Heading")
        entries = self.toc_entries()
        if not entries:
            p = self.doc.add_paragraph()
            _field_runs(p, TOC_INSTR, "Right-click and choose Update Field to show the contents.", dirty=True)
        else:
            paras = [self.doc.add_paragraph(style=f"toc {level}") for level, _ in entries]
            _field_begin(paras[0], TOC_INSTR, dirty=True)
            for p, (_, text) in zip(paras, entries):
                p.add_run(_BAD_XML.sub("", text) + "\t")
            _field_end(paras[-1])
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


# --------------------------------------------------------------------------- document set-up
def _page_setup(sec: Section, *, landscape: bool = False) -> None:
    sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = (PAGE_H, PAGE_W) if landscape else (PAGE_W, PAGE_H)
    sec.top_margin = sec.bottom_margin = sec.left_margin = sec.right_margin = MARGIN
    sec.header_distance = sec.footer_distance = Cm(1)
    sec.gutter = Emu(0)


def _styles(doc: DocxDocument) -> None:
    styles = doc.styles
    names = {s.name for s in styles}
    for name, size in ((TABLE_TEXT, 9), (TABLE_TEXT_SMALL, 8), (SOURCE_TEXT, 7.5)):
        if name not in names:
            st = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            st.base_style = styles["Normal"]
            st.font.size = Pt(size)
            pf = st.paragraph_format
            pf.space_before = pf.space_after = Pt(0)
            pf.line_spacing = 1.0
    for level in (1, 2, 3):
        name = f"toc {level}"
        if name not in names:
            st = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            st.base_style = styles["Normal"]
            st.paragraph_format.left_indent = Cm(0.5 * (level - 1))
            st.paragraph_format.space_after = Pt(2)
            st.paragraph_format.tab_stops.add_tab_stop(Cm(17), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    if "Hyperlink" not in names:
        st = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
        st.font.color.rgb = RGBColor(0x00, 0x5E, 0xB8)
        st.font.underline = True
        st.unhide_when_used = True
    # British English for spelling and grammar
    rpr = styles.element.find(qn("w:docDefaults") + "/" + qn("w:rPrDefault") + "/" + qn("w:rPr"))
    if rpr is not None:
        lang = rpr.find(qn("w:lang"))
        if lang is None:
            lang = OxmlElement("w:lang")
            rpr.append(lang)
        lang.set(qn("w:val"), "en-GB")


def _update_fields_on_open(doc: DocxDocument) -> None:
    settings = doc.settings.element
    if settings.find(qn("w:updateFields")) is not None:
        return
    el = OxmlElement("w:updateFields")
    el.set(qn("w:val"), "true")
    after = {qn(f"w:{n}") for n in _AFTER_UPDATE_FIELDS} | {
        "{http://schemas.openxmlformats.org/schemaLibrary/2006/main}schemaLibrary",
        "{http://schemas.openxmlformats.org/officeDocument/2006/math}mathPr"}
    nxt = next((k for k in settings if k.tag in after), None)
    if nxt is not None:
        nxt.addprevious(el)
    else:
        settings.append(el)


def _header_footer(sec: Section, title: str, status: str) -> None:
    hp = sec.header.paragraphs[0]
    hp.text = _clean(title + (f" \u2014 {status}" if status else ""))
    fp = sec.footer.paragraphs[0]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("Page ")
    _field_runs(fp, "PAGE", "1")
    fp.add_run(" of ")
    _field_runs(fp, "NUMPAGES", "1")


def _properties(doc: DocxDocument, title: str, subtitle: str, status: str, created: dt.datetime) -> None:
    cp = doc.core_properties
    cp.title = _clean(title)[:255]
    cp.subject = _clean(subtitle)[:255]
    cp.content_status = _clean(status)[:255]
    cp.author = cp.last_modified_by = AUTHOR
    cp.comments = cp.keywords = cp.category = ""
    cp.language = "en-GB"
    cp.revision = 1
    cp.created = cp.modified = created
    pkg = doc.part.package
    for rid, rel in list(pkg.rels.items()):  # the template's thumbnail is python-docx's, not this report's
        if rel.reltype == RT.THUMBNAIL:
            pkg.rels.pop(rid)


def _root(html: str) -> HtmlElement:
    doc = lxml.html.document_fromstring(html or "<html><body></body></html>")
    main = doc.find(".//main")
    if main is not None:
        return main
    body = doc.find("body")
    return body if body is not None else doc


def iter_headings(html: str) -> Iterator[tuple[int, str]]:
    """(level, text) of the ``h1``..``h6`` of ``html`` that the Word file turns into headings."""
    for el in _root(html).iter(*_HEADINGS):
        if not any(_tag(a) in ("nav", "table", "li") or _hidden(a) for a in [el, *el.iterancestors()]):
            yield _HEADINGS[_tag(el) or "h1"], _text(el)


# --------------------------------------------------------------------------- API
def html_to_docx(html: str, out_path: Path, *, base_dir: Path, title: str, subtitle: str = "", status: str = "",
                 created: dt.datetime | None = None) -> Path:
    """Convert the report ``html`` to a Word document at ``out_path``; the same input gives the same bytes.

    Parameters
    ----------
    html
        The rendered report (``report.html``). Its ``<main>`` is converted (the whole ``<body>`` when
        there is no ``<main>``).
    out_path
        The ``.docx`` to write (parent folders are created).
    base_dir
        Folder that ``img`` paths are relative to (the HTML file's folder). Files outside it, URLs
        and formats other than PNG/JPEG are not embedded.
    title, subtitle, status
        The document title (a "Title" paragraph, the page header and the core properties), a
        subtitle paragraph, and a status such as "Draft for consultation" (header, core
        ``contentStatus`` and a line under the title).
    created
        Fixed creation/modification date of the core properties; :data:`DEFAULT_DATE` if None.
    """
    doc = Document()
    _styles(doc)
    _page_setup(doc.sections[0])
    _header_footer(doc.sections[0], title, status)
    _update_fields_on_open(doc)
    _properties(doc, title, subtitle, status, created or DEFAULT_DATE)
    doc.add_paragraph(_clean(title), style="Title")
    if subtitle:
        doc.add_paragraph(_clean(subtitle), style="Subtitle")
    if status:
        doc.add_paragraph().add_run(_clean(status)).bold = True
    _Converter(doc, _root(html), Path(base_dir), title).run()
    ensure_dir(Path(out_path).parent)
    doc.save(str(out_path))
    return normalise_zip(Path(out_path))


def export_docx(html_path: Path, docx_path: Path, *, title: str, subtitle: str = "", status: str = "",
                created: dt.datetime | None = None) -> Path:
    """:func:`html_to_docx` of the file ``html_path``, with its images relative to its folder."""
    html_path = Path(html_path)
    return html_to_docx(html_path.read_text(encoding="utf-8"), docx_path, base_dir=html_path.parent,
                        title=title, subtitle=subtitle, status=status, created=created)

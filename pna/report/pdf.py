"""The report as an A4 PDF for publication, printed by headless Chromium driven through Playwright.

Why Chromium through Playwright rather than WeasyPrint
------------------------------------------------------
* it is the engine the accessibility tests already drive (Debian's ``/usr/bin/chromium``), so the
  PDF shows the page those tests check;
* it runs the page's scripts and CSS as browsers do (WeasyPrint runs no JavaScript and implements
  a subset of CSS);
* it writes a tagged PDF (structure tree for screen readers) and an outline (bookmarks from the
  headings), both needed for an accessible publication;
* it needs no system libraries beyond the browser (WeasyPrint needs Pango, HarfBuzz and friends).

What the print does
-------------------
* A4 portrait (``format="A4"``, the CSS ``@page`` size is not preferred), margins 18 mm top and
  bottom, 15 mm at the sides, backgrounds printed, the report's ``@media print`` CSS applied;
* a running header (the title and, if given, the status, e.g. "Draft for consultation") and a
  footer "Page X of Y";
* links to local files (``maps/...``, ``tables/...``) become plain text and ``iframe`` elements
  (interactive maps) are removed, on the loaded page only: the HTML file is not touched.
  Fragment links (``#id``), ``http(s):`` and ``mailto:`` links stay;
* the contents list gets page numbers: each ``<span class="toc-page" data-for="ID">`` is filled
  with the page on which the heading ``#ID`` starts. The page is printed once, the headings are
  found in that PDF (its outline, else its text), the spans filled and the page printed again;
* deterministic: the browser runs offline, and :func:`normalise_pdf` fixes the dates, the /ID and
  the tagged-PDF node ids, so the same HTML gives byte-identical PDFs.
"""

from __future__ import annotations

import html
import io
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-extensions"]
MARGINS = {"top": "18mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
HEADER_STYLE = ("font-family: Arial, Helvetica, sans-serif; font-size: 8pt; color: #212b32; width: 100%; "
                "padding: 0 15mm; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;")
FOOTER_TEMPLATE = ('<div style="font-family: Arial, Helvetica, sans-serif; font-size: 8pt; color: #212b32; '
                   'width: 100%; padding: 0 15mm; text-align: center;">'
                   'Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>')
# at most this many prints: the contents' numbers could (rarely) move the headings they point to
MAX_PASSES = 3
KEY_CHARS = 40


# --------------------------------------------------------------------------- browser and bytes
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
    """Replace creation/modification dates, the document /ID and tagged node ids with fixed, same-length values."""
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


def header_template(title: str, status: str = "") -> str:
    """The running header: the HTML-escaped ``title``, then `` — status`` when ``status`` is given."""
    text = html.escape(title) + (f" \u2014 {html.escape(status)}" if status else "")
    return f'<div style="{HEADER_STYLE}">{text}</div>'


# --------------------------------------------------------------------------- in the page
# Runs on the loaded page (print media): iframes go, lazy images are loaded, local-file links
# become plain text, the document title becomes the PDF's /Title. Returns the rendered headings in
# document order and, for each contents entry, the heading it points to.
_PREPARE_JS = r"""
async (title) => {
  document.title = title;
  for (const f of Array.from(document.querySelectorAll('iframe'))) f.remove();
  const images = Array.from(document.images);
  for (const img of images) if (img.loading === 'lazy') img.loading = 'eager';
  await Promise.all(images.map((img) => img.complete ? null
    : new Promise((done) => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  const SVG = 'http://www.w3.org/2000/svg';
  for (const a of Array.from(document.querySelectorAll('a'))) {
    if (!a.hasAttribute('href') && !a.hasAttribute('xlink:href')) continue;
    const raw = (a.getAttribute('href') ?? a.getAttribute('xlink:href')).trim();
    if (raw.startsWith('#')) continue;
    let protocol = '';
    try { protocol = new URL(raw, document.baseURI).protocol; } catch (e) { protocol = ''; }
    if (['http:', 'https:', 'mailto:'].includes(protocol)) continue;
    const plain = a.namespaceURI === SVG ? document.createElementNS(SVG, 'g') : document.createElement('span');
    while (a.firstChild) plain.appendChild(a.firstChild);
    a.replaceWith(plain);
  }
  const shown = (el) => el.getClientRects().length > 0;
  const headings = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6')).filter(shown);
  const targets = [];
  for (const span of Array.from(document.querySelectorAll('span.toc-page[data-for]'))) {
    if (!span.parentElement || !shown(span.parentElement)) continue;
    const id = span.dataset.for;
    const el = document.getElementById(id);
    if (!el) { targets.push({id: id, index: -1, text: ''}); continue; }
    const h = el.matches('h1, h2, h3, h4, h5, h6') ? el : (el.querySelector('h1, h2, h3, h4, h5, h6') ?? el);
    targets.push({id: id, index: headings.indexOf(h), text: h.innerText});
  }
  return {headings: headings.map((h) => h.innerText), targets: targets};
}
"""

_FILL_JS = r"""
(pages) => {
  for (const span of Array.from(document.querySelectorAll('span.toc-page[data-for]'))) {
    span.textContent = pages[span.dataset.for] ?? '';
  }
}
"""


# --------------------------------------------------------------------------- contents page numbers
def _key(text: str) -> str:
    """Text for matching: NFKC, case-folded, without whitespace or a leading number ("1.", "2.3").

    Whitespace goes because text extraction and the outline drop or add spaces at line breaks.
    """
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).casefold())
    return re.sub(r"^(\d+[.):]?)+", "", s)


def _outline(reader: Any) -> list[tuple[str, int]]:
    """(key of title, 0-based page) of every outline entry, in document order."""
    out: list[tuple[str, int]] = []

    def walk(items: list[Any]) -> None:
        for it in items:
            if isinstance(it, list):
                walk(it)
                continue
            try:
                page = reader.get_destination_page_number(it)
            except Exception:  # a broken destination only loses that entry
                page = None
            if page is not None and page >= 0:
                out.append((_key(str(it.title or "")), page))

    try:
        walk(reader.outline)
    except Exception:  # no usable outline: the text search still works
        return []
    return out


def toc_pages(pdf: bytes, headings: list[str], targets: list[dict[str, Any]]) -> dict[str, str]:
    """1-based page number (as text) of each contents target found in ``pdf``.

    Parameters
    ----------
    pdf
        The printed report.
    headings
        Text of every rendered ``h1``..``h6`` in document order (Chromium's outline lists them so).
    targets
        ``{"id", "index", "text"}``: the target's heading text and its position in ``headings``
        (-1 if the target is not one of them).

    Returns
    -------
    dict
        Target id to page number; targets not found are left out.
    """
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    outline = _outline(reader)
    keys = [_key(h) for h in headings]
    found: dict[str, str] = {}
    missing: list[dict[str, Any]] = []
    for t in targets:
        key, i = _key(str(t["text"])), int(t["index"])
        if not key:
            continue
        # the k-th heading with this text is the k-th outline entry with it
        k = keys[:i].count(key) if i >= 0 else 0
        pages = [p for ok, p in outline if ok == key]
        if i >= 0 and k < len(pages):
            found[str(t["id"])] = str(pages[k] + 1)
        else:
            missing.append(t)
    if missing:
        found.update(_toc_pages_from_text(reader, targets, missing))
    return found


def _toc_pages_from_text(reader: Any, targets: list[dict[str, Any]],
                         missing: list[dict[str, Any]]) -> dict[str, str]:
    """Fallback when the outline lacks a target: the first page after the contents holding its text."""
    texts = [_key(p.extract_text() or "") for p in reader.pages]
    keys = [_key(str(t["text"]))[:KEY_CHARS] for t in targets]
    keys = [k for k in keys if k]
    if not keys:
        return {}
    # the contents run from the first page listing the first entry to the first listing the last
    first = next((n for n, tx in enumerate(texts) if keys[0] in tx), 0)
    last = next((n for n in range(first, len(texts)) if keys[-1] in texts[n]), first)
    found: dict[str, str] = {}
    for t in missing:
        key = _key(str(t["text"]))[:KEY_CHARS]
        if not key:
            continue
        page = next((n for n in range(last + 1, len(texts)) if key in texts[n]), None)
        if page is None and texts[last].count(key) > 1:
            page = last  # the section starts on the contents' last page, below the list
        if page is not None:
            found[str(t["id"])] = str(page + 1)
    return found


# --------------------------------------------------------------------------- printing
def _print(exe: str, html_path: Path, *, title: str, status: str, timeout_s: float) -> bytes:
    """Load the page, prepare it, print it (and again with the contents' page numbers)."""
    from playwright.sync_api import sync_playwright
    from pypdf.errors import PyPdfError

    ms = timeout_s * 1000.0
    options: dict[str, Any] = dict(
        format="A4", margin=MARGINS, print_background=True, prefer_css_page_size=False, tagged=True,
        outline=True, display_header_footer=True, header_template=header_template(title, status),
        footer_template=FOOTER_TEMPLATE)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True, timeout=ms)
        try:
            # offline: the PDF depends on the local files only, and nothing waits on the network
            context = browser.new_context(offline=True, service_workers="block")
            page = context.new_page()
            page.set_default_timeout(ms)
            # print media before loading, so what print CSS hides (lazy map iframes) never loads
            page.emulate_media(media="print")
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.evaluate("() => document.fonts.ready.then(() => true)")
            prepared = page.evaluate(_PREPARE_JS, title)
            pdf = page.pdf(**options)
            targets = prepared["targets"]
            filled: dict[str, str] = {}
            for _ in range(MAX_PASSES - 1):
                if not targets:
                    break
                try:
                    pages = toc_pages(pdf, prepared["headings"], targets)
                except PyPdfError:
                    break  # unreadable for pypdf: publish without the numbers rather than not at all
                if pages == filled:
                    break
                page.evaluate(_FILL_JS, pages)
                filled = pages
                pdf = page.pdf(**options)
            return pdf
        finally:
            browser.close()


def _in_thread(fn: Callable[[], bytes], timeout_s: float) -> Callable[[], bytes]:
    """Start ``fn()`` in a daemon thread of its own; the returned callable waits at most ``timeout_s``.

    Playwright's sync API refuses to run in a thread with a running asyncio loop (Jupyter, or a
    test session that already drives a browser through it). The thread is a daemon so that an
    interrupted run exits at once rather than waiting for Chromium.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["pdf"] = fn()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, name="pna-pdf", daemon=True)
    t.start()
    started = time.monotonic()

    def wait() -> bytes:
        t.join(max(0.0, timeout_s - (time.monotonic() - started)))
        if t.is_alive():
            raise TimeoutError
        if "error" in box:
            raise box["error"]
        return bytes(box["pdf"])

    return wait


def start_pdf(html_path: Path, pdf_path: Path, *, title: str, status: str = "",
              timeout_s: float = 180.0) -> Callable[[], tuple[Path | None, str]]:
    """Start printing ``html_path`` to an A4 PDF at ``pdf_path`` with headless Chromium.

    Chromium works in its own process, so the caller can write other files meanwhile; the
    returned callable waits for the print, writes the file and gives what :func:`export_pdf` gives.

    Parameters
    ----------
    html_path
        The rendered report (its links and iframes are rewritten in the browser only).
    pdf_path
        Where to write the PDF (parent folders are created).
    title
        The running header and the PDF's /Title, e.g. "Pharmaceutical Needs Assessment: Leicester".
    status
        Shown after the title in the header, e.g. "Draft for consultation"; nothing if empty.
    timeout_s
        Give up after this many seconds.

    Returns
    -------
    callable
        Waits and returns ``(pdf_path, "")``, or ``None`` and a plain note when Chromium is not
        installed or printing fails; the file is only written on success.
    """
    exe = find_chromium()
    if exe is None:
        return lambda: (None, "The PDF was not produced: Chromium is not installed (looked for /usr/bin/chromium).")
    try:
        from playwright.sync_api import Error as PlaywrightError
    except ImportError:
        return lambda: (None, "The PDF was not produced: the Python package playwright is not installed.")
    wait = _in_thread(lambda: _print(exe, html_path, title=title, status=status, timeout_s=timeout_s), timeout_s)

    def finish() -> tuple[Path | None, str]:
        try:
            data = wait()
        except TimeoutError:
            return None, f"The PDF was not produced: Chromium did not finish within {timeout_s:.0f} s."
        except (PlaywrightError, OSError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            return None, f"The PDF was not produced: Chromium failed ({first})."
        pdf_path.parent.mkdir(parents=True, exist_ok=True)
        pdf_path.write_bytes(normalise_pdf(data))
        return pdf_path, ""

    return finish


def export_pdf(html_path: Path, pdf_path: Path, *, title: str, status: str = "",
               timeout_s: float = 180.0) -> tuple[Path | None, str]:
    """Print ``html_path`` to an A4 PDF at ``pdf_path`` with headless Chromium, and wait.

    The same as ``start_pdf(...)()`` (see :func:`start_pdf` for the parameters).

    Returns
    -------
    (path or None, note)
        ``(pdf_path, "")``, or ``None`` and a plain note when Chromium is not installed or printing
        fails; the file is only written on success.
    """
    return start_pdf(html_path, pdf_path, title=title, status=status, timeout_s=timeout_s)()

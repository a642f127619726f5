"""Exports: the report as PDF (headless Chromium), all tables as one XLSX and one ODS, spatial layers as one GeoPackage.

All aim to be byte-identical across runs on the same inputs:

* PDF - Chromium stamps ``/CreationDate``, ``/ModDate`` and may write an ``/ID``; these are
  rewritten to fixed values of the same byte length, so the cross-reference offsets stay valid;
* XLSX - fixed workbook properties, then :func:`pna.io.normalise_zip`;
* ODS - fixed dates in meta.xml, then the zip rewritten with fixed dates (``mimetype`` first, stored);
* GeoPackage - :func:`pna.io.set_gdal_fixed_date` before writing.

The spreadsheets are for readers: readable sheet names and headings (:mod:`pna.report.labels`),
with the code names kept on a "Columns" sheet for scripts.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from xml.sax.saxutils import escape as xml_escape

import geopandas as gpd
import numpy as np
import pandas as pd

from ..io import FIXED_ZIP_DATE, ensure_dir, normalise_zip, set_gdal_fixed_date, write_csv
from ..progress import info
from .docx_export import export_docx
from .labels import date_text, label, table_title
from .pdf import start_pdf
from .run import RunResults

FIXED_DATETIME = dt.datetime(2020, 1, 1, 0, 0, 0)
SHEET_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


# --------------------------------------------------------------------------- spreadsheets (XLSX and ODS)
# Both workbooks are written from one model (:func:`_workbook`): a "Contents" sheet, one sheet per table
# under a readable name, and a "Columns" sheet mapping every readable header back to its code name.
CONTENTS_SHEET = "Contents"
COLUMNS_SHEET = "Columns"
UNREACHABLE = "unreachable"
DATE_FORMAT = "d mmmm yyyy"
DATETIME_FORMAT = "d mmmm yyyy hh:mm"
WIDTH_MIN, WIDTH_MAX = 8, 50
CELL_MAX = 32767  # Excel's limit on the characters in one cell
# "History" is reserved by Excel; the other two are this workbook's own sheets
_RESERVED_SHEETS = (CONTENTS_SHEET, COLUMNS_SHEET, "History")
_PHRASES = ((re.compile(r"\bpublic transport\b", re.I), "transit"), (re.compile(r"\s+and\s+", re.I), " & "))
_FILLERS = frozenset({"the", "of", "a", "an"})
_DANGLING = frozenset({"&", "-", "and", "by", "of", "per", "in", "for", "the", "to", "with"})
_ABBREVIATIONS = {
    "population": "pop", "projection": "proj", "projected": "proj", "pharmacies": "pharms", "pharmacy": "pharm",
    "locality": "loc", "localities": "locs", "residents": "res", "deprivation": "depriv", "distance": "dist",
    "threshold": "thresh", "coverage": "cov", "categories": "cats", "category": "cat", "opening": "open",
    "consultation": "consult", "responses": "resp", "services": "svcs", "service": "svc", "provision": "prov",
    "reconciled": "rec", "reconciliation": "rec", "accounting": "acct", "exceptions": "excs",
    "statements": "stmts", "number": "no.", "minutes": "min", "transport": "transp", "boundary": "bdy",
    "estimated": "est", "estimates": "ests", "changes": "chg", "change": "chg", "percentage": "pct",
}
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# purely numeric text; more than 15 digits would lose precision as a spreadsheet number, so stays text
_NUMERIC_TEXT = re.compile(r"^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$")
# identifiers whose digits are not quantities (ODS codes, postcodes, LSOA/MSOA codes, ids)
_CODE_COLUMN = re.compile(r"^(?:record|uprn|lsoa\w*|msoa\w*)$|(?:^|_)(?:code|codes|postcode|id|ids)$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _clean_sheet_text(text: str) -> str:
    r"""``text`` without the characters Excel forbids in sheet names (``[]:*?/\``), spaces collapsed."""
    text = text.replace("[", "(").replace("]", ")").replace("/", "-").replace("\\", "-")
    text = re.sub(r"[:*?]", "", text)
    return " ".join(text.split()).strip("'").strip()


def _fit(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters at word boundaries: phrases, fillers, abbreviations, then words."""
    if len(text) <= limit:
        return text
    for pattern, short in _PHRASES:
        text = pattern.sub(short, text)
    # a trailing "(walking)" is what usually tells sibling tables apart, so it is kept whole if it leaves room
    m = re.match(r"^(.*\S)\s+(\([^()]*\))$", text)
    if m and len(m.group(2)) < limit - 4:
        fitted = _fit_words(m.group(1).split(), m.group(2), limit)
        if len(fitted) <= limit:
            return fitted
    return _fit_words(text.replace("(", "").replace(")", "").split(), "", limit)


def _fit_words(words: list[str], tail: str, limit: int) -> str:
    def joined() -> str:
        return " ".join([*words, tail] if tail else words)

    if len(joined()) > limit:
        words = [w for i, w in enumerate(words) if i == 0 or w.lower() not in _FILLERS]
    for i in sorted(range(len(words)), key=lambda i: -len(words[i])):
        if len(joined()) <= limit:
            break
        short = _ABBREVIATIONS.get(words[i].lower(), "")
        if short:
            words[i] = short[:1].upper() + short[1:] if words[i][:1].isupper() else short
    while len(joined()) > limit and len(words) > 1:
        words.pop()
        while len(words) > 1 and words[-1].lower() in _DANGLING:
            words.pop()
    # a single word longer than the limit has no boundary to cut at
    return joined()[:limit].rstrip() if not tail or len(joined()) <= limit else joined()


def sheet_names(names: Iterable[str]) -> dict[str, str]:
    r"""Readable, Excel-safe, unique sheet names for tables, in the given order.

    Parameters
    ----------
    names
        Table code names (``projection_population_by_locality_age``).

    Returns
    -------
    dict
        Code name -> sheet name: the table's :func:`~pna.report.labels.table_title` without
        ``[]:*?/\``, at most 31 characters (shortened at word boundaries: "public transport" ->
        "transit", "and" -> "&", fillers dropped, long words abbreviated, then trailing words
        dropped), unique case-insensitively by a " 2", " 3"... suffix, and never "Contents",
        "Columns" or "History".
    """
    out: dict[str, str] = {}
    used = {n.lower() for n in _RESERVED_SHEETS}
    for n in names:
        text = _clean_sheet_text(table_title(n)) or "Sheet"
        cand = _fit(text, SHEET_MAX)
        k = 2
        while cand.lower() in used:
            suffix = f" {k}"
            cand = _fit(text, SHEET_MAX - len(suffix)) + suffix
            k += 1
        used.add(cand.lower())
        out[n] = cand
    return out


def _is_code_column(code: str) -> bool:
    return bool(_CODE_COLUMN.search(code.lower()))


def _cell_value(v: object, *, code: bool = False, date: bool = False) -> object:
    """One table value as a spreadsheet value: None, bool, int, float, str, date or datetime.

    NaN/NaT/None are empty; +-inf (an unreachable place's travel time) is the text "unreachable";
    text that is a plain number becomes a number unless the column holds codes (``code``); ISO
    date text becomes a date in a date column (``date``); text that a spreadsheet would read as a
    formula gets a leading apostrophe.
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        return UNREACHABLE if math.isinf(f) else f
    if isinstance(v, (dt.datetime, np.datetime64)):
        ts = pd.Timestamp(v)
        if pd.isna(ts):
            return None
        if ts.tz is not None:
            ts = ts.tz_localize(None)
        d = ts.to_pydatetime().replace(microsecond=0)
        return d.date() if d.time() == dt.time() else d
    if isinstance(v, dt.date):
        return v
    s = _ILLEGAL_XML.sub("", str(v))
    if not code and _NUMERIC_TEXT.match(s):
        return float(s) if "." in s else int(s)
    if date and _ISO_DATE.match(s):
        try:
            return _cell_value(dt.datetime.fromisoformat(s))
        except ValueError:
            pass
    if s.startswith(_FORMULA_START) and not _is_number(s):
        s = "'" + s
    return s[:CELL_MAX]


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _headers(codes: list[str]) -> list[str]:
    """Readable, unique column headers (a second "Opening category" becomes "Opening category (2)")."""
    out: list[str] = []
    seen: set[str] = set()
    for c in codes:
        base = label(c) or c
        head, k = base, 2
        while head.lower() in seen:
            head, k = f"{base} ({k})", k + 1
        seen.add(head.lower())
        out.append(head)
    return out


def _shown_len(v: object) -> int:
    """Roughly how many characters a value takes on screen."""
    if v is None:
        return 0
    if isinstance(v, bool):
        return 5
    if isinstance(v, float):
        return len(f"{v:.10g}")
    if isinstance(v, dt.datetime):
        return 23
    if isinstance(v, dt.date):
        return 17  # "30 September 2022"
    return max((len(line) for line in str(v).splitlines()), default=0)


@dataclass(frozen=True)
class _Sheet:
    """One worksheet: typed cell values by row, the header row (0-based), column widths and links."""

    name: str
    rows: list[list[object]]
    header: int
    widths: list[float]
    links: dict[tuple[int, int], str] = field(default_factory=dict)
    title_row: bool = False
    formats: list[str | None] = field(default_factory=list)


_SHARE = re.compile(r"(^|_)share($|_)")
_PEOPLE_COL = re.compile(r"^(population|pop_|age_\d|imd_q\d|residents$|points_)|_losing$|_beyond$|_relying$|_within$")


def number_format(code: str) -> str | None:
    """The Excel number format of a column: shares as %, people whole, rates and hours to 1 dp.

    Only the display changes; the cell keeps the full value.
    """
    c = code.lower()
    if _SHARE.search(c):
        return "0.0%"
    if "per_10k" in c or "hours" in c or c.endswith("_pct"):
        return "#,##0.0"
    if "minutes" in c:
        return "#,##0"
    if _PEOPLE_COL.search(c):
        return "#,##0"
    return None


def _widths(rows: list[list[object]], header: int) -> list[float]:
    """Column widths (characters) from the content; headers wrap, so only their longest word must fit."""
    body = rows[header:]
    n = max((len(r) for r in body), default=0)
    out: list[float] = []
    for j in range(n):
        head = body[0][j] if j < len(body[0]) else None
        w = 0
        if isinstance(head, str):
            w = max(min(len(head), 20), max((len(x) for x in head.split()), default=0))
        for r in body[1:]:
            if j < len(r):
                w = max(w, _shown_len(r[j]))
        out.append(float(min(max(w + 2, WIDTH_MIN), WIDTH_MAX)))
    return out


def _workbook(tables: Mapping[str, pd.DataFrame], title: str) -> list[_Sheet]:
    """The sheets of both spreadsheets: Contents, one per table (in name order), Columns."""
    names = sorted(k for k, v in tables.items() if isinstance(v, pd.DataFrame))
    mapping = sheet_names(names)
    sheets: list[_Sheet] = []
    contents: list[list[object]] = []
    columns: list[list[object]] = [["Sheet", "Column", "Code name"]]
    for name in names:
        df = tables[name].drop(columns="geometry", errors="ignore")
        codes = [str(c) for c in df.columns]
        heads = [str(_cell_value(h, code=True)) for h in _headers(codes)]
        kinds = [(_is_code_column(c), "date" in c.lower()) for c in codes]
        body: list[list[object]] = [[_cell_value(v, code=k[0], date=k[1]) for v, k in zip(row, kinds)]
                                    for row in df.itertuples(index=False, name=None)]
        rows: list[list[object]] = [list(heads), *body]
        sheet = mapping[name]
        sheets.append(_Sheet(sheet, rows, 0, _widths(rows, 0), formats=[number_format(c) for c in codes]))
        columns += [[sheet, h, _cell_value(c, code=True)] for h, c in zip(heads, codes)]
        prov = ""
        if "provenance" in df.columns and isinstance(df["provenance"], pd.Series):
            prov = "; ".join(dict.fromkeys(str(p) for p in df["provenance"].dropna()))
        contents.append([sheet, table_title(name), _cell_value(name, code=True), len(df),
                         _cell_value(prov, code=True) or None])
    note = ("One sheet per table; click a sheet name to go to it. The Columns sheet gives the code name behind "
            f"every column heading. '{UNREACHABLE}' marks a travel time to no pharmacy at all.")
    head: list[list[object]] = [[_cell_value(title, code=True)], [note], [],
                                ["Sheet", "Table", "Code name", "Rows", "Source"]]
    crows = [*head, *contents]
    links = {(len(head) + i, 0): str(r[0]) for i, r in enumerate(contents)}
    return [_Sheet(CONTENTS_SHEET, crows, len(head) - 1, _widths(crows, len(head) - 1), links, title_row=True),
            *sheets, _Sheet(COLUMNS_SHEET, columns, 0, _widths(columns, 0))]


def _quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def export_xlsx(tables: Mapping[str, pd.DataFrame], path: Path, title: str = "PNA tables") -> Path:
    """Write every table to one Excel workbook, readable and deterministic.

    Parameters
    ----------
    tables
        Output tables by code name; values that are not DataFrames are skipped, ``geometry`` dropped.
    path
        The ``.xlsx`` file to write.
    title
        The workbook title (document properties and the first line of the Contents sheet).

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Sheets: "Contents" (title line, then per table its linked sheet name, title, code name, row
    count and provenance), one sheet per table named by :func:`sheet_names`, and "Columns"
    (sheet, column heading, code name). Each header row is bold, wrapped, frozen and filtered.
    Numbers are numeric cells, booleans TRUE/FALSE, dates real dates shown "d mmmm yyyy", NaN
    empty, +-inf the text "unreachable"; text starting with ``= + - @`` gets a leading apostrophe
    so it is never a formula. Properties and zip dates are fixed, so the same tables give the same bytes.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.properties import CalcProperties
    from openpyxl.worksheet.hyperlink import Hyperlink

    ensure_dir(path.parent)
    wb = Workbook()
    wb.remove(wb.active)
    bold, title_font = Font(bold=True), Font(bold=True, size=14)
    wrap = Alignment(wrap_text=True, vertical="top")
    for sheet in _workbook(tables, title):
        ws = wb.create_sheet(sheet.name)
        for i, row in enumerate(sheet.rows, start=1):
            for j, v in enumerate(row, start=1):
                if v is None:
                    continue
                c = ws.cell(row=i, column=j, value=v)
                if isinstance(v, dt.datetime):
                    c.number_format = DATETIME_FORMAT
                elif isinstance(v, dt.date):
                    c.number_format = DATE_FORMAT
                elif (i > sheet.header + 1 and j <= len(sheet.formats) and sheet.formats[j - 1]
                      and isinstance(v, (int, float)) and not isinstance(v, bool)):
                    c.number_format = sheet.formats[j - 1]
        h = sheet.header + 1
        for c in ws[h]:
            c.font, c.alignment = bold, wrap
        if sheet.title_row:
            ws.cell(row=1, column=1).font = title_font
        for (r, col), target in sheet.links.items():
            c = ws.cell(row=r + 1, column=col + 1)
            c.hyperlink = Hyperlink(ref=c.coordinate, location=f"{_quote_sheet(target)}!A1")
            c.style = "Hyperlink"
        for j, w in enumerate(sheet.widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = w
        ws.freeze_panes = f"A{h + 1}"
        if sheet.widths:
            ws.auto_filter.ref = f"A{h}:{get_column_letter(len(sheet.widths))}{max(len(sheet.rows), h)}"
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
    with zipfile.ZipFile(path) as zin:
        members = [(i, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info_, data in members:
            if info_.filename == "docProps/core.xml":
                data = _W3CDTF.sub(rb"\g<1>2020-01-01T00:00:00Z\g<2>", data)
            zout.writestr(info_, data)
    path.write_bytes(buf.getvalue())


# ODF namespaces used by the parts below (the ones each part's elements need, nothing else).
_ODF_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "dc": "http://purl.org/dc/elements/1.1/",
    "meta": "urn:oasis:names:tc:opendocument:xmlns:meta:1.0",
    "config": "urn:oasis:names:tc:opendocument:xmlns:config:1.0",
    "ooo": "http://openoffice.org/2004/office",
}
_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
# xlsx number format -> (ODS data style name, its XML); the same display as export_xlsx gives.
_ODS_NUMBER_STYLES = {
    "0.0%": ("N_pct1", '<number:percentage-style style:name="N_pct1"><number:number number:decimal-places="1" '
                       'number:min-integer-digits="1"/><number:text>%</number:text></number:percentage-style>'),
    "#,##0.0": ("N_num1", '<number:number-style style:name="N_num1"><number:number number:decimal-places="1" '
                          'number:min-integer-digits="1" number:grouping="true"/></number:number-style>'),
    "#,##0": ("N_num0", '<number:number-style style:name="N_num0"><number:number number:decimal-places="0" '
                        'number:min-integer-digits="1" number:grouping="true"/></number:number-style>'),
}
_ODS_DATE_STYLE = ('<number:date-style style:name="{name}"><number:day number:style="short"/>'
                   '<number:text> </number:text><number:month number:textual="true" number:style="long"/>'
                   '<number:text> </number:text><number:year number:style="long"/>{time}</number:date-style>')
_ODS_TIME = ('<number:text> </number:text><number:hours number:style="long"/><number:text>:</number:text>'
             '<number:minutes number:style="long"/>')
_SPACES = re.compile(r"( {2,}|^ | $|\t|\n)")


def _xml_attr(s: str) -> str:
    return xml_escape(s, {'"': "&quot;"})


def _ods_text(s: str) -> str:
    """Cell text as ODF paragraph content: runs of spaces, tabs and line breaks kept (ODF collapses them)."""
    out: list[str] = []
    pos = 0
    for m in _SPACES.finditer(s):
        out.append(xml_escape(s[pos:m.start()]))
        tok = m.group()
        out.append("<text:tab/>" if tok == "\t" else "<text:line-break/>" if tok == "\n"
                   else f'<text:s text:c="{len(tok)}"/>' if len(tok) > 1 else "<text:s/>")
        pos = m.end()
    out.append(xml_escape(s[pos:]))
    return "".join(out)


def _ods_cell(v: object, style: str | None, number_style: str | None = None) -> str:
    """One ``table:table-cell`` for a typed value (see :func:`_cell_value`)."""
    st = f' table:style-name="{style}"' if style else ""
    if v is None:
        return f"<table:table-cell{st}/>"
    if isinstance(v, bool):
        attrs, text = f'office:value-type="boolean" office:boolean-value="{str(v).lower()}"', str(v).upper()
    elif isinstance(v, (int, float)):
        kind, text = "float", f"{v:.10g}"
        if number_style is not None and not style:
            # the shown text as the style formats it (readers that do not apply styles show this)
            st = f' table:style-name="ce_{number_style}"'
            kind, text = (("percentage", f"{v * 100:,.1f}%") if number_style == "N_pct1"
                          else ("float", f"{v:,.1f}" if number_style == "N_num1" else f"{v:,.0f}"))
        attrs = f'office:value-type="{kind}" office:value="{v!r}"'
    elif isinstance(v, dt.datetime):
        st = st or ' table:style-name="ce_datetime"'
        attrs = f'office:value-type="date" office:date-value="{v.isoformat()}"'
        text = f"{date_text(v.date())} {v:%H:%M}"
    elif isinstance(v, dt.date):
        st = st or ' table:style-name="ce_date"'
        attrs, text = f'office:value-type="date" office:date-value="{v.isoformat()}"', date_text(v)
    else:
        attrs, text = 'office:value-type="string"', str(v)
    return f"<table:table-cell{st} {attrs}><text:p>{_ods_text(text)}</text:p></table:table-cell>"


def _ods_root(tag: str, body: str, *prefixes: str) -> bytes:
    ns = " ".join(f'xmlns:{p}="{_ODF_NS[p]}"' for p in prefixes)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:{tag} {ns} office:version="1.2">{body}'
            f"</office:{tag}>").encode()


def _ods_content(sheets: list[_Sheet]) -> bytes:
    styles = [_ODS_DATE_STYLE.format(name="N_date", time=""), _ODS_DATE_STYLE.format(name="N_datetime", time=_ODS_TIME)]
    styles += [xml for _, xml in _ODS_NUMBER_STYLES.values()]
    styles += [f'<style:style style:name="ce_{n}" style:family="table-cell" style:data-style-name="{n}"/>'
               for n in ("N_date", "N_datetime", *(n for n, _ in _ODS_NUMBER_STYLES.values()))]
    styles.append('<style:style style:name="ce_head" style:family="table-cell"><style:table-cell-properties '
                  'fo:wrap-option="wrap" style:vertical-align="top"/><style:text-properties fo:font-weight="bold"/>'
                  "</style:style>")
    styles.append('<style:style style:name="ce_title" style:family="table-cell"><style:text-properties '
                  'fo:font-weight="bold" fo:font-size="14pt"/></style:style>')
    col_styles: dict[float, str] = {}
    tables: list[str] = []
    ranges: list[str] = []
    for k, sheet in enumerate(sheets):
        parts = [f'<table:table table:name="{_xml_attr(sheet.name)}">']
        for w in sheet.widths:
            if w not in col_styles:
                col_styles[w] = f"co{len(col_styles) + 1}"
                # about 0.2 cm a character at the default 10 pt font
                styles.append(f'<style:style style:name="{col_styles[w]}" style:family="table-column">'
                              f'<style:table-column-properties style:column-width="{w * 0.2 + 0.1:.2f}cm"/>'
                              "</style:style>")
            parts.append(f'<table:table-column table:style-name="{col_styles[w]}"/>')
        formats = [_ODS_NUMBER_STYLES[f][0] if f in _ODS_NUMBER_STYLES else None for f in sheet.formats]
        for i, row in enumerate(sheet.rows):
            style = "ce_head" if i == sheet.header else "ce_title" if sheet.title_row and i == 0 else None
            in_body = i > sheet.header
            parts.append("<table:table-row>")
            for j, v in enumerate(row):
                target = sheet.links.get((i, j))
                if target is not None:
                    href = _xml_attr(f"#{_quote_sheet(target)}.A1")
                    parts.append(f'<table:table-cell office:value-type="string"><text:p><text:a xlink:type="simple" '
                                 f'xlink:href="{href}">{_ods_text(str(v))}</text:a></text:p></table:table-cell>')
                    continue
                parts.append(_ods_cell(v, style, formats[j] if in_body and j < len(formats) else None))
            parts.append("</table:table-row>")
        parts.append("</table:table>")
        tables.append("".join(parts))
        if sheet.widths:
            h = sheet.header + 1
            q = _quote_sheet(sheet.name)
            last = f"{_column_letter(len(sheet.widths))}{max(len(sheet.rows), h)}"
            ranges.append(f'<table:database-range table:name="__Anonymous_Sheet_DB__{k}" '
                          f'table:target-range-address="{_xml_attr(f"{q}.A{h}:{q}.{last}")}" '
                          'table:display-filter-buttons="true"/>')
    body = (f"<office:automatic-styles>{''.join(styles)}</office:automatic-styles><office:body><office:spreadsheet>"
            f"{''.join(tables)}<table:database-ranges>{''.join(ranges)}</table:database-ranges>"
            "</office:spreadsheet></office:body>")
    return _ods_root("document-content", body, "office", "style", "text", "table", "number", "fo", "xlink")


def _ods_settings(sheets: list[_Sheet]) -> bytes:
    def item(name: str, kind: str, value: object) -> str:
        return (f'<config:config-item config:name="{name}" config:type="{kind}">{_xml_attr(str(value))}'
                "</config:config-item>")

    per_table = []
    for sheet in sheets:
        h = sheet.header + 1
        # freeze the rows down to the header
        items = (("HorizontalSplitMode", "short", 0), ("VerticalSplitMode", "short", 2),
                 ("VerticalSplitPosition", "int", h), ("ActiveSplitRange", "short", 2),
                 ("PositionTop", "int", 0), ("PositionBottom", "int", h))
        per_table.append(f'<config:config-item-map-entry config:name="{_xml_attr(sheet.name)}">'
                         + "".join(item(*x) for x in items) + "</config:config-item-map-entry>")
    body = ('<office:settings><config:config-item-set config:name="ooo:view-settings">'
            '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
            + item("ViewId", "string", "view1")
            + '<config:config-item-map-named config:name="Tables">' + "".join(per_table)
            + "</config:config-item-map-named>" + item("ActiveTable", "string", CONTENTS_SHEET)
            + "</config:config-item-map-entry></config:config-item-map-indexed></config:config-item-set>"
            "</office:settings>")
    return _ods_root("document-settings", body, "office", "config", "ooo")


def _column_letter(n: int) -> str:
    """1 -> A, 27 -> AA (spreadsheet column names)."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def export_ods(tables: Mapping[str, pd.DataFrame], path: Path, title: str = "PNA tables") -> Path:
    """Write every table to one OpenDocument spreadsheet with the same content as :func:`export_xlsx`.

    Parameters
    ----------
    tables
        Output tables by code name; values that are not DataFrames are skipped, ``geometry`` dropped.
    path
        The ``.ods`` file to write.
    title
        The document title (meta.xml and the first line of the Contents sheet).

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    The sheets, headings, cell values and number formats are those of :func:`export_xlsx`:
    numbers are ``office:value-type="float"`` (shares ``percentage``), booleans ``boolean``,
    dates ``date`` shown "d mmmm yyyy". Header rows are bold, wrapped, frozen and filtered;
    Contents links to each sheet. The XML is written directly rather than through odfpy, whose
    element tree took seconds for a board's tables; the zip has ``mimetype`` first and stored, and
    fixed dates, so the same tables give the same bytes.
    """
    ensure_dir(path.parent)
    sheets = _workbook(tables, title)
    fixed = FIXED_DATETIME.isoformat()
    meta = _ods_root("document-meta", f"<office:meta><dc:title>{xml_escape(title)}</dc:title>"
                     f"<meta:creation-date>{fixed}</meta:creation-date><dc:date>{fixed}</dc:date>"
                     "<meta:generator>pna</meta:generator></office:meta>", "office", "dc", "meta")
    styles = _ods_root("document-styles", "<office:styles/>", "office", "style")
    manifest = ('<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODS_MIME}"/>'
                + "".join(f'<manifest:file-entry manifest:full-path="{p}" manifest:media-type="text/xml"/>'
                          for p in ("content.xml", "styles.xml", "meta.xml", "settings.xml"))
                + "</manifest:manifest>").encode()
    members = (("mimetype", _ODS_MIME.encode()), ("content.xml", _ods_content(sheets)), ("styles.xml", styles),
               ("meta.xml", meta), ("settings.xml", _ods_settings(sheets)), ("META-INF/manifest.xml", manifest))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zout:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            # ODF: mimetype first and stored, so a reader can sniff the type at a fixed offset
            zi.compress_type = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data)
    path.write_bytes(buf.getvalue())
    return path


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


def _document_datetime(run: RunResults) -> dt.datetime:
    """The Word file's fixed creation date: the publication date (default: as at), so runs are identical."""
    d = run.cfg.document.publication_date or run.cfg.as_at
    return dt.datetime(d.year, d.month, d.day)


def write_exports(run: RunResults, *, tables: Mapping[str, pd.DataFrame], report_html: Path,
                  pdf: bool = True) -> Exports:
    """Write ``report.pdf``, ``tables.xlsx``, ``tables.ods`` and ``layers.gpkg`` under ``cfg.out``.

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
    book_title = f"PNA tables: {run.cfg.area.name}"
    doc = run.cfg.document
    title = f"Pharmaceutical Needs Assessment: {run.cfg.area.name}"
    # Chromium prints in its own process, mostly while this one waits: start it first and write
    # the spreadsheets and the Word file meanwhile (they read nothing the PDF writes).
    printing = None
    if pdf:
        info("exports: report.pdf (printing while the other files are written)")
        printing = start_pdf(report_html, out / "report.pdf", title=title, status=doc.status_text())
    info("exports: tables.xlsx")
    paths["xlsx"] = export_xlsx(tables, out / "tables.xlsx", book_title)
    info("exports: tables.ods")
    paths["ods"] = export_ods(tables, out / "tables.ods", book_title)
    info("exports: layers.gpkg")
    g = export_gpkg(spatial_layers(run), out / "layers.gpkg")
    if g is not None:
        paths["gpkg"] = g
    else:
        notes.append("No spatial layers were available, so layers.gpkg was not written.")
    info("exports: report.docx")
    paths["docx"] = export_docx(report_html, out / "report.docx", title=title,
                                subtitle=doc.board_name or f"{run.cfg.area.name} Health and Wellbeing Board",
                                status=doc.status_text(), created=_document_datetime(run))
    if printing is not None:
        p, note = printing()
        if p is not None:
            paths["pdf"] = p
        else:
            notes.append(note)
    return Exports(paths=MappingProxyType(paths), notes=tuple(notes))

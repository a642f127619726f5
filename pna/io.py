"""Deterministic writers (the same inputs give byte-identical files), and line-exact CSV reading."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from .errors import InputError

FIXED_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
FIXED_ISO_DATE = "2020-01-01T00:00:00Z"


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing and return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_csv(df: pd.DataFrame, path: Path, float_format: str = "%.10g") -> Path:
    """Write a CSV with fixed float formatting and Unix line endings (opens in Excel)."""
    ensure_dir(path.parent)
    data = df.drop(columns="geometry", errors="ignore")
    data.to_csv(path, index=False, lineterminator="\n", float_format=float_format, encoding="utf-8")
    return path


def write_json(obj: Any, path: Path) -> Path:
    """Write ``obj`` as indented JSON with sorted keys, so the same object gives the same bytes."""
    ensure_dir(path.parent)
    path.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    return path


def write_text(text: str, path: Path) -> Path:
    """Write ``text`` as UTF-8 with Unix line endings."""
    ensure_dir(path.parent)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def stable_ids(html: str) -> str:
    """Replace folium's random uuid4 element ids with ids numbered by first appearance."""
    mapping: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        key = m.group(0)
        if key not in mapping:
            mapping[key] = f"{len(mapping):032x}"
        return mapping[key]

    return _HEX_ID.sub(repl, html)


def normalise_zip(path: Path) -> Path:
    """Rewrite a zip-based file (XLSX) with fixed member dates and order, for byte-identical runs."""
    with zipfile.ZipFile(path) as zin:
        members = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    path.write_bytes(buf.getvalue())
    return path


def gdal_fixed_date_env() -> dict[str, str]:
    """GDAL config that stamps GeoPackages with a fixed date instead of now."""
    return {"OGR_CURRENT_DATE": FIXED_ISO_DATE}


def set_gdal_fixed_date() -> None:
    """Apply :func:`gdal_fixed_date_env` to this process's environment."""
    os.environ.update(gdal_fixed_date_env())


# --------------------------------------------------------------------------- line-exact CSV reading
#: Reason given to a last row that the end of the file cuts short.
ENDS_MID_ROW = "the file ends mid-row (truncated?)"
#: Reason given to a data line with no text on it (empty, or only spaces and commas).
BLANK_LINE = "blank line"
#: The ``field`` of a quality-log entry about a whole file rather than one of its rows.
FILE_FIELD = "(whole file)"

_BOM = b"\xef\xbb\xbf"


def is_blank(fields: list[str]) -> bool:
    """True for a record with no text in any field: an empty line, or only spaces and commas."""
    return not any(f.strip() for f in fields)


@dataclass(frozen=True)
class CsvText:
    """A CSV file read as exactly one record per physical line (:func:`read_csv_text`).

    Attributes
    ----------
    path
        The file.
    header
        The header's fields, or None for a file without a header row.
    header_line
        The header's line (1 unless blank lines precede it); 0 without a header.
    physical_lines
        The data lines counted from the bytes alone: newlines, plus one for a last line without
        a newline, less the header and any lines above it. Always ``len(records)``.
    ends_mid_row
        The file ends, without a final newline, inside its last record: fewer fields than
        ``width``, an open quote, or a character cut in two.
    width
        The fields a row should have: the header's, or as given for a file without a header.
    text_lines
        Every physical line of the file as text (without its line ending), header included.
    shapes
        ``(fields, blank)`` of each data line.
    parsed
        The fields of each data line where the file has quotes; else None (split on demand).
    """

    path: Path
    header: list[str] | None
    header_line: int
    physical_lines: int
    ends_mid_row: bool
    width: int | None
    text_lines: list[str]
    shapes: list[tuple[int, bool]]
    parsed: list[list[str]] | None

    @cached_property
    def records(self) -> list[list[str]]:
        """The fields of each physical line after the header (blank ones too): line ``header_line + 1 + i``."""
        if self.parsed is not None:
            return self.parsed
        return [ln.split(",") if ln else [] for ln in self.text_lines[self.header_line:]]

    @property
    def rows_in(self) -> int:
        """The data lines of the file, for row accounting (blank and broken lines included)."""
        return self.physical_lines

    def line(self, i: int) -> int:
        """The 1-based line of ``records[i]``."""
        return self.header_line + 1 + i

    @property
    def lines(self) -> np.ndarray:
        """The 1-based line of each record."""
        return np.arange(self.header_line + 1, self.header_line + 1 + len(self.shapes), dtype=np.int64)

    @property
    def columns(self) -> list[Any]:
        """Names for a table of the rows: the header's (repeats get ``.1``, ``.2``, as in pandas), or ``0..width-1``."""
        return _unique_names(self.header) if self.header is not None else list(range(self.width or 0))

    def widths(self) -> set[int]:
        """The field counts of the non-blank data lines."""
        return {n for n, blank in self.shapes if not blank}

    def problem(self, i: int) -> str | None:
        """Why ``records[i]`` cannot be a row (cut short by the file's end, blank, wrong width), or None."""
        n, blank = self.shapes[i]
        if self.ends_mid_row and i == len(self.shapes) - 1:
            return ENDS_MID_ROW + (f": {n} of {self.width} fields" if self.width else "")
        if blank:
            return BLANK_LINE
        if self.width is not None and n != self.width:
            return f"expected {self.width} fields, found {n}"
        return None

    def rows(self) -> tuple[list[list[str]], dict[int, str]]:
        """Every data line as a row, for loaders that quarantine.

        Returns
        -------
        (rows, problems)
            One list of fields per data line, in file order (``width`` empty strings in place of
            a line that cannot be a row); and, by line, why each such line cannot.
        """
        blank = [""] * (self.width or 0)
        out: list[list[str]] = []
        problems: dict[int, str] = {}
        for i, fields in enumerate(self.records):
            why = self.problem(i)
            if why is None:
                out.append(fields)
            else:
                out.append(blank)
                problems[self.line(i)] = why
        return out, problems

    def frame(self, **read_csv: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """The non-blank data lines as a table, for loaders that stop at a bad row.

        The lines are checked first, so :func:`pandas.read_csv` (fast at numbers) then sees one
        record per line, each of the header's width, and its rows match the lines one to one.

        Parameters
        ----------
        **read_csv
            Passed to :func:`pandas.read_csv` (default: every column text, empty cells ``""``).

        Returns
        -------
        (DataFrame, ndarray)
            The table (a repeated header name gets ``.1``, ``.2``), and each row's line.

        Raises
        ------
        InputError
            At the first line of the wrong width, or a last line the end of the file cuts short.
        """
        last = len(self.shapes) - 1
        for i, (n, blank) in enumerate(self.shapes):
            if (not blank and n != self.width) or (i == last and self.ends_mid_row):
                raise InputError(self.path, str(self.problem(i)), row=self.line(i))
        body = self.text_lines[self.header_line:]
        keep = [ln for ln, (_, blank) in zip(body, self.shapes) if not blank]
        lines = [self.line(i) for i, (_, blank) in enumerate(self.shapes) if not blank]
        kw: dict[str, Any] = {"dtype": str, "keep_default_na": False, **read_csv}
        if self.header is None:
            if not keep:
                return pd.DataFrame({n: pd.Series([], dtype=object) for n in self.columns}), np.zeros(0, np.int64)
            kw["header"] = None
        else:
            keep.insert(0, self.text_lines[self.header_line - 1])
        df = pd.read_csv(io.StringIO("\n".join(keep) + "\n"), **kw)
        if len(df) != len(lines):  # cannot happen once the lines are checked; the line numbers rely on it
            raise InputError(self.path, f"{len(df)} rows read from {len(lines)} lines")
        return df, np.asarray(lines, dtype=np.int64)

    def file_flags(self, *, min_lines: int | None = None, national_lines: int | None = None) -> list[str]:
        """What is wrong with the file as a whole, for the quality log (each a flag, not an error).

        Parameters
        ----------
        min_lines
            Fewer data lines than this is not plausible for the file (a national one).
        national_lines
            About how many data lines a whole file has, quoted in the flag.

        Returns
        -------
        list of str
            The file ending mid-row, and being much shorter than ``min_lines``.
        """
        flags = []
        if self.ends_mid_row:
            flags.append(f"{ENDS_MID_ROW}: its last line, {self.line(len(self.shapes) - 1)}, is cut short, "
                         "so any rows after it are missing")
        if min_lines is not None and self.rows_in < min_lines:
            whole = f"a whole one has about {national_lines:,}" if national_lines else f"fewer than {min_lines:,}"
            flags.append(f"{self.rows_in:,} data lines, much shorter than a national file: truncated? ({whole})")
        return flags


def read_csv_text(path: str | os.PathLike[str], *, header: bool = True, width: int | None = None) -> CsvText:
    """Read a UTF-8 CSV (BOM optional; LF or CRLF) as exactly one record per physical line.

    The physical lines are counted from the bytes, independently of the CSV parser, and must
    equal the records it reads, so no line can vanish into another record. No input of this
    pipeline has line breaks inside quoted fields (none of the shared files does), so a quote
    left open at the end of a line is an error: a stray quote would otherwise swallow the
    lines after it, unseen.

    Parameters
    ----------
    path
        The file.
    header
        Whether the first non-blank line is a header row.
    width
        The fields a row should have when there is no header (the header's count otherwise).

    Returns
    -------
    CsvText
        With ``header`` None and no records if ``header`` is asked for and the file has no
        non-blank line.

    Raises
    ------
    InputError
        If the file is missing or not UTF-8, a quote opened on a line is not closed on it
        (naming the line, the field and the lines swallowed), or a carriage return stands
        alone inside a line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    raw = path.read_bytes()
    text, cut_in_char = _decode(path, raw)
    lines = text.split("\n")
    final_newline = not cut_in_char and lines[-1] == ""
    if final_newline:
        lines.pop()
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    total = raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0)
    records = _parse(path, lines, header) if '"' in text else None
    if records is None:
        # No quotes: a line is its fields, so count them rather than split every line.
        if "\r" in text:
            for i, ln in enumerate(lines):
                if "\r" in ln:
                    raise InputError(path, _LONE_CR, row=i + 1)
        shapes = [(ln.count(",") + 1 if ln else 0, not ln.replace(",", "").strip()) for ln in lines]
    else:
        shapes = [(len(f), is_blank(f)) for f in records]
    head: list[str] | None = None
    header_line = 0
    if header:
        first = next((i for i, (_, blank) in enumerate(shapes) if not blank), None)
        if first is None:
            return CsvText(path, None, len(lines), 0, False, width, lines, [], [])
        head = records[first] if records is not None else lines[first].split(",")
        header_line = first + 1
    data_shapes = shapes[header_line:]
    expected = len(head) if head is not None else width
    physical = total - header_line
    if physical != len(data_shapes):  # cannot happen with the parse above; the ledger relies on it
        raise InputError(path, f"{len(data_shapes)} records read but {physical} data lines counted")
    mid = False
    if not data_shapes and head is not None and records is not None and _open_quote(lines[-1]) is not None:
        # the header is the last line: with no row after it to be cut short, an open quote is a stray one
        raise InputError(path, f"a quote opened in the header (line {len(lines)}) is not closed on that line "
                         "(a stray quote?)", row=len(lines))
    if data_shapes:
        opened = _open_quote(lines[-1]) if records is not None else None
        if final_newline and opened is not None:
            raise InputError(path, f"a quote opened on line {len(lines)} ({_where(opened, head)}) is not closed on "
                             "that line, the last of the file (a stray quote?)", row=len(lines))
        n, blank = data_shapes[-1]
        if not final_newline:
            mid = cut_in_char or opened is not None or (expected is not None and not blank and n < expected)
    return CsvText(path, head, header_line, physical, mid, expected, lines, data_shapes,
                   records[header_line:] if records is not None else None)


def read_table(path: str | os.PathLike[str], *, blank_rows: bool = False, **read_csv: Any) -> pd.DataFrame:
    """A lookup or table file read line-exactly, as :func:`pandas.read_csv` would read it.

    Every physical line must be one row of the header's width (:meth:`CsvText.frame`), so a
    stray quote or a file cut mid-row is an error naming its line instead of rows lost unseen.

    Parameters
    ----------
    path
        The file (UTF-8, header row first).
    blank_rows
        Keep blank lines as rows of empty cells (for a loader that counts them as quarantined).
    **read_csv
        Passed to :func:`pandas.read_csv` (default: every column text, empty cells ``""``).

    Returns
    -------
    DataFrame
        One row per non-blank data line (per data line with ``blank_rows``), in file order.

    Raises
    ------
    InputError
        If the file is missing, empty, not UTF-8, or has a line that is not one whole row.
    """
    text = read_csv_text(path)
    if text.header is None:
        raise InputError(path, "the file is empty (no header row)")
    df, lines = text.frame(**read_csv)
    if not blank_rows:
        return df
    every = np.arange(text.header_line + 1, text.header_line + 1 + text.rows_in)
    return df.set_axis(lines).reindex(every, fill_value="").reset_index(drop=True)


def _decode(path: Path, raw: bytes) -> tuple[str, bool]:
    """The text, and whether the file ends inside a multi-byte character (cut short)."""
    skip = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return raw[skip:].decode("utf-8"), False
    except UnicodeDecodeError as exc:
        at = exc.start + skip
        if exc.end + skip == len(raw) and exc.reason == "unexpected end of data":
            return raw[skip:at].decode("utf-8"), True  # the cut character is dropped
        start = raw.rfind(b"\n", 0, at) + 1
        near = raw[max(start, at - 20):at + 20].split(b"\n")[0].decode("cp1252", errors="replace")
        raise InputError(path, f"not valid UTF-8 at byte {at} (near {near!r} read as Windows-1252): "
                         "save the file as UTF-8", row=raw[:at].count(b"\n") + 1) from None


def _parse(path: Path, lines: list[str], header: bool) -> list[list[str]]:
    """One record per line; raises where a record would run over more than one line."""
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        for ln in lines:
            consumed += 1
            yield ln + "\n"

    reader = csv.reader(feed())
    records: list[list[str]] = []
    try:
        for fields in reader:
            if consumed > len(records) + 1:
                _span_error(path, lines, records, header, len(records) + 1, consumed)
            records.append(fields)
    except csv.Error as exc:
        if consumed > len(records) + 1:  # the swallowed text outgrew csv's field size limit: find its end
            _span_error(path, lines, records, header, len(records) + 1)
        why = _LONE_CR if "new-line character" in str(exc) else f"unreadable CSV: {exc}"
        raise InputError(path, why, row=consumed) from None
    return records


_LONE_CR = ("a carriage return inside the line (old Mac line endings, or a line break inside a field?): "
            "save the file with Windows or Unix line endings")


def _scan(line: str, state: str = "start") -> tuple[str, tuple[int, int] | None]:
    """The quoting state at the end of ``line`` as :mod:`csv` reads it, and where the last quote opened.

    A quote opens a field only as its first character; elsewhere it is literal, and ``""``
    inside a quoted field is an escaped quote. ``state`` is "start" (of a field), "plain",
    "quoted" or "closing" (just after a quote inside a quoted field).
    """
    field, opened, i, n = 0, None, 0, len(line)
    while i < n:
        if state == "quoted":  # skip to the next quote
            j = line.find('"', i)
            if j < 0:
                break
            state, i = "closing", j + 1
            continue
        if state == "plain":  # skip to the next comma
            j = line.find(",", i)
            if j < 0:
                break
            field, state, i = field + 1, "start", j + 1
            continue
        c = line[i]
        if state == "start" and c == '"':
            state, opened = "quoted", (i, field)
        elif c == ",":
            field, state = field + 1, "start"
        elif state == "closing" and c == '"':  # a doubled quote is an escaped one
            state = "quoted"
        else:
            state = "plain"
        i += 1
    return state, opened


def _open_quote(line: str) -> tuple[int, int] | None:
    """(character, field) of a quote left open at the end of ``line``, or None."""
    state, opened = _scan(line)
    return opened if state == "quoted" else None


def _quote_end(lines: list[str], start: int) -> int:
    """The line on which the record opened on line ``start`` ends (the last line if the quote never closes)."""
    for j in range(start, len(lines)):
        if _scan(lines[j], "quoted")[0] != "quoted":
            return j + 1
    return len(lines)


def _where(opened: tuple[int, int] | None, header: list[str] | None) -> str:
    if opened is None:
        return "field unknown"
    col, k = opened
    name = f", {header[k].strip()}" if header is not None and k < len(header) else ""
    return f"field {k + 1}{name}, character {col + 1}"


def _span_error(path: Path, lines: list[str], records: list[list[str]], header: bool, start: int,
                end: int | None = None) -> NoReturn:
    head = next((f for f in records if not is_blank(f)), None) if header else None
    end = end if end is not None else _quote_end(lines, start)
    swallowed = f"line {end}" if end == start + 1 else f"lines {start + 1}\u2013{end}"
    if end == len(lines):
        swallowed += " (to the end of the file)"
    raise InputError(path, f"a quote opened on line {start} ({_where(_open_quote(lines[start - 1]), head)}) is not "
                     f"closed on that line; it swallows {swallowed} into one record (a stray quote?)", row=start)


def _unique_names(names: list[str]) -> list[str]:
    """Header names with repeats numbered ``name.1``, ``name.2`` (as pandas reads them)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, -1) + 1
        seen[n] = k
        out.append(f"{n}.{k}" if k else n)
    return out


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the file at ``path``, read in 1 MiB chunks (the one file hash of the project)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

"""Read the responses exported from a survey tool (CSV, one row per response).

Columns are named in ``cfg.consultation.columns`` and ``cfg.consultation.questions``: respondent
type, postcode district or locality, optional age band, one column per closed question, free-text
columns and an optional column for the board's reply. A missing column, a file that is not UTF-8
CSV, or no header is an :class:`~pna.errors.InputError` naming the file (and line). A row with an
unknown respondent type or an area that is neither a postcode district nor a locality is
quarantined with its reason; an answer that is not one of the question's options is counted as
not answered and flagged. Quoted answers may span several lines, as survey exports write them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from ..config import ConsultationSpec
from ..errors import InputError
from ..quality import QualityLog

__all__ = ["read_responses", "RESPONSE_COLUMNS", "STAGE", "district_of"]

STAGE = "consultation"
NOT_GIVEN = "Not given"
_DISTRICT = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?: ?[0-9][A-Z]{2})?$")
RESPONSE_COLUMNS = ["line", "respondent_type", "area_given", "district", "locality", "age_band"]


def district_of(text: str) -> str | None:
    """The postcode district of ``LE2``, ``le2 0qs`` or ``LE20QS`` (a full postcode keeps only its district)."""
    compact = re.sub(r"\s+", "", str(text).upper())
    if len(compact) > 4 and re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}", compact):
        return compact[:-3]
    m = _DISTRICT.match(compact)
    return m.group(1) if m else None


def _records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not path.is_file():
        raise InputError(path, "consultation responses file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(path, "not UTF-8 text (export the survey as UTF-8 CSV)", row=line) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        header = next(reader, None)
        start = reader.line_num + 1
        for rec in reader:
            rows.append((start, rec))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(path, f"not readable as CSV ({exc})", row=start) from None
    if not header or not any(h.strip() for h in header):
        raise InputError(path, "the file is empty (no header row)")
    return [h.strip() for h in header], rows


def read_responses(*, path: str | Path, spec: ConsultationSpec, localities: list[str],
                   quality: QualityLog) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The accepted responses and their free-text comments.

    Parameters
    ----------
    path
        The survey export.
    spec
        ``cfg.consultation`` (column names, questions and their options, respondent types, age bands).
    localities
        The area's locality names (an area answer may be one of them, in any case).
    quality
        Receives quarantined and flagged rows and the row accounting.

    Returns
    -------
    (responses, comments)
        ``responses``: :data:`RESPONSE_COLUMNS` plus one column per question id (the option as
        configured, or ``""`` when not answered), in file order. ``comments``: ``line, column,
        comment, board_response`` for each non-blank free-text answer.

    Raises
    ------
    InputError
        If the file is missing, not UTF-8, not CSV, has no header, or lacks a configured column.
    """
    path = Path(path)
    header, rows = _records(path)
    cols = spec.columns
    need = [cols.respondent_type, cols.area, *[q.column_name for q in spec.questions], *cols.comments]
    where: dict[str, int] = {}
    for i, h in enumerate(header):
        if h and h.casefold() in where:
            raise InputError(path, f"column {h!r} appears twice (columns {where[h.casefold()] + 1} and {i + 1})",
                             row=1)
        where[h.casefold()] = i
    missing = [c for c in need if c.casefold() not in where]
    if missing:
        raise InputError(path, f"missing column{'s' if len(missing) > 1 else ''} "
                         + ", ".join(repr(c) for c in missing) + " (the file has: "
                         + ", ".join(repr(h) for h in header) + "); name them in consultation.columns "
                         "or consultation.questions", row=1)
    optional = {name: where.get(name.casefold()) for name in (cols.age_band, cols.board_response) if name}
    types = {t.casefold(): t for t in spec.respondent_types}
    bands = {b.label.casefold(): b.label for b in spec.age_bands}
    locs = {name.casefold(): name for name in localities}
    fname = path.name
    out, comments, bad = [], [], 0
    for line, rec in rows:
        if not any(v.strip() for v in rec):
            quality.add(STAGE, fname, line, f"line {line}", "empty response row")
            bad += 1
            continue
        if len(rec) != len(header):
            quality.add(STAGE, fname, line, f"line {line}", f"{len(rec)} fields where the header has {len(header)}")
            bad += 1
            continue

        def cell(name: str, rec: list[str] = rec) -> str:
            return rec[where[name.casefold()]].strip()

        kind = types.get(cell(cols.respondent_type).casefold())
        if kind is None:
            given = cell(cols.respondent_type)
            quality.add(STAGE, fname, line, f"line {line}", (f"respondent type {given!r} is not one of the "
                        "respondent types the board lists") if given else "no respondent type", cols.respondent_type)
            bad += 1
            continue
        area = cell(cols.area)
        district, locality = "", ""
        if not area:
            locality = NOT_GIVEN
        elif area.casefold() in locs:
            locality = locs[area.casefold()]
        elif district_of(area):
            district = str(district_of(area))
        else:
            quality.add(STAGE, fname, line, f"line {line}", f"area {area!r} is neither a postcode district "
                        "nor a locality", cols.area)
            bad += 1
            continue
        row = {"line": line, "respondent_type": kind, "area_given": area, "district": district,
               "locality": locality, "age_band": NOT_GIVEN}
        age_i = optional.get(cols.age_band) if cols.age_band else None
        if age_i is not None and rec[age_i].strip():
            band = bands.get(rec[age_i].strip().casefold())
            if band is None:
                quality.add(STAGE, fname, line, f"line {line}", f"age band {rec[age_i].strip()!r} is not one of "
                            "the survey's age bands; counted as not given", str(cols.age_band), action="flagged")
            else:
                row["age_band"] = band
        for q in spec.questions:
            val = cell(q.column_name)
            options = {o.casefold(): o for o in q.options}
            if not val:
                row[q.id] = ""
            elif not q.options:
                row[q.id] = val
            elif val.casefold() in options:
                row[q.id] = options[val.casefold()]
            else:
                quality.add(STAGE, fname, line, f"line {line}", f"answer {val!r} to {q.id!r} is not one of "
                            f"{', '.join(q.options)}; counted as not answered", q.column_name, action="flagged")
                row[q.id] = ""
        reply_i = optional.get(cols.board_response) if cols.board_response else None
        for c in cols.comments:
            text = " ".join(cell(c).split())
            if text:
                comments.append({"line": line, "column": c, "comment": text,
                                 "board_response": " ".join(rec[reply_i].split()) if reply_i is not None else ""})
        out.append(row)
    quality.account(f"consultation file: {fname}", fname, len(rows), len(out), bad)
    frame = pd.DataFrame(out, columns=RESPONSE_COLUMNS + [q.id for q in spec.questions])
    return frame, pd.DataFrame(comments, columns=["line", "column", "comment", "board_response"])

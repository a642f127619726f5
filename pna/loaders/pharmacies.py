"""Pharmacies: the NHSBSA pharmaceutical list, the ODS dispensary history, and their reconciliation.

The pharmaceutical list is the statutory list of contractors (all England, one quarter's
vintage); the ODS ``edispensary`` extract records every pharmacy's open and close dates, so the
list on any past date can be rebuilt and the two sources compared.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import cached_frames
from ..config import Config, DataSource
from ..errors import InputError
from ..io import FILE_FIELD, CsvText, read_csv_text
from ..provenance import PROVENANCE_COLUMN, with_provenance
from ..quality import QualityLog
from .hours import DAYS, HoursError, normalise_day, summarise_hours, total_disagreements

LIST_STAGE = "pharmaceutical list"
ODS_STAGE = "ODS history"

# Normalised header (upper case, runs of non-alphanumerics -> "_") -> contract column.
_LIST_ALIASES: dict[str, str] = {
    "PHARMACY_ODS_CODE_F_CODE": "ods_code", "PHARMACY_ODS_CODE": "ods_code", "ODS_CODE": "ods_code",
    "HEALTH_AND_WELLBEING_BOARD": "hwb", "HWB": "hwb",
    "PHARMACY_TRADING_NAME": "trading_name", "TRADING_NAME": "trading_name",
    "ORGANISATION_NAME": "org_name",
    "POST_CODE": "postcode", "POSTCODE": "postcode",
    "CONTRACT_TYPE": "contract_type",
    "WEEKLY_TOTAL": "weekly_total",
    **{f"ADDRESS_FIELD{i}": f"address_{i}" for i in range(1, 6)},
    **{f"ADDRESS_FIELD_{i}": f"address_{i}" for i in range(1, 6)},
}
_DAY_NAMES = {"mon": "MONDAY", "tue": "TUESDAY", "wed": "WEDNESDAY", "thu": "THURSDAY",
              "fri": "FRIDAY", "sat": "SATURDAY", "sun": "SUNDAY"}
_TOTAL_NAMES = {"mon": ("MON",), "tue": ("TUES", "TUE"), "wed": ("WED",), "thu": ("THURS", "THUR", "THU"),
                "fri": ("FRI",), "sat": ("SAT",), "sun": ("SUN",)}
for _d, _name in _DAY_NAMES.items():
    _LIST_ALIASES[f"PHARMACY_OPENING_HOURS_{_name}"] = f"hours_{_d}"
    for _t in _TOTAL_NAMES[_d]:
        _LIST_ALIASES[f"{_t}_TOTAL"] = f"total_{_d}"

# Contract column -> the header the NHSBSA list writes, so errors name what the user sees in the CSV.
_LIST_HEADERS: dict[str, str] = {
    "ods_code": "PHARMACY_ODS_CODE_(F-CODE)", "hwb": "HEALTH_AND_WELLBEING_BOARD",
    "trading_name": "PHARMACY_TRADING_NAME", "org_name": "ORGANISATION_NAME", "postcode": "POST_CODE",
    "contract_type": "CONTRACT_TYPE", "weekly_total": "WEEKLY_TOTAL",
    **{f"address_{i}": f"ADDRESS_FIELD{i}" for i in range(1, 6)},
    **{f"hours_{d}": f"PHARMACY_OPENING_HOURS_{n}" for d, n in _DAY_NAMES.items()},
    **{f"total_{d}": f"{_TOTAL_NAMES[d][0]}_TOTAL" for d in _DAY_NAMES},
}

HOURS_COLUMNS = [f"hours_{d}" for d in DAYS]
TOTAL_COLUMNS = [f"total_{d}" for d in DAYS]
_REQUIRED_LIST = ["ods_code", "hwb", "trading_name", "org_name", "address_1", "postcode", "contract_type",
                  *HOURS_COLUMNS, *TOTAL_COLUMNS, "weekly_total"]
LIST_COLUMNS = ["ods_code", "hwb", "trading_name", "org_name", "address", "postcode", "contract_type",
                *HOURS_COLUMNS, *TOTAL_COLUMNS, "weekly_total", "source_row", "hours_known"]

ODS_FIELDS = ["org_code", "name", "national_grouping", "high_level_health_geography",
              "address_line_1", "address_line_2", "address_line_3", "address_line_4", "address_line_5",
              "postcode", "open_date", "close_date", "status_code", "org_sub_type_code", "parent_org_code",
              "join_parent_date", "left_parent_date", "contact_telephone", "null_1", "null_2", "null_3",
              "amended_record_indicator", "null_4", "current_care_org", "null_5", "null_6", "null_7"]
ODS_COLUMNS = ["ods_code", "name", "national_grouping", "health_geography", "address", "postcode",
               "open_date", "close_date", "status", "sub_type", "parent_org", "telephone", "source_row"]
RECONCILE_COLUMNS = ["ods_code", "name", "postcode", "in_list", "open_in_ods", "ods_open_date",
                     "ods_close_date", "finding"]

_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}$")
_ODS_CODE = re.compile(r"^F[A-Z0-9]{4}$")
MAX_DAY_HOURS = 24.0
MAX_WEEK_HOURS = 168.0

# Shorter than this is a cut or partial file, not closures: a whole national list has about
# 10,800 data lines (10,785 in 2023/24 Q3; England has had 10,500-11,800 pharmacies since 2010).
LIST_NATIONAL_LINES, LIST_MIN_LINES = 10_800, 5_000
# The ODS extract keeps closed pharmacies as well, so it only grows (20,932 lines in May 2025).
ODS_NATIONAL_LINES, ODS_MIN_LINES = 21_000, 10_000


# --------------------------------------------------------------------------- helpers
def normalise_postcode(pc: object) -> str:
    """Upper-case, single space before the three-character inward code (``le11aa`` -> ``LE1 1AA``).

    Blank or missing values give ``""``; text too short to hold an inward code is returned
    upper-cased and stripped (the loaders flag postcodes that do not look like UK postcodes).
    """
    if pc is None or (isinstance(pc, float) and np.isnan(pc)):
        return ""
    s = re.sub(r"\s+", "", str(pc)).upper()
    return f"{s[:-3]} {s[-3:]}" if len(s) >= 5 else s


def normalise_postcodes(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_postcode`."""
    s = values.fillna("").astype(str).str.replace(r"\s+", "", regex=True).str.upper()
    long_enough = s.str.len() >= 5
    return s.where(~long_enough, s.str[:-3] + " " + s.str[-3:])


def _header_key(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.strip().upper()).strip("_")


def _strip(df: pd.DataFrame) -> pd.DataFrame:
    return df.apply(lambda s: s.str.strip())


def _join_address(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    parts = df[cols].fillna("").astype(str).apply(lambda s: s.str.strip())
    return parts.apply(lambda r: ", ".join(v for v in r if v), axis=1) if len(parts) else pd.Series(
        [], dtype=object, index=df.index)


# --------------------------------------------------------------------------- pharmaceutical list
def load_pharmaceutical_list(path: str | Path, quality: QualityLog, stage: str = LIST_STAGE,
                             source: DataSource | str | None = None) -> pd.DataFrame:
    """Read the NHSBSA Consolidated Pharmaceutical List (all rows, all England).

    Parameters
    ----------
    path
        The CSV (UTF-8, with or without BOM, header row).
    quality
        Receives quarantined and flagged rows and the row accounting.
    stage
        Stage name written to the quality log.
    source
        Cited in the ``provenance`` column (default: the file name).

    Returns
    -------
    DataFrame
        Columns ``ods_code, hwb, trading_name, org_name, address, postcode, contract_type,
        hours_mon..hours_sun`` (normalised text: ``HH:MM-HH:MM[,...]``, ``CLOSED``, or ``""``
        where the file is blank), ``total_mon..total_sun, weekly_total`` (the file's own
        figures; blank -> NaN), ``source_row`` (text-editor line number), ``hours_known``
        (True), ``provenance``. In file order.

    Raises
    ------
    InputError
        If the file is missing, not UTF-8, empty, has a header but no data rows or no row of
        the header's width, lacks a required column (named by its NHSBSA header, with the
        closest header the file has), or has a quote left open at the end of a line (naming
        the line and the lines it would swallow).

    Notes
    -----
    Row accounting counts physical lines (:func:`pna.io.read_csv_text`), so every line after
    the header is accepted or quarantined. Quarantined (one exception per row, all reasons
    joined): blank lines, a last line cut short by the end of the file, wrong number of fields, missing
    ODS code, opening hours that cannot be parsed or are impossible, non-numeric or impossible
    totals, and any later row repeating an earlier row's ODS code. Flagged but kept: hours
    text that needed repair to the standard form, blank days (read as closed or unknown),
    ODS codes or postcodes of unusual shape, and daily or weekly totals that disagree with
    the parsed hours (one exception per total, with both values; the parsed hours are used).
    Flagged for the whole file: ending mid-row, and fewer than :data:`LIST_MIN_LINES` data lines.
    """
    path = Path(path)
    fname = path.name
    csv_lines = _read(path, stage, header=True)
    if csv_lines.header is None:
        raise InputError(str(path), "file is empty")
    header_line, header = csv_lines.header_line, csv_lines.header
    keys = [_header_key(h) for h in header]
    col_of: dict[str, int] = {}
    for i, k in enumerate(keys):
        name = _LIST_ALIASES.get(k)
        if name is not None and name not in col_of:
            col_of[name] = i
    missing = [c for c in _REQUIRED_LIST if c not in col_of]
    if missing:
        raise InputError(str(path), "missing required columns: " + _missing_headers(missing, header, keys)
                         + f" (header has: {', '.join(h.strip() for h in header)})", row=header_line)
    file_header = {c: header[i].strip() for c, i in col_of.items()}

    n_fields = len(header)
    widths = csv_lines.widths()
    if not widths:
        # An empty list would yield an assessment of no pharmacies: stop rather than report that.
        raise InputError(str(path), "no data rows: the file has a header but no pharmacies", row=header_line)
    if n_fields not in widths:
        # Else every row would be quarantined and the run would stop later, at a misleading place.
        raise InputError(str(path), f"no data row has the header's {n_fields} fields (rows have "
                         f"{', '.join(map(str, sorted(widths)))}): a column missing from the header?", row=header_line)
    rows_in = csv_lines.rows_in
    good_rows, problems = csv_lines.rows()
    reasons: dict[int, list[tuple[str, str]]] = {line: [("", why)] for line, why in problems.items()}
    good_lines = csv_lines.lines.tolist()
    raw = pd.DataFrame(good_rows, columns=range(n_fields), dtype=object)
    names = sorted(col_of, key=lambda c: col_of[c])
    df = _strip(raw[[col_of[c] for c in names]].set_axis(names, axis=1).astype(str))
    df["source_row"] = np.array(good_lines, dtype=np.int64)
    wrong_width = df["source_row"].isin(list(reasons)).to_numpy()

    def fail(mask: np.ndarray, field: str, why: pd.Series | str) -> None:
        for i in np.flatnonzero(mask & ~wrong_width).tolist():
            r = why if isinstance(why, str) else why.iloc[i]
            reasons.setdefault(int(df["source_row"].iat[i]), []).append((field, r))

    def flag(i: int, field: str, why: str) -> None:
        quality.add(stage, fname, int(df["source_row"].iat[i]), df["ods_code"].iat[i], why, field, "flagged")

    df["ods_code"] = df["ods_code"].str.upper()
    fail((df["ods_code"] == "").to_numpy(), "ods_code", "missing ODS code")

    # Opening hours: parse each distinct text once.
    for col in HOURS_COLUMNS:
        parsed: dict[str, tuple[str, str | None]] = {}
        for v in df[col].unique():
            try:
                parsed[v] = (normalise_day(v), None)
            except HoursError as exc:
                parsed[v] = (v, exc.reason)
        err = df[col].map({k: p[1] for k, p in parsed.items()})
        bad = err.notna().to_numpy()
        fail(bad, col, "opening hours " + df[col].map(repr) + ": " + err.fillna(""))
        norm = df[col].map({k: p[0] for k, p in parsed.items()})
        ok = ~bad & ~wrong_width
        for i in np.flatnonzero(ok & (df[col] == "").to_numpy()).tolist():
            flag(i, col, "opening hours blank: read as closed or unknown")
        repaired = ok & (norm != "") & (norm != df[col].str.upper())
        for i in np.flatnonzero(repaired.to_numpy()).tolist():
            flag(i, col, f"opening hours {df[col].iat[i]!r} read as {norm.iat[i]!r}")
        df[col] = norm.where(~bad, df[col])

    # Totals: blank -> NaN; non-numeric or impossible -> quarantine.
    for col in [*TOTAL_COLUMNS, "weekly_total"]:
        text = df[col]
        num = pd.to_numeric(text.where(text != ""), errors="coerce")
        non_numeric = (text != "") & num.isna()
        fail(non_numeric.to_numpy(), col, col + " " + text.map(repr) + " is not a number")
        limit = MAX_WEEK_HOURS if col == "weekly_total" else MAX_DAY_HOURS
        impossible = (num < 0) | (num > limit)
        fail(impossible.to_numpy(), col, col + " " + text + f" is outside 0-{limit:g} hours")
        df[col] = num.astype(float)

    # Duplicates: the first occurrence in file order is kept.
    has_code = (df["ods_code"] != "") & ~wrong_width
    dup = has_code & df["ods_code"].where(has_code).duplicated(keep="first")
    first_line = df[has_code].drop_duplicates("ods_code").set_index("ods_code")["source_row"]
    fail(dup.to_numpy(), "ods_code",
         "duplicate ODS code (first seen on line " + df["ods_code"].map(first_line).astype("Int64").astype(str) + ")")

    pos_of = {line: i for i, line in enumerate(good_lines)}
    for line, rs in sorted(reasons.items()):
        i = pos_of[line]
        quality.add(stage, fname, line, df["ods_code"].iat[i] or f"line {line}",
                    "; ".join(r for _, r in rs), ",".join(dict.fromkeys(f for f, _ in rs if f)))
    keep = ~df["source_row"].isin(list(reasons)).to_numpy()
    out = df[keep].copy()

    for i in np.flatnonzero(~out["ods_code"].str.match(_ODS_CODE).to_numpy()).tolist():
        quality.add(stage, fname, int(out["source_row"].iat[i]), out["ods_code"].iat[i],
                    "ODS code is not of the pharmacy form F + 4 characters", "ods_code", "flagged")
    out["postcode"] = normalise_postcodes(out["postcode"])
    for i in np.flatnonzero(~out["postcode"].str.match(_POSTCODE).to_numpy()).tolist():
        quality.add(stage, fname, int(out["source_row"].iat[i]), out["ods_code"].iat[i],
                    f"postcode {out['postcode'].iat[i]!r} does not look like a UK postcode", "postcode", "flagged")
    addr_cols = [c for c in (f"address_{i}" for i in range(1, 6)) if c in out]
    out["address"] = _join_address(out, addr_cols)
    out["hours_known"] = True
    out = out[LIST_COLUMNS].reset_index(drop=True)
    _flag_total_disagreements(out, quality, stage, fname, file_header)
    quality.account(f"{stage}: {fname}", fname, rows_in, len(out), rows_in - len(out))
    _flag_file(csv_lines, quality, stage, LIST_MIN_LINES, LIST_NATIONAL_LINES)
    return with_provenance(out, source if source is not None else fname)


def _read(path: Path, stage: str, *, header: bool, width: int | None = None) -> CsvText:
    if not path.is_file():
        raise InputError(str(path), f"{stage}: file not found")
    return read_csv_text(path, header=header, width=width)


def _flag_file(text: CsvText, quality: QualityLog, stage: str, min_lines: int, national_lines: int) -> None:
    """Flag a national file that is cut short or far too short (the report lists these as notes too)."""
    for why in text.file_flags(min_lines=min_lines, national_lines=national_lines):
        quality.add(stage, text.path.name, None, text.path.name, why, FILE_FIELD, "flagged")


def _missing_headers(missing: list[str], header: list[str], keys: list[str]) -> str:
    """The missing columns as the NHSBSA headers, each with the closest unrecognised header of the file."""
    unused = [h.strip() for h, k in zip(header, keys) if k not in _LIST_ALIASES and h.strip()]
    parts = []
    for c in missing:
        want = _LIST_HEADERS[c]
        close = difflib.get_close_matches(want, unused, n=1, cutoff=0.6)
        parts.append(want + (f" (closest in the file: {close[0]!r})" if close else ""))
    return ", ".join(parts)


def _flag_total_disagreements(df: pd.DataFrame, quality: QualityLog, stage: str, fname: str,
                              file_header: Mapping[str, str]) -> None:
    """Flag every daily or weekly total of the file that disagrees with its parsed opening hours."""
    dis = total_disagreements(summarise_hours(df))

    def h(v: float) -> str:
        return f"{round(v, 2):g} h"

    for pos, col, given, parsed in dis[["position", "column", "file_value", "parsed_value"]].itertuples(
            index=False):
        if col == "weekly_total":
            what = "the week's opening hours give"
        else:
            day = col.replace("total_", "hours_")
            what = f"{file_header.get(day, day)} {df[day].iat[pos]!r} gives"
        quality.add(stage, fname, int(df["source_row"].iat[pos]), df["ods_code"].iat[pos],
                    f"{file_header.get(col, col)} is {h(given)} in the file but {what} {h(parsed)}; "
                    "the parsed hours are used", file_header.get(col, col), "flagged")


def area_list(national: pd.DataFrame, hwb_name: str) -> pd.DataFrame:
    """The rows of the national list for one Health and Wellbeing Board (case-insensitive)."""
    mask = national["hwb"].str.strip().str.upper() == hwb_name.strip().upper()
    return national[mask].reset_index(drop=True)


# --------------------------------------------------------------------------- ODS history
def load_ods_history(path: str | Path, quality: QualityLog, stage: str = ODS_STAGE,
                     source: DataSource | str | None = None) -> pd.DataFrame:
    """Read the ODS ``edispensary`` extract (no header, 27 columns).

    Parameters
    ----------
    path
        The CSV.
    quality
        Receives quarantined rows and the row accounting.
    stage
        Stage name written to the quality log.
    source
        Cited in the ``provenance`` column (default: the file name).

    Returns
    -------
    DataFrame
        ``ods_code, name, national_grouping, health_geography, address`` (lines 1-5 joined),
        ``postcode`` (normalised), ``open_date, close_date`` (datetime64, NaT if none),
        ``status`` (A active, C closed, P proposed), ``sub_type, parent_org, telephone``
        ("" where ODS has none), ``source_row, provenance``, in file order.

    Raises
    ------
    InputError
        If the file is missing, not UTF-8, empty, no row has 27 fields, or a quote is left open
        at the end of a line.

    Notes
    -----
    Row accounting counts physical lines, as for :func:`load_pharmaceutical_list`.
    Quarantined: blank lines, a last line cut short by the end of the file, wrong number of
    fields, missing code, open date missing or not a real YYYYMMDD date, close date present
    but not a real date or before the open date, and any later row repeating an earlier code.
    Flagged for the whole file: ending mid-row, and fewer than :data:`ODS_MIN_LINES` lines.
    """
    path = Path(path)
    fname = path.name
    n = len(ODS_FIELDS)
    text = _read(path, stage, header=False, width=n)
    widths = text.widths()
    if not widths:
        raise InputError(str(path), "file is empty")
    if n not in widths:
        first = next(text.line(i) for i, (_, blank) in enumerate(text.shapes) if not blank)
        raise InputError(str(path), f"expected {n} columns (no header row), found {sorted(widths)}", row=first)
    rows_in = text.rows_in
    lines = text.lines
    rows, problems = text.rows()
    wrong = np.isin(lines, list(problems))
    df = pd.DataFrame(rows, columns=ODS_FIELDS, dtype=str)
    df = _strip(df)
    df["org_code"] = df["org_code"].str.upper()
    reasons: dict[int, list[tuple[str, str]]] = {line: [("", why)] for line, why in problems.items()}

    def fail(mask: np.ndarray, field: str, why: pd.Series | str) -> None:
        for i in np.flatnonzero(mask & ~wrong).tolist():
            reasons.setdefault(int(lines[i]), []).append((field, why if isinstance(why, str) else why.iloc[i]))

    fail((df["org_code"] == "").to_numpy(), "org_code", "missing organisation code")
    opened = pd.to_datetime(df["open_date"], format="%Y%m%d", errors="coerce")
    closed = pd.to_datetime(df["close_date"].where(df["close_date"] != ""), format="%Y%m%d", errors="coerce")
    fail((df["open_date"] == "").to_numpy(), "open_date", "missing open date")
    fail(((df["open_date"] != "") & opened.isna()).to_numpy(), "open_date",
         "open date " + df["open_date"].map(repr) + " is not a YYYYMMDD date")
    fail(((df["close_date"] != "") & closed.isna()).to_numpy(), "close_date",
         "close date " + df["close_date"].map(repr) + " is not a YYYYMMDD date")
    fail((closed < opened).to_numpy(), "close_date",
         "close date " + df["close_date"] + " is before open date " + df["open_date"])
    has = (df["org_code"] != "").to_numpy() & ~wrong
    codes = df["org_code"].where(has)
    dup = has & codes.duplicated(keep="first").to_numpy()
    first_line = pd.Series(lines[has], index=df["org_code"][has]).groupby(level=0).first()
    fail(dup, "org_code", "duplicate organisation code (first seen on line "
         + df["org_code"].map(first_line).astype("Int64").astype(str) + ")")

    for line, rs in sorted(reasons.items()):
        i = int(np.searchsorted(lines, line))
        quality.add(stage, fname, line, df["org_code"].iat[i] or f"line {line}",
                    "; ".join(r for _, r in rs), ",".join(dict.fromkeys(f for f, _ in rs if f)))
    keep = ~np.isin(lines, list(reasons))
    out = pd.DataFrame({
        "ods_code": df["org_code"], "name": df["name"], "national_grouping": df["national_grouping"],
        "health_geography": df["high_level_health_geography"],
        "address": _join_address(df, [f"address_line_{i}" for i in range(1, 6)]),
        "postcode": normalise_postcodes(df["postcode"]), "open_date": opened, "close_date": closed,
        "status": df["status_code"], "sub_type": df["org_sub_type_code"], "parent_org": df["parent_org_code"],
        "telephone": df["contact_telephone"], "source_row": lines,
    })[keep].reset_index(drop=True)
    quality.account(f"{stage}: {fname}", fname, rows_in, len(out), rows_in - len(out))
    _flag_file(text, quality, stage, ODS_MIN_LINES, ODS_NATIONAL_LINES)
    return with_provenance(out, source if source is not None else fname)


def _as_timestamp(date: dt.date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(date).normalize()


def pharmacies_open_on(ods: pd.DataFrame, date: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """The ODS rows open on ``date``: ``open_date <= date`` and (no close date or ``close_date > date``).

    Convention: the close date is the first day the pharmacy is *not* open (ODS records the
    date the organisation ceased), so a pharmacy closing on 2023-11-30 is not open that day.
    The test is on dates only: ODS status is ignored (a proposed, ``P``, row whose open date
    has passed counts as open; a current ``A`` row whose recorded close date has passed does not).
    """
    d = _as_timestamp(date)
    mask = (ods["open_date"] <= d) & (ods["close_date"].isna() | (ods["close_date"] > d))
    return ods[mask].reset_index(drop=True)


# --------------------------------------------------------------------------- reconciliation
def _iso(ts: object) -> str:
    return "" if pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


def reconcile(area_list: pd.DataFrame, ods: pd.DataFrame, as_at: dt.date | str | pd.Timestamp,
              postcode_la: Mapping[str, str], area_code: str,
              national_list: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compare an area's pharmaceutical list with the ODS pharmacies open there on ``as_at``.

    Parameters
    ----------
    area_list
        The list rows for the area (``ods_code, trading_name, postcode``).
    ods
        The whole ODS history (:func:`load_ods_history`).
    as_at
        The date the list describes.
    postcode_la
        Normalised postcode -> local authority code (from Code-Point or the postcode directory).
    area_code
        The area's local authority code.
    national_list
        Optional: the whole list, so that a pharmacy open in the area in ODS but missing from
        the area's list can be named if it is listed under another board.

    Returns
    -------
    DataFrame
        One row per ODS code in the list or open in ODS with a postcode in the area:
        ``ods_code, name, postcode, in_list, open_in_ods, ods_open_date, ods_close_date,
        finding`` (plain words), ``provenance``; sorted by ``ods_code``.
    """
    d = _as_timestamp(as_at)
    day = _iso(d)
    by_code = ods.drop_duplicates("ods_code").set_index("ods_code")
    open_codes = set(pharmacies_open_on(ods, d)["ods_code"])
    ods_pc = by_code["postcode"]
    ods_la = ods_pc.map(lambda p: postcode_la.get(p, ""))
    in_area_open = sorted(c for c in open_codes if ods_la.get(c, "") == area_code)
    listed = area_list.drop_duplicates("ods_code").set_index("ods_code")
    other = (national_list.drop_duplicates("ods_code").set_index("ods_code")
             if national_list is not None else None)
    codes = sorted(set(listed.index) | set(in_area_open))
    rows = []
    for code in codes:
        in_list = code in listed.index
        in_ods = code in by_code.index
        is_open = code in open_codes
        o_open = by_code["open_date"].get(code, pd.NaT) if in_ods else pd.NaT
        o_close = by_code["close_date"].get(code, pd.NaT) if in_ods else pd.NaT
        name = listed["trading_name"].get(code) if in_list else by_code["name"].get(code)
        postcode = listed["postcode"].get(code) if in_list else ods_pc.get(code)
        if in_list and not in_ods:
            finding = "in the list but not in ODS"
        elif in_list and is_open:
            opc, ola = ods_pc.get(code, ""), ods_la.get(code, "")
            if ola == area_code:
                finding = "in the list and open in ODS"
                if opc != postcode:
                    finding += f" (ODS postcode {opc} differs from the list's {postcode})"
            elif ola:
                finding = f"in the list and open in ODS, but the ODS postcode {opc} is in {ola}, not {area_code}"
            else:
                finding = f"in the list and open in ODS, but the ODS postcode {opc!s} is not in the postcode lookup"
        elif in_list and pd.notna(o_close) and o_close <= d:
            finding = f"in the list but closed in ODS on {_iso(o_close)}"
        elif in_list:
            finding = f"in the list but ODS has it opening only on {_iso(o_open)}, after {day}"
        else:
            finding = f"open in ODS on {day} with a postcode in {area_code}, but not in the list"
            if other is not None and code in other.index:
                finding += (f"; listed under {other['hwb'].get(code)}"
                            f" with postcode {other['postcode'].get(code)}")
        rows.append({"ods_code": code, "name": name, "postcode": postcode, "in_list": in_list,
                     "open_in_ods": is_open, "ods_open_date": o_open, "ods_close_date": o_close,
                     "finding": finding})
    out = pd.DataFrame(rows, columns=RECONCILE_COLUMNS)
    out["in_list"] = out["in_list"].astype(bool)
    out["open_in_ods"] = out["open_in_ods"].astype(bool)
    for c in ("ods_open_date", "ods_close_date"):
        out[c] = pd.to_datetime(out[c])
    return with_provenance(out, *_provenances(area_list, ods))


def _provenances(*frames: pd.DataFrame) -> list[str]:
    seen: list[str] = []
    for f in frames:
        if PROVENANCE_COLUMN in f:
            for v in f[PROVENANCE_COLUMN].dropna().unique():
                seen.extend(p for p in str(v).split("; ") if p)
    return seen


# --------------------------------------------------------------------------- classification
def classify(df: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Add contract classifications: distance selling, 100-hour, LPS, DAC, and weekly-hours bands.

    Distance selling and 100-hour status come from the contract type where the list carries it,
    else from configured ODS codes (``cfg.overrides.distance_selling_codes`` /
    ``hundred_hour_codes``); with neither, the status is *not identified* (``<NA>``, not False),
    because the 2023/24 list has no such flags (distance sellers sit inside "Community", and since
    2023 former 100-hour pharmacies may open 72 hours). The ``*_source`` columns say which was used.
    Hours bands are facts about listed hours, not contract types: ``open_72plus_hours`` and
    ``open_100plus_hours`` (``<NA>`` where hours are unknown).
    """
    out = df.copy()
    ctype = out["contract_type"].fillna("").astype(str).str.strip().str.upper()
    codes = out["ods_code"].astype(str).str.upper()
    ov = cfg.overrides
    unknown = pd.array([pd.NA] * len(out), dtype="boolean")

    ds_type = ctype.str.contains("DISTANCE", regex=False)
    ds_codes = {c.strip().upper() for c in ov.distance_selling_codes}
    if ds_type.any():
        out["is_distance_selling"] = pd.array(ds_type.to_numpy(), dtype="boolean")
        out["distance_selling_source"] = "pharmaceutical list contract type"
    elif ds_codes:
        out["is_distance_selling"] = pd.array(codes.isin(ds_codes).to_numpy(), dtype="boolean")
        out["distance_selling_source"] = ("configured ODS codes (overrides.distance_selling_codes); "
                                          "the pharmaceutical list has no distance-selling flag in this edition")
    else:
        out["is_distance_selling"] = unknown.copy()
        out["distance_selling_source"] = ("not identified: the pharmaceutical list has no distance-selling "
                                          "flag in this edition and no codes are configured "
                                          "(overrides.distance_selling_codes)")

    hh_type = ctype.str.contains("100", regex=False)
    hh_codes = {c.strip().upper() for c in ov.hundred_hour_codes}
    if hh_type.any():
        out["is_100_hour"] = pd.array(hh_type.to_numpy(), dtype="boolean")
        out["hundred_hour_source"] = "pharmaceutical list contract type"
    elif hh_codes:
        out["is_100_hour"] = pd.array(codes.isin(hh_codes).to_numpy(), dtype="boolean")
        out["hundred_hour_source"] = "configured ODS codes (overrides.hundred_hour_codes)"
    else:
        out["is_100_hour"] = unknown.copy()
        out["hundred_hour_source"] = ("not identified: the pharmaceutical list has no 100-hour contract flag and "
                                      "no codes are configured (overrides.hundred_hour_codes); weekly hours are "
                                      "shown as hours instead")
    if "weekly_hours" in out:
        wh = pd.to_numeric(out["weekly_hours"], errors="coerce")
        for col, h in (("open_72plus_hours", 72.0), ("open_100plus_hours", 100.0)):
            flag = pd.array((wh >= h).to_numpy(), dtype="boolean")
            flag[wh.isna().to_numpy()] = pd.NA
            out[col] = flag
    out["is_lps"] = (ctype == "LPS").to_numpy()
    out["is_dac"] = ((ctype == "DAC") | ctype.str.contains("APPLIANCE", regex=False)).to_numpy()
    return out


# --------------------------------------------------------------------------- areas without a list
def list_from_ods(ods_open: pd.DataFrame, hwb_name: str, postcode_la: Mapping[str, str] | None = None,
                  area_code: str | None = None) -> pd.DataFrame:
    """A pharmaceutical-list-shaped frame built from ODS rows, for areas with no list (Wales).

    Parameters
    ----------
    ods_open
        ODS rows open on the as-at date (:func:`pharmacies_open_on`).
    hwb_name
        Written to ``hwb``.
    postcode_la, area_code
        If both given, only rows whose postcode maps to ``area_code`` are kept.

    Returns
    -------
    DataFrame
        The list columns: ``trading_name`` from the ODS name; org name, contract type, hours and
        totals unknown (empty / NaN); ``hours_known`` False; ``source_row`` is the ODS line;
        then the :func:`summarise_hours` columns (NaN / NA, category ``"hours unknown"``),
        so :func:`classify` can follow directly.
    """
    src = ods_open
    if postcode_la is not None and area_code is not None:
        src = src[src["postcode"].map(lambda p: postcode_la.get(p, "")) == area_code]
    src = src.sort_values("ods_code", kind="stable").reset_index(drop=True)
    out = pd.DataFrame({"ods_code": src["ods_code"], "hwb": hwb_name, "trading_name": src["name"],
                        "org_name": "", "address": src["address"], "postcode": src["postcode"],
                        "contract_type": ""})
    for c in HOURS_COLUMNS:
        out[c] = ""
    for c in [*TOTAL_COLUMNS, "weekly_total"]:
        out[c] = np.nan
    out["source_row"] = src["source_row"].to_numpy()
    out["hours_known"] = False
    out = with_provenance(out[LIST_COLUMNS], *_provenances(ods_open),
                          "opening hours unknown: built from ODS, no pharmaceutical list for this area")
    # Summarised already (all unknown), so classify() and open-now checks work without another step.
    return summarise_hours(out)


# --------------------------------------------------------------------------- the list as at an earlier date
#: A closure and an opening at the same postcode this close together are one change of ownership.
OWNERSHIP_DAYS = 31
CHANGE_COLUMNS = ["change", "ods_code", "name", "postcode", "date", "successor", "note"]


def _successors(ods: pd.DataFrame, listed: set[str]) -> dict[str, str]:
    """ODS code -> the listed code that took over the same premises.

    Same postcode, one closed and the other opened within :data:`OWNERSHIP_DAYS`.
    """
    closed = ods[ods["close_date"].notna()][["ods_code", "postcode", "close_date"]]
    opened = ods[ods["ods_code"].isin(listed)][["ods_code", "postcode", "open_date"]]
    pairs = closed.merge(opened, on="postcode", suffixes=("", "_new"))
    gap = (pairs["open_date"] - pairs["close_date"]).abs().dt.days
    pairs = pairs[(gap <= OWNERSHIP_DAYS) & (pairs["ods_code"] != pairs["ods_code_new"])]
    pairs = pairs.assign(_gap=gap).sort_values(["ods_code", "_gap", "ods_code_new"], kind="stable")
    return dict(pairs.drop_duplicates("ods_code")[["ods_code", "ods_code_new"]].to_numpy())


def list_as_at(national: pd.DataFrame, ods: pd.DataFrame, as_at: dt.date, *, list_date: dt.date,
               postcode_la: Mapping[str, str], area_code: str, hwb_name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pharmaceutical list as it stood on ``as_at`` (earlier than the list's own date), rebuilt from ODS.

    Every ODS pharmacy open on ``as_at`` is kept. Its board and opening hours come from the list
    where its ODS code is listed; where it closed since and another code opened at the same
    premises within :data:`OWNERSHIP_DAYS` (a change of ownership), from that successor's row;
    otherwise hours are unknown (``hours_known`` False, with the reason in ``hours_source``) and its
    board is this one when its postcode lies in the area, else none.

    Parameters
    ----------
    national
        The parsed national list (every board), with hours summarised and classified.
    ods
        ODS dispensary history.
    as_at
        The date to rebuild.
    list_date
        The date the list describes.
    postcode_la, area_code, hwb_name
        Postcode -> local authority code; this board's code and list name.

    Returns
    -------
    (list, changes)
        List-shaped rows (the list's columns, plus ``hours_source``) for ``as_at``, every board;
        and this area's openings, closures and changes of ownership between ``as_at`` and
        ``list_date`` (:data:`CHANGE_COLUMNS`).
    """
    open_then = pharmacies_open_on(ods, as_at)
    open_now = pharmacies_open_on(ods, list_date)
    by_code = national.drop_duplicates("ods_code").set_index("ods_code")
    listed = set(by_code.index)
    succ = _successors(ods, listed)
    rows = []
    for r in open_then.sort_values("ods_code", kind="stable").itertuples(index=False):
        code = r.ods_code
        if code in listed:
            row = by_code.loc[code].to_dict()
            row["hours_source"] = f"pharmaceutical list ({list_date:%d %B %Y})"
        elif code in succ:
            row = by_code.loc[succ[code]].to_dict()
            row.update({"trading_name": r.name, "address": r.address, "postcode": r.postcode})
            row["hours_source"] = (f"pharmaceutical list row of {succ[code]}, which took over the same premises "
                                   f"({list_date:%d %B %Y}); the hours then may have differed")
        else:
            in_area = postcode_la.get(r.postcode, "") == area_code
            row = {"hwb": hwb_name if in_area else "", "trading_name": r.name, "org_name": "",
                   "address": r.address, "postcode": r.postcode, "contract_type": "",
                   **{c: "" for c in HOURS_COLUMNS}, **{c: np.nan for c in [*TOTAL_COLUMNS, "weekly_total"]},
                   "hours_known": False,
                   "hours_source": f"unknown: not on the {list_date:%d %B %Y} list (closed before it)"}
        row["ods_code"] = code
        row["source_row"] = r.source_row
        rows.append(row)
    base = pd.DataFrame(rows)
    out = summarise_hours(base[[*LIST_COLUMNS]].assign(hours_known=base["hours_known"].fillna(True).astype(bool)))
    out["hours_source"] = base["hours_source"].to_numpy()
    out = with_provenance(out, *_provenances(national, ods),
                          f"rebuilt for {as_at:%d %B %Y} from ODS open and close dates")
    then, now = set(open_then["ods_code"]), set(open_now["ods_code"])
    changes = []
    for r in ods[ods["ods_code"].isin(then - now)].sort_values("ods_code").itertuples(index=False):
        kind = "change of ownership" if r.ods_code in succ else "closure"
        changes.append({"change": kind, "ods_code": r.ods_code, "name": r.name, "postcode": r.postcode,
                        "date": _iso(r.close_date), "successor": succ.get(r.ods_code, ""),
                        "note": "same premises, new contractor" if kind != "closure" else ""})
    taken = set(succ.values())
    for r in ods[ods["ods_code"].isin(now - then)].sort_values("ods_code").itertuples(index=False):
        if r.ods_code in taken:
            continue
        changes.append({"change": "opening", "ods_code": r.ods_code, "name": r.name, "postcode": r.postcode,
                        "date": _iso(r.open_date), "successor": "", "note": ""})
    ch = pd.DataFrame(changes, columns=CHANGE_COLUMNS)
    boards = dict(zip(national["ods_code"], national["hwb"].astype(str)))
    here = [postcode_la.get(p, "") == area_code or boards.get(c) == hwb_name or boards.get(sc) == hwb_name
            for p, c, sc in zip(ch["postcode"], ch["ods_code"], ch["successor"])]
    return out, ch[np.asarray(here, dtype=bool)].reset_index(drop=True)


# --------------------------------------------------------------------------- stage functions
def national_list(cfg: Config, quality: QualityLog) -> pd.DataFrame | None:
    """Stage: the whole national list, with hours summarised and contracts classified.

    Returns None when the area has no pharmaceutical list configured (Wales).
    """
    src = cfg.inputs.pharmaceutical_list
    if src is None:
        return None
    path = cfg.data_path(src)
    df = cached_frames(cfg.input_cache, "pharmaceutical-list", files=[path], params=src, quality=quality,
                       build=lambda q: summarise_hours(load_pharmaceutical_list(path, q, source=src)))
    return classify(df, cfg)


def ods_history(cfg: Config, quality: QualityLog) -> pd.DataFrame:
    """Stage: the ODS dispensary history."""
    src = cfg.inputs.ods_history
    path = cfg.data_path(src)
    return cached_frames(cfg.input_cache, "ods-history", files=[path], params=src, quality=quality,
                         build=lambda q: load_ods_history(path, q, source=src))


__all__ = ["load_pharmaceutical_list", "area_list", "load_ods_history", "pharmacies_open_on", "reconcile",
           "classify", "list_from_ods", "list_as_at", "national_list", "ods_history", "normalise_postcode",
           "normalise_postcodes"]

"""Opening hours: parse the pharmaceutical list's per-day text and summarise a week.

The NHSBSA list writes each day as ``HH:MM-HH:MM[,HH:MM-HH:MM...]``, ``CLOSED`` or blank.
A survey of all 10,785 rows x 7 days of the 2023/24 Q3 list found these forms, all accepted:

* ``09:00-18:00`` and ``09:00-13:00,14:00-18:00`` (up to three intervals) - the standard form;
* ``CLOSED`` (any case, surrounding spaces ignored);
* blank - *closed or unknown*: parsed as no intervals, and :func:`normalise_day` keeps it
  as ``""`` so callers can tell it from ``CLOSED`` (the loader flags every blank day);
* separators between intervals other than a comma: ``; ``, ``, ``, a space, ``:`` or ``-``
  (``09:00-13:00:14:00-18:00``, ``09:00-13:00-14:00-18:00``);
* a comma inside an interval (``09:00,18:00``), a dot (``18.30``), no separator (``1700``)
  or a hyphen (``14-30``) inside a time.

Times are paired in order, so any run of an even number of times reads as intervals. ``24:00``
is allowed as an end time (midnight at the end of the day), and so is ``00:00`` after a later
start (``09:00-00:00``: 44 day values of 9 pharmacies in the 2023/24 Q3 list write midnight so;
their daily totals, e.g. 15 h,
confirm the reading); it is normalised to ``24:00``. Impossible or malformed values
raise :class:`HoursError` with the reason: hours above 24, minutes above 59, an end not after
its start, overlapping intervals, an odd number of times, or any other text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = DAYS[:5]
DAY_MINUTES = 24 * 60
LATE_AFTER_MIN = 18 * 60 + 30   # "late": open after 18:30 on a weekday
SAT_PM_AFTER_MIN = 13 * 60      # Saturday afternoon: open after 13:00
MISMATCH_TOLERANCE_H = 0.01

OPENING_CATEGORIES = ("7 days late", "7 days", "weekdays + Saturday",
                      "weekdays + Saturday morning only", "weekdays only", "other")
UNKNOWN_CATEGORY = "hours unknown"

Intervals = tuple[tuple[int, int], ...]


class HoursError(ValueError):
    """An opening-hours value is malformed or impossible; ``reason`` says why."""

    def __init__(self, text: object, reason: str):
        self.text, self.reason = text, reason
        super().__init__(f"opening hours {text!r}: {reason}")


# Tokens, tried in this order at each position. The hyphen-time form comes last so that
# "13:00-14:00" is always read as time, separator, time.
_TOKEN = re.compile(
    r"(?P<time>(?P<h>\d{1,2})[:.](?P<m>\d{2}))(?!\d)"
    r"|(?P<time4>(?P<h4>\d{2})(?P<m4>\d{2}))(?!\d)"
    r"|(?P<sep>\s*(?:[-\u2013,;:/]|to\b|and\b)\s*|\s+)"
    r"|(?P<timeh>(?P<hh>\d{1,2})-(?P<mh>\d{2}))(?![\d:.])",
    re.IGNORECASE | re.ASCII,  # ASCII digits only; non-breaking spaces are replaced first
)
_CLOSED = re.compile(r"\s*closed\s*", re.IGNORECASE)


def is_blank(text: object) -> bool:
    """True for None, NaN and empty or whitespace-only text."""
    if text is None:
        return True
    if isinstance(text, float) and math.isnan(text):
        return True
    return isinstance(text, str) and not text.strip()


def _minutes(h: str, m: str, text: object) -> int:
    hour, minute = int(h), int(m)
    if minute > 59:
        raise HoursError(text, f"minutes {h}:{m} are not a valid time (minutes must be 00-59)")
    if hour > 24 or (hour == 24 and minute > 0):
        raise HoursError(text, f"time {h}:{m} is beyond the end of the day (24:00 is the latest)")
    return hour * 60 + minute


def parse_day(text: str | None) -> Intervals:
    """Parse one day's opening hours into intervals of minutes since midnight.

    Parameters
    ----------
    text
        The day's value from the list, e.g. ``"09:00-13:00,14:00-17:30"``, ``"CLOSED"`` or blank.

    Returns
    -------
    tuple of (start, end)
        Sorted, non-overlapping intervals with ``0 <= start < end <= 1440``; empty when closed
        or blank (blank means closed or unknown: use :func:`is_blank` to tell them apart).

    Raises
    ------
    HoursError
        If the text is malformed or describes impossible times.
    """
    if is_blank(text):
        return ()
    if not isinstance(text, str):
        raise HoursError(text, f"expected text, got {type(text).__name__}")
    if _CLOSED.fullmatch(text):
        return ()
    s = text.replace("\u00a0", " ").strip()
    times: list[int] = []
    pos = 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if m is None or m.end() == pos:
            raise HoursError(text, f"unrecognised text {s[pos:pos + 12]!r} at character {pos + 1}")
        if m.group("time"):
            times.append(_minutes(m.group("h"), m.group("m"), text))
        elif m.group("time4"):
            times.append(_minutes(m.group("h4"), m.group("m4"), text))
        elif m.group("timeh"):
            times.append(_minutes(m.group("hh"), m.group("mh"), text))
        elif not times:
            raise HoursError(text, "text before the first time")
        pos = m.end()
    if not times:
        raise HoursError(text, "no times found")
    if len(times) % 2:
        raise HoursError(text, f"odd number of times ({len(times)}): every opening needs a start and an end")
    # An opening that ends at 00:00 ends at midnight: the list writes 09:00-00:00 for 15 hours.
    pairs = [(a, DAY_MINUTES if b == 0 and a > 0 else b) for a, b in zip(times[0::2], times[1::2])]
    for start, end in pairs:
        if start >= DAY_MINUTES:
            raise HoursError(text, "an opening cannot start at 24:00")
        if end == start:
            raise HoursError(text, f"opening {_fmt(start)}-{_fmt(end)} has zero length")
        if end < start:
            raise HoursError(text, f"end {_fmt(end)} is before start {_fmt(start)}")
    pairs.sort()
    for (s1, e1), (s2, e2) in zip(pairs, pairs[1:]):
        if s2 < e1:
            raise HoursError(text, f"openings {_fmt(s1)}-{_fmt(e1)} and {_fmt(s2)}-{_fmt(e2)} overlap")
    return tuple(pairs)


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_day(intervals: Intervals) -> str:
    """Write intervals in the list's standard form (``CLOSED`` when empty)."""
    if not intervals:
        return "CLOSED"
    return ",".join(f"{_fmt(a)}-{_fmt(b)}" for a, b in intervals)


def normalise_day(text: str | None) -> str:
    """The standard text of one day: ``HH:MM-HH:MM[,...]``, ``CLOSED``, or ``""`` if blank.

    Raises
    ------
    HoursError
        As :func:`parse_day`.
    """
    if is_blank(text):
        return ""
    return format_day(parse_day(text))


def is_open_at(intervals: Intervals, minute: int | float) -> bool:
    """True if ``minute`` (since midnight) falls in an interval: start inclusive, end exclusive."""
    return any(a <= minute < b for a, b in intervals)


def hours_of(intervals: Intervals) -> float:
    """Total opening hours of one day."""
    return sum(b - a for a, b in intervals) / 60.0


def _latest_close(intervals: Intervals) -> int:
    return max((b for _, b in intervals), default=0)


def summarise_hours(df: pd.DataFrame) -> pd.DataFrame:
    """Add computed opening-hours columns to a pharmaceutical list.

    Parameters
    ----------
    df
        Needs ``hours_mon..hours_sun`` (text). ``total_mon..total_sun`` and ``weekly_total``
        (the file's own figures) are used for ``hours_mismatch`` when present. Rows with
        ``hours_known == False`` (built from ODS, no hours) get NaN / NA and
        category ``"hours unknown"``.

    Returns
    -------
    DataFrame
        A copy with ``intervals_mon..intervals_sun`` (tuples of (start, end) minutes),
        ``open_mon..open_sun`` (hours), ``weekly_hours``, ``late_weekday``, ``sat_pm``,
        ``sunday``, ``days_open``, ``opening_category`` and ``hours_mismatch``.
        Booleans are ``bool`` unless some rows have unknown hours, then nullable ``boolean``.

    Raises
    ------
    HoursError
        If any day cannot be parsed (the loader quarantines such rows first).
    """
    out = df.copy()
    known = (out["hours_known"].fillna(False).astype(bool).to_numpy() if "hours_known" in out
             else np.ones(len(out), dtype=bool))
    cache: dict[object, Intervals] = {}

    def parse_cached(v: object) -> Intervals:
        key = None if is_blank(v) else v
        if key not in cache:
            cache[key] = parse_day(key)  # type: ignore[arg-type]
        return cache[key]

    open_h = {}
    late = np.zeros(len(out), dtype=bool)
    for d in DAYS:
        ivs = [parse_cached(v) if k else () for v, k in zip(out[f"hours_{d}"], known)]
        col = pd.Series(ivs, index=out.index, dtype=object)
        out[f"intervals_{d}"] = col
        h = np.array([hours_of(iv) for iv in ivs], dtype=float)
        open_h[d] = h
        out[f"open_{d}"] = np.where(known, h, np.nan)
        if d in WEEKDAYS:
            late |= np.array([_latest_close(iv) > LATE_AFTER_MIN for iv in ivs], dtype=bool)
    weekly = sum(open_h[d] for d in DAYS)
    is_open = {d: open_h[d] > 0 for d in DAYS}
    # dtype given so an empty list (no rows) stays boolean
    sat_pm = np.array([_latest_close(iv) > SAT_PM_AFTER_MIN for iv in out["intervals_sat"]], dtype=bool)
    weekdays_all = np.logical_and.reduce([is_open[d] for d in WEEKDAYS])
    days_open = np.sum([is_open[d] for d in DAYS], axis=0).astype(int)
    seven = days_open == 7
    sat, sun = is_open["sat"], is_open["sun"]
    category = np.select(
        [seven & late, seven,
         weekdays_all & sat & sat_pm & ~sun,
         weekdays_all & sat & ~sat_pm & ~sun,
         weekdays_all & ~sat & ~sun],
        list(OPENING_CATEGORIES[:5]), default="other").astype(object)

    out["weekly_hours"] = np.where(known, weekly, np.nan)
    mismatch = np.zeros(len(out), dtype=bool)
    mismatch[total_disagreements(out)["position"].to_numpy(dtype=np.int64)] = True
    if known.all():
        out["late_weekday"], out["sat_pm"], out["sunday"] = late, sat_pm, sun
        out["days_open"] = days_open
        out["hours_mismatch"] = mismatch
    else:
        for name, arr in (("late_weekday", late), ("sat_pm", sat_pm), ("sunday", sun),
                          ("hours_mismatch", mismatch)):
            out[name] = pd.array(np.where(known, arr, False), dtype="boolean")
            out.loc[~known, name] = pd.NA
        out["days_open"] = pd.array(days_open, dtype="Int64")
        out.loc[~known, "days_open"] = pd.NA
        category[~known] = UNKNOWN_CATEGORY
    out["opening_category"] = category
    return out


#: The file's own total columns, each with the parsed-hours column it should equal.
TOTAL_CHECKS: tuple[tuple[str, str], ...] = (*((f"total_{d}", f"open_{d}") for d in DAYS),
                                              ("weekly_total", "weekly_hours"))
DISAGREEMENT_COLUMNS = ["position", "column", "file_value", "parsed_value"]


def total_disagreements(summary: pd.DataFrame, tolerance: float = MISMATCH_TOLERANCE_H) -> pd.DataFrame:
    """Where the file's daily or weekly totals disagree with the hours parsed from its opening times.

    Parameters
    ----------
    summary
        Needs ``open_mon..open_sun`` and ``weekly_hours`` (as :func:`summarise_hours` adds them);
        ``total_mon..total_sun`` and ``weekly_total`` are compared where present.
    tolerance
        Differences up to this many hours are rounding, not disagreement.

    Returns
    -------
    pandas.DataFrame
        One row per disagreeing total, in row then :data:`TOTAL_CHECKS` order: ``position``
        (0-based row position in ``summary``), ``column`` (e.g. ``total_mon``), ``file_value``
        and ``parsed_value`` (hours). Blank totals and unknown hours (NaN) are never a disagreement.
    """
    pos, cols, given_v, parsed_v = [], [], [], []
    for col, parsed_col in TOTAL_CHECKS:
        if col not in summary or parsed_col not in summary:
            continue
        given = pd.to_numeric(summary[col], errors="coerce").to_numpy(dtype=float)
        parsed = pd.to_numeric(summary[parsed_col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(np.abs(given - parsed) > tolerance)  # NaN compares False
        pos.extend(bad.tolist())
        cols.extend([col] * len(bad))
        given_v.extend(given[bad].tolist())
        parsed_v.extend(parsed[bad].tolist())
    out = pd.DataFrame({"position": np.array(pos, dtype=np.int64), "column": np.array(cols, dtype=object),
                        "file_value": np.array(given_v, dtype=float),
                        "parsed_value": np.array(parsed_v, dtype=float)})
    return out.sort_values("position", kind="stable").reset_index(drop=True)


def intervals_for(df: pd.DataFrame, day: int | str) -> pd.Series:
    """The intervals of every pharmacy on one day (0 = Monday or ``"mon"``)."""
    d = DAYS[day] if isinstance(day, (int, np.integer)) else str(day).lower()[:3]
    col = f"intervals_{d}"
    if col not in df:
        raise KeyError(f"{col} missing: run summarise_hours first")
    return df[col]


def open_mask(df: pd.DataFrame, day: int | str, minute: int | float) -> pd.Series:
    """Whether each pharmacy is open on ``day`` at ``minute`` since midnight.

    Returns a ``boolean`` Series, NA where hours are unknown (``hours_known == False``).
    """
    ivs = intervals_for(df, day)
    vals = pd.array([is_open_at(iv, minute) for iv in ivs], dtype="boolean")
    res = pd.Series(vals, index=df.index, name="open")
    if "hours_known" in df:
        res[~df["hours_known"].fillna(False).astype(bool)] = pd.NA
    return res


def open_minutes_matrix(intervals: Iterable[Intervals]) -> np.ndarray:
    """Boolean matrix (n_pharmacies, 1440): open at each minute of the day."""
    ivs = list(intervals)
    mat = np.zeros((len(ivs), DAY_MINUTES), dtype=bool)
    for i, iv in enumerate(ivs):
        for a, b in iv:
            mat[i, a:b] = True
    return mat

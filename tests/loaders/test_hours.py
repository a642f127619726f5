"""Tests for pna.loaders.hours: the per-day parser, and the weekly summary on real data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pna.loaders.hours import (
    DAYS,
    OPENING_CATEGORIES,
    UNKNOWN_CATEGORY,
    HoursError,
    format_day,
    hours_of,
    intervals_for,
    is_blank,
    is_open_at,
    normalise_day,
    open_mask,
    open_minutes_matrix,
    parse_day,
    summarise_hours,
)

DATA = Path(__file__).parents[2].parent / "shared" / "pna-data"
LIST_CSV = DATA / "pharmacies" / "nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv"


# --------------------------------------------------------------------------- parse_day: examples
@pytest.mark.parametrize("text, expected", [
    ("09:00-18:00", ((540, 1080),)),
    ("09:00-13:00,14:00-17:30", ((540, 780), (840, 1050))),
    ("08:00-10:00,11:00-12:00,13:00-14:00", ((480, 600), (660, 720), (780, 840))),
    ("08:30-12:30; 14:00-21:00", ((510, 750), (840, 1260))),
    ("09:00-13:00, 14:00-18:30", ((540, 780), (840, 1110))),
    ("09:00-13:00 14:00-18:00", ((540, 780), (840, 1080))),
    ("09:00-13:00:14:00-18:00", ((540, 780), (840, 1080))),
    ("09:00-13:00-14:00-18:00", ((540, 780), (840, 1080))),
    ("09:00,18:00", ((540, 1080),)),
    ("09:00-18.30", ((540, 1110),)),
    ("09:00-1700", ((540, 1020),)),
    ("11:00-13:30,14-30-16:00", ((660, 810), (870, 960))),
    ("9:00-17:00", ((540, 1020),)),
    ("09:00\u00a0-\u00a018:00", ((540, 1080),)),
    ("14:00-18:00,09:00-13:00", ((540, 780), (840, 1080))),  # out of order: sorted
    ("09:00-13:00,13:00-18:00", ((540, 780), (780, 1080))),  # touching is not overlapping
    ("00:00-24:00", ((0, 1440),)),
    ("18:00-24:00", ((1080, 1440),)),
    ("09:00-00:00", ((540, 1440),)),                          # midnight written as 00:00
    ("CLOSED", ()), ("closed", ()), (" Closed ", ()),
    ("", ()), ("   ", ()), (None, ()), (float("nan"), ()),
])
def test_parse_day_accepts_every_form_in_the_list(text, expected):
    assert parse_day(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("25:00-26:00", "beyond the end of the day"),
    ("17:00-09:00", "before start"),
    ("12:60-13:00", "minutes"),
    ("09:00-13:00,12:00-14:00", "overlap"),
    ("09:00-17:00,09:00-17:00", "overlap"),
    ("garbage", "unrecognised"),
    ("open all day", "unrecognised"),
    ("09:00", "odd number"),
    ("09:00-13:00,14:00", "odd number"),
    ("09:00-09:00", "zero length"),
    ("24:00-24:00", "cannot start at 24:00"),
    ("24:30-24:45", "beyond the end of the day"),
    ("9-5", "unrecognised"),
    ("closed 09:00-10:00", "unrecognised"),
    ("-", "before the first time"),
    ("\u0660\u0669:00-18:00", "unrecognised"),
])
def test_parse_day_rejects_impossible_or_malformed(text, reason):
    with pytest.raises(HoursError) as err:
        parse_day(text)
    assert reason in err.value.reason
    assert isinstance(err.value, ValueError)
    assert repr(text) in str(err.value)


def test_parse_day_rejects_non_text():
    with pytest.raises(HoursError, match="expected text"):
        parse_day(900)  # type: ignore[arg-type]


def test_normalise_day_keeps_blank_apart_from_closed():
    assert normalise_day("") == ""
    assert normalise_day(None) == ""
    assert normalise_day("closed") == "CLOSED"
    assert normalise_day("09:00-13:00; 14:00-18.30") == "09:00-13:00,14:00-18:30"
    assert normalise_day("09:00-00:00") == "09:00-24:00"
    assert is_blank(" ") and not is_blank("CLOSED")


def test_is_open_at_and_hours_of():
    iv = parse_day("09:00-13:00,14:00-17:30")
    assert is_open_at(iv, 9 * 60) and is_open_at(iv, 12 * 60 + 59)
    assert not is_open_at(iv, 13 * 60) and not is_open_at(iv, 17 * 60 + 30)  # end exclusive
    assert not is_open_at(iv, 8 * 60 + 59)
    assert hours_of(iv) == pytest.approx(7.5)
    assert hours_of(()) == 0.0
    assert hours_of(parse_day("00:00-24:00")) == 24.0


# --------------------------------------------------------------------------- parse_day: properties
@st.composite
def valid_intervals(draw):
    """Sorted, non-overlapping intervals within the day (touching allowed)."""
    cuts = draw(st.lists(st.integers(0, 1440), min_size=0, max_size=8, unique=True).map(sorted))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    return tuple(zip(cuts[0::2], cuts[1::2]))


_SEPARATORS = st.sampled_from([",", ", ", "; ", ";", " ", ":"])


@settings(max_examples=300, deadline=None)
@given(valid_intervals())
def test_round_trip(intervals):
    assert parse_day(format_day(intervals)) == intervals


@settings(max_examples=200, deadline=None)
@given(valid_intervals(), _SEPARATORS)
def test_round_trip_with_other_separators(intervals, sep):
    text = sep.join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in intervals)
    assert parse_day(text or "CLOSED") == intervals
    assert normalise_day(text or "CLOSED") == format_day(intervals)


@settings(max_examples=300, deadline=None)
@given(valid_intervals())
def test_hours_between_zero_and_24_and_match_open_minutes(intervals):
    h = hours_of(intervals)
    assert 0.0 <= h <= 24.0
    minutes_open = sum(is_open_at(intervals, m) for m in range(0, 1440, 1))
    assert minutes_open == round(h * 60)
    assert open_minutes_matrix([intervals]).sum() == minutes_open


@settings(max_examples=200, deadline=None)
@given(st.integers(25, 99), st.integers(0, 59), st.integers(0, 23), st.integers(0, 59))
def test_invalid_hour_always_raises(h, m, h2, m2):
    with pytest.raises(HoursError) as err:
        parse_day(f"{h2:02d}:{m2:02d}-{h:02d}:{m:02d}")
    assert err.value.reason


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 23), st.integers(60, 99))
def test_invalid_minutes_always_raise(h, m):
    with pytest.raises(HoursError, match="minutes"):
        parse_day(f"{h:02d}:{m:02d}-23:00")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 1439), st.integers(1, 1439))
def test_end_not_after_start_always_raises(a, b):
    start, end = max(a, b), min(a, b)
    with pytest.raises(HoursError) as err:
        parse_day(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    assert "before start" in err.value.reason or "zero length" in err.value.reason


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1400), st.integers(10, 400), st.integers(1, 400))
def test_overlapping_intervals_always_raise(start, length, overlap):
    end = min(start + length, 1440)
    s2 = max(start, end - overlap)
    e2 = min(s2 + length, 1440)
    if e2 <= s2:
        return
    text = f"{format_day(((start, end),))},{format_day(((s2, e2),))}"
    with pytest.raises(HoursError, match="overlap"):
        parse_day(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_text_parses_to_valid_intervals_or_raises_hours_error(text):
    try:
        iv = parse_day(text)
    except HoursError as err:
        assert err.reason
        return
    assert all(0 <= a < b <= 1440 for a, b in iv)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(iv, iv[1:]))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=12)
       .filter(lambda s: s.strip().lower() not in {"closed", "to", "and"}))
def test_letters_always_raise(text):
    with pytest.raises(HoursError, match="unrecognised|before the first time"):
        parse_day(text)


# --------------------------------------------------------------------------- summarise_hours
def _frame(week: list[list[str]], **extra) -> pd.DataFrame:
    df = pd.DataFrame(week, columns=[f"hours_{d}" for d in DAYS])
    for k, v in extra.items():
        df[k] = v
    return df


WD = ["09:00-18:00"] * 5


@pytest.mark.parametrize("week, category", [
    (["08:00-22:00"] * 7, "7 days late"),
    (["09:00-18:00"] * 7, "7 days"),
    (WD + ["09:00-17:00", "CLOSED"], "weekdays + Saturday"),
    (WD + ["09:00-13:00", "CLOSED"], "weekdays + Saturday morning only"),
    (WD + ["09:00-12:00,12:30-13:00", "CLOSED"], "weekdays + Saturday morning only"),
    (WD + ["CLOSED", "CLOSED"], "weekdays only"),
    (WD + ["", ""], "weekdays only"),
    (WD + ["CLOSED", "10:00-16:00"], "other"),
    (["CLOSED"] + WD[:4] + ["09:00-17:00", "CLOSED"], "other"),
])
def test_opening_category(week, category):
    out = summarise_hours(_frame([week]))
    assert out["opening_category"].iat[0] == category
    assert category in OPENING_CATEGORIES


def test_summary_columns_and_flags():
    df = _frame([["09:00-18:30"] * 4 + ["09:00-18:31", "09:00-13:01", "10:00-16:00"],
                 WD + ["09:00-13:00", "CLOSED"]],
                total_mon=[9.5, 9.0], weekly_total=[9.5 * 4 + 9.5 + 4 + 6, 99.0])
    out = summarise_hours(df)
    a, b = out.iloc[0], out.iloc[1]
    assert a["late_weekday"] and not b["late_weekday"]          # 18:31 is after 18:30; 18:30 is not
    assert a["sat_pm"] and not b["sat_pm"]                      # 13:01 after 13:00; 13:00 is not
    assert a["sunday"] and not b["sunday"]
    assert a["days_open"] == 7 and b["days_open"] == 6
    assert a["open_fri"] == pytest.approx(9 + 31 / 60)
    assert a["weekly_hours"] == pytest.approx(sum(a[f"open_{d}"] for d in DAYS))
    assert a["hours_mismatch"]                                  # friday adds 1 minute: 0.017 h off
    assert b["hours_mismatch"]                                  # weekly total 99 vs 49
    assert a["intervals_sat"] == ((540, 781),)
    assert out["late_weekday"].dtype == bool and out["days_open"].dtype.kind == "i"


def test_mismatch_ignores_blank_totals_and_tolerates_rounding():
    out = summarise_hours(_frame([["09:00-17:20"] * 5 + ["CLOSED", "CLOSED"]],
                                 total_mon=[8.33], total_sun=[np.nan], weekly_total=[41.666666667]))
    assert not out["hours_mismatch"].iat[0]


def test_unknown_hours_rows_get_na_not_invented_values():
    df = _frame([WD + ["CLOSED", "CLOSED"], [""] * 7], hours_known=[True, False])
    out = summarise_hours(df)
    assert out["opening_category"].tolist() == ["weekdays only", UNKNOWN_CATEGORY]
    assert np.isnan(out["weekly_hours"].iat[1]) and out["weekly_hours"].iat[0] == 45
    assert out["late_weekday"].isna().tolist() == [False, True]
    mask = open_mask(out, "mon", 600)
    assert bool(mask.iat[0]) and pd.isna(mask.iat[1])


def test_open_mask_and_intervals_for():
    out = summarise_hours(_frame([WD + ["CLOSED", "10:00-16:00"], ["CLOSED"] * 6 + ["09:00-10:00"]]))
    assert open_mask(out, 6, 600).tolist() == [True, False]
    assert open_mask(out, "sun", 9 * 60 + 30).tolist() == [False, True]
    assert open_mask(out, "Monday", 600).tolist() == [True, False]
    assert intervals_for(out, 0).iat[1] == ()
    with pytest.raises(KeyError):
        intervals_for(_frame([WD + ["", ""]]), 0)


def test_summarise_raises_on_unparseable():
    with pytest.raises(HoursError):
        summarise_hours(_frame([WD + ["25:00-26:00", "CLOSED"]]))


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def raw_list() -> pd.DataFrame:
    if not LIST_CSV.is_file():
        pytest.skip("real pharmaceutical list not available")
    return pd.read_csv(LIST_CSV, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_survey_every_real_value_parses(raw_list):
    cols = [c for c in raw_list.columns if c.startswith("PHARMACY_OPENING_HOURS_")]
    assert len(cols) == 7 and len(raw_list) == 10785
    values = pd.unique(raw_list[cols].to_numpy().ravel())
    failures = {}
    for v in values:
        try:
            parse_day(v)
        except HoursError as err:
            failures[v] = err.reason
    assert failures == {}
    # the survey's shapes: standard, CLOSED, blank, and the handful of variants
    shapes = pd.Series([re.sub(r"\d", "9", v) for v in raw_list[cols].to_numpy().ravel()]).value_counts()
    assert shapes["99:99-99:99"] > 40000 and shapes["CLOSED"] > 10000 and shapes[""] == 4

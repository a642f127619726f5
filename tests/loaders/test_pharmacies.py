"""Tests for pna.loaders.pharmacies: list and ODS loaders, open-on-date, reconciliation, classification."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pna.config import Overrides, load_config
from pna.errors import InputError
from pna.loaders.hours import UNKNOWN_CATEGORY, summarise_hours
from pna.loaders.pharmacies import (
    LIST_COLUMNS,
    ODS_COLUMNS,
    RECONCILE_COLUMNS,
    area_list,
    classify,
    list_from_ods,
    load_ods_history,
    load_pharmaceutical_list,
    national_list,
    normalise_postcode,
    normalise_postcodes,
    ods_history,
    pharmacies_open_on,
    reconcile,
)
from pna.quality import QualityLog

ROOT = Path(__file__).parents[2]
FIX = ROOT / "tests" / "fixtures" / "pharmacies"
DATA = ROOT.parent / "shared" / "pna-data"
CONFIG = ROOT / "config" / "leicester.yaml"


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIG, check_inputs=False)


def _with_overrides(cfg, **kw):
    return cfg.model_copy(update={"overrides": Overrides(**kw)})


# --------------------------------------------------------------------------- postcodes
@pytest.mark.parametrize("raw, norm", [("le1 1aa", "LE1 1AA"), ("LE2  6BR", "LE2 6BR"), ("SA5 9 EA", "SA5 9EA"),
                                       ("ec1a1bb", "EC1A 1BB"), (" w1a 0ax ", "W1A 0AX"), ("", ""), (None, "")])
def test_normalise_postcode(raw, norm):
    assert normalise_postcode(raw) == norm
    assert normalise_postcodes(pd.Series([raw], dtype=object)).iat[0] == norm


# --------------------------------------------------------------------------- pharmaceutical list: fixtures
def test_load_good_list_with_bom():
    q = QualityLog()
    df = load_pharmaceutical_list(FIX / "list_good.csv", q)
    assert list(df.columns) == LIST_COLUMNS + ["provenance"]
    assert df["ods_code"].tolist() == ["FAA01", "FAA02", "FAA03", "FAA04", "FAA05", "FAA06"]  # BOM stripped
    assert df["source_row"].tolist() == [2, 3, 4, 5, 6, 7]
    assert df["postcode"].tolist()[:2] == ["LE1 1AA", "LE2 6BR"]
    assert df["address"].iat[0] == "1 HIGH STREET, TOWN"
    assert df["hours_mon"].iat[1] == "08:30-12:30,14:00-21:00"
    assert df["hours_sat"].iat[1] == "CLOSED" and df["hours_sun"].iat[1] == ""
    assert df["hours_mon"].iat[2] == "07:00-24:00"
    assert np.isnan(df["total_sun"].iat[1]) and df["weekly_total"].iat[0] == 49.0
    assert df["hours_known"].all()
    assert q.accounts["pharmaceutical list: list_good.csv"].rows_in == 6
    t = q.table()
    assert (t["action"] == "flagged").all()
    assert {"hours_mon", "hours_sun"} <= set(t["field"])
    sun = t[t["field"] == "hours_sun"].set_index("record")["reason"]
    assert sun["FAA02"] == "opening hours blank: read as closed or unknown"
    assert sun["FAA03"] == "opening hours '07:00-00:00' read as '07:00-24:00'"
    assert t[(t["record"] == "FAA02") & (t["field"] == "hours_mon")]["row"].tolist() == [3]


def test_bom_and_no_bom_read_the_same(tmp_path):
    plain = tmp_path / "list_good.csv"
    plain.write_bytes((FIX / "list_good.csv").read_bytes().removeprefix(b"\xef\xbb\xbf"))
    a = load_pharmaceutical_list(FIX / "list_good.csv", QualityLog())
    b = load_pharmaceutical_list(plain, QualityLog())
    pd.testing.assert_frame_equal(a, b)


def test_bad_rows_are_quarantined_with_line_field_and_reason():
    q = QualityLog()
    df = load_pharmaceutical_list(FIX / "list_bad.csv", q)
    assert df["source_row"].tolist() == [2, 9]
    assert df["ods_code"].tolist() == ["FAA01", "FAA03"]
    acc = q.accounts["pharmaceutical list: list_bad.csv"]
    assert (acc.rows_in, acc.accepted, acc.quarantined) == (9, 2, 7)
    t = q.table()
    quar = t[t["action"] == "quarantined"].set_index("row")
    assert sorted(quar.index) == [3, 4, 5, 6, 7, 8, 10]
    assert (quar["source_file"] == "list_bad.csv").all()
    assert "expected 25 fields, found 20" in quar.at[3, "reason"]
    assert quar.at[4, "field"] == "ods_code" and "missing ODS code" in quar.at[4, "reason"]
    assert quar.at[5, "field"] == "hours_mon" and "25:00-26:00" in quar.at[5, "reason"]
    assert "beyond the end of the day" in quar.at[5, "reason"]
    assert quar.at[6, "field"] == "hours_sat" and "end 09:00 is before start 17:00" in quar.at[6, "reason"]
    assert quar.at[7, "field"] == "total_mon" and "not a number" in quar.at[7, "reason"]
    assert quar.at[8, "record"] == "FAA01" and "duplicate ODS code (first seen on line 2)" in quar.at[8, "reason"]
    assert "unrecognised" in quar.at[10, "reason"]


def test_missing_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found") as err:
        load_pharmaceutical_list(tmp_path / "nope.csv", QualityLog())
    assert err.value.file.endswith("nope.csv")


def test_missing_column_raises_input_error():
    with pytest.raises(InputError, match="missing required columns: CONTRACT_TYPE") as err:
        load_pharmaceutical_list(FIX / "list_missing_column.csv", QualityLog())
    assert err.value.row == 1


def test_empty_and_non_utf8_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_pharmaceutical_list(empty, QualityLog())
    latin = tmp_path / "latin.csv"
    latin.write_bytes((FIX / "list_good.csv").read_bytes()[3:].replace(b"ALPHA", b"\xc9LPHA"))
    with pytest.raises(InputError, match="UTF-8") as err:
        load_pharmaceutical_list(latin, QualityLog())
    assert err.value.row == 2


# --------------------------------------------------------------------------- ODS history: fixtures
@pytest.fixture()
def ods_small():
    q = QualityLog()
    return load_ods_history(FIX / "ods_small.csv", q), q


def test_load_ods_history(ods_small):
    ods, q = ods_small
    assert list(ods.columns) == ODS_COLUMNS + ["provenance"]
    assert ods["source_row"].tolist() == [1, 2, 3, 4, 5, 6, 7, 12]
    assert ods["open_date"].dtype.kind == "M" and ods["close_date"].dtype.kind == "M"
    assert ods.set_index("ods_code").at["FAA02", "close_date"] == pd.Timestamp("2023-11-30")
    assert pd.isna(ods.set_index("ods_code").at["FAA01", "close_date"])
    assert ods.set_index("ods_code").at["FAA13", "postcode"] == "LE1 5AA"
    acc = q.accounts["ODS history: ods_small.csv"]
    assert (acc.rows_in, acc.accepted, acc.quarantined) == (12, 8, 4)
    quar = q.table().set_index("row")
    assert "open date '20151301' is not a YYYYMMDD date" in quar.at[8, "reason"]
    assert "duplicate organisation code (first seen on line 1)" in quar.at[9, "reason"]
    assert "expected 27 fields, found 20" in quar.at[10, "reason"]
    assert "before open date" in quar.at[11, "reason"]


def test_ods_wrong_column_count_raises(tmp_path):
    p = tmp_path / "ods.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(InputError, match="expected 27 columns"):
        load_ods_history(p, QualityLog())
    with pytest.raises(InputError, match="file not found"):
        load_ods_history(tmp_path / "missing.csv", QualityLog())


def test_pharmacies_open_on_close_date_convention(ods_small):
    ods, _ = ods_small
    on = lambda d: set(pharmacies_open_on(ods, d)["ods_code"])  # noqa: E731
    assert "FAA02" in on("2023-11-29") and "FAA02" not in on("2023-11-30")   # closed on its close date
    assert "FAA13" not in on("2023-12-30") and "FAA13" in on("2023-12-31")   # open on its open date
    assert on("2019-12-31") >= {"FAA09"} and "FAA09" not in on("2020-01-01")
    assert on(pd.Timestamp("2023-12-31 15:00")) == on("2023-12-31")


# --------------------------------------------------------------------------- reconcile: fixtures
POSTCODE_LA = {"LE1 1AA": "E06000016", "LE2 6BR": "E06000016", "LE3 9AA": "E06000016",
               "LE1 9ZZ": "E06000016", "LE1 5AA": "E06000016", "LE5 1AB": "E06000016",
               "NG1 1AA": "E06000018", "LE1 8AA": "E06000016"}


def test_reconcile_findings(ods_small):
    ods, _ = ods_small
    lst = area_list(load_pharmaceutical_list(FIX / "list_good.csv", QualityLog()), "testshire")
    assert lst["ods_code"].tolist() == ["FAA01", "FAA02", "FAA03", "FAA05", "FAA06"]
    other = pd.DataFrame({"ods_code": ["FAA07"], "hwb": ["OTHERSHIRE"], "postcode": ["LE1 9ZY"]})
    r = reconcile(lst, ods, "2023-12-31", POSTCODE_LA, "E06000016", national_list=other)
    assert list(r.columns) == RECONCILE_COLUMNS + ["provenance"]
    f = r.set_index("ods_code")["finding"].to_dict()
    assert list(f) == ["FAA01", "FAA02", "FAA03", "FAA05", "FAA06", "FAA07", "FAA13"]
    assert f["FAA01"] == "in the list and open in ODS"
    assert f["FAA02"] == "in the list but closed in ODS on 2023-11-30"
    assert f["FAA03"] == "in the list but ODS has it opening only on 2024-01-05, after 2023-12-31"
    assert "LE4 0RY is not in the postcode lookup" in f["FAA05"]
    assert f["FAA06"] == "in the list but not in ODS"
    assert f["FAA07"].startswith("open in ODS on 2023-12-31 with a postcode in E06000016, but not in the list")
    assert "listed under OTHERSHIRE with postcode LE1 9ZY" in f["FAA07"]
    assert "not in the list" in f["FAA13"]
    row = r.set_index("ods_code").loc["FAA02"]
    assert not row["open_in_ods"] and row["in_list"] and row["ods_close_date"] == pd.Timestamp("2023-11-30")
    assert r["in_list"].tolist() == [True] * 5 + [False] * 2
    assert "list_good.csv" in r["provenance"].iat[0] and "ods_small.csv" in r["provenance"].iat[0]


# --------------------------------------------------------------------------- classify, list_from_ods
def test_classify_without_flags_says_not_identified_and_bands_hours(cfg):
    """No flag and no codes: distance-selling and 100-hour status are unknown (NA), never False;
    weekly hours are banded as hours (72+, 100+), not as contract types."""
    df = summarise_hours(load_pharmaceutical_list(FIX / "list_good.csv", QualityLog()))
    out = classify(df, _with_overrides(cfg))
    c = out.set_index("ods_code")
    assert out["is_100_hour"].isna().all() and out["is_distance_selling"].isna().all()
    assert out["hundred_hour_source"].str.startswith("not identified").all()
    assert out["distance_selling_source"].str.contains("no distance-selling flag in this edition").all()
    assert c.at["FAA03", "weekly_hours"] == 119 and c.at["FAA03", "opening_category"] == "7 days late"
    assert c["open_100plus_hours"].tolist() == [False, False, True, False, False, False]   # FAA03: 7 x 17 h
    assert bool(c.at["FAA03", "open_72plus_hours"])
    assert c["is_dac"].tolist() == [False, False, False, True, False, False]
    assert c["is_lps"].tolist() == [False, False, False, False, True, False]


def test_classify_configured_codes_and_contract_type(cfg):
    df = summarise_hours(load_pharmaceutical_list(FIX / "list_good.csv", QualityLog()))
    out = classify(df, _with_overrides(cfg, distance_selling_codes=["faa06"], hundred_hour_codes=["FAA01"]))
    c = out.set_index("ods_code")
    assert c["is_distance_selling"].sum() == 1 and c.at["FAA06", "is_distance_selling"]
    assert out["distance_selling_source"].str.contains("overrides.distance_selling_codes").all()
    assert c["is_100_hour"].sum() == 1 and c.at["FAA01", "is_100_hour"]              # codes beat the rule
    assert (out["hundred_hour_source"] == "configured ODS codes (overrides.hundred_hour_codes)").all()
    df2 = df.copy()
    df2.loc[df2["ods_code"] == "FAA02", "contract_type"] = "100 Hours"
    df2.loc[df2["ods_code"] == "FAA05", "contract_type"] = "Distance Selling"
    out2 = classify(df2, _with_overrides(cfg, hundred_hour_codes=["FAA01"]))
    assert out2.set_index("ods_code")["is_100_hour"].to_dict()["FAA02"]
    assert out2["is_100_hour"].sum() == 1
    assert (out2["hundred_hour_source"] == "pharmaceutical list contract type").all()
    assert out2.set_index("ods_code").at["FAA05", "is_distance_selling"]


def test_list_from_ods(ods_small, cfg):
    ods, _ = ods_small
    open_now = pharmacies_open_on(ods, "2023-12-31")
    lst = list_from_ods(open_now, "TESTSHIRE", POSTCODE_LA, "E06000016")
    assert list(lst.columns)[:len(LIST_COLUMNS) + 1] == LIST_COLUMNS + ["provenance"]
    assert (lst["opening_category"] == UNKNOWN_CATEGORY).all() and lst["days_open"].isna().all()
    assert lst["ods_code"].tolist() == ["FAA01", "FAA07", "FAA13"]      # FAA05: postcode not in lookup
    assert not lst["hours_known"].any() and lst["weekly_total"].isna().all()
    assert lst["trading_name"].iat[0] == "ALPHA PHARMACY" and (lst["hwb"] == "TESTSHIRE").all()
    assert "opening hours unknown" in lst["provenance"].iat[0]
    assert len(list_from_ods(open_now, "X")) == len(open_now)
    out = classify(lst, _with_overrides(cfg))      # as the pipeline does for an area with no list
    pd.testing.assert_frame_equal(classify(summarise_hours(lst), _with_overrides(cfg)), out)
    assert (out["opening_category"] == UNKNOWN_CATEGORY).all()
    assert out["weekly_hours"].isna().all() and out["is_100_hour"].isna().all()
    assert out["open_100plus_hours"].isna().all()
    assert out["hundred_hour_source"].str.startswith("not identified").all()
    assert not out["is_lps"].any()


# --------------------------------------------------------------------------- real data
needs_data = pytest.mark.skipif(not (DATA / "pharmacies").is_dir(), reason="real data not available")


@pytest.fixture(scope="module")
def real(cfg):
    if not (DATA / "pharmacies").is_dir():
        pytest.skip("real data not available")
    q = QualityLog()
    real_cfg = load_config(CONFIG)
    return {"list": national_list(real_cfg, q), "ods": ods_history(real_cfg, q), "q": q, "cfg": real_cfg}


@needs_data
def test_real_list_loads_every_row_balanced(real):
    q, nat = real["q"], real["list"]
    acc = q.accounts["pharmaceutical list: nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv"]
    assert acc.rows_in == 10785 and acc.balanced
    assert acc.accepted == len(nat) == 10785 and acc.quarantined == 0   # every form in the file is handled
    assert nat["ods_code"].is_unique
    assert nat["contract_type"].value_counts().to_dict() == {"Community": 10660, "DAC": 111, "LPS": 14}
    assert nat["is_dac"].sum() == 111 and nat["is_lps"].sum() == 14
    assert nat["postcode"].str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}").all()
    assert nat["source_row"].min() == 2 and nat["source_row"].max() == 10786
    flags = q.table()
    flags = flags[flags["stage"] == "pharmaceutical list"]
    assert (flags["action"] == "flagged").all()
    assert (flags["reason"].str.contains("blank")).sum() == 4          # 4 blank day values in the file
    assert flags["reason"].str.contains("read as '.*24:00'").sum() == 44  # midnight written as 00:00


@needs_data
def test_real_leicester_list(real):
    lei = area_list(real["list"], real["cfg"].area.hwb_name)
    assert len(lei) == 81
    assert lei["opening_category"].value_counts().to_dict() == {
        "weekdays + Saturday morning only": 30, "weekdays only": 22, "weekdays + Saturday": 14,
        "7 days late": 11, "7 days": 4}
    assert not lei["hours_mismatch"].any()
    assert lei["is_100_hour"].isna().all()      # the list has no 100-hour flag: not identified
    hh = lei["open_100plus_hours"].astype(bool)
    assert hh.sum() == 2 and (lei.loc[hh, "weekly_hours"] >= 100).all()
    assert lei["sunday"].sum() == 15 and lei["late_weekday"].sum() == 19
    fj401 = lei.set_index("ods_code").loc["FJ401"]                      # Sunday 11:00-00:00 = 13 h
    assert fj401["open_sun"] == 13 and fj401["total_sun"] == 13


@needs_data
def test_real_weekly_hours_cross_check(real):
    nat = real["list"]
    off = (nat["weekly_hours"] - nat["weekly_total"]).abs() > 0.01
    assert set(nat.loc[nat["hours_mismatch"], "ods_code"]) == {"FTX34", "FGQ24", "FMV20", "FRP26", "FE348"}
    assert set(nat.loc[off, "ods_code"]) <= set(nat.loc[nat["hours_mismatch"], "ods_code"])
    assert off.sum() == 4   # FTX34 differs only in daily totals (09:00-18.30 given as 10 h)
    assert (nat["weekly_hours"] >= 0).all() and (nat["weekly_hours"] <= 168).all()


@needs_data
def test_real_ods_history_and_rebuilt_list(real):
    ods, q = real["ods"], real["q"]
    acc = q.accounts["ODS history: ods_edispensary_2025-05.csv"]
    assert acc.rows_in == 20932 and acc.accepted == len(ods) == 20932 and acc.balanced
    d = pd.Timestamp("2020-01-01")
    got = pharmacies_open_on(ods, d)
    assert (got["open_date"] <= d).all() and (got["close_date"].isna() | (got["close_date"] > d)).all()
    excluded = ods[~ods["ods_code"].isin(got["ods_code"])]
    assert ((excluded["open_date"] > d) | (excluded["close_date"] <= d)).all()
    assert len(got) + len(excluded) == len(ods)
    assert len(got) == 12133 and len(pharmacies_open_on(ods, "2023-12-31")) == 11518


@pytest.fixture(scope="module")
def leicester_postcode_la(real):
    cfg = real["cfg"]
    cp = pd.read_csv(cfg.data_path(cfg.inputs.codepoint), header=None, usecols=[0, 8], names=["pc", "la"],
                     dtype=str)
    nspd = pd.read_csv(cfg.data_path(cfg.inputs.postcode_directory), usecols=["pcd", "laua"], dtype=str)
    lookup = dict(zip(normalise_postcodes(nspd["pcd"]), nspd["laua"]))
    lookup.update(zip(normalise_postcodes(cp["pc"]), cp["la"]))           # Code-Point first where both
    return lookup


@needs_data
def test_real_reconcile_leicester(real, leicester_postcode_la):
    cfg = real["cfg"]
    lei = area_list(real["list"], cfg.area.hwb_name)
    r = reconcile(lei, real["ods"], cfg.as_at, leicester_postcode_la, cfg.area.code, national_list=real["list"])
    assert r["ods_code"].is_monotonic_increasing and r["ods_code"].is_unique
    assert r["in_list"].sum() == 81 and len(r) == 82
    assert (r.loc[r["in_list"], "finding"] == "in the list and open in ODS").all()
    extra = r[~r["in_list"]].iloc[0]
    assert extra["ods_code"] == "FAL96" and extra["open_in_ods"]
    assert "listed under LEICESTERSHIRE with postcode LE2 6BT" in extra["finding"]


def test_loaders_are_deterministic():
    runs = []
    for _ in range(2):
        q = QualityLog()
        df = load_pharmaceutical_list(FIX / "list_bad.csv", q)
        ods = load_ods_history(FIX / "ods_small.csv", q)
        runs.append((df, ods, q.table(), q.accounting_table()))
    for a, b in zip(*runs):
        pd.testing.assert_frame_equal(a, b)

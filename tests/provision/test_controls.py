"""Tests for pna.provision.controls: control totals (both layouts) and the housing trajectory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pna.errors import InputError
from pna.provision.controls import (
    ALL_AGES,
    OVER_65,
    control_series,
    dwellings_by_year,
    interpolate_controls,
    load_controls,
    load_housing,
    normalise_age_group,
)
from pna.quality import QualityLog

DATA = Path(__file__).parents[2].parent / "shared" / "pna-data"
PUBLISHED = DATA / "projections" / "leicester_published_projection_figures.csv"
HOUSING = DATA / "projections" / "leicester_housing_supply_trajectory.csv"
SNPP = Path(__file__).parents[1] / "fixtures" / "projections" / "snpp_2018_persons_small.csv"
AREA = "E06000016"
HEADER = "area_code,area_name,measure,age_group,year,value,basis\n"

needs_data = pytest.mark.skipif(not PUBLISHED.is_file(), reason="shared pna-data not available")


def _write(tmp_path: Path, text: str, name: str = "controls.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _value(c: pd.DataFrame, age: str, year: int) -> float:
    return float(c.loc[(c["age_group"] == age) & (c["year"] == year), "value"].iloc[0])


# -- published layout, real file ---------------------------------------------------------------
@needs_data
def test_published_real_file_anchors_and_interpolation():
    q = QualityLog()
    c = load_controls(PUBLISHED, AREA, q)
    assert list(c.columns) == ["year", "age_group", "value", "basis"]
    assert not c.duplicated(["year", "age_group"]).any()
    allages = c[c["age_group"] == ALL_AGES]
    assert allages["year"].tolist() == list(range(2021, 2044))
    assert _value(c, ALL_AGES, 2021) == 368609 and _value(c, ALL_AGES, 2043) == 398459
    assert _value(c, ALL_AGES, 2025) == pytest.approx(368609 + 4 / 22 * (398459 - 368609))
    # 65+: explicit POPPI counts 2020..2040, 2043 derived from the published change (preferred to the share)
    assert _value(c, OVER_65, 2030) == 53600
    assert _value(c, OVER_65, 2021) == pytest.approx(44000 + (48500 - 44000) / 5)
    assert _value(c, OVER_65, 2043) == pytest.approx(44900 + 15167)
    basis43 = c.loc[(c["age_group"] == OVER_65) & (c["year"] == 2043), "basis"].iloc[0]
    assert "published change" in basis43
    assert c.loc[(c["age_group"] == ALL_AGES) & (c["year"] == 2030), "basis"].iloc[0].startswith("interpolated")
    # the two housing rows are not controls: flagged, not silently dropped; accounting balances
    ex = q.table()
    assert sorted(ex["row"].tolist()) == [12, 13] and set(ex["action"]) == {"flagged"}
    acc = q.accounting_table()
    assert acc["rows_in"].sum() == 12 and acc["balanced"].all()


def test_share_used_only_outside_explicit_counts(tmp_path):
    p = _write(tmp_path, HEADER
               + "E1,X,population,all ages,2021,1000,a\n"
               + "E1,X,population,all ages,2041,1200,b\n"
               + "E1,X,population_share,65+,2021,0.10,c\n"
               + "E1,X,population_share,65+,2031,0.99,share inside the count span: ignored\n"
               + "E1,X,population,65+,2026,130,d\n"
               + "E1,X,population,65+,2036,200,d\n"
               + "E1,X,population_share,65+,2041,0.20,e\n")
    c = load_controls(p, "E1")
    # 2021 and 2041 are outside the explicit span (2026-2036): derived from shares
    assert _value(c, OVER_65, 2021) == pytest.approx(100.0)
    assert _value(c, OVER_65, 2041) == pytest.approx(240.0)
    assert _value(c, OVER_65, 2026) == 130
    assert _value(c, OVER_65, 2031) == pytest.approx(165.0)  # interpolated counts, not the 0.99 share
    assert c[c["age_group"] == OVER_65]["year"].tolist() == list(range(2021, 2042))


def test_interpolate_controls_linear_and_labelled():
    anchors = pd.DataFrame({"age_group": ["all ages"] * 2, "year": [2020, 2024], "value": [100.0, 140.0],
                            "basis": ["x", "y"]})
    c = interpolate_controls(anchors)
    assert c["value"].tolist() == [100, 110, 120, 130, 140]
    assert c["basis"].iloc[2] == "interpolated linearly between 2020 (100) and 2024 (140)"


def test_control_series_refuses_to_extrapolate(tmp_path):
    p = _write(tmp_path, HEADER + "E1,X,population,all ages,2021,1000,a\nE1,X,population,all ages,2030,1100,b\n")
    c = load_controls(p, "E1")
    assert control_series(c, ALL_AGES, [2021, 2030], p).tolist() == [1000, 1100]
    with pytest.raises(InputError, match=r"do not cover year\(s\) \[2043\]"):
        control_series(c, ALL_AGES, [2025, 2043], p)


# -- ONS SNPP layout --------------------------------------------------------------------------------
def test_snpp_fixture_parses():
    q = QualityLog()
    c = load_controls(SNPP, AREA, q)
    raw = pd.read_csv(SNPP)
    raw = raw[(raw["AREA_CODE"] == AREA) & (raw["COMPONENT"] == "Population") & (raw["SEX"] == "persons")]
    ages = raw.set_index("AGE_GROUP")
    single = [str(a) for a in range(90)] + ["90 and over"]
    for y in (2018, 2030, 2043):
        col = str(y)
        assert _value(c, ALL_AGES, y) == pytest.approx(ages.loc["All ages", col])
        assert _value(c, OVER_65, y) == pytest.approx(ages.loc[single[65:], col].sum())
        assert _value(c, "0-17", y) == pytest.approx(ages.loc[single[:18], col].sum())
        assert _value(c, "18-64", y) == pytest.approx(ages.loc[single[18:65], col].sum())
        assert (_value(c, "0-17", y) + _value(c, "18-64", y) + _value(c, OVER_65, y)
                == pytest.approx(_value(c, ALL_AGES, y), abs=1.0))
    assert set(c["year"]) == set(range(2018, 2044))
    assert set(c["age_group"]) == {ALL_AGES, OVER_65, "0-17", "18-64"}
    # the females row and the Births row are flagged; Derby is ignored
    reasons = q.table()["reason"].tolist()
    assert any("component 'Births'" in r for r in reasons)
    assert any("sex-specific" in r for r in reasons)
    assert load_controls(SNPP, "E06000015")["value"].iloc[0] == 260000.0


def test_snpp_males_and_females_are_summed(tmp_path):
    years = ",".join(str(y) for y in range(2020, 2023))
    lines = [f"AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP,{years}"]
    for sex in ("male", "female"):
        for a in [*map(str, range(90)), "90 and over"]:
            lines.append(f"E1,X,Population,{sex},{a},10,11,12")
    p = _write(tmp_path, "\n".join(lines) + "\n")
    c = load_controls(p, "E1")
    assert _value(c, ALL_AGES, 2020) == 91 * 20
    assert _value(c, OVER_65, 2022) == 26 * 24


# -- malformed files ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, pattern, row", [
    ("foo,bar\n1,2\n", "unknown projection layout", None),
    (HEADER + "E1,X,population,all ages,2021,lots,a\n", "'lots' is not a number", 2),
    (HEADER + "E1,X,population,all ages,2021,1000,a\nE1,X,population,65+,2021,100,b\n"
     "E1,X,population,All ages,2021,1001,c\n", r"duplicate population row .*\(also on row 2\)", 4),
    (HEADER + "E1,X,population,65+,2021,100,b\n", "no all-ages population counts", None),
    (HEADER + "E1,X,population,all ages,2021,1000,a\nE1,X,population_change,65+,2043,5,b\n",
     "a change needs a period", 3),
    (HEADER + "E1,X,population,all ages,2021,1000,a\nE1,X,population_share,65+,2021,12,b\n",
     "share 12 is not between 0 and 1", 3),
    (HEADER + "E1,X,population,all ages,20x1,1000,a\n", "not a four-digit year", 2),
    (HEADER + "E1,X,population,all ages,2021,-5,a\n", "negative population", 2),
    (HEADER + "E9,X,population,all ages,2021,1000,a\n", "no rows for area_code E1", None),
    ("", "empty", None),
])
def test_malformed_published(tmp_path, text, pattern, row):
    p = _write(tmp_path, text)
    with pytest.raises(InputError, match=pattern) as err:
        load_controls(p, "E1")
    assert err.value.row == row
    assert str(p) in str(err.value)


def _snpp_text(rows: list[str], years: str = "2020,2021") -> str:
    return f"AREA_CODE,AREA_NAME,COMPONENT,SEX,AGE_GROUP,{years}\n" + "\n".join(rows) + "\n"


def _full_ages(sex: str = "persons") -> list[str]:
    return [f"E1,X,Population,{sex},{a},10,11" for a in [*map(str, range(90)), "90 and over"]]


@pytest.mark.parametrize("rows, pattern, row", [
    (_full_ages()[:5] + ["E1,X,Population,persons,5,abc,11"] + _full_ages()[6:],
     "column '2020': 'abc' is not a number", 7),
    (_full_ages() + ["E1,X,Population,persons,40,1,1"], "duplicate row for AGE_GROUP '40' .*also on row 42", 93),
    (_full_ages()[:40] + _full_ages()[41:], r"single years of age \[40\] missing", None),
    (["E9,X,Population,persons,All ages,1,1"], "no rows for AREA_CODE E1", None),
    (["E1,X,Births,persons,0,1,1"], "no 'Population' component rows", None),
])
def test_malformed_snpp(tmp_path, rows, pattern, row):
    p = _write(tmp_path, _snpp_text(rows))
    with pytest.raises(InputError, match=pattern) as err:
        load_controls(p, "E1")
    assert err.value.row == row


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_controls(tmp_path / "nope.csv", "E1")


def test_normalise_age_group():
    assert normalise_age_group(" All Ages ") == ALL_AGES
    assert normalise_age_group("65 and over") == OVER_65
    assert normalise_age_group("Aged 65 years and over") == OVER_65
    assert normalise_age_group("18 to 64") == "18-64"


# -- housing ------------------------------------------------------------------------------------------
@needs_data
def test_housing_real_trajectory():
    q = QualityLog()
    h = load_housing(HOUSING, AREA, q)
    assert len(h) == 17 and h["dwellings"].sum() == 21362  # the published trajectory total
    assert h["period"].iloc[0] == "2019/20" and h["start"].iloc[0] == 2019.25
    base = 2021 + 79 / 365  # Census 2021
    d = dwellings_by_year(h, base, [2021, 2022, 2043])
    # 2019/20 and 2020/21 started before the census; 2021/22 is complete by mid-2022
    assert d.tolist() == [0.0, 1759.0, 21362.0 - 1733 - 1733]
    assert q.accounting_table()["balanced"].all()


@pytest.mark.parametrize("text, pattern, row", [
    ("area_code,year,dwellings\nE1,2019/21,5\n", "not a financial year", 2),
    ("area_code,year,dwellings\nE1,2019/20,5\nE1,soon,5\n", "neither a financial year", 3),
    ("area_code,year,dwellings\nE1,2019/20,-5\n", "negative count", 2),
    ("area_code,year,dwellings\nE1,2019/20,many\n", "'many' is not a number", 2),
    ("area_code,year,dwellings\nE1,2019/20,5\nE1,2019/20,6\n", "duplicate or overlapping period", 3),
    ("area_code,period,homes\nE1,2019/20,5\n", r"missing column\(s\)", None),
])
def test_malformed_housing(tmp_path, text, pattern, row):
    p = _write(tmp_path, text, "housing.csv")
    with pytest.raises(InputError, match=pattern) as err:
        load_housing(p, "E1")
    assert err.value.row == row


def test_dwellings_by_year_calendar_years():
    h = pd.DataFrame({"period": ["2022", "2023"], "start": [2022.0, 2023.0], "end": [2023.0, 2024.0],
                      "dwellings": [10.0, 20.0]})
    assert dwellings_by_year(h, 2021.5, [2022, 2023, 2030]).tolist() == [0.0, 10.0, 30.0]
    assert np.all(dwellings_by_year(h, 2022.5, [2030]) == 20.0)

"""Tests for pna.geography.geocode: the real Leicester list, overrides and exceptions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pna.config import load_config
from pna.errors import InputError
from pna.geography.geocode import geocode, read_geocode_overrides
from pna.loaders.postcodes import postcode_table
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "pna-data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared pna-data not available")
LIST = DATA / "pharmacies" / "nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv"


def read_list(path: Path = LIST) -> pd.DataFrame:
    """The NHSBSA list reduced to the contract columns geocoding needs."""
    raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    return pd.DataFrame({"ods_code": raw["PHARMACY_ODS_CODE_(F-CODE)"].str.strip(),
                         "hwb": raw["HEALTH_AND_WELLBEING_BOARD"].str.strip(),
                         "trading_name": raw["PHARMACY_TRADING_NAME"], "postcode": raw["POST_CODE"],
                         "source_row": range(2, len(raw) + 2)})


@pytest.fixture(scope="module")
def postcodes():
    return postcode_table(load_config(ROOT / "config" / "leicester.yaml"), QualityLog())


@pytest.fixture(scope="module")
def leicester_list():
    df = read_list()
    return df[df["hwb"] == "LEICESTER CITY"].reset_index(drop=True)


@needs_data
def test_every_leicester_pharmacy_accounted(leicester_list, postcodes):
    assert len(leicester_list) == 81
    q = QualityLog()
    g = geocode(leicester_list, postcodes, overrides_path=ROOT / "config" / "overrides" / "leicester_geocode.csv",
                area_code="E06000016", quality=q, hwb_name="LEICESTER CITY")
    ex = q.table()
    quarantined = set(ex.loc[ex["action"] == "quarantined", "record"])
    assert set(g["ods_code"]) | quarantined == set(leicester_list["ods_code"])
    assert not set(g["ods_code"]) & quarantined
    acc = q.accounts["geocode:LEICESTER CITY"]
    assert acc.rows_in == 81 and acc.accepted == len(g) and acc.balanced
    assert len(g) == 81  # every postcode is in Code-Point or the ONS directory
    assert g.crs.to_epsg() == 27700 and g.geometry.is_valid.all()
    assert (g["postcode_la"] == "E06000016").all()
    assert g["geocode_source"].value_counts().to_dict() == {"codepoint": 80, "postcode_directory": 1}
    assert g.loc[g["postcode"] == "LE4 0RY", "geocode_source"].item() == "postcode_directory"


def _frame(rows):
    return pd.DataFrame(rows, columns=["ods_code", "hwb", "postcode", "source_row"])


@needs_data
def test_not_found_and_other_la(postcodes, tmp_path):
    df = _frame([("FAAA1", "LEICESTER CITY", "le1 1aa", 2),   # ok, normalised
                 ("FAAA2", "LEICESTER CITY", "LE1 9ZZ", 3),   # not in the files
                 ("FAAA3", "LEICESTER CITY", "nonsense", 4),  # not a postcode
                 ("FAAA4", "LEICESTER CITY", "CV1 1AA", 5),   # Coventry postcode on Leicester's list
                 ("FAAA5", "LEICESTERSHIRE", "CV1 1AA", 6)])  # another board: not flagged
    q = QualityLog()
    g = geocode(df, postcodes, overrides_path=None, area_code="E06000016", quality=q, hwb_name="LEICESTER CITY",
                source_file="list.csv")
    assert list(g["ods_code"]) == ["FAAA1", "FAAA4", "FAAA5"]
    assert g.loc[g["ods_code"] == "FAAA1", "postcode"].item() == "LE1 1AA"
    ex = q.table().set_index("record")
    assert ex.loc["FAAA2", "action"] == "quarantined" and "not found" in ex.loc["FAAA2", "reason"]
    assert ex.loc["FAAA2", "row"] == 3 and ex.loc["FAAA2", "source_file"] == "list.csv"
    assert "not a valid postcode" in ex.loc["FAAA3", "reason"]
    assert ex.loc["FAAA4", "action"] == "flagged" and "E08000026" in ex.loc["FAAA4", "reason"]
    assert "FAAA5" not in ex.index
    acc = q.accounts["geocode:LEICESTER CITY"]
    assert (acc.rows_in, acc.accepted, acc.quarantined) == (5, 3, 2)


@needs_data
def test_overrides_applied_first(postcodes, tmp_path):
    ov = tmp_path / "geocode.csv"
    ov.write_text("ods_code,easting,northing,postcode,reason\n"
                  "FAAA1,458000,305000,,surveyed entrance\n"
                  "FAAA2,,,LE1 1AD,postcode typo in the list\n"
                  "FZZZZ,1,1,,not in this frame\n")
    df = _frame([("FAAA1", "LEICESTER CITY", "LE1 1AA", 2), ("FAAA2", "LEICESTER CITY", "LE1 9ZZ", 3)])
    q = QualityLog()
    g = geocode(df, postcodes, overrides_path=ov, area_code="E06000016", quality=q, hwb_name="LEICESTER CITY").set_index("ods_code")
    assert (g.loc["FAAA1", "easting"], g.loc["FAAA1", "northing"]) == (458000, 305000)
    assert g.loc["FAAA1", "geocode_source"] == "override"
    assert g.loc["FAAA1", "postcode_la"] == "E06000016"
    assert g.loc["FAAA2", "postcode"] == "LE1 1AD"
    assert (g.loc["FAAA2", "easting"], g.loc["FAAA2", "geocode_source"]) == (459040, "codepoint")
    ex = q.table()
    assert list(ex["action"]) == ["overridden", "overridden"] and list(ex["row"]) == [2, 3]
    assert q.accounts["geocode:LEICESTER CITY"].quarantined == 0


@pytest.mark.parametrize("body, match", [
    ("FA1,458000,,,r\n", "both easting and northing"),
    ("FA1,abc,305000,,r\n", "must be numbers"),
    ("FA1,0,0,,r\n", "outside Great Britain"),
    ("FA1,,,LE1,r\n", "not a valid postcode"),
    ("FA1,,,,r\n", "give easting and northing, or a postcode"),
    ("FA1,458000,305000,,\n", "reason is required"),
    ("FA1,458000,305000,,r\nFA1,458000,305000,,r\n", "overridden twice"),
])
def test_override_validation(tmp_path, body, match):
    ov = tmp_path / "geocode.csv"
    ov.write_text("ods_code,easting,northing,postcode,reason\n" + body)
    with pytest.raises(InputError, match=match) as err:
        read_geocode_overrides(ov)
    assert err.value.row is not None and err.value.file == str(ov)


def test_override_template_is_valid():
    tpl = read_geocode_overrides(ROOT / "config" / "overrides" / "leicester_geocode.csv")
    assert tpl.empty
    with pytest.raises(InputError, match="not found"):
        read_geocode_overrides(ROOT / "config" / "overrides" / "missing.csv")


def test_postcode_table_as_columns_and_empty():
    table = pd.DataFrame({"postcode": ["NP20 1AA"], "easting": [331000.0], "northing": [188000.0],
                          "la_code": [None], "positional_quality": [float("nan")], "source": ["osm_address"]})
    df = _frame([("FW001", "NEWPORT", "np20 1aa", 2), ("FW002", "NEWPORT", "NP20 9ZZ", 3)])
    q = QualityLog()
    g = geocode(df, table, overrides_path=None, area_code="W06000022", quality=q, hwb_name="NEWPORT")
    assert list(g["ods_code"]) == ["FW001"] and g["geocode_source"].item() == "osm_address"
    assert g["in_area"].all() and q.table()["action"].tolist() == ["quarantined"]  # no LA: nothing to flag
    empty = geocode(df, table.iloc[:0], overrides_path=None, area_code="W06000022", quality=QualityLog(),
                    hwb_name="NEWPORT")
    assert empty.empty and empty.crs.to_epsg() == 27700

"""Board names on the real pharmaceutical list map to ONS areas (pna.loaders.boards)."""

from __future__ import annotations

import pandas as pd
import pytest

from pna.errors import InputError
from pna.loaders.boards import load_boards, normalise_board_name

LIST = "pharmacies/nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv"


@pytest.fixture(scope="module")
def list_names(data_dir):
    df = pd.read_csv(data_dir / LIST, dtype=str, encoding="utf-8-sig", usecols=["HEALTH_AND_WELLBEING_BOARD"])
    return df["HEALTH_AND_WELLBEING_BOARD"].dropna()


@pytest.fixture(scope="module")
def register(data_dir, list_names):
    return load_boards(utla_lookup=data_dir / "lookups" / "lookup_ltla21_utla21.csv", list_names=list_names,
                       ltla21_boundaries=data_dir / "boundaries" / "ew_ltla21_generalised.gpkg",
                       ltla24_boundaries=data_dir / "boundaries" / "ew_ltla24_generalised.gpkg")


def test_every_board_on_the_list_maps_to_one_area(register, list_names):
    names = {n.strip() for n in list_names if n.strip()}
    assert set(register.boards) == names and not register.unmatched
    codes = [b.code for b in register.boards.values()]
    assert len(codes) == len(set(codes)) == 153


@pytest.mark.parametrize("name, code, rule", [
    ("LEICESTER CITY", "E06000016", "exact"), ("DURHAM", "E06000047", "exact"), ("BRISTOL", "E06000023", "exact"),
    ("HULL", "E06000010", "words"), ("KINGSTON", "E09000021", "words"), ("RICHMOND", "E09000027", "words"),
    ("BRACKNELL AND ASCOT", "E06000036", "first word"), ("BOURNEMOUTH & POOLE", "E06000058", "words"),
    ("NORTHAMPTONSHIRE WEST", "E06000062", "words"), ("CUMBERLAND", "E06000063", "2024 authority"),
    ("CITY OF LONDON", "E09000001", "exact"), ("HACKNEY", "E09000012", "exact"),
])
def test_names_written_the_lists_way_find_their_area(register, name, code, rule):
    b = register.boards[name]
    assert (b.code, b.matched_by) == (code, rule)


def test_a_county_has_its_districts_and_a_reorganised_one_its_new_code(register):
    leics = register.boards["LEICESTERSHIRE"]
    assert leics.kind == "county" and len(leics.districts) == 7 and all(d.startswith("E07") for d in leics.districts)
    assert register.boards["NORTH YORKSHIRE"].la_codes == ("E06000065",)   # the 2023 unitary postcodes carry
    assert register.boards["CUMBERLAND"].districts == ("E07000026", "E07000028", "E07000029")
    assert register.boards["MANCHESTER"].kind == "metropolitan borough"


def test_a_name_no_rule_maps_is_reported_and_an_alias_settles_it(data_dir):
    lookup = data_dir / "lookups" / "lookup_ltla21_utla21.csv"
    reg = load_boards(utla_lookup=lookup, list_names=["LEICESTER CITY", "LOWER SNODSBURY"])
    assert list(reg.boards) == ["LEICESTER CITY"] and "LOWER SNODSBURY" in reg.unmatched
    reg = load_boards(utla_lookup=lookup, list_names=["LOWER SNODSBURY"], aliases={"LOWER SNODSBURY": "E06000016"})
    assert reg.boards["LOWER SNODSBURY"].code == "E06000016" and reg.boards["LOWER SNODSBURY"].matched_by == "alias"


def test_find_by_code_list_name_or_ons_name_and_a_clear_miss(register):
    assert register.find("e10000018").name == "Leicestershire"
    assert register.find("Leicester").code == register.find("LEICESTER CITY").code == "E06000016"
    with pytest.raises(InputError, match="closest: LEICESTERSHIRE"):
        register.find("Leicestrshire")


def test_normalise_board_name():
    assert normalise_board_name("Bristol, City of") == normalise_board_name("BRISTOL") == "BRISTOL"
    assert normalise_board_name("County Durham") == "DURHAM"
    assert normalise_board_name("City of London") == "CITY OF LONDON"
    assert normalise_board_name("Bournemouth & Poole") == "BOURNEMOUTH AND POOLE"

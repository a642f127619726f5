"""The consultation report's tables from the synthetic export, against figures counted by hand.

Hand counts (tests/fixtures/consultation/responses.csv; 15 responses kept, see test_responses.py):

* types: public R001-3, R005-7, R009-10, R015, R017-18 = 11; pharmacy R004, GP R008, LPC R011,
  Healthwatch R016 = 1 each.
* Q1 purpose: No R005; blank R007; Yes the other 13. Q4 gaps: Yes R002, R015, R016; Not sure
  R006, R007; No the other 10. Q3 needs: "Maybe" (R009) is not an option, so not answered.
* public ages: Under 25 R007; 25 to 44 R001, R006, R018; 45 to 64 R005, R009, R015; 65 to 74
  R002, R010; 75 and over R003; R017's "70" is not a band.
* areas: named North West R003, Central R009, East R017; none R007, R011; LE18 (R010) has no
  Leicester postcode; the districts go to the locality holding most of their Leicester postcodes.
* comments (first matching theme): Opening hours R001 (closes), R002 (Sunday; also bus), R008
  (Sunday); Getting there R015 (parking); Services R004 (services), R016 (prescriptions);
  Language R005 (English); Other R010, R011, R018.
"""

from __future__ import annotations

import numpy as np
import pytest

from pna.consultation.responses import read_responses
from pna.consultation.summary import OTHER_THEME, consultation_tables, district_profile
from pna.quality import QualityLog
from tests.consultation.conftest import EXPORT


@pytest.fixture(scope="module")
def tables(leicester_results, survey_spec):
    run = leicester_results
    names = [str(v) for v in run.geography.localities["locality"]]
    responses, comments = read_responses(path=EXPORT, spec=survey_spec, localities=names, quality=QualityLog())
    return consultation_tables(responses=responses, comments=comments, spec=survey_spec, lsoa=run.geography.lsoa,
                               postcodes=run.geography.postcodes, area_name="Leicester",
                               area_codes=run.cfg.area.all_codes, localities=names, source="synthetic export")


def majority_locality(run, district: str) -> str:
    """Independently: the locality of the LSOAs holding most of a district's Leicester postcodes."""
    import geopandas as gpd

    pcs = run.geography.postcodes
    pcs = pcs[(pcs["la_code"] == run.cfg.area.code) & (pcs.index.str.split(" ").str[0] == district)]
    lsoa = run.geography.lsoa.to_crs(27700).reset_index(drop=True)
    pts = gpd.points_from_xy(pcs["easting"], pcs["northing"])
    _, which = lsoa.sindex.query(pts, predicate="within")   # (point, polygon) pairs
    counts = lsoa["locality"].iloc[which].value_counts()
    return max(sorted(counts.index), key=lambda k: counts[k])


def test_counts_by_respondent_type(tables):
    t = tables["consultation_respondents"].set_index("respondent_type")["responses"]
    assert t["Member of the public"] == 11
    assert t[["Pharmacy or pharmacist", "GP practice", "Local Pharmaceutical Committee", "Healthwatch"]].tolist() == \
        [1, 1, 1, 1]
    assert t.sum() == 15 and t["NHS England"] == 0


def test_answers_to_each_question(tables):
    s = tables["consultation_summary"]
    assert s.iloc[0]["responses"] == 15

    def answers(prefix):
        return s[s["question"].str.startswith(prefix)].set_index("answer")["responses"].to_dict()

    nr = "not answered (share of all responses)"
    assert answers("Has the purpose") == {"Yes": 13, "No": 1, "Not sure": 0, nr: 1}
    assert answers("Are there gaps") == {"Yes": 3, "No": 10, "Not sure": 2, nr: 0}
    assert answers("Does the draft describe the needs") == {"Yes": 10, "No": 2, "Not sure": 2, nr: 1}
    assert answers("Do you agree") == {"Yes": 11, "No": 3, "Not sure": 1, nr: 0}
    purpose_yes = s[s["question"].str.startswith("Has the purpose") & (s["answer"] == "Yes")]["share"].iloc[0]
    assert purpose_yes == pytest.approx(13 / 14)   # share of those who answered it


def test_localities_and_districts(tables, leicester_results):
    loc = tables["consultation_localities"].set_index("locality")
    assert loc.loc["Outside Leicester", "responses"] == 1 and loc.loc["Not given", "responses"] == 2
    assert loc.loc["Not given", "public"] == 1 and loc["responses"].sum() == 15
    # districts: LE2 R001 R015, LE4 R002 R018, LE1 R004, LE5 R005 R008, LE3 R006 R016
    expect = {name: 0 for name in leicester_results.geography.localities["locality"]}
    expect["North West"] += 1
    expect["Central"] += 1
    expect["East"] += 1
    for district, n in (("LE2", 2), ("LE4", 2), ("LE1", 1), ("LE5", 2), ("LE3", 2)):
        expect[majority_locality(leicester_results, district)] += n
    assert loc["responses"].drop(["Outside Leicester", "Not given"]).to_dict() == expect
    assert majority_locality(leicester_results, "LE1") == "Central"


def test_who_responded_against_residents(tables, leicester_results):
    rep = tables["consultation_representation"]
    age = rep[rep["measure"] == "age band"].set_index("group")
    assert age["respondents"].tolist() == [1, 3, 3, 2, 1]
    lsoa = leicester_results.geography.lsoa
    under25 = lsoa[["age_15_19", "age_20_24"]].to_numpy().sum()
    assert age.loc["Under 25", "residents"] == pytest.approx(under25)
    older = lsoa[[c for c in lsoa.columns if c.startswith("age_") and c not in ("age_0_4", "age_5_9", "age_10_14")]]
    assert age.loc["Under 25", "share_residents"] == pytest.approx(under25 / older.to_numpy().sum())
    assert age.loc["Under 25", "share_respondents"] == pytest.approx(0.1)
    # the young responded at less than 80% of their share: visible to the board
    assert bool(age.loc["Under 25", "under_represented"]) and not bool(age.loc["45 to 64", "under_represented"])
    dep = rep[rep["measure"].str.startswith("deprivation")]
    assert list(dep["group"]) == ["1 (most deprived)", "2", "3", "4", "5 (least deprived)"]
    # public responses placed in Leicester (11 less R007 with no area and R010 outside) share out whole
    assert dep["respondents"].sum() == pytest.approx(9)
    assert dep["residents"].sum() == pytest.approx(lsoa["pop_total"].sum())
    assert np.isfinite(dep["ratio"]).all()


def test_comments_grouped_with_board_response(tables):
    c = tables["consultation_comments"]
    assert len(c) == 10
    assert c.groupby("theme", sort=False).size().to_dict() == {
        "Opening hours": 3, "Getting there": 1, "Services and medicines": 2, "Language and information": 1,
        OTHER_THEME: 3}
    r002 = c[c["line"] == 3].iloc[0]
    assert r002["theme"] == "Opening hours" and r002["also_about"] == "Getting there"
    replied = c[c["board_response"] != ""]
    assert replied["line"].tolist() == [5] and replied["theme"].iloc[0] == "Services and medicines"
    assert (c["provenance"] == c["provenance"].iloc[0]).all() and "synthetic export" in c["provenance"].iloc[0]


def test_district_profile_counts_only_area_postcodes(leicester_results):
    run = leicester_results
    prof = district_profile(lsoa=run.geography.lsoa, postcodes=run.geography.postcodes,
                            area_codes=run.cfg.area.all_codes)
    assert "LE18" not in set(prof["district"])   # Wigston: no Leicester postcode
    pcs = run.geography.postcodes
    le1 = int(((pcs["la_code"] == run.cfg.area.code) & (pcs.index.str.startswith("LE1 "))).sum())
    assert 0 < prof.loc[prof["district"] == "LE1", "postcodes"].sum() <= le1

"""Reading a survey tool's export: columns as configured, bad rows quarantined or flagged, clear errors."""

from __future__ import annotations

import pytest

from pna.consultation.responses import district_of, read_responses
from pna.errors import InputError
from pna.quality import QualityLog
from tests.consultation.conftest import EXPORT

LOCALITIES = ["Central", "East", "North", "North West", "South", "West"]


@pytest.mark.parametrize("text, district", [("LE2", "LE2"), ("le3 9qs", "LE3"), ("LE30QS", "LE3"), ("LE18", "LE18"),
                                            ("SW1A 1AA", "SW1A"), ("Mars Colony", None), ("2LE", None)])
def test_district_of(text, district):
    assert district_of(text) == district


def test_export_rows_accepted_quarantined_and_flagged(survey_spec):
    q = QualityLog()
    responses, comments = read_responses(path=EXPORT, spec=survey_spec, localities=LOCALITIES, quality=q)
    # 18 records after the header (one spans two physical lines): 15 kept, 3 quarantined
    ra = q.accounting_table().set_index("check").loc["consultation file: responses.csv"]
    assert (ra["rows_in"], ra["accepted"], ra["quarantined"]) == (18, 15, 3)
    ex = q.table()
    quarantined = ex[ex["action"] == "quarantined"].set_index("row")["reason"].to_dict()
    assert quarantined == {13: "respondent type 'Resident' is not one of the respondent types the board lists",
                           14: "area 'Mars Colony' is neither a postcode district nor a locality",
                           15: "empty response row"}
    flagged = ex[ex["action"] == "flagged"].set_index("row")["field"].to_dict()
    assert flagged == {10: "Q3 Needs correct", 19: "Age"}
    # the two-line comment of R015 is one response, whose record starts on line 16
    r015 = comments[comments["line"] == 16]["comment"].tolist()
    assert r015 == ["Parking near the pharmacy is difficult and the walk is too far for me."]
    # a full postcode keeps only its district; a locality is matched in any case; "yes" is "Yes"
    by_line = responses.set_index("line")
    assert by_line.loc[7, "district"] == "LE3" and by_line.loc[4, "locality"] == "North West"
    assert by_line.loc[20, "purpose"] == "Yes" and by_line.loc[10, "needs"] == ""
    assert by_line.loc[19, "age_band"] == "Not given"


def test_missing_column_is_a_clear_error(tmp_path, survey_spec):
    bad = tmp_path / "export.csv"
    text = EXPORT.read_text(encoding="utf-8").replace("Q4 Unmentioned gaps", "Q4 Gaps")
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_responses(path=bad, spec=survey_spec, localities=LOCALITIES, quality=QualityLog())
    assert err.value.row == 1 and "missing column 'Q4 Unmentioned gaps'" in err.value.reason
    assert "'Q4 Gaps'" in err.value.reason   # the file's own columns are listed to compare


def test_repeated_column_is_a_clear_error(tmp_path, survey_spec):
    bad = tmp_path / "export.csv"
    bad.write_text(EXPORT.read_text(encoding="utf-8").replace("Board response", "age"), encoding="utf-8")
    with pytest.raises(InputError, match="column 'age' appears twice \\(columns 5 and 12\\)"):
        read_responses(path=bad, spec=survey_spec, localities=LOCALITIES, quality=QualityLog())


@pytest.mark.parametrize("content, why", [(b"", "empty"), (b"a,b\n\xff\xfe,x\n", "not UTF-8"),
                                          (b'respondent_type,area\n"open,LE2\n', "not readable as CSV")])
def test_unreadable_files_are_clear_errors(tmp_path, survey_spec, content, why):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=why):
        read_responses(path=path, spec=survey_spec, localities=LOCALITIES, quality=QualityLog())
    with pytest.raises(InputError, match="not found"):
        read_responses(path=tmp_path / "none.csv", spec=survey_spec, localities=LOCALITIES, quality=QualityLog())

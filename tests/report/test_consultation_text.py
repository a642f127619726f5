"""The consultation page's words: the window's state, shares in plain words, locality findings from the gap rules."""

from __future__ import annotations

import datetime as dt

import pytest

from pna.config import ConsultationSpec
from pna.report.consultation_text import (
    clock_words,
    consultation_block,
    locality_findings,
    share_words,
    time_words,
    window_state,
)
from pna.report.i18n import english

SPEC = ConsultationSpec(opens=dt.date(2025, 6, 2), closes=dt.date(2025, 7, 31))


@pytest.mark.parametrize("day, state", [(dt.date(2025, 6, 1), "before"), (dt.date(2025, 6, 2), "during"),
                                        (dt.date(2025, 7, 31), "during"), (dt.date(2025, 8, 1), "after")])
def test_window_state(day, state):
    assert window_state(SPEC, day) == state
    assert window_state(ConsultationSpec(), day) == "none"


@pytest.mark.parametrize("share, words", [(1.0, "Everyone here"), (0.996, "More than 99 in every 100 people here"),
                                          (0.862, "86 in every 100 people here"), (0.004, "Fewer than 1 in every 100 "
                                                                                          "people here"),
                                          (0.0, "Nobody here")])
def test_share_words_never_round_to_all_or_none(share, words):
    assert share_words(share, english()) == words


def test_clock_and_time_words():
    cat = english()
    assert [clock_words(m, cat) for m in (0, 510, 720, 1200, 1230)] == ["midnight", "8:30am", "12 noon", "8pm",
                                                                       "8:30pm"]
    assert time_words(2, 1200, cat) == "Wednesday at 8pm"


def test_block_says_what_the_board_has_not_given(leicester_cfg):
    block = consultation_block(leicester_cfg, cat=english())
    assert block["state"] == "none" and not block["any_way"]
    assert block["missing"].startswith("a link to the online form, an email address")
    spec = leicester_cfg.consultation.model_copy(update={"opens": SPEC.opens, "closes": SPEC.closes,
                                                         "phone": "0116 454 1000", "today": dt.date(2025, 7, 1)})
    block = consultation_block(leicester_cfg.model_copy(update={"consultation": spec}), cat=english())
    assert block["state"] == "during" and block["closes_text"] == "31 July 2025"
    assert block["phone_href"] == "tel:01164541000" and "a telephone number" not in block["missing"]


def test_locality_findings_read_the_gap_rules(leicester_results):
    run = leicester_results
    gf = run.tables["gap_findings"]
    name = "South"
    got = locality_findings(cfg=run.cfg, findings=run.statements.findings, tables=run.tables, locality=name,
                            cat=english())
    geo = gf[(gf["rule"] == "geographic") & (gf["subject"] == name) & (gf["group"] == "all residents")].iloc[0]
    assert got["access"][0].startswith(share_words(geo["share"], english()))
    times = gf[(gf["rule"] == "times") & (gf["subject"] == name) & (gf["group"] == "all residents")]
    assert len(got["open"]) == len(times) == 3
    walk_share = share_words(times.iloc[0]["share_walk"], english())
    assert got["open"][0].startswith("Wednesday at 8pm: ") and f"{walk_share} can walk to an open one" in got["open"][0]
    prov = run.tables["provision"].set_index("locality").loc[name]
    assert got["provision"][0].startswith(f"There are {int(prov['pharmacies'])} pharmacies in {name}")
    # estimated travel times: every status line says the finding is not final
    assert all("not final" in line for line in got["open"])


def test_no_times_findings_is_said_not_left_blank(leicester_results):
    run = leicester_results
    no_times = [f for f in run.statements.findings if f.rule != "times"]
    got = locality_findings(cfg=run.cfg, findings=no_times, tables=run.tables, locality="South", cat=english())
    assert got["open"] == [english().t("area.open_unknown")]

"""The gap rule engine: each default rule fires on a small synthetic area built to fail it, and
stays quiet on one built to pass; rates are context, never a gap; the real Leicester run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pna.config import load_config
from pna.modes import Mode
from pna.statements.gaps import STATUSES, evaluate, findings_table, for_subject

ROOT = Path(__file__).resolve().parents[2]
NOT_EST = {Mode.WALK: False, Mode.DRIVE: False, Mode.TRANSIT: False}


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config" / "leicester.yaml", check_inputs=False)


def _points(walk, drive=None, transit=None, *, locality=None, pop=None, open_walk=None, open_drive=None):
    n = len(walk)
    df = pd.DataFrame({"point_id": [f"p{i}" for i in range(n)],
                       "population": pop if pop is not None else np.full(n, 100.0),
                       "pop_65plus": np.full(n, 20.0), "lsoa11_code": [f"L{i % 2}" for i in range(n)],
                       "locality": locality if locality is not None else ["A"] * (n // 2) + ["B"] * (n - n // 2),
                       "imd2019_quintile": [1 + i % 5 for i in range(n)],
                       "minutes_walk": walk,
                       "minutes_drive": drive if drive is not None else np.full(n, 99.0),
                       "minutes_transit": transit if transit is not None else np.full(n, 99.0),
                       "km_nearest": np.asarray(walk, float) * 0.08, "choice_walk": np.full(n, 2)})
    if open_walk is not None:
        df["open_weekday_2000_walk"] = open_walk
        df["open_weekday_2000_drive"] = open_drive if open_drive is not None else np.full(n, 99.0)
    return df


def _get(findings, rule, subject, time="", group="all residents"):
    hit = [f for f in findings if f.rule == rule and f.subject == subject and f.group == group and f.time == time]
    assert len(hit) == 1, (rule, subject, time, len(hit))
    return hit[0]


def test_geographic_rule_fires_where_walking_fails_and_nothing_else_reaches(cfg):
    # locality B: half its residents 40 min walk, no car or bus within 15 min -> gap; A is fine
    walk = np.array([5, 8, 12, 10, 40, 40, 40, 10], float)
    f = evaluate(cfg=cfg, points=_points(walk), estimated=NOT_EST, tables={}, localities=["A", "B"])
    assert _get(f, "geographic", "B").status == "gap"
    assert _get(f, "geographic", "A").status == "no gap"
    b = _get(f, "geographic", "B")
    assert b.share == pytest.approx(0.25) and b.population_without == pytest.approx(300)
    assert _get(f, "geographic", "Leicester").status == "gap"   # 62.5% < 95%


def test_geographic_rule_quiet_where_car_or_bus_reaches_in_time(cfg):
    walk = np.array([5, 8, 12, 10, 40, 40, 40, 10], float)
    drive = np.array([2, 2, 2, 2, 9, 9, 14, 2], float)   # 15 min by car where walking fails
    f = evaluate(cfg=cfg, points=_points(walk, drive), estimated=NOT_EST, tables={}, localities=["A", "B"])
    assert all(x.status == "no gap" for x in f if x.rule == "geographic")
    assert "On foot alone: 62.5%" in _get(f, "geographic", "Leicester").detail


def test_estimated_times_make_the_finding_provisional_with_its_outcome(cfg):
    walk = np.array([40, 40, 40, 40], float)
    f = evaluate(cfg=cfg, points=_points(walk), estimated={**NOT_EST, Mode.WALK: True}, tables={},
                 localities=["A", "B"])
    g = _get(f, "geographic", "Leicester")
    assert g.status == "provisional" and g.outcome == "gap" and "estimated" in g.basis
    assert {x.status for x in f} <= set(STATUSES)


def test_times_rule_fires_when_open_pharmacies_are_out_of_reach(cfg):
    walk = np.full(6, 5.0)
    closed = np.array([5, 5, 5, 60, 60, 60], float)   # half can walk to an open one at 20:00
    f = evaluate(cfg=cfg, points=_points(walk, open_walk=closed), estimated=NOT_EST, tables={},
                 localities=["A", "B"])
    t = _get(f, "times", "Leicester", time="Weekday 20:00")
    assert t.status == "gap" and t.share == pytest.approx(0.5)
    assert "300 who can walk to a pharmacy within 20 minutes in the day cannot walk to an open one then" in t.detail
    assert _get(f, "geographic", "Leicester").status == "no gap"
    # other configured times have no open-at-time columns: not assessed, said plainly
    assert _get(f, "times", "Leicester", time="Sunday 11:00").status == "not assessed"


def test_times_rule_quiet_when_a_car_reaches_an_open_pharmacy(cfg):
    walk = np.full(6, 5.0)
    closed = np.array([5, 5, 5, 60, 60, 60], float)
    f = evaluate(cfg=cfg, points=_points(walk, open_walk=closed, open_drive=np.full(6, 10.0)), estimated=NOT_EST,
                 tables={}, localities=["A", "B"])
    assert _get(f, "times", "Leicester", time="Weekday 20:00").status == "no gap"


def _projection(pops_now, pops_future):
    rows = []
    for code, (a, b) in enumerate(zip(pops_now, pops_future)):
        rows += [{"lsoa11_code": f"L{code}", "locality": "A" if code == 0 else "B", "year": 2021, "pop_total": a},
                 {"lsoa11_code": f"L{code}", "locality": "A" if code == 0 else "B", "year": 2043, "pop_total": b}]
    return pd.DataFrame(rows)


def test_future_rule_fires_where_growth_lands_beyond_reach(cfg):
    # L1 (odd points) has no access; it grows tenfold, so the area share with access falls below 95%
    walk = np.array([5, 5, 5, 5, 5, 5, 5, 60], float)
    loc = ["A", "B", "A", "B", "A", "B", "A", "B"]
    pts = _points(walk, locality=loc)
    ok_now = evaluate(cfg=cfg, points=pts, estimated=NOT_EST, tables={}, localities=["A", "B"])
    assert _get(ok_now, "geographic", "Leicester").share == pytest.approx(7 / 8)
    grow = evaluate(cfg=cfg, points=pts, estimated=NOT_EST, tables={"projection_lsoa": _projection([400, 400],
                                                                                                  [400, 4000])},
                    localities=["A", "B"])
    assert _get(grow, "future", "Leicester", time="2043").status == "gap"
    flat = evaluate(cfg=cfg, points=_points(np.full(8, 5.0), locality=loc), estimated=NOT_EST,
                    tables={"projection_lsoa": _projection([400, 400], [400, 4000])}, localities=["A", "B"])
    assert _get(flat, "future", "Leicester", time="2043").status == "no gap"


def test_rates_are_context_never_a_gap(cfg):
    prov = pd.DataFrame({"level": ["locality", "locality", "area", "england"], "locality": ["A", "B", "Leicester",
                                                                                          "England"],
                         "population": [10_000, 10_000, 20_000, 56e6], "rate_per_10k": [0.5, 4.0, 2.25, 1.89]})
    f = evaluate(cfg=cfg, points=_points(np.full(4, 5.0)), estimated=NOT_EST, tables={"provision": prov},
                 localities=["A", "B"])
    rates = [x for x in f if x.rule == "rate"]
    assert len(rates) == 3 and all(x.status == "context" for x in rates)
    assert "Context only" in _get(f, "rate", "A").detail and "England 1.89" in _get(f, "rate", "A").detail


def test_no_points_is_not_assessed(cfg):
    f = evaluate(cfg=cfg, points=None, estimated=NOT_EST, tables={}, localities=["A"])
    assert [x.status for x in f] == ["not assessed"]


def test_leicester_defaults(leicester_results):
    """Leicester with the defaults: no geographic gap on walking; times-of-day findings in statements 2-4
    with their numbers; rates only as context; no '0 distance-selling' without a flag."""
    st = leicester_results.statements
    f = st.findings
    area = leicester_results.cfg.area.name
    geo = _get(f, "geographic", area)
    assert geo.outcome == "no gap" and geo.status == "provisional"   # straight-line estimates
    assert "On foot alone: 99.8%" in geo.detail
    assert not [x for x in f if x.rule == "rate" and x.status != "context"]
    by_st = {s.id: s for s in st.items}
    for sid in (2, 3):
        texts = [fd.text() for fd in by_st[sid].findings]
        assert any("Weekday 20:00" in t and "On foot alone" in t for t in texts), sid
    assert any("in 2043" in fd.text() for fd in by_st[4].findings)
    s1 = " ".join(fd.text() for fd in by_st[1].findings)
    assert "0 hold distance-selling" not in s1 and "distance-selling status were not identified" in s1
    assert "Leicestershire" in s1 and "FAL96" in s1    # neighbouring board's pharmacies named
    prov = leicester_results.tables["provision"].set_index("level")
    assert pd.isna(prov.loc["england", "distance_selling"]) and pd.isna(prov.loc["area", "hundred_hour"])
    assert prov.loc["area", "open_100plus_hours"] == 2
    # the findings table is an output table, and every finding's figures check out in the self-check
    t = leicester_results.tables["gap_findings"]
    assert len(t) == len(findings_table(f)) and set(t["status"]) <= set(STATUSES)
    assert for_subject(f, subject="West", rules=("geographic",))[0].subject == "West"

"""The assessor and the report agree: an assessment quotes the report's findings for its locality."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pna.assess.assessor import assess_application
from pna.assess.sites import application_from_mapping
from pna.statements.gaps import FINDING_COLUMNS, findings_table, for_subject

BEFORE = [c for c in FINDING_COLUMNS if c not in ("share", "population", "population_without", "threshold")]


def _report_findings(results, subject):
    rows = [f for f in results.statements.findings if f.subject == subject and f.group == "all residents"
            and f.rule in ("geographic", "times", "rate", "hours", "choice", "distance")]
    return findings_table(rows)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_assessor_quotes_the_report_for_sites_in_every_locality(leicester_ctx, leicester_base, data):
    points = leicester_ctx.access.points
    loc = data.draw(st.sampled_from(sorted(points["locality"].unique())), label="locality")
    idx = data.draw(st.sampled_from(list(points.index[points["locality"] == loc])), label="point")
    g = leicester_ctx.access.demand.geometry.iloc[idx]
    app = application_from_mapping({"kind": "new", "name": "Property site", "easting": float(g.x),
                                    "northing": float(g.y)})
    r = assess_application(app, base=leicester_base)
    site_loc = r.site["locality"]
    got = r.findings[r.findings["subject"] == site_loc].reset_index(drop=True)
    want = _report_findings(leicester_ctx, site_loc).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[BEFORE], want[BEFORE])
    pd.testing.assert_series_equal(got["share"], want["share"])
    # the assessor's locality verdict is the report's geographic finding for that locality
    geo = for_subject(leicester_ctx.statements.findings, subject=site_loc, rules=("geographic",))[0]
    assert set(r.gaps["locality_gap"]) == {geo.outcome == "gap"}
    # adding a pharmacy never makes the geographic finding worse
    after = r.findings[(r.findings["rule"] == "geographic")]
    assert (after["share_after"] >= after["share"] - 1e-12).all()


def test_west_site_quotes_the_west_findings(leicester_ctx, leicester_base):
    """LE3 1UZ is in West: the assessment states West's findings, including its rate as context."""
    r = assess_application(application_from_mapping({"kind": "new", "name": "West", "postcode": "LE3 1UZ"}),
                           base=leicester_base)
    assert r.site["locality"] == "West"
    rate = r.findings[(r.findings["rule"] == "rate") & (r.findings["subject"] == "West")]
    assert len(rate) == 1 and rate["status"].iloc[0] == "context" and "1.81" in rate["detail"].iloc[0]

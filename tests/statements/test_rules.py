"""Schedule 1 statements from the synthetic run: figures trace to tables; thresholds change findings."""

from __future__ import annotations

import dataclasses

import pytest

from pna.modes import Mode
from pna.statements.rules import TITLES, Figure, Finding, apply_rules, lookup, raw_value, statements_table
from pna.statements.stage import build_statements
from tests.report.synthetic import synthetic_context


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return synthetic_context(tmp_path_factory.mktemp("rules"))


def restate(run, *, cfg=None, access=None):
    """The statements stage run again on ``run``'s tables under another config or access result."""
    return build_statements(cfg=cfg or run.cfg, geography=run.geography, access=access or run.access,
                            evidence=run.statements.evidence.tables)


def with_gaps(run, **kw):
    """The seven statements under other gap thresholds (``cfg.gaps``)."""
    return list(restate(run, cfg=run.cfg.model_copy(update={"gaps": run.cfg.gaps.model_copy(update=kw)})).items)


def gaps_found(statements):
    """The rule engine's findings that are gaps (on computed times, or provisionally on estimates)."""
    return [f for f in statements.findings
            if f.status == "gap" or (f.status == "provisional" and f.outcome == "gap")]




def kinds(st):
    return [f.kind for f in st.findings]


def test_seven_statements_with_titles(run):
    sts = run.statements.items
    assert [s.id for s in sts] == [1, 2, 3, 4, 5, 6, 7]
    assert [s.title for s in sts] == [TITLES[i] for i in range(1, 8)]
    assert all(s.findings for s in sts)
    # the stage's statements are the rules applied to its evidence
    assert [s.as_records() for s in apply_rules(run.statements.evidence)] == [s.as_records() for s in sts]


def test_every_figure_is_the_table_value(run):
    sts = run.statements.items
    figs = [f for s in sts for f in s.figures]
    assert len(figs) > 20
    for f in figs:
        assert raw_value(lookup(run.tables, f.table, f.row, f.col)) == raw_value(f.value), f.ref
    # and the prose shows the formatted figure, not a typed number
    s1 = sts[0].findings[0]
    assert s1.figures["n"].text in s1.text() and s1.figures["rate"].text in s1.text()
    assert s1.figures["rate"].value == pytest.approx(5 / 7000 * 1e4)


def test_no_gap_under_loose_rules(run):
    base = with_gaps(run, min_share_covered=0.5, min_rate_per_10k=2.0)
    assert "gap" not in kinds(base[1])
    assert base[1].findings[0].kind == "no_gap"
    # a locality's rate below gaps.min_rate_per_10k is context, not a gap
    strict = with_gaps(run, min_share_covered=0.5, min_rate_per_10k=6.0)
    assert strict[1].findings[0].kind == "no_gap"


def _area_share(run, minutes):
    cov = run.tables["coverage_walk"]
    row = cov[(cov["group_type"] == "area") & (cov["threshold_min"] == minutes)]
    return float(row["share_within"].iloc[0])


AREA_SHARE = "gap_findings/geographic|area|Synthetic Town|all residents|/share"


def test_coverage_threshold_changes_gap_statement(run):
    def gaps_cfg(**kw):
        return run.cfg.model_copy(update={"gaps": run.cfg.gaps.model_copy(update=kw)})

    loose = restate(run, cfg=gaps_cfg(min_share_covered=0.5))
    tight = restate(run, cfg=gaps_cfg(min_share_covered=0.99))
    assert len(gaps_found(tight)) > len(gaps_found(loose))
    # statement 2 lists every gap, each with its share as a figure
    listed = [f for f in tight.items[1].findings if f.text().startswith("Gap: ")]
    assert len(listed) == len(gaps_found(tight)) and all("share" in f.figures for f in listed)
    area = [f for f in listed if f.figures["share"].ref == AREA_SHARE]
    # only walking was assessed: the area's share with access is coverage_walk's area share within 20 minutes
    assert len(area) == 1 and area[0].figures["share"].value == pytest.approx(_area_share(run, 20))
    # the walking minutes threshold moves which share is used (5 minutes instead of 20)
    five = restate(run, cfg=gaps_cfg(walk_minutes=5, min_share_covered=0.5))
    area5 = [f for f in five.items[1].findings if f.text().startswith("Gap: ") and "share" in f.figures
             and f.figures["share"].ref == AREA_SHARE]
    assert len(area5) == 1 and area5[0].figures["share"].value == pytest.approx(_area_share(run, 5))


def test_estimates_make_statements_provisional(run):
    sts = run.statements.items
    assert sts[1].provisional and "estimate" in sts[1].provisional_reasons[0]
    walk = dataclasses.replace(run.access.results[Mode.WALK], is_estimate=False, method="network")
    access = dataclasses.replace(run.access, results={**run.access.results, Mode.WALK: walk})
    sts = restate(run, access=access).items
    assert not sts[1].provisional


def test_missing_inputs_are_stated(tmp_path):
    run = synthetic_context(tmp_path, with_walk=False, with_projection=False)
    sts = run.statements.items
    texts = [f.text() for s in sts for f in s.findings]
    assert "Public transport access was not assessed: no timetable (GTFS) was supplied." in texts
    assert any(t.startswith("Walking access was not assessed") for t in texts)
    assert any("no service data was supplied" in t for t in texts)
    assert sts[3].findings[0].kind == "not_assessed"


def test_future_rates_table(run):
    assert "future_rates" in run.tables and "future_rates" in run.statements.evidence.tables
    fr = run.tables["future_rates"].set_index(["year", "locality"])
    # South 2 pharmacies / (3,700 x 1.4 = 5,180) = 3.86 per 10,000 in 2035
    assert fr.loc[(2035, "South"), "rate_per_10k"] == pytest.approx(2 / 5180 * 1e4)


def test_finding_html_escapes_words_and_wraps_figures():
    f = Finding("{name} has {n} pharmacies & more.", {"n": Figure("provision", "A", "pharmacies", 3, "count")},
                words={"name": "<b>X</b>"})
    h = f.html()
    assert "&lt;b&gt;X&lt;/b&gt;" in h and "&amp; more" in h
    assert '<data value="3" data-ref="provision/A/pharmacies">3</data>' in h


def test_statements_table_lists_every_figure(run):
    sts = list(run.statements.items)
    t = statements_table(sts)
    assert set(t["statement"]) == set(range(1, 8))
    assert len(t[t["table"] != ""]) == sum(len(s.figures) for s in sts)
    # the stage's table is this table, with provenance
    assert run.tables["statements"].drop(columns="provenance").equals(t)

"""Schedule 1 statements from the synthetic run: figures trace to tables; thresholds change findings."""

from __future__ import annotations

import dataclasses

import pytest

from pna.modes import Mode
from pna.statements.rules import (TITLES, Figure, Finding, apply_rules, lookup, raw_value,
                                  statements_table)
from tests.report.synthetic import synthetic_context


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return synthetic_context(tmp_path_factory.mktemp("rules"))


@pytest.fixture()
def ev(run):
    """What the statements stage's rules read (config, tables, access results)."""
    return run.statements.evidence


def with_gaps(ev, **kw):
    """The same evidence under other gap thresholds."""
    cfg = ev.cfg.model_copy(update={"gaps": ev.cfg.gaps.model_copy(update=kw)})
    return dataclasses.replace(ev, cfg=cfg)


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


def test_rate_threshold_changes_gap_statement(ev):
    base = apply_rules(with_gaps(ev, min_share_covered=0.5, min_rate_per_10k=2.0))
    assert "gap" not in kinds(base[1])
    assert base[1].findings[0].kind == "no_gap"
    # South has 2 pharmacies for 3,700 residents = 5.41 per 10,000; a threshold of 6 makes it a gap
    strict = apply_rules(with_gaps(ev, min_share_covered=0.5, min_rate_per_10k=6.0))
    gaps = [f for f in strict[1].findings if f.kind == "gap"]
    assert [f.words["loc"] for f in gaps] == ["South"]
    assert gaps[0].figures["rate"].ref == "provision/South/rate_per_10k"
    assert "6" in gaps[0].rule


def test_coverage_threshold_changes_gap_statement(ev):
    loose = apply_rules(with_gaps(ev, min_share_covered=0.5))
    tight = apply_rules(with_gaps(ev, min_share_covered=0.99))
    n_loose = sum(f.kind == "gap" for f in loose[1].findings)
    n_tight = sum(f.kind == "gap" for f in tight[1].findings)
    assert n_tight > n_loose
    refs = {f.figures["share"].ref for f in tight[1].findings if f.kind == "gap"}
    assert "coverage_walk/walk|area|Synthetic Town|20/share_within" in refs
    # walking minutes threshold moves which coverage rows are used
    five = apply_rules(with_gaps(ev, walk_minutes=5, min_share_covered=0.5))
    assert any("|5/" in f.figures["share"].ref for f in five[1].findings if f.kind == "gap")


def test_estimates_make_statements_provisional(ev):
    sts = apply_rules(ev)
    assert sts[1].provisional and "estimate" in sts[1].provisional_reasons[0]
    walk = dataclasses.replace(ev.access[Mode.WALK], is_estimate=False, method="network")
    sts = apply_rules(dataclasses.replace(ev, access={**ev.access, Mode.WALK: walk}))
    assert not sts[1].provisional


def test_missing_inputs_are_stated(tmp_path):
    run = synthetic_context(tmp_path, with_walk=False, with_projection=False)
    sts = run.statements.items
    texts = [f.text() for s in sts for f in s.findings]
    assert "Public transport access was not assessed: no timetable (GTFS) was supplied." in texts
    assert any(t.startswith("Walking access was not assessed") for t in texts)
    assert any("no service data was supplied" in t for t in texts)
    assert sts[3].findings[0].kind == "not_assessed"


def test_future_need_rule(run, ev):
    sts = run.statements.items
    assert "future_rates" in run.tables and "future_rates" in ev.tables
    assert sts[3].findings[0].kind == "no_gap"
    cfg = ev.cfg.model_copy(update={"projections": ev.cfg.projections.model_copy(
        update={"min_rate_per_10k": 5.0})})
    sts = apply_rules(dataclasses.replace(ev, cfg=cfg))
    gap = [f for f in sts[3].findings if f.kind == "gap"]
    # South 2 pharmacies / (3,700 x 1.4 = 5,180) = 3.86 per 10,000 in 2035
    assert any(f.words["loc"] == "South" and f.figures["year"].value == 2035 for f in gap)
    r = [f for f in gap if f.words["loc"] == "South" and f.figures["year"].value == 2035][0]
    assert r.figures["rate"].value == pytest.approx(2 / 5180 * 1e4)


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

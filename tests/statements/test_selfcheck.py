"""The self-check passes on consistent tables and catches injected inconsistencies."""

from __future__ import annotations

import dataclasses

import pytest

from pna.statements.selfcheck import figures_in_html, run_selfcheck
from tests.report.synthetic import synthetic_context


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return synthetic_context(tmp_path_factory.mktemp("selfcheck"))


def figs(run):
    return [f for s in run.statements.items for f in s.figures]


def failed(check):
    return check[~check["passed"]]


def changed(tables, name, edit):
    """``tables`` with a copy of table ``name`` changed by ``edit(df)`` (the run itself is left alone)."""
    df = tables[name].copy()
    edit(df)
    return {**tables, name: df}


def test_passes_on_consistent_context(run):
    check = run_selfcheck(run.tables, figures=figs(run))
    assert check["passed"].all(), failed(check)
    assert {"consistency", "recompute", "sums"} <= set(check["check"])


def test_detects_a_statement_figure_that_disagrees(run):
    f = figs(run)
    i = next(k for k, x in enumerate(f) if x.ref == "provision/North/rate_per_10k")
    f.append(dataclasses.replace(f[i], value=f[i].value + 1))   # the same cell stated twice, differently
    bad = failed(run_selfcheck(run.tables, figures=f))
    assert "provision/North/rate_per_10k" in set(bad["subject"])


def test_detects_a_rendered_figure_that_disagrees(run):
    html = ('<p><data value="5" data-ref="provision/Synthetic Town/pharmacies">5</data> and '
            '<data value="6" data-ref="provision/Synthetic Town/pharmacies">6</data></p>')
    assert figures_in_html(html) == [("provision/Synthetic Town/pharmacies", "5"),
                                     ("provision/Synthetic Town/pharmacies", "6")]
    bad = failed(run_selfcheck(run.tables, html=html))
    assert "provision/Synthetic Town/pharmacies" in set(bad["subject"])


def test_detects_a_figure_without_a_source_cell(run):
    bad = failed(run_selfcheck(run.tables, figures=[("provision/Nowhere/pharmacies", "3")]))
    assert "provision/Nowhere/pharmacies" in set(bad["subject"])


def test_detects_a_rate_that_does_not_recompute(run):
    def edit(p):
        p.loc[p["locality"] == "South", "rate_per_10k"] = 9.99

    bad = failed(run_selfcheck(changed(run.tables, "provision", edit)))
    assert "provision/South/rate_per_10k" in set(bad["subject"])


def test_detects_parts_not_summing_to_whole(run):
    def edit(p):
        north = p["locality"] == "North"
        p.loc[north, "pharmacies"] = 4
        p.loc[north, "rate_per_10k"] = 4 / 3300 * 1e4
        p.loc[north, "residents_per_pharmacy"] = 3300 / 4
        p.loc[north, "rate_per_10k_18plus"] = 4 / p.loc[north, "pop_18plus"] * 1e4

    tables = changed(run.tables, "provision", edit)
    bad = failed(run_selfcheck(tables))
    assert "provision: localities sum to area (pharmacies)" in set(bad["subject"])
    assert "opening_categories/North: categories sum to pharmacies" not in set(bad["subject"])

    def edit_oc(oc):
        oc.loc[(oc["locality"] == "North") & (oc["category"] == "other"), "pharmacies"] = 1

    bad = failed(run_selfcheck(changed(tables, "opening_categories", edit_oc)))
    assert "opening_categories/North: categories sum to pharmacies" in set(bad["subject"])


def test_detects_coverage_over_population(run):
    def edit(cov):
        cov.loc[0, "population_within"] = cov.loc[0, "population"] + 10

    bad = failed(run_selfcheck(changed(run.tables, "coverage_walk", edit)))
    assert "coverage_walk/population_within <= population" in set(bad["subject"])
    assert "coverage_walk/share_within" in set(bad["subject"])

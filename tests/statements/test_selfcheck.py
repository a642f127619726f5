"""The self-check passes on consistent tables and catches injected inconsistencies."""

from __future__ import annotations

import dataclasses

import pytest

from pna.statements.rules import build_statements
from pna.statements.selfcheck import figures_in_html, run_selfcheck
from tests.report.synthetic import synthetic_context


@pytest.fixture()
def ctx(tmp_path):
    return synthetic_context(tmp_path)


def figs(ctx):
    return [f for s in build_statements(ctx) for f in s.figures]


def failed(check):
    return check[~check["passed"]]


def test_passes_on_consistent_context(ctx):
    check = run_selfcheck(ctx, figs(ctx))
    assert check["passed"].all(), failed(check)
    assert {"consistency", "recompute", "sums"} <= set(check["check"])


def test_detects_a_statement_figure_that_disagrees(ctx):
    f = figs(ctx)
    i = next(k for k, x in enumerate(f) if x.ref == "provision/North/rate_per_10k")
    f.append(dataclasses.replace(f[i], value=f[i].value + 1))   # the same cell stated twice, differently
    bad = failed(run_selfcheck(ctx, f))
    assert "provision/North/rate_per_10k" in set(bad["subject"])


def test_detects_a_rendered_figure_that_disagrees(ctx):
    html = ('<p><data value="5" data-ref="provision/Synthetic Town/pharmacies">5</data> and '
            '<data value="6" data-ref="provision/Synthetic Town/pharmacies">6</data></p>')
    assert figures_in_html(html) == [("provision/Synthetic Town/pharmacies", "5"),
                                     ("provision/Synthetic Town/pharmacies", "6")]
    bad = failed(run_selfcheck(ctx, [], html=html))
    assert "provision/Synthetic Town/pharmacies" in set(bad["subject"])


def test_detects_a_figure_without_a_source_cell(ctx):
    bad = failed(run_selfcheck(ctx, [("provision/Nowhere/pharmacies", "3")]))
    assert "provision/Nowhere/pharmacies" in set(bad["subject"])


def test_detects_a_rate_that_does_not_recompute(ctx):
    p = ctx.tables["provision"]
    p.loc[p["locality"] == "South", "rate_per_10k"] = 9.99
    bad = failed(run_selfcheck(ctx))
    assert "provision/South/rate_per_10k" in set(bad["subject"])


def test_detects_parts_not_summing_to_whole(ctx):
    p = ctx.tables["provision"]
    p.loc[p["locality"] == "North", "pharmacies"] = 4
    p.loc[p["locality"] == "North", "rate_per_10k"] = 4 / 3300 * 1e4
    p.loc[p["locality"] == "North", "residents_per_pharmacy"] = 3300 / 4
    p.loc[p["locality"] == "North", "rate_per_10k_18plus"] = 4 / p.loc[p["locality"] == "North", "pop_18plus"] * 1e4
    bad = failed(run_selfcheck(ctx))
    assert "provision: localities sum to area (pharmacies)" in set(bad["subject"])
    assert "opening_categories/North: categories sum to pharmacies" not in set(bad["subject"])
    oc = ctx.tables["opening_categories"]
    oc.loc[(oc["locality"] == "North") & (oc["category"] == "other"), "pharmacies"] = 1
    bad = failed(run_selfcheck(ctx))
    assert "opening_categories/North: categories sum to pharmacies" in set(bad["subject"])


def test_detects_coverage_over_population(ctx):
    cov = ctx.tables["coverage_walk"]
    cov.loc[0, "population_within"] = cov.loc[0, "population"] + 10
    bad = failed(run_selfcheck(ctx))
    assert "coverage_walk/population_within <= population" in set(bad["subject"])
    assert "coverage_walk/share_within" in set(bad["subject"])

"""Single-closure resilience equals the difference between full runs with and without a pharmacy."""

from __future__ import annotations

import numpy as np
import pytest

from pna.assess.resilience import resilience_table, run_resilience
from pna.assess.whatif import build_state


def _beyond(model, sites, t: float) -> float:
    minutes, _ = model.nearest(sites)
    return float(model.demand["population"].to_numpy(float)[~(minutes <= t)].sum())


@pytest.fixture(scope="module")
def leicester_table(leicester_ctx, leicester_supply):
    th = {m: list(leicester_ctx.cfg.travel.spec(m).thresholds_min) for m in leicester_ctx.access.models}
    return resilience_table(leicester_ctx.access.models, leicester_supply, th, provenance="test")


def test_equals_difference_of_full_runs(leicester_ctx, leicester_supply, leicester_table):
    tab = leicester_table
    for mode, model in leicester_ctx.access.models.items():
        for t in leicester_ctx.cfg.travel.spec(mode).thresholds_min[-2:]:
            sel = tab[(tab["mode"] == mode) & (tab["threshold_min"] == t)]
            base = _beyond(model, leicester_supply, t)
            # the top three and three others, for every mode
            codes = sel["ods_code"].iloc[:3].tolist() + sel["ods_code"].iloc[::29].tolist()[1:4]
            for code in codes:
                without = _beyond(model, leicester_supply[leicester_supply["ods_code"] != code], t)
                got = float(sel.loc[sel["ods_code"] == code, "population_losing"].iloc[0])
                assert got == pytest.approx(without - base, abs=1e-6), (mode, t, code)


def test_ranked_and_complete(leicester_ctx, leicester_supply, leicester_table):
    tab = leicester_table
    n_th = sum(len(leicester_ctx.cfg.travel.spec(m).thresholds_min) for m in leicester_ctx.access.models)
    assert len(tab) == len(leicester_supply) * n_th
    for (_, _), g in tab.groupby(["mode", "threshold_min"]):
        assert (np.diff(g["population_losing"].to_numpy()) <= 1e-9).all()
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert (g["necessary"] == (g["population_losing"] > 0)).all()
    walk20 = tab[(tab["mode"] == "walk") & (tab["threshold_min"] == 20)]
    assert walk20["necessary"].sum() > 0           # Leicester's outskirts depend on single pharmacies
    assert (tab["provenance"] == "test").all()


def test_network_resilience_matches_full_runs(newport_network):
    cfg, models, sites = newport_network
    model = models["walk"]
    st = build_state(model, sites)
    tab = resilience_table({"walk": model}, sites, {"walk": [10, 20]}, states={"walk": st})
    pop = model.demand["population"].to_numpy(float)
    for code in sites["ods_code"].iloc[:5]:
        for t in (10, 20):
            exact_with = model.times_to(sites).min(axis=0)
            exact_without = model.times_to(sites[sites["ods_code"] != code]).min(axis=0)
            want = pop[~(exact_without <= t)].sum() - pop[~(exact_with <= t)].sum()
            got = tab[(tab["ods_code"] == code) & (tab["threshold_min"] == t)]["population_losing"].iloc[0]
            assert got == pytest.approx(want, abs=1e-6)


def test_run_resilience_tables_and_layer(leicester_ctx):
    r = leicester_ctx
    res = run_resilience(cfg=r.cfg, geography=r.geography, access=r.access)
    tables = res.tables
    assert set(tables) == {f"resilience_{m}" for m in leicester_ctx.access.models}
    assert set(res.states) == set(leicester_ctx.access.models)
    layer = res.layer
    walk = tables["resilience_walk"]
    nec = walk[(walk["threshold_min"] == leicester_ctx.cfg.gaps.walk_minutes) & walk["necessary"]]
    assert set(nec["ods_code"]) <= set(layer["ods_code"])
    assert layer.crs.to_epsg() == 27700 and not layer.geometry.is_empty.any()

"""Incremental what-ifs agree with full re-runs of each model's nearest search (real data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pna.assess.sites import site_frame
from pna.assess.whatif import build_state, build_states, site_window


def _same(a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> bool:
    fa, fb = np.isfinite(a), np.isfinite(b)
    return bool((fa == fb).all() and np.allclose(a[fa], b[fb], rtol=0, atol=tol))


def _new_sites(demand, n=4):
    """Sites at real demand points spread over the area (every n-th by point_id)."""
    pts = demand.sort_values("point_id").iloc[:: max(len(demand) // n, 1)].head(n)
    return [(float(g.x) + 37.0, float(g.y) - 23.0) for g in pts.geometry]


@pytest.fixture(scope="module")
def leicester_states(leicester_ctx, leicester_supply):
    return {m: build_state(model, leicester_supply) for m, model in leicester_ctx.access.models.items()}


@pytest.fixture(scope="module")
def newport_states(newport_network):
    _, models, sites = newport_network
    states = build_states(models=models, supply=sites)
    assert list(states) == sorted(models) and all(st.mode == m for m, st in states.items())
    return states


def test_baseline_matches_model(leicester_ctx, leicester_supply, leicester_states):
    for mode, st in leicester_states.items():
        minutes, _ = leicester_ctx.access.models[mode].nearest(leicester_supply)
        assert _same(st.minutes(), minutes, 1e-6), mode


def test_adding_never_reduces_access_and_matches_full_run(leicester_ctx, leicester_supply, leicester_states):
    demand = next(iter(leicester_ctx.access.models.values())).demand
    for xy in _new_sites(demand):
        sf = site_frame(xy)
        for mode, st in leicester_states.items():
            model = st.model
            after, site = st.what_if(add=model.window(sf))
            assert (after <= st.minutes() + 1e-12).all(), mode
            assert (site == len(st.sites)).any(), "the new site is nearest for someone"
            full, _ = model.nearest(pd.concat([leicester_supply, sf], ignore_index=True))
            assert _same(after, full, 1e-6), mode


def test_removing_never_improves_and_matches_full_run(leicester_ctx, leicester_supply, leicester_states):
    codes = leicester_supply["ods_code"].tolist()
    picks = codes[::17][:6]
    for mode, st in leicester_states.items():
        for code in picks:
            after, _ = st.what_if(close=[code])
            assert (after >= st.minutes() - 1e-12).all()
            full, _ = st.model.nearest(leicester_supply[leicester_supply["ods_code"] != code])
            assert _same(after, full, 1e-6), (mode, code)
        # closing more sites than the K nearest kept exercises the full-matrix fallback
        many = codes[:5]
        after, _ = st.what_if(close=many)
        full, _ = st.model.nearest(leicester_supply[~leicester_supply["ods_code"].isin(many)])
        assert _same(after, full, 1e-6), mode


def test_relocation_is_closure_plus_new(leicester_ctx, leicester_supply, leicester_states):
    code = leicester_supply["ods_code"].iloc[10]
    xy = _new_sites(next(iter(leicester_ctx.access.models.values())).demand, 3)[1]
    sf = site_frame(xy)
    for mode, st in leicester_states.items():
        w = st.model.window(sf)
        moved, _ = st.what_if(close=[code], add=w)
        closed, _ = st.what_if(close=[code])
        assert _same(moved, np.minimum(closed, np.min(w, axis=0)[:, 0] if w.shape[2] == 1 else closed), 1e-12) \
            or w.shape[2] > 1
        rest = leicester_supply[leicester_supply["ods_code"] != code]
        full, _ = st.model.nearest(pd.concat([rest, sf], ignore_index=True))
        assert _same(moved, full, 1e-6), mode


def _exact(model, sites) -> np.ndarray:
    """Brute-force nearest minutes: one full Dijkstra per site, connectors included."""
    t = model.times_to(sites)
    return t.min(axis=0) if len(t) else np.full(len(model.demand), np.inf)


def test_network_closure_and_new_site_match_full_dijkstra(newport_network, newport_states):
    cfg, models, sites = newport_network
    for mode, st in newport_states.items():
        model = models[mode]
        assert _same(st.minutes(), _exact(model, sites), 1e-6), mode
        # the model's multi-source search picks the nearest site before adding the site's own
        # street connector, so it can only be later than the exact minimum, never earlier
        quick, _ = model.nearest(sites)
        fin = np.isfinite(quick)
        assert (quick[fin] >= st.minutes()[fin] - 1e-9).all()
        for code in sites["ods_code"].iloc[:4]:
            after, _ = st.what_if(close=[code])
            assert (after >= st.minutes() - 1e-12).all()
            assert _same(after, _exact(model, sites[sites["ods_code"] != code]), 1e-6), (mode, code)
        limit = float(max(getattr(cfg.travel, mode).thresholds_min))
        for xy in _new_sites(model.demand[model.demand_node >= 0], 3):
            sf = site_frame(xy)
            added = model.window(sf, limit_min=limit)
            assert np.array_equal(added, site_window(model, sf, limit_min=limit))
            after, _ = st.what_if(add=added)
            assert (after <= st.minutes() + 1e-12).all()
            full = _exact(model, pd.concat([sites, sf], ignore_index=True))
            # the bounded search is exact up to its limit; beyond it the old minutes stand
            inside = full <= limit
            assert np.allclose(after[inside], full[inside], atol=1e-6), mode
            assert (~(after <= limit) == ~inside).all()


def test_timetable_median_of_nearest_matches_full_run(newport_network, newport_transit):
    """Timetable models: minimum over sites per departure, then the median over the window."""
    _, models, sites = newport_network
    tm = newport_transit
    st = build_state(tm, sites)
    assert st.window.shape[2] == len(tm.departure_s) > 1
    full, idx = tm.nearest(sites)
    assert _same(st.minutes(), full, 1e-9) and np.array_equal(st.nearest_index(), idx)
    for code in sites["ods_code"].iloc[:3]:
        rest = sites[sites["ods_code"] != code]
        want, _ = tm.nearest(rest)
        got, _ = st.what_if(close=[code])
        assert _same(got, want, 1e-9) and (got >= st.minutes()).all()
    d = models["walk"].demand
    sf = site_frame((float(d.geometry.x.iloc[10]) + 40.0, float(d.geometry.y.iloc[10])))
    code = sites["ods_code"].iloc[0]
    got, _ = st.what_if(close=[code], add=tm.window(sf))
    want, _ = tm.nearest(pd.concat([sites[sites["ods_code"] != code], sf], ignore_index=True))
    assert _same(got, want, 1e-9)

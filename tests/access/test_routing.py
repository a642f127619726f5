"""Tests for pna.access.routing: snapping, multi-source searches, against networkx."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from pna.access.graph import build_graph
from pna.access.osm import read_highways
from pna.access.routing import (
    nearest_source_times,
    shortest_path_length,
    shortest_path_lengths,
    snap,
    times_from_sources,
)

ROOT = Path(__file__).parents[2]
STREETS = ROOT / "tests" / "fixtures" / "osm" / "streets.osm"
SMALL = ROOT.parent / "shared" / "pna-data" / "networks" / "small-osm.pbf"
needs_data = pytest.mark.skipif(not SMALL.is_file(), reason="shared pna-data not available")
SPEEDS = {"motorway": 96.0, "tertiary": 32.0, "residential": 24.0, "service": 16.0}


@pytest.fixture(scope="module")
def drive():
    return build_graph(read_highways(STREETS), "drive", drive_speeds_kmh=SPEEDS)


@pytest.fixture(scope="module")
def walk():
    return build_graph(read_highways(STREETS), "walk", walk_speed_kmh=4.8)


@pytest.fixture(scope="module")
def small():
    w = read_highways(SMALL)
    return {"walk": build_graph(w, "walk"),
            "drive": build_graph(w, "drive", drive_speeds_kmh={
                "primary": 48, "secondary": 40, "tertiary": 32, "unclassified": 32, "residential": 24,
                "service": 16, "trunk": 80, "living_street": 16, "primary_link": 40,
                "tertiary_link": 32, "secondary_link": 32})}


def node(g, osmid: int) -> int:
    return int(g.node_index(np.array([osmid]))[0])


def test_snap_nearest_node_and_limit(walk):
    target = walk.node_xy[node(walk, 3)]
    pts = np.array([target + [3.0, 4.0], target + [3000.0, 0.0], [np.nan, np.nan]])
    idx, dist = snap(walk, pts, max_snap_m=100)
    assert idx[0] == node(walk, 3) and dist[0] == pytest.approx(5.0)
    assert idx[1] == -1 and dist[1] > 100          # beyond the limit: −1, distance still given
    assert idx[2] == -1 and np.isinf(dist[2])
    idx2, _ = snap(walk, pts[:2], max_snap_m=1e6)
    assert idx2[1] >= 0


def test_reverse_gives_time_to_the_source_on_one_way_streets(drive):
    a, b = node(drive, 1), node(drive, 2)          # 1 -> 2 is one-way
    to_b, _ = nearest_source_times(drive, np.array([b]), reverse=True)
    from_b, _ = nearest_source_times(drive, np.array([b]), reverse=False)
    direct = drive.csr[a, b]
    assert to_b[a] == pytest.approx(direct)         # from 1 to 2: the one-way street
    assert from_b[a] > direct * 1.5                 # from 2 back to 1: round the block
    assert from_b[a] == pytest.approx(shortest_path_length(drive, b, a, weight="time_s"))
    assert to_b[a] == pytest.approx(shortest_path_length(drive, a, b, weight="time_s"))


def test_nearest_source_index_limit_and_unsnapped(walk):
    s = np.array([-1, node(walk, 9), node(walk, 19), node(walk, 9)])
    t, which = nearest_source_times(walk, s)
    assert t[node(walk, 9)] == 0 and which[node(walk, 9)] == 1      # first of the duplicates
    assert which[node(walk, 18)] == 2
    assert not (which == 0).any() and not (which == 3).any()
    m = times_from_sources(walk, s)
    assert m.shape == (4, walk.n_nodes) and np.isinf(m[0]).all()
    np.testing.assert_allclose(m[1:].min(axis=0), t)
    lim = 60.0
    tl, wl = nearest_source_times(walk, s, limit_s=lim)
    far = t > lim
    assert far.any() and np.isinf(tl[far]).all() and (wl[far] == -1).all()
    np.testing.assert_allclose(tl[~far], t[~far])
    none_t, none_i = nearest_source_times(walk, np.array([-1, -1]))
    assert np.isinf(none_t).all() and (none_i == -1).all()
    with pytest.raises(ValueError):
        nearest_source_times(walk, np.array([walk.n_nodes]))


@needs_data
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_multi_source_matches_networkx(small, mode):
    g = small[mode]
    rng = np.random.default_rng(1)
    src = rng.choice(g.n_nodes, 5, replace=False)
    t, which = nearest_source_times(g, src, reverse=True)
    G = g.to_networkx().reverse(copy=True)          # reversed: distances *to* the sources
    ref = nx.multi_source_dijkstra_path_length(G, set(g.node_osmid[src].tolist()), weight="travel_time")
    expect = np.array([ref.get(i, np.inf) for i in g.node_osmid.tolist()])
    np.testing.assert_allclose(t, expect, rtol=1e-9)
    # the reported source is one at that distance
    m = times_from_sources(g, src)
    reached = which >= 0
    np.testing.assert_allclose(m[which[reached], np.flatnonzero(reached)], t[reached], rtol=1e-12)
    # pairwise lengths too
    o, d = src[:3], rng.choice(g.n_nodes, 3, replace=False)
    G2 = g.to_networkx()
    for a, b, ln in zip(o, d, shortest_path_lengths(g, o, d)):
        assert ln == pytest.approx(nx.shortest_path_length(G2, int(g.node_osmid[a]), int(g.node_osmid[b]),
                                                           weight="length"))


@needs_data
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_source_offsets_match_brute_force(small, mode):
    g = small[mode]
    rng = np.random.default_rng(7)
    src = rng.choice(g.n_nodes, 8, replace=False)
    src[3] = -1                                   # an unsnapped source
    src[5] = src[4]                               # two sources on one node, different offsets
    off = rng.uniform(0, 300, len(src))
    off[6] = np.inf                               # a disabled source
    t, which = nearest_source_times(g, src, source_offset_s=off)
    m = times_from_sources(g, src) + np.where(np.isfinite(off), off, np.inf)[:, None]
    np.testing.assert_allclose(t, m.min(axis=0), rtol=1e-9, atol=1e-6)
    reached = np.isfinite(t)
    assert (which[~reached] == -1).all() and (which[reached] >= 0).all()
    assert not np.isin(which, [3, 6]).any()
    np.testing.assert_allclose(m[which[reached], np.flatnonzero(reached)], t[reached], rtol=1e-9, atol=1e-6)
    # zero offsets give the plain search
    z = np.where(src >= 0, 0.0, np.inf)
    t0, _ = nearest_source_times(g, src, source_offset_s=z)
    np.testing.assert_allclose(t0, nearest_source_times(g, src)[0], atol=1e-6)

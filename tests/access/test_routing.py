"""Tests for pna.access.routing: snapping, multi-source searches, the routing core, against
networkx and against scipy on the uncontracted graph."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import dijkstra

from pna.access.graph import StreetGraph, _csr, build_graph
from pna.access.routing import (
    contract,
    nearest_source_times,
    shortest_path_length,
    shortest_path_lengths,
    snap,
    times_from_sources,
)
from pna.loaders.osm import read_highways

ROOT = Path(__file__).parents[2]
STREETS = ROOT / "tests" / "fixtures" / "osm" / "streets.osm"
SMALL = ROOT.parent / "shared" / "pna-data" / "networks" / "small-osm.pbf"
NEWPORT = ROOT.parent / "shared" / "pna-data" / "networks" / "newport-2023-06-13.osm.pbf"
needs_data = pytest.mark.skipif(not SMALL.is_file(), reason="shared pna-data not available")
needs_newport = pytest.mark.skipif(not NEWPORT.is_file(), reason="shared pna-data not available")
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


# --- routing core: contracted search == full search ----------------------------------------

def graph_from_edges(edges: list[tuple[int, int, float]], n: int) -> StreetGraph:
    """A hand-made StreetGraph: directed (u, v, seconds) edges on nodes 0..n-1."""
    u, v, w = (np.array(x) for x in zip(*edges))
    df = pd.DataFrame({"u": u.astype(np.int64), "v": v.astype(np.int64), "length_m": w * 10.0,
                       "time_s": w.astype(float), "highway": "residential", "way_id": np.arange(len(u))})
    return StreetGraph(mode="drive", node_osmid=np.arange(n, dtype=np.int64), node_xy=np.zeros((n, 2)),
                       csr=_csr(u, v, w, n), edges=df)


def two_way(*path: int, w: float = 1.0) -> list[tuple[int, int, float]]:
    out = []
    for i, (a, b) in enumerate(zip(path[:-1], path[1:])):
        out += [(a, b, w + 0.1 * i), (b, a, w + 0.1 * i + 0.05)]   # asymmetric: catches swapped sides
    return out


def one_way(*path: int, w: float = 1.0) -> list[tuple[int, int, float]]:
    return [(a, b, w + 0.3 * i) for i, (a, b) in enumerate(zip(path[:-1], path[1:]))]


def brute_force(g: StreetGraph, src: np.ndarray, off: np.ndarray | None, reverse: bool,
                limit: float | None) -> np.ndarray:
    """Per-source times on the full (uncontracted) graph, offsets added, limit applied."""
    m = times_from_sources(g, src, reverse=reverse)
    if off is not None:
        m = m + np.where(np.isfinite(off), off, np.inf)[:, None]
    if limit is not None:
        m[m > limit] = np.inf
    return m


def assert_exact(g: StreetGraph, src, off=None, reverse=True, limit=None, rtol=1e-9):
    """Contracted search equals the full search; the reported source achieves the minimum."""
    src = np.asarray(src)
    t, which = nearest_source_times(g, src, limit_s=limit, reverse=reverse, source_offset_s=off)
    m = brute_force(g, src, off, reverse, limit)
    expect = m.min(axis=0)
    fin = np.isfinite(expect)
    assert (np.isfinite(t) == fin).all()
    np.testing.assert_allclose(t[fin], expect[fin], rtol=rtol, atol=0)
    assert (which[~fin] == -1).all() and (which[fin] >= 0).all()
    np.testing.assert_allclose(m[which[fin], np.flatnonzero(fin)], t[fin], rtol=rtol, atol=0)
    return t, which


# junctions 0, 1, 2, 3; chains: two-way 0-4-5-6-1, one-way 1->7->8->2, two-way 2-9-3,
# one-way loop 3->10->11->3, two-way loop 0-12-13-0, dead-end chain 2-14-15-16 (16 a dead end),
# parallel one-way chain 1->17->0 beside the two-way 0..1 chain, one-way 0->3 beside the
# two-way 3-18-19-0; 20 (one-way out to 19, two-way to 2) and 22 (one-way in from 21, two-way
# to 23) have two neighbours but are not pass-throughs, so they stay in the core.
HAND_EDGES = (two_way(0, 4, 5, 6, 1) + one_way(1, 7, 8, 2) + two_way(2, 9, 3) + one_way(3, 10, 11, 3)
              + two_way(0, 12, 13, 0) + two_way(2, 14, 15, 16) + one_way(1, 17, 0, w=2.5)
              + one_way(0, 3, w=9.0) + two_way(3, 18, 19, 0) + one_way(20, 19) + two_way(20, 2)
              + one_way(21, 22) + two_way(22, 23) + two_way(23, 2) + one_way(2, 21))
HAND_N = 24


@pytest.fixture(scope="module")
def hand():
    return graph_from_edges(HAND_EDGES, HAND_N)


def test_contraction_keeps_exactly_the_pass_through_nodes(hand):
    core = contract(hand.csr)
    chain_nodes = set(core.node.tolist())
    # pure pass-through nodes (two-way or one-way) are contracted ...
    assert {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 18}.issubset(chain_nodes)
    # ... junctions, dead ends and mixed one-way/two-way nodes are not
    assert {21, 23}.issubset(chain_nodes)
    assert not chain_nodes & {0, 1, 2, 3, 16, 19, 20, 22}
    # the core alone gives the full graph's times at its nodes
    full = dijkstra(hand.csr, indices=core.core_nodes)[:, core.core_nodes]
    np.testing.assert_allclose(dijkstra(core.csr), full, rtol=1e-12)
    assert hand.routing_core is hand.routing_core          # built once, then reused


@pytest.mark.parametrize("reverse", [True, False])
def test_hand_graph_every_single_source_and_pairs(hand, reverse):
    for s in range(HAND_N):                               # each node as a source, inside chains too
        assert_exact(hand, [s], reverse=reverse)
    for a in range(HAND_N):                               # two sources, incl. both in one chain
        for b in range(HAND_N):
            assert_exact(hand, [a, b], reverse=reverse)


@pytest.mark.parametrize("reverse", [True, False])
def test_hand_graph_offsets_limits_and_duplicates(hand, reverse):
    rng = np.random.default_rng(3)
    for _ in range(200):
        k = int(rng.integers(1, 7))
        src = rng.integers(-1, HAND_N, k)
        off = np.where(rng.random(k) < 0.3, 0.0, rng.uniform(0, 4, k))
        off[rng.random(k) < 0.1] = np.inf
        limit = float(rng.uniform(0.5, 12)) if rng.random() < 0.5 else None
        assert_exact(hand, src, off=off, reverse=reverse, limit=limit)
        assert_exact(hand, src, reverse=reverse, limit=limit)
    # chain 4-5-6 with sources at 5 (offset 3) and 6 (offset 0): 5 is nearer 6 than to itself
    t, which = assert_exact(hand, [5, 6], off=np.array([3.0, 0.0]), reverse=reverse)
    assert which[5] == 1 and which[6] == 1
    # two sources on one node: the first listed wins, also with equal offsets
    _, which = assert_exact(hand, [5, 5], off=np.array([1.0, 1.0]), reverse=reverse)
    assert (which[which >= 0] == 0).all()


def test_source_beside_a_near_zero_edge_in_a_long_chain():
    # along-chain times are differences of prefix sums: kept exact, a 1e-6 s edge after
    # 2000 s of chain still reads 1e-6 s (plain float prefix sums would be off by ~1e-7 relative)
    edges = (two_way(0, 1, 2, w=1000.3) + [(2, 3, 1e-6), (3, 2, 1e-6)] + two_way(3, 4, 5, w=999.7)
             + two_way(0, 6, w=1.0) + two_way(0, 7, w=1.0) + two_way(5, 8, w=1.0) + two_way(5, 9, w=1.0))
    g = graph_from_edges(edges, 10)
    assert {1, 2, 3, 4}.issubset(set(g.routing_core.node.tolist()))
    for rev in (True, False):
        t, _ = assert_exact(g, [3], reverse=rev, rtol=1e-12)
        assert t[2] == pytest.approx(1e-6, rel=1e-12)
        assert_exact(g, [2, 4], off=np.array([5.0, 0.0]), reverse=rev, rtol=1e-12)


def test_networkx_agrees_on_the_hand_graph(hand):
    G = hand.to_networkx().reverse(copy=True)
    for src in ([5], [8, 12], [10, 15, 19], [21]):
        t, _ = nearest_source_times(hand, np.array(src), reverse=True)
        ref = nx.multi_source_dijkstra_path_length(G, set(src), weight="travel_time")
        expect = np.array([ref.get(i, np.inf) for i in range(HAND_N)])
        np.testing.assert_allclose(t, expect, rtol=1e-9)


def test_rings_without_a_junction_are_contracted_exactly():
    for edges in (one_way(0, 1, 2, 3, 0), two_way(0, 1, 2, 3, 4, 0)):
        g = graph_from_edges(edges, 5 if len(edges) > 4 else 4)
        assert 1 <= g.routing_core.n_core < g.n_nodes
        for s in range(g.n_nodes):
            for rev in (True, False):
                assert_exact(g, [s], reverse=rev)
                assert_exact(g, [s, (s + 2) % g.n_nodes], off=np.array([0.5, 0.0]), reverse=rev)


@pytest.fixture(scope="module")
def newport():
    w = read_highways(NEWPORT)
    return {"walk": build_graph(w, "walk"),
            "drive": build_graph(w, "drive", drive_speeds_kmh={
                "motorway": 96, "trunk": 80, "primary": 48, "secondary": 40, "tertiary": 32,
                "unclassified": 32, "residential": 24, "living_street": 16, "service": 16,
                "motorway_link": 64, "trunk_link": 48, "primary_link": 40, "secondary_link": 32,
                "tertiary_link": 32})}


@needs_newport
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_newport_core_is_small_and_exact(newport, mode):
    g = newport[mode]
    core = g.routing_core
    assert core.n_core < 0.4 * g.n_nodes                # most OSM nodes only shape a street
    rng = np.random.default_rng(11)
    for k in (1, 30, 300):
        src = rng.choice(g.n_nodes, k, replace=False)
        for reverse in (True, False):
            csr = g.csr_reverse if reverse else g.csr
            ref = dijkstra(csr, directed=True, indices=np.unique(src), min_only=True)
            t, which = nearest_source_times(g, src, reverse=reverse)
            fin = np.isfinite(ref)
            assert (np.isfinite(t) == fin).all()
            np.testing.assert_allclose(t[fin], ref[fin], rtol=1e-9, atol=0)
            # the reported source is at that time (checked on a sample of nodes)
            pick = rng.choice(np.flatnonzero(fin), 200, replace=False)
            own = dijkstra(csr, directed=True, indices=np.unique(src[which[pick]]))
            row = np.searchsorted(np.unique(src[which[pick]]), src[which[pick]])
            np.testing.assert_allclose(own[row, pick], t[pick], rtol=1e-9, atol=0)


@needs_newport
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_newport_offsets_and_limit_match_brute_force(newport, mode):
    g = newport[mode]
    rng = np.random.default_rng(5)
    src = rng.choice(g.n_nodes, 25, replace=False)
    src[3] = -1
    src[7] = src[6]
    off = rng.uniform(0, 240, src.size)
    off[9] = np.inf
    for reverse in (True, False):
        assert_exact(g, src, off=off, reverse=reverse, limit=600.0)
        assert_exact(g, src, reverse=reverse, limit=300.0)
        assert_exact(g, src, off=off, reverse=reverse)


@needs_newport
def test_newport_drive_matches_networkx(newport):
    g = newport["drive"]
    src = np.random.default_rng(2).choice(g.n_nodes, 30, replace=False)
    t, _ = nearest_source_times(g, src, reverse=True)
    G = g.to_networkx().reverse(copy=True)
    ref = nx.multi_source_dijkstra_path_length(G, set(g.node_osmid[src].tolist()), weight="travel_time")
    expect = np.array([ref.get(i, np.inf) for i in g.node_osmid.tolist()])
    np.testing.assert_allclose(t, expect, rtol=1e-9)

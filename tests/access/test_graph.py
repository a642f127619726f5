"""Tests for pna.access.graph: per-mode rules on hand-made OSM, and agreement with OSMnx on Newport."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from pna.access import graph as graph_mod
from pna.access.graph import (
    MPH,
    build_graph,
    build_graphs,
    drive_rules,
    geodesic_m,
    parse_maxspeed,
    walk_rules,
)
from pna.access.routing import shortest_path_lengths
from pna.config import Travel, load_config
from pna.loaders.osm import read_highways, write_osm_xml

ROOT = Path(__file__).parents[2]
STREETS = ROOT / "tests" / "fixtures" / "osm" / "streets.osm"
NEWPORT = ROOT.parent / "shared" / "pna-data" / "networks" / "newport-2023-06-13.osm.pbf"
needs_data = pytest.mark.skipif(not NEWPORT.is_file(), reason="shared pna-data not available")
SPEEDS = {"motorway": 96.0, "tertiary": 32.0, "residential": 24.0, "service": 16.0}


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    base = load_config(ROOT / "config" / "leicester.yaml", check_inputs=False)
    return base.model_copy(update={"cache_dir": tmp_path_factory.mktemp("cache")})


@pytest.fixture(scope="module")
def streets():
    return read_highways(STREETS)


def arcs(g) -> set[tuple[int, int]]:
    ids = g.node_osmid
    return set(zip(ids[g.edges["u"]].tolist(), ids[g.edges["v"]].tolist()))


@pytest.fixture(scope="module")
def walk(streets):
    return build_graph(streets, "walk", walk_speed_kmh=4.8)


@pytest.fixture(scope="module")
def drive(streets):
    return build_graph(streets, "drive", drive_speeds_kmh=SPEEDS)


# --- maxspeed ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, kmh, status", [
    ("30", 30.0, "parsed"),
    ("30 mph", 30 * MPH, "parsed"),
    ("30mph", 30 * MPH, "parsed"),
    ("48 km/h", 48.0, "parsed"),
    ("GB:nsl_single", 60 * MPH, "parsed"),
    ("GB:nsl_dual", 70 * MPH, "parsed"),
    ("national", 60 * MPH, "parsed"),
    ("30;40", 35.0, "parsed"),
    ("30 mph;40 mph", 35 * MPH, "parsed"),
    ("none", None, "no_numeric"),
    ("signals", None, "no_numeric"),
    ("fast-ish", None, "unparsed"),
    ("0", None, "unparsed"),
    ("30;abc", None, "unparsed"),
    (None, None, "absent"),
    ("", None, "absent"),
])
def test_parse_maxspeed(value, kmh, status):
    got, st = parse_maxspeed(value)
    assert st == status
    assert got == (pytest.approx(kmh) if kmh is not None else None)


# --- rules on the hand-made network -----------------------------------------------------------

def test_one_way_street_is_one_way_for_drive_only(walk, drive):
    assert (1, 2) in arcs(drive) and (2, 1) not in arcs(drive)
    assert {(1, 2), (2, 1)} <= arcs(walk)
    # oneway=-1 runs against the way's node order
    assert (5, 2) in arcs(drive) and (2, 5) not in arcs(drive)
    assert {(2, 5), (5, 2)} <= arcs(walk)


def test_roundabouts_and_circular_junctions(drive):
    a = arcs(drive)
    assert (6, 14) in a and (14, 6) not in a          # junction=roundabout implies one-way
    assert (16, 18) in a and (18, 16) not in a        # junction=circular too
    assert (13, 16) in a and (16, 13) in a            # ...unless oneway=no


def test_mode_filters(walk, drive):
    wn, dn = set(walk.node_osmid.tolist()), set(drive.node_osmid.tolist())
    assert {7, 8} <= dn and not {7, 8} & wn           # motorway: drive only
    assert 9 in wn and 9 not in dn                    # footway
    assert 10 not in wn                               # foot=no
    assert 11 not in wn and 11 not in dn              # access=private
    assert 12 in wn and 12 not in dn                  # access=private + foot=yes
    assert 17 in wn and 17 not in dn                  # oneway=reversible is skipped for drive
    assert drive.stats["ways_excluded"]["oneway=reversible/alternating"] == 1
    assert walk.stats["ways_excluded"] == {"highway class not walkable": 1, "foot=no/private": 1,
                                           "access=no/private": 1}


def test_disconnected_parts_are_dropped_and_reported(walk, drive):
    island_km = geodesic_m(-2.99, 51.59, -2.989, 51.59) / 1000
    assert not {20, 21} & set(walk.node_osmid.tolist())
    assert walk.dropped["nodes"] == 2 and walk.dropped["edges"] == 2
    assert walk.dropped["components"] == 2
    assert walk.dropped["km"] == pytest.approx(island_km, abs=1e-3)
    # drive keeps the strongly connected part: the one-way dead end 2->22 goes too
    assert 22 in set(walk.node_osmid.tolist()) and 22 not in set(drive.node_osmid.tolist())
    assert drive.dropped["nodes"] == 3 and drive.dropped["components"] == 3
    n, _ = connected_components(drive.csr, directed=True, connection="strong")
    assert n == 1


def test_times_from_speeds(walk, drive):
    e = drive.edges.assign(a=drive.node_osmid[drive.edges["u"]], b=drive.node_osmid[drive.edges["v"]])
    r12 = e[(e.a == 1) & (e.b == 2)].iloc[0]
    assert r12["time_s"] == pytest.approx(r12["length_m"] / (20 * MPH / 3.6))   # maxspeed=20 mph
    r313 = e[(e.a == 3) & (e.b == 13)].iloc[0]
    assert r313["time_s"] == pytest.approx(r313["length_m"] / (24 / 3.6))      # garbage -> class
    assert drive.stats["maxspeed"]["unparsed"] == 1
    assert drive.stats["maxspeed"]["unparsed_values"] == ["fast-ish"]
    np.testing.assert_allclose(walk.edges["time_s"], walk.edges["length_m"] / (4.8 / 3.6))
    # CSR holds the same times as the edge table
    np.testing.assert_allclose(drive.csr[drive.edges["u"], drive.edges["v"]].A1, drive.edges["time_s"])
    slow = build_graph(read_highways(STREETS), "drive", drive_speeds_kmh=SPEEDS, congestion_factor=1.5)
    np.testing.assert_allclose(slow.edges["time_s"], drive.edges["time_s"] * 1.5)


def test_geometry_and_networkx(walk):
    geom = walk.edge_geometry
    assert geom.crs.to_epsg() == 27700 and len(geom) == walk.n_edges
    # projected length agrees with the geodesic length (GB grid scale error < 0.1%)
    np.testing.assert_allclose(geom.length.to_numpy(), walk.edges["length_m"], rtol=1e-3)
    g = walk.to_networkx()
    assert g.number_of_nodes() == walk.n_nodes and g.number_of_edges() == walk.n_edges
    assert g.edges[1, 2]["length"] == pytest.approx(geodesic_m(-3.0, 51.58, -2.999, 51.58))


def test_build_graphs_caches(cfg, monkeypatch):
    first = build_graphs(STREETS, cfg)
    files = sorted((cfg.cache / "graphs").glob("*.npz"))
    assert len(files) == 2

    def boom(*a, **k):
        raise AssertionError("extract re-read despite cache")

    monkeypatch.setattr(graph_mod, "read_highways", boom)
    again = build_graphs(STREETS, cfg)
    for m in ("walk", "drive"):
        np.testing.assert_array_equal(first[m].node_osmid, again[m].node_osmid)
        np.testing.assert_array_equal(first[m].node_xy, again[m].node_xy)
        assert first[m].edges.equals(again[m].edges)
        assert (first[m].csr != again[m].csr).nnz == 0
        assert first[m].dropped == again[m].dropped
    # other speeds -> another cache entry, so the extract is read again
    faster = cfg.model_copy(update={"travel": cfg.travel.model_copy(
        update={"walk": cfg.travel.walk.model_copy(update={"speed_kmh": 6.0})})})
    with pytest.raises(AssertionError, match="re-read"):
        build_graphs(STREETS, faster, modes=("walk",))
    monkeypatch.undo()
    # a corrupt cache file is ignored and rewritten
    files[0].write_bytes(b"truncated")
    rebuilt = build_graphs(STREETS, cfg)
    assert all(rebuilt[m].edges.equals(first[m].edges) for m in ("walk", "drive"))
    assert files[0].stat().st_size > 100


# --- agreement with OSMnx on the real Newport extract ----------------------------------------

@pytest.fixture(scope="module")
def newport():
    return read_highways(NEWPORT)


def _osmnx_graph(ways, keep, mode, tmp_dir):
    """OSMnx graph from the very ways our rules kept (OSMnx's graph_from_xml applies no filter)."""
    import osmnx as ox

    tags = ways.tags
    overrides = {}
    if mode == "drive":
        # match one-way semantics where OSMnx's differ from ours: junction=circular implies
        # one-way, and an explicit oneway=no beats junction=roundabout
        circ = (tags["junction"] == "circular") & tags["oneway"].isna()
        rb_two = (tags["junction"] == "roundabout") & (tags["oneway"] == "no")
        overrides.update({int(w): {"oneway": "yes"} for w in ways.way_id[(circ & keep).to_numpy()]})
        overrides.update({int(w): {"junction": "no"} for w in ways.way_id[(rb_two & keep).to_numpy()]})
    xml = write_osm_xml(NEWPORT, tmp_dir / f"{mode}.osm", way_ids=ways.way_id[keep], tag_overrides=overrides)
    G = ox.graph_from_xml(xml, bidirectional=(mode == "walk"), simplify=False, retain_all=True)
    return ox.truncate.largest_component(G, strongly=(mode == "drive"))


def _compare(g, G, n_origins=5, per_origin=12, seed=0):
    rng = np.random.default_rng(seed)
    origins = np.repeat(rng.choice(g.n_nodes, n_origins, replace=False), per_origin)
    dests = rng.choice(g.n_nodes, len(origins), replace=False)
    ours = shortest_path_lengths(g, origins, dests)
    theirs = np.empty(len(origins))
    for o in np.unique(origins):
        d = nx.single_source_dijkstra_path_length(G, int(g.node_osmid[o]), weight="length")
        sel = origins == o
        theirs[sel] = [d.get(int(g.node_osmid[t]), np.inf) for t in dests[sel]]
    return ours, theirs


@needs_data
@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_agrees_with_osmnx_on_newport(newport, mode, tmp_path):
    if mode == "walk":
        keep = walk_rules(newport.tags)[0]
        g = build_graph(newport, "walk")
    else:
        speeds = dict(Travel().drive.highway_speeds_kmh)
        keep = drive_rules(newport.tags, set(speeds))[0]
        g = build_graph(newport, "drive", drive_speeds_kmh=speeds)
    G = _osmnx_graph(newport, keep, mode, tmp_path)
    # same largest component, node for node, and the same set of directed street segments
    assert set(G.nodes) == set(g.node_osmid.tolist())
    assert set((u, v) for u, v, _ in G.edges(keys=True)) == arcs(g)
    ours, theirs = _compare(g, G)
    assert len(ours) >= 50 and np.isfinite(ours).all() and np.isfinite(theirs).all()
    rel = np.abs(ours - theirs) / np.maximum(theirs, 1.0)
    assert rel.max() < 0.005, f"max relative difference {rel.max():.2e}"


def test_extract_without_streets_for_a_mode_gives_an_empty_graph(tmp_path):
    from pna.access.routing import nearest_source_times, snap

    xml = tmp_path / "paths.osm"
    xml.write_text('<?xml version="1.0"?><osm version="0.6">'
                   '<node id="1" lat="51.58" lon="-3.0"/><node id="2" lat="51.58" lon="-2.999"/>'
                   '<way id="5"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way></osm>')
    w = read_highways(xml)
    g = build_graph(w, "drive", drive_speeds_kmh=SPEEDS)
    assert g.n_nodes == 0 and g.n_edges == 0 and g.dropped["components"] == 0
    idx, _ = snap(g, np.array([[330000.0, 187000.0]]), max_snap_m=500)
    assert idx.tolist() == [-1]
    t, s = nearest_source_times(g, idx)
    assert t.size == 0 and s.size == 0
    assert build_graph(w, "walk").n_nodes == 2


def test_summary_and_description(walk, drive):
    # the walk square, spurs and rings: every undirected street once
    u, v = walk.edges["u"], walk.edges["v"]
    one_way_halves = walk.edges[u < v]["length_m"].sum() / 1000
    assert walk.street_km == pytest.approx(one_way_halves)      # walk holds both directions of each
    s = drive.summary()
    assert s["nodes"] == drive.n_nodes and s["dropped"]["nodes"] == 3 and s["maxspeed"]["unparsed"] == 1
    text = drive.describe()
    assert "drive network" in text and "3 nodes" in text and "2 pieces" in text

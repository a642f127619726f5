"""Tests for pna.loaders.osm: reading highways, pharmacies and address points with pyosmium."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pna.errors import InputError
from pna.loaders.osm import read_address_points, read_highways, read_pharmacies, write_osm_xml

FIXTURES = Path(__file__).parents[1] / "fixtures" / "osm"
STREETS = FIXTURES / "streets.osm"
DATA = Path(__file__).parents[2].parent / "shared" / "pna-data" / "networks"
SMALL = DATA / "small-osm.pbf"
NEWPORT = DATA / "newport-2023-06-13.osm.pbf"
needs_data = pytest.mark.skipif(not NEWPORT.is_file(), reason="shared pna-data not available")


def test_read_highways_xml_keeps_only_highway_ways_and_their_nodes():
    w = read_highways(STREETS)
    assert w.way_id.tolist() == [110, 111, 112, 113, 114, 115, 116, 117, 119, 120, 121, 122, 123,
                                 125, 126, 127, 128, 129, 130]
    # node 900 (a pharmacy) is used by no highway way
    assert 900 not in w.node_id and w.node_id.tolist() == list(range(1, 23))
    assert np.all(np.diff(w.node_offsets) >= 2)
    # way 117 (motorway) runs 6-7-8-5 in that order
    i = int(np.flatnonzero(w.way_id == 117)[0])
    nodes = w.node_id[w.node_index[w.node_offsets[i]:w.node_offsets[i + 1]]]
    assert nodes.tolist() == [6, 7, 8, 5]
    assert w.tags.loc[i, "highway"] == "motorway"
    assert w.tags.loc[0, "oneway"] == "yes" and w.tags.loc[0, "maxspeed"] == "20 mph"
    assert w.tags.loc[1, "oneway"] is None
    lon, lat = w.node_lonlat[w.node_id.tolist().index(7)]
    assert lon == pytest.approx(-2.997) and lat == pytest.approx(51.581)
    assert w.n_missing_nodes == 0


def test_missing_or_wrong_file_raises_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_highways(tmp_path / "nope.osm.pbf")
    bad = tmp_path / "streets.csv"
    bad.write_text("a,b\n")
    with pytest.raises(InputError, match=r"\.osm"):
        read_highways(bad)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="0" lon="0"/></osm>')
    with pytest.raises(InputError, match="no highway"):
        read_highways(empty)
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(b"not a protocol buffer")
    with pytest.raises(InputError, match="corrupt.osm.pbf: cannot read"):
        read_highways(corrupt)
    with pytest.raises(InputError, match="cannot read"):
        read_pharmacies(corrupt)


def test_pharmacies_nodes_and_ways():
    ph = read_pharmacies(STREETS)
    assert ph["osm_type"].tolist() == ["node", "way"]
    assert ph.loc[0, "name"] == "Test Chemist"
    # the way is placed at the mean of its 4 distinct corners (closing node counted once)
    assert ph.loc[1, "lon"] == pytest.approx(-2.9995) and ph.loc[1, "lat"] == pytest.approx(51.5805)


def test_address_points_normalise_postcodes():
    ap = read_address_points(STREETS)
    assert list(ap.columns[:3]) == ["postcode", "lon", "lat"]
    assert ap["postcode"].tolist() == ["NP20 1AA", "NP20 2BB"]


@needs_data
def test_pbf_and_xml_give_the_same_arrays(tmp_path):
    a = read_highways(SMALL)
    assert len(a.way_id) == 208
    xml = write_osm_xml(SMALL, tmp_path / "small.osm")
    b = read_highways(xml)
    np.testing.assert_array_equal(a.way_id, b.way_id)
    np.testing.assert_array_equal(a.node_id, b.node_id)
    np.testing.assert_array_equal(a.node_index, b.node_index)
    np.testing.assert_allclose(a.node_lonlat, b.node_lonlat, atol=1e-7)
    assert a.tags.fillna("").equals(b.tags.fillna(""))


@needs_data
def test_newport_pharmacies_are_real_osm_features():
    ph = read_pharmacies(NEWPORT)
    assert len(ph) >= 9  # the README counts 9 pharmacy nodes; building outlines add more
    assert ph["lon"].between(-3.2, -2.8).all() and ph["lat"].between(51.5, 51.65).all()
    assert not ph.duplicated(["osm_type", "osm_id"]).any()


def test_write_osm_xml_subset_with_tag_overrides(tmp_path):
    out = write_osm_xml(STREETS, tmp_path / "sub.osm", way_ids=np.array([128, 110, 999]),
                        tag_overrides={128: {"oneway": "yes"}})
    w = read_highways(out)
    assert w.way_id.tolist() == [110, 128]
    assert w.tags["oneway"].tolist() == ["yes", "yes"]
    assert w.tags.loc[1, "junction"] == "circular"
    assert w.node_id.tolist() == [1, 2, 16, 18, 19]

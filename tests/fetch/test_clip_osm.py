from __future__ import annotations

import numpy as np
import osmium
import pytest
import shapely
from shapely.geometry import box

from pna.fetch.clip_osm import clip_osm, looks_like_pbf, replication_timestamp
from pna.loaders.osm import read_address_points, read_highways, read_pharmacies

AREA = box(-3.0, 51.55, -2.95, 51.59)   # part of central Newport


@pytest.fixture(scope="module")
def clipped(data_dir, tmp_path_factory):
    src = data_dir / "networks" / "newport-2023-06-13.osm.pbf"
    dest = tmp_path_factory.mktemp("clip") / "newport.osm.pbf"
    return src, clip_osm(source=src, area=AREA, dest=dest)


def _ways_inside(w) -> set[int]:
    """Highway ways with at least one node inside AREA, computed from the arrays alone."""
    xy = w.node_lonlat[w.node_index]
    hit = np.zeros(len(xy), bool)
    ok = ~np.isnan(xy[:, 0])
    hit[ok] = shapely.contains_xy(AREA, xy[ok, 0], xy[ok, 1])
    way_of = np.repeat(np.arange(len(w.way_id)), np.diff(w.node_offsets))
    return set(w.way_id[np.unique(way_of[hit])].tolist())


def test_highways_with_a_node_inside_are_kept_whole_and_the_rest_dropped(clipped):
    src, clip = clipped
    full = read_highways(src)
    cut = read_highways(clip.path)
    inside = _ways_inside(full)
    assert 0 < len(inside) < len(full.way_id)           # the clip cuts something
    assert set(cut.way_id.tolist()) == inside
    assert clip.highways == len(inside)
    assert cut.n_missing_nodes == 0                       # whole ways: every node kept
    k = np.searchsorted(full.way_id, cut.way_id)
    assert (np.diff(full.node_offsets)[k] == np.diff(cut.node_offsets)).all()


def test_pharmacies_and_address_points_inside_are_kept(clipped):
    src, clip = clipped
    for reader in (read_pharmacies, read_address_points):
        full, cut = reader(src), reader(clip.path)
        pts_in = shapely.contains_xy(AREA, full["lon"].to_numpy(), full["lat"].to_numpy())
        assert len(cut) >= pts_in.sum() > 0
        assert len(cut) < len(full)


def test_the_clip_is_deterministic_and_keeps_the_replication_timestamp(clipped, data_dir, tmp_path):
    src, clip = clipped
    assert replication_timestamp(src) is None and clip.replication_timestamp is None
    # a Geofabrik-style header on the small extract: the timestamp is carried into the clip
    stamped = tmp_path / "stamped.osm.pbf"
    h = osmium.io.Header()
    h.set("osmosis_replication_timestamp", "2025-11-30T21:21:41Z")
    w = osmium.SimpleWriter(str(stamped), header=h)
    for o in osmium.FileProcessor(str(data_dir / "networks" / "small-osm.pbf")):
        w.add(o)
    w.close()
    small = box(*shapely.buffer(shapely.box(*read_highways(stamped).node_lonlat.min(0),
                                             *read_highways(stamped).node_lonlat.max(0)), -0.002).bounds)
    one = clip_osm(source=stamped, area=small, dest=tmp_path / "one.osm.pbf")
    two = clip_osm(source=stamped, area=small, dest=tmp_path / "two.osm.pbf")
    assert one.path.read_bytes() == two.path.read_bytes() and 0 < one.highways
    assert one.replication_timestamp == "2025-11-30T21:21:41Z"
    assert replication_timestamp(one.path) == "2025-11-30T21:21:41Z"
    assert looks_like_pbf(one.path) is None


def test_a_non_pbf_is_recognised(tmp_path):
    p = tmp_path / "x.osm.pbf"
    p.write_bytes(b"<!DOCTYPE html><html>Not found</html>")
    assert "not an OpenStreetMap .osm.pbf" in looks_like_pbf(p)

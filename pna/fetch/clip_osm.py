"""Clip an OpenStreetMap extract to the buffered area, keeping only what the pipeline reads.

Kept: every ``highway`` way (the walk and drive graphs), and every node or way tagged
``amenity=pharmacy``, ``healthcare=pharmacy`` or ``addr:postcode`` (pharmacy and address
lookups), that has at least one node inside the area; ways are kept whole, with all their nodes,
as ``osmium extract --strategy complete_ways`` does, so a street crossing the edge keeps its
far end. Relations, and everything else, are dropped. Uses pyosmium (libosmium underneath).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InputError

__all__ = ["OsmClip", "clip_osm", "replication_timestamp", "looks_like_pbf", "KEEP_KEYS"]

log = logging.getLogger("pna")

#: Tag keys a kept object may carry to matter (tested further in :func:`_wanted`).
KEEP_KEYS = ("highway", "amenity", "healthcare", "addr:postcode")


@dataclass(frozen=True)
class OsmClip:
    """What :func:`clip_osm` wrote.

    Attributes
    ----------
    path
        The clipped ``.osm.pbf``.
    ways
        Ways kept (highways and tagged ways).
    highways
        Of which ``highway`` ways.
    ways_outside
        Wanted ways dropped because no node of theirs is inside the area.
    nodes
        Nodes kept (way nodes and tagged nodes).
    replication_timestamp
        The source header's ``osmosis_replication_timestamp``, or None where it has none.
    """

    path: Path
    ways: int
    highways: int
    ways_outside: int
    nodes: int
    replication_timestamp: str | None


def looks_like_pbf(path: Path) -> str | None:
    """Why ``path`` is not an OSM PBF file (its first block is an ``OSMHeader``), or None."""
    with path.open("rb") as f:
        head = f.read(64)
    if b"OSMHeader" in head[4:32]:
        return None
    text = head[:40].decode("latin-1").strip()
    return f"not an OpenStreetMap .osm.pbf file (it starts {text!r})"


def replication_timestamp(path: Path) -> str | None:
    """The extract header's ``osmosis_replication_timestamp`` (when its data was taken), or None."""
    reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
    try:
        value = reader.header().get("osmosis_replication_timestamp")
    finally:
        reader.close()
    return value or None


def _wanted(tags: osmium.osm.TagList) -> bool:
    return ("highway" in tags or "addr:postcode" in tags or tags.get("amenity") == "pharmacy"
            or tags.get("healthcare") == "pharmacy")


def clip_osm(*, source: Path, area: BaseGeometry, dest: Path) -> OsmClip:
    """Write the part of ``source`` that the pipeline needs inside ``area`` (EPSG:4326) to ``dest``.

    The file is written beside ``dest`` and renamed when complete. The same source and area give
    the same bytes.

    Raises
    ------
    InputError
        If ``source`` cannot be read as OpenStreetMap data.
    """
    shapely.prepare(area)
    way_ids: list[int] = []
    is_highway: list[bool] = []
    counts: list[int] = []
    refs: list[int] = []
    xy: list[tuple[float, float]] = []
    tagged: list[tuple[int, float, float]] = []
    nan = (float("nan"), float("nan"))
    try:
        fp = (osmium.FileProcessor(str(source), osmium.osm.NODE | osmium.osm.WAY).with_locations()
              .with_filter(osmium.filter.KeyFilter(*KEEP_KEYS)))
        for o in fp:
            if not _wanted(o.tags):
                continue
            if isinstance(o, osmium.osm.Node):
                if o.location.valid():
                    tagged.append((o.id, o.location.lon, o.location.lat))
            elif isinstance(o, osmium.osm.Way):
                way_ids.append(o.id)
                is_highway.append("highway" in o.tags)
                nodes_ = o.nodes
                counts.append(len(nodes_))
                for n in nodes_:
                    refs.append(n.ref)
                    loc = n.location
                    xy.append((loc.lon, loc.lat) if loc.valid() else nan)
    except RuntimeError as exc:
        raise InputError(source, f"cannot read the OpenStreetMap extract ({exc})") from None
    # one vectorised test for every way node, then per way: any node inside
    pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    ok = ~np.isnan(pts[:, 0])
    hit = np.zeros(len(pts), bool)
    hit[ok] = shapely.contains_xy(area, pts[ok, 0], pts[ok, 1])
    n_per = np.asarray(counts, dtype=np.int64)
    way_of = np.repeat(np.arange(len(n_per)), n_per)
    keep = np.zeros(len(n_per), bool)
    keep[np.unique(way_of[hit])] = True
    keep_ways = np.asarray(way_ids, dtype=np.int64)[keep].tolist()
    highways = int(np.asarray(is_highway, bool)[keep].sum()) if len(keep) else 0
    outside = int((~keep).sum())
    node_refs = np.asarray(refs, dtype=np.int64)[keep[way_of] & ok]
    t = np.asarray(tagged, dtype=np.float64).reshape(-1, 3)
    inside_tagged = np.asarray([r[0] for r in tagged], dtype=np.int64)[
        shapely.contains_xy(area, t[:, 1], t[:, 2])] if len(tagged) else np.zeros(0, np.int64)
    nodes = np.unique(np.concatenate([node_refs, inside_tagged]))
    stamp = replication_timestamp(source)
    header = osmium.io.Header()
    header.set("generator", "pna fetch (pyosmium)")
    if stamp:
        header.set("osmosis_replication_timestamp", stamp)
    minx, miny, maxx, maxy = area.bounds
    header.add_box(osmium.osm.Box(osmium.osm.Location(minx, miny), osmium.osm.Location(maxx, maxy)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}.osm.pbf")
    tmp.unlink(missing_ok=True)
    n_nodes = 0
    try:
        writer = osmium.SimpleWriter(str(tmp), header=header)
        try:
            if len(nodes):
                for o in osmium.FileProcessor(str(source), osmium.osm.NODE).with_filter(
                        osmium.filter.IdFilter(nodes.tolist())):
                    writer.add_node(o)
                    n_nodes += 1
            if keep_ways:
                for o in osmium.FileProcessor(str(source), osmium.osm.WAY).with_filter(
                        osmium.filter.IdFilter(keep_ways)):
                    writer.add_way(o)
        finally:
            writer.close()
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("OpenStreetMap clip: %s ways (%s highways) and %s nodes kept; %s ways outside the area dropped",
             f"{len(keep_ways):,}", f"{highways:,}", f"{n_nodes:,}", f"{outside:,}")
    return OsmClip(dest, len(keep_ways), highways, outside, n_nodes, stamp)

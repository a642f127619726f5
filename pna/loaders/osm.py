"""Read OpenStreetMap extracts (``.osm.pbf`` or ``.osm`` XML) into numpy arrays and tables.

We use pyosmium (the ``osmium`` package): its reader and node-location cache are C++
(libosmium), so a city extract is read in a fraction of a second, where pure-Python XML
parsing (as ``osmnx.graph_from_xml`` does) takes tens of seconds and cannot read PBF at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd

from ..crs import WGS84, to_bng
from ..errors import InputError

#: Way tags the street-graph builder looks at.
HIGHWAY_TAGS: tuple[str, ...] = (
    "highway", "access", "foot", "vehicle", "motor_vehicle", "motorcar", "oneway", "junction",
    "maxspeed", "area", "service", "name",
)


@dataclass
class OsmWays:
    """Highway ways of an extract as flat arrays.

    Way ``i`` runs through nodes ``node_index[node_offsets[i]:node_offsets[i + 1]]``
    (indices into ``node_id`` / ``node_lonlat``), in OSM order.

    Attributes
    ----------
    way_id
        OSM way ids, int64, sorted ascending.
    tags
        One row per way (aligned with ``way_id``), one column per tag in ``HIGHWAY_TAGS``;
        ``None`` where the way does not carry the tag.
    node_offsets
        int64 array of length ``n_ways + 1``.
    node_index
        int64 array: the concatenated node lists of all ways, as indices into ``node_id``.
    node_id
        OSM node ids (int64, sorted) of every node used by a kept way, and only those.
    node_lonlat
        float64 array ``(n_nodes, 2)`` of lon, lat (EPSG:4326); NaN where the extract lacks
        the node (a way clipped at the extract edge).
    """

    way_id: np.ndarray
    tags: pd.DataFrame
    node_offsets: np.ndarray
    node_index: np.ndarray
    node_id: np.ndarray
    node_lonlat: np.ndarray

    @property
    def n_missing_nodes(self) -> int:
        """Number of referenced nodes whose location the extract does not hold."""
        return int(np.isnan(self.node_lonlat[:, 0]).sum())


def _check_path(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "OpenStreetMap extract not found")
    name = path.name.lower()
    if not (name.endswith(".pbf") or name.endswith(".osm") or name.endswith(".osm.bz2")
            or name.endswith(".osm.gz")):
        raise InputError(str(path), "expected an OpenStreetMap .osm.pbf or .osm (XML) file")
    return path


def _processor(path: Path, entities: osmium.osm.osm_entity_bits) -> osmium.FileProcessor:
    try:
        return osmium.FileProcessor(str(path), entities)
    except (RuntimeError, ValueError) as exc:  # pragma: no cover - libosmium's message names the cause
        raise InputError(str(path), f"cannot read OpenStreetMap data: {exc}") from exc


def read_highways(path: str | Path, tags: tuple[str, ...] = HIGHWAY_TAGS) -> OsmWays:
    """Read every way carrying a ``highway`` tag, with the coordinates of its nodes.

    Parameters
    ----------
    path
        An ``.osm.pbf`` or ``.osm`` XML file.
    tags
        Which way tags to keep.

    Returns
    -------
    OsmWays
        Flat arrays; only nodes used by highway ways are kept.

    Raises
    ------
    InputError
        If the file is missing, unreadable or holds no highway ways.
    """
    path = _check_path(path)
    fp = (_processor(path, osmium.osm.NODE | osmium.osm.WAY)
          .with_locations()
          .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
          .with_filter(osmium.filter.KeyFilter("highway")))
    way_ids: list[int] = []
    rows: list[tuple] = []
    lengths: list[int] = []
    refs: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    try:
        # The entity filter lets only ways through; pyosmium types the iterator as any entity.
        for w in cast("Iterable[osmium.osm.Way]", fp):
            wt = w.tags
            way_ids.append(w.id)
            rows.append(tuple(wt.get(k) for k in tags))
            n0 = len(refs)
            for n in w.nodes:
                refs.append(n.ref)
                loc = n.location
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:
                    lons.append(np.nan)
                    lats.append(np.nan)
            lengths.append(len(refs) - n0)
    except RuntimeError as exc:
        raise InputError(str(path), f"cannot read OpenStreetMap data: {exc}") from exc
    if not way_ids:
        raise InputError(str(path), "no highway ways in the extract")

    # Sort ways by id so the result does not depend on file order.
    wid = np.asarray(way_ids, dtype=np.int64)
    lens = np.asarray(lengths, dtype=np.int64)
    ref = np.asarray(refs, dtype=np.int64)
    lonlat = np.column_stack([np.asarray(lons), np.asarray(lats)])
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    order = np.argsort(wid, kind="stable")
    if not np.array_equal(order, np.arange(len(wid))):
        take = np.concatenate([np.arange(starts[i], starts[i] + lens[i]) for i in order])
        wid, lens, ref, lonlat = wid[order], lens[order], ref[take], lonlat[take]
        rows = [rows[i] for i in order]
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)

    node_id, first, inverse = np.unique(ref, return_index=True, return_inverse=True)
    tag_df = pd.DataFrame(rows, columns=list(tags), dtype=object)
    return OsmWays(way_id=wid, tags=tag_df, node_offsets=offsets,
                   node_index=inverse.astype(np.int64).ravel(), node_id=node_id.astype(np.int64),
                   node_lonlat=lonlat[first])


def _centroid(nodes: osmium.osm.WayNodeList) -> tuple[float, float] | None:
    """Mean of a way's node coordinates (closed rings count the repeated node once)."""
    pts = [(n.location.lon, n.location.lat) for n in nodes if n.location.valid()]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if not pts:
        return None
    a = np.asarray(pts)
    return float(a[:, 0].mean()), float(a[:, 1].mean())


def _read_tagged(path: Path, keep, fields: dict[str, str]) -> pd.DataFrame:
    """Nodes and ways for which ``keep(tags)`` is true, ways placed at their node centroid."""
    fp = _processor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations()
    recs = []
    try:
        # Only nodes and ways are read (see the entity bits); pyosmium types the iterator as any entity.
        for o in cast("Iterable[osmium.osm.Node | osmium.osm.Way]", fp):
            if not o.tags or not keep(o.tags):
                continue
            if isinstance(o, osmium.osm.Node):  # what o.is_node() tests
                if not o.location.valid():
                    continue
                lon, lat, otype = o.location.lon, o.location.lat, "node"
            else:
                c = _centroid(o.nodes)
                if c is None:
                    continue
                (lon, lat), otype = c, "way"
            recs.append({"osm_type": otype, "osm_id": int(o.id),
                         **{col: o.tags.get(tag) for col, tag in fields.items()},
                         "lon": lon, "lat": lat})
    except RuntimeError as exc:
        raise InputError(str(path), f"cannot read OpenStreetMap data: {exc}") from exc
    cols = ["osm_type", "osm_id", *fields, "lon", "lat"]
    df = pd.DataFrame(recs, columns=cols)
    df["osm_id"] = df["osm_id"].astype("int64")
    df["lon"] = df["lon"].astype(float)
    df["lat"] = df["lat"].astype(float)
    return df.sort_values(["osm_type", "osm_id"], kind="stable").reset_index(drop=True)


def read_pharmacies(path: str | Path) -> pd.DataFrame:
    """Pharmacies mapped in OpenStreetMap (``amenity=pharmacy`` or ``healthcare=pharmacy``).

    Nodes are placed at their coordinates, ways (building outlines) at the mean of their
    nodes. Relations (multipolygon buildings) are not read.

    Returns
    -------
    pandas.DataFrame
        ``osm_type`` (node | way), ``osm_id``, ``name``, ``brand``, ``dispensing``,
        ``ref_ods`` (``ref:GB:nhs`` / ``ref:nhs`` where tagged), ``postcode``
        (``addr:postcode``), ``lon``, ``lat`` (EPSG:4326), sorted by type and id.
    """
    path = _check_path(path)

    def keep(t) -> bool:
        return t.get("amenity") == "pharmacy" or t.get("healthcare") == "pharmacy"

    df = _read_tagged(path, keep, {"name": "name", "brand": "brand", "dispensing": "dispensing",
                                   "ref_ods": "ref:GB:nhs", "ref_nhs": "ref:nhs",
                                   "postcode": "addr:postcode"})
    df["ref_ods"] = df["ref_ods"].where(df["ref_ods"].notna(), df.pop("ref_nhs"))
    return df


def pharmacy_sites(path: str | Path) -> gpd.GeoDataFrame:
    """The pharmacies mapped in an extract as supply sites (a GeoDataFrame in EPSG:27700).

    ``ods_code`` is the tagged NHS ODS code where there is one, else ``osm:<type>/<id>``;
    ``trading_name`` is the OSM name. Sorted by ``ods_code``. Used where no pharmaceutical list
    places pharmacies, e.g. to exercise the engines on an extract alone.
    """
    ph = read_pharmacies(path)
    g = to_bng(gpd.GeoDataFrame(ph, geometry=gpd.points_from_xy(ph["lon"].to_numpy(float),
                                                                ph["lat"].to_numpy(float)), crs=WGS84))
    g["ods_code"] = g["ref_ods"].fillna("osm:" + g["osm_type"] + "/" + g["osm_id"].astype(str))
    g["trading_name"] = g["name"].fillna("")
    return g.sort_values("ods_code", kind="stable").reset_index(drop=True)


def read_address_points(path: str | Path) -> pd.DataFrame:
    """Every node or way carrying ``addr:postcode``, as a point.

    Returns
    -------
    pandas.DataFrame
        ``postcode`` (as tagged, stripped and upper-cased), ``lon``, ``lat`` (EPSG:4326),
        plus ``osm_type`` and ``osm_id`` for tracing; ways at the mean of their nodes.
    """
    path = _check_path(path)
    df = _read_tagged(path, lambda t: "addr:postcode" in t, {"postcode": "addr:postcode"})
    df["postcode"] = df["postcode"].str.strip().str.upper()
    return df[["postcode", "lon", "lat", "osm_type", "osm_id"]]


def write_osm_xml(src: str | Path, dst: str | Path, *, way_ids: np.ndarray | None = None,
                  tag_overrides: dict[int, dict[str, str]] | None = None) -> Path:
    """Write highway ways of ``src`` (all, or those in ``way_ids``) and their nodes as OSM XML.

    Used to feed the very same data to ``osmnx.graph_from_xml`` in tests and benchmarks.
    ``tag_overrides`` maps a way id to tags replaced (or added) on output.
    """
    src, dst = _check_path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ways = read_highways(src)
    wanted = ways.way_id if way_ids is None else np.intersect1d(ways.way_id, way_ids)
    sel = np.isin(ways.way_id, wanted)
    idx = np.concatenate([ways.node_index[ways.node_offsets[i]:ways.node_offsets[i + 1]]
                          for i in np.flatnonzero(sel)])
    node_ids = set(ways.node_id[np.unique(idx)].tolist())
    wanted_ways = set(wanted.tolist())
    overrides = tag_overrides or {}
    if dst.exists():
        dst.unlink()
    writer = osmium.SimpleWriter(str(dst))
    try:
        # Only nodes and ways are read; pyosmium types the iterator as any entity.
        entities = cast("Iterable[osmium.osm.Node | osmium.osm.Way]", _processor(src, osmium.osm.NODE | osmium.osm.WAY))
        for o in entities:
            if isinstance(o, osmium.osm.Node) and o.id in node_ids:  # isinstance is what o.is_node() tests
                writer.add_node(o)
            elif isinstance(o, osmium.osm.Way) and o.id in wanted_ways:
                if o.id in overrides:
                    tags = dict(o.tags)
                    tags.update(overrides[o.id])
                    writer.add_way(o.replace(tags=tags))
                else:
                    writer.add_way(o)
    finally:
        writer.close()
    return dst

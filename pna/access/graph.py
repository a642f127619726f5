"""Walk and drive street graphs from an OpenStreetMap extract, as compact sparse matrices.

Edges are kept at OSM node level (one edge per pair of consecutive way nodes) rather than
merged between intersections: every OSM vertex then stays a snapping target (so homes and
pharmacies along a long curved street snap to the street, not to a far junction), node ids
match OSMnx's unsimplified graph one-to-one for checks, and the compiled Dijkstra in
``scipy.sparse.csgraph`` handles a city's ~10^5 nodes in tens of milliseconds anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Geod, Transformer
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..config import Config
from ..crs import BNG, WGS84
from ..io import file_sha256
from ..loaders.osm import OsmWays, read_highways
from ..modes import Mode
from ..progress import info
from .core import RoutingCore, contract

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

#: Bump when the builder's rules change so cached graphs are rebuilt.
BUILD_VERSION = 3
#: Mean earth radius in metres (as OSMnx uses), for ``haversine_m``.
EARTH_RADIUS_M = 6_371_009.0
# Edge lengths are geodesics on the WGS84 ellipsoid: a sphere (OSMnx's haversine) reads
# east-west streets ~0.3% short at British latitudes, and a projected grid only suits one country.
_GEOD = Geod(ellps="WGS84")
#: The modes a street graph is built for.
MODES: tuple[Mode, ...] = (Mode.WALK, Mode.DRIVE)

#: Highway classes a pedestrian may use (motorways never; trunk roads unless ``foot=no``).
WALK_HIGHWAYS = frozenset({
    "footway", "path", "pedestrian", "steps", "track", "cycleway", "bridleway", "living_street",
    "residential", "service", "unclassified", "road", "tertiary", "tertiary_link", "secondary",
    "secondary_link", "primary", "primary_link", "trunk", "trunk_link",
})
#: ``foot=*`` values that forbid walking (``use_sidepath``: the pavement is mapped separately).
FOOT_NO = frozenset({"no", "private", "use_sidepath"})
#: ``foot=*`` values that allow walking even where ``access=no/private``.
FOOT_YES = frozenset({"yes", "designated", "permissive", "official", "destination", "customers"})
#: ``access=*`` values that close a way to pedestrians unless ``foot`` says otherwise.
WALK_ACCESS_NO = frozenset({"no", "private"})
#: Access values (``motorcar`` > ``motor_vehicle`` > ``vehicle`` > ``access``) closing a way to cars.
DRIVE_ACCESS_NO = frozenset({"no", "private", "agricultural", "forestry", "emergency", "delivery",
                             "permit", "psv", "bus", "military", "use_sidepath"})
DRIVE_SERVICE_NO = frozenset({"emergency_access", "private"})
ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse"})
ONEWAY_SKIP = frozenset({"reversible", "alternating"})  # direction changes over the day
ONEWAY_NO = frozenset({"no", "false", "0"})
ONEWAY_JUNCTIONS = frozenset({"roundabout", "circular"})

MPH = 1.609344
#: Named limits (km/h). ``national`` is read as the GB single-carriageway limit (60 mph),
#: the common case on the roads that carry it.
NAMED_SPEEDS_KMH = {
    "gb:nsl_single": 60 * MPH, "uk:nsl_single": 60 * MPH, "national": 60 * MPH,
    "gb:nsl_dual": 70 * MPH, "uk:nsl_dual": 70 * MPH, "gb:motorway": 70 * MPH,
    "uk:motorway": 70 * MPH, "gb:nsl_restricted": 30 * MPH, "uk:nsl_restricted": 30 * MPH,
    "gb:urban": 30 * MPH, "walk": 6.0,
}
#: Values meaning "no numeric limit here": fall back to the class speed without counting as bad.
NO_NUMERIC_SPEED = frozenset({"none", "signals", "variable", "unknown"})
_SPEED_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph|knots)?$")


def parse_maxspeed(value: str | None) -> tuple[float | None, str]:
    """Parse an OSM ``maxspeed`` value to km/h.

    Parameters
    ----------
    value
        The tag value, e.g. ``"30"``, ``"30 mph"``, ``"48 km/h"``, ``"GB:nsl_single"``,
        ``"national"``, ``"none"``, ``"30;40"`` (a list: the mean is used, as OSMnx does).

    Returns
    -------
    (speed_kmh, status)
        ``status`` is ``"absent"`` (no tag), ``"parsed"``, ``"no_numeric"`` (``none``,
        ``signals``, ``variable``: no number to use) or ``"unparsed"`` (garbage); the speed is
        ``None`` unless parsed.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None, "absent"
    text = str(value).strip().lower()
    if not text:
        return None, "absent"
    parts = [p.strip() for p in re.split(r"[;|]", text) if p.strip()]
    speeds: list[float] = []
    no_numeric = False
    for p in parts:
        if p in NAMED_SPEEDS_KMH:
            speeds.append(NAMED_SPEEDS_KMH[p])
            continue
        if p in NO_NUMERIC_SPEED:
            no_numeric = True
            continue
        m = _SPEED_RE.match(p)
        if m is None:
            return None, "unparsed"
        v = float(m.group(1))
        unit = m.group(2)
        if unit == "mph":
            v *= MPH
        elif unit == "knots":
            v *= 1.852
        if not 0 < v <= 200:
            return None, "unparsed"
        speeds.append(v)
    if speeds:
        return float(np.mean(speeds)), "parsed"
    return None, "no_numeric" if no_numeric else "unparsed"


@dataclass
class StreetGraph:
    """A directed street graph for one mode (see docs/ARCHITECTURE.md, "Graph structures").

    Attributes
    ----------
    mode
        ``walk`` or ``drive``.
    node_osmid
        int64 OSM node ids, sorted; node ``i`` of the graph is ``node_osmid[i]``.
    node_xy
        float64 ``(n, 2)`` easting, northing in EPSG:27700.
    csr
        ``scipy.sparse.csr_matrix`` ``(n, n)``: travel seconds from row node to column node.
    edges
        One row per directed edge (walk edges appear once per direction): ``u``, ``v``
        (node indices), ``length_m``, ``time_s``, ``highway``, ``way_id``.
    dropped
        What the largest-component filter removed: ``components``, ``nodes``, ``edges``,
        ``km`` (street length, each street counted once), and what was kept.
    stats
        How the ways were read: ways kept/excluded by reason, maxspeed parsing counts.
    """

    mode: Mode
    node_osmid: np.ndarray
    node_xy: np.ndarray
    csr: sp.csr_matrix
    edges: pd.DataFrame
    dropped: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    source_sha256: str = ""

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return int(self.node_osmid.size)

    @property
    def n_edges(self) -> int:
        """Number of directed edges (rows of ``edges``)."""
        return int(len(self.edges))

    @cached_property
    def edge_geometry(self) -> gpd.GeoSeries:
        """Straight LineStrings (EPSG:27700), one per row of ``edges``."""
        u = self.edges["u"].to_numpy()
        v = self.edges["v"].to_numpy()
        coords = np.stack([self.node_xy[u], self.node_xy[v]], axis=1)
        return gpd.GeoSeries(shapely.linestrings(coords), index=self.edges.index, crs=BNG)

    @cached_property
    def csr_reverse(self) -> sp.csr_matrix:
        """The transposed graph: searching it from sources gives times *to* the sources."""
        return self.csr.T.tocsr()

    @cached_property
    def csr_length(self) -> sp.csr_matrix:
        """Like ``csr`` but weighted by metres."""
        return _csr(self.edges["u"].to_numpy(), self.edges["v"].to_numpy(),
                    self.edges["length_m"].to_numpy(), self.n_nodes)

    @cached_property
    def routing_core(self) -> RoutingCore:
        """``csr`` with its pass-through chains contracted (:func:`pna.access.core.contract`).

        Built on first use (tens of milliseconds for a city) and reused by every multi-source
        search on this graph, so ``csr`` must not be modified in place afterwards.
        """
        return contract(self.csr)

    @cached_property
    def kdtree(self) -> cKDTree:
        """A k-d tree of ``node_xy``, for snapping points to nodes."""
        return cKDTree(self.node_xy)

    def node_index(self, osmids: np.ndarray) -> np.ndarray:
        """Graph node indices of OSM node ids (−1 where not in the graph)."""
        osmids = np.asarray(osmids, dtype=np.int64)
        pos = np.searchsorted(self.node_osmid, osmids)
        pos = np.clip(pos, 0, max(self.n_nodes - 1, 0))
        ok = self.node_osmid[pos] == osmids
        return np.where(ok, pos, -1).astype(np.int64)

    @property
    def street_km(self) -> float:
        """Length of street in the graph, each street counted once whatever its directions."""
        u, v = self.edges["u"].to_numpy(), self.edges["v"].to_numpy()
        if u.size == 0:
            return 0.0
        _, first = np.unique(np.stack([np.minimum(u, v), np.maximum(u, v)], axis=1), axis=0, return_index=True)
        return float(self.edges["length_m"].to_numpy()[first].sum()) / 1000.0

    def summary(self) -> dict[str, Any]:
        """Plain numbers about the graph, for run records and method notes."""
        return {"mode": self.mode, "nodes": self.n_nodes, "edges": self.n_edges,
                "street_km": round(self.street_km, 1), "dropped": dict(self.dropped),
                "ways_kept": self.stats.get("ways_kept"), "ways_excluded": self.stats.get("ways_excluded"),
                **({"maxspeed": self.stats["maxspeed"]} if "maxspeed" in self.stats else {})}

    def describe(self) -> str:
        """One sentence on what the graph holds and what the largest-component filter left out."""
        d = self.dropped
        text = (f"The {self.mode} network has {self.street_km:,.1f} km of OpenStreetMap streets and paths "
                f"({self.n_nodes:,} nodes)")
        if d.get("nodes"):
            how = ("that cannot both reach and be reached from the main network (one-way rules)"
                   if self.mode == Mode.DRIVE else "not connected to the main network")
            text += f"; {d['km']:,.1f} km ({d['nodes']:,} nodes) in {d['components'] - 1:,} pieces {how} were left out"
        return text + "."

    def to_networkx(self) -> nx.DiGraph:
        """The graph as a ``networkx.DiGraph`` keyed by OSM node id.

        Nodes carry ``x``, ``y`` (EPSG:27700); edges ``length``, ``travel_time`` (seconds),
        ``highway``.
        """
        import networkx as nx  # only for cross-checks against networkx / OSMnx

        g = nx.DiGraph(mode=self.mode, crs=BNG)
        ids = self.node_osmid.tolist()
        g.add_nodes_from((i, {"x": float(x), "y": float(y)})
                         for i, (x, y) in zip(ids, self.node_xy.tolist()))
        e = self.edges
        u = self.node_osmid[e["u"].to_numpy()].tolist()
        v = self.node_osmid[e["v"].to_numpy()].tolist()
        g.add_edges_from((a, b, {"length": float(ln), "travel_time": float(t), "highway": h})
                         for a, b, ln, t, h in zip(u, v, e["length_m"].tolist(), e["time_s"].tolist(),
                                                   e["highway"].astype(str).tolist()))
        return g


def _csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    # csgraph may read stored zeros as "no edge": keep zero-length edges (two OSM nodes at
    # the same spot) as a negligible positive weight instead.
    w = np.maximum(np.asarray(w, dtype=np.float64), 1e-6)
    m = sp.csr_matrix((w, (u, v)), shape=(n, n))
    m.sort_indices()
    return m


def geodesic_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Distance in metres along the WGS84 ellipsoid (vectorised; NaN where a point is NaN)."""
    lon1, lat1, lon2, lat2 = (np.asarray(x, dtype=np.float64) for x in (lon1, lat1, lon2, lat2))
    out = np.full(np.broadcast(lon1, lat1, lon2, lat2).shape, np.nan)
    ok = ~(np.isnan(lon1) | np.isnan(lat1) | np.isnan(lon2) | np.isnan(lat2))
    if ok.any():
        out[ok] = _GEOD.inv(lon1[ok], lat1[ok], lon2[ok], lat2[ok])[2]
    return out


def haversine_m(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres (mean earth radius, as OSMnx)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


# ---------------------------------------------------------------------------------------
# Per-way rules
# ---------------------------------------------------------------------------------------

def _lower(s: pd.Series) -> pd.Series:
    return s.where(s.isna(), s.astype(str).str.strip().str.lower())


def walk_rules(tags: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Which ways pedestrians may use. Returns (keep, forward, backward, excluded-by-reason)."""
    hw = _lower(tags["highway"])
    foot = _lower(tags["foot"])
    access = _lower(tags["access"])
    in_class = hw.isin(WALK_HIGHWAYS).to_numpy()
    foot_no = foot.isin(FOOT_NO).to_numpy()
    access_no = (access.isin(WALK_ACCESS_NO) & ~foot.isin(FOOT_YES)).to_numpy()
    # area=yes squares are kept as their outline: walking round the edge of a pedestrian
    # square overestimates the crossing a little but keeps the paths that meet it connected.
    keep = in_class & ~foot_no & ~access_no
    reasons = {
        "highway class not walkable": int((~in_class).sum()),
        "foot=no/private": int((in_class & foot_no).sum()),
        "access=no/private": int((in_class & ~foot_no & access_no).sum()),
    }
    both = np.ones(len(tags), dtype=bool)
    return keep, both, both.copy(), reasons


def drive_rules(tags: pd.DataFrame, drivable: set[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Which ways cars may use, and in which direction. Returns (keep, forward, backward, reasons)."""
    hw = _lower(tags["highway"])
    motor = _lower(tags["motorcar"])
    for k in ("motor_vehicle", "vehicle", "access"):  # most specific tag wins
        motor = motor.where(motor.notna(), _lower(tags[k]))
    oneway = _lower(tags["oneway"])
    junction = _lower(tags["junction"])
    area = _lower(tags["area"])
    service = _lower(tags["service"])

    in_class = hw.isin(drivable).to_numpy()
    closed = (motor.isin(DRIVE_ACCESS_NO) | service.isin(DRIVE_SERVICE_NO)).to_numpy()
    is_area = (area == "yes").to_numpy()
    skip_dir = oneway.isin(ONEWAY_SKIP).to_numpy()
    keep = in_class & ~closed & ~is_area & ~skip_dir
    fwd_only = oneway.isin(ONEWAY_FORWARD).to_numpy()
    bwd_only = oneway.isin(ONEWAY_BACKWARD).to_numpy()
    explicit_two = oneway.isin(ONEWAY_NO).to_numpy()
    implied = junction.isin(ONEWAY_JUNCTIONS).to_numpy() & ~fwd_only & ~bwd_only & ~explicit_two
    fwd_only = fwd_only | implied
    forward = ~bwd_only
    backward = ~fwd_only
    reasons = {
        "highway class not drivable": int((~in_class).sum()),
        "closed to motor vehicles": int((in_class & closed).sum()),
        "area=yes": int((in_class & ~closed & is_area).sum()),
        "oneway=reversible/alternating": int((in_class & ~closed & ~is_area & skip_dir).sum()),
    }
    return keep, forward, backward, reasons


def drive_speeds(tags: pd.DataFrame, class_speeds: dict[str, float]) -> tuple[np.ndarray, dict[str, Any]]:
    """Speed (km/h) per way: ``maxspeed`` where it parses, else the class default."""
    hw = _lower(tags["highway"])
    default = hw.map(class_speeds).astype(float).to_numpy()
    parsed: dict[str, tuple[float | None, str]] = {v: parse_maxspeed(v) for v in tags["maxspeed"].dropna().unique()}
    speed = np.array([parsed[v][0] if isinstance(v, str) and parsed[v][0] is not None else np.nan
                      for v in tags["maxspeed"].tolist()], dtype=float)
    status = np.array([parsed[v][1] if isinstance(v, str) else "absent" for v in tags["maxspeed"].tolist()])
    return np.where(np.isnan(speed), default, speed), {"status": status}


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------

def _segments(ways: OsmWays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(way index, from node, to node) of every consecutive node pair of every way."""
    lens = np.diff(ways.node_offsets)
    n_seg = np.maximum(lens - 1, 0)
    way_idx = np.repeat(np.arange(len(lens)), n_seg)
    start = np.repeat(ways.node_offsets[:-1], n_seg)
    within = np.arange(n_seg.sum()) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)
    k = start + within
    return way_idx, ways.node_index[k], ways.node_index[k + 1]


def _largest_component(u: np.ndarray, v: np.ndarray, n: int, strong: bool) -> tuple[np.ndarray, int]:
    """Boolean mask of nodes in the largest component, and the number of components."""
    if n == 0:
        return np.zeros(0, dtype=bool), 0
    adj = sp.csr_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(n, n))
    n_comp, labels = connected_components(adj, directed=True, connection="strong" if strong else "weak")
    sizes = np.bincount(labels, minlength=n_comp)
    return labels == int(np.argmax(sizes)), int(n_comp)  # argmax: first (lowest) label on ties


def build_graph(ways: OsmWays, mode: Mode | str, *, walk_speed_kmh: float = 4.8,
                drive_speeds_kmh: dict[str, float] | None = None, congestion_factor: float = 1.0,
                source_sha256: str = "") -> StreetGraph:
    """Build one mode's graph from highway ways already read.

    Parameters
    ----------
    ways
        From ``pna.loaders.osm.read_highways``.
    mode
        ``walk`` (every way a pedestrian may use, both directions, at ``walk_speed_kmh``) or
        ``drive`` (classes in ``drive_speeds_kmh``, one-way rules, ``maxspeed`` else the class
        speed, times multiplied by ``congestion_factor``).

    Returns
    -------
    StreetGraph
        Restricted to the largest connected component: undirected (weak) for walk, strongly
        connected for drive, so every kept node can both reach and be reached from every other
        (a dead end behind a wrongly mapped one-way would otherwise give residents no way out).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {tuple(str(m) for m in MODES)}, not {mode!r}")
    mode = Mode(mode)
    tags = ways.tags
    stats: dict[str, Any] = {"ways_read": int(len(tags))}
    if mode == Mode.WALK:
        keep, fwd, bwd, reasons = walk_rules(tags)
        speed = np.full(len(tags), float(walk_speed_kmh))
    else:
        class_speeds = dict(drive_speeds_kmh or {})
        keep, fwd, bwd, reasons = drive_rules(tags, set(class_speeds))
        speed, sp_info = drive_speeds(tags, class_speeds)
        st = sp_info["status"][keep]
        stats["maxspeed"] = {
            "tagged": int((st != "absent").sum()), "parsed": int((st == "parsed").sum()),
            "no_numeric": int((st == "no_numeric").sum()), "unparsed": int((st == "unparsed").sum()),
            "unparsed_values": sorted(set(tags["maxspeed"][keep & (sp_info["status"] == "unparsed")]))[:20],
        }
        stats["oneway_ways"] = int((keep & (fwd ^ bwd)).sum())
    stats["ways_kept"] = int(keep.sum())
    stats["ways_excluded"] = reasons

    way_idx, a, b = _segments(ways)
    ll = ways.node_lonlat
    length = geodesic_m(ll[a, 0], ll[a, 1], ll[b, 0], ll[b, 1])
    valid = ~np.isnan(length) & (a != b)
    stats["segments_missing_node"] = int((np.isnan(length) & keep[way_idx]).sum())
    seg = keep[way_idx] & valid
    wi, a, b, length = way_idx[seg], a[seg], b[seg], length[seg]
    f, r = fwd[wi], bwd[wi]
    u = np.concatenate([a[f], b[r]])
    v = np.concatenate([b[f], a[r]])
    wi = np.concatenate([wi[f], wi[r]])
    length = np.concatenate([length[f], length[r]])
    time = length / (speed[wi] / 3.6)
    if mode == Mode.DRIVE:
        time = time * float(congestion_factor)

    # Parallel edges (two ways sharing a segment): keep the quickest.
    order = np.lexsort((wi, time, v, u))
    u, v, wi, length, time = u[order], v[order], wi[order], length[order], time[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, wi, length, time = u[first], v[first], wi[first], length[first], time[first]

    # Restrict to nodes used by edges, then to the largest component.
    used = np.unique(np.concatenate([u, v]))
    remap = np.full(len(ways.node_id), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    u, v = remap[u], remap[v]
    in_main, n_comp = _largest_component(u, v, len(used), strong=(mode == Mode.DRIVE))
    ekeep = in_main[u] & in_main[v]
    # Street km dropped: each undirected segment once (walk holds both directions).
    pairs = np.stack([np.minimum(u, v), np.maximum(u, v)], axis=1)[~ekeep]
    _, first_pair = np.unique(pairs, axis=0, return_index=True)
    dropped = {
        "components": n_comp,
        "nodes": int((~in_main).sum()),
        "edges": int((~ekeep).sum()),
        "km": round(float(length[~ekeep][first_pair].sum()) / 1000.0, 3),
        "kept_nodes": int(in_main.sum()),
        "kept_edges": int(ekeep.sum()),
    }
    main_nodes = used[in_main]
    remap2 = np.full(len(used), -1, dtype=np.int64)
    remap2[in_main] = np.arange(int(in_main.sum()))
    u, v = remap2[u[ekeep]], remap2[v[ekeep]]
    wi, length, time = wi[ekeep], length[ekeep], time[ekeep]

    lonlat = ways.node_lonlat[main_nodes]
    x, y = _TO_BNG.transform(lonlat[:, 0], lonlat[:, 1]) if len(main_nodes) else (np.zeros(0), np.zeros(0))
    hw = tags["highway"].astype(str).to_numpy()[wi]
    edges = pd.DataFrame({"u": u, "v": v, "length_m": length, "time_s": time,
                          "highway": pd.Categorical(hw), "way_id": ways.way_id[wi]})
    return StreetGraph(mode=mode, node_osmid=ways.node_id[main_nodes].copy(),
                       node_xy=np.column_stack([x, y]), csr=_csr(u, v, time, len(main_nodes)),
                       edges=edges, dropped=dropped, stats=stats, source_sha256=source_sha256)


_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)


# ---------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------

def _mode_params(cfg: Config, mode: Mode) -> dict[str, Any]:
    if mode == Mode.WALK:
        return {"walk_speed_kmh": float(cfg.travel.walk.speed_kmh)}
    d = cfg.travel.drive
    return {"drive_speeds_kmh": {k: float(v) for k, v in sorted(d.highway_speeds_kmh.items())},
            "congestion_factor": float(d.congestion_factor)}


def _cache_key(sha: str, mode: Mode, params: dict[str, Any]) -> str:
    blob = json.dumps({"sha256": sha, "mode": mode, "params": params, "version": BUILD_VERSION},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def save_graph(g: StreetGraph, path: Path) -> Path:
    """Write a graph to ``.npz`` (atomically: parallel runs never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hw = g.edges["highway"].astype("category")
    meta = json.dumps({"mode": g.mode, "dropped": g.dropped, "stats": g.stats,
                       "source_sha256": g.source_sha256}, sort_keys=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    os.close(fd)
    with open(tmp, "wb") as fh:
        np.savez(fh, node_osmid=g.node_osmid, node_xy=g.node_xy,
                 u=g.edges["u"].to_numpy(), v=g.edges["v"].to_numpy(),
                 length_m=g.edges["length_m"].to_numpy(), time_s=g.edges["time_s"].to_numpy(),
                 highway_codes=hw.cat.codes.to_numpy(), highway_categories=np.asarray(hw.cat.categories, dtype=str),
                 way_id=g.edges["way_id"].to_numpy(), meta=np.asarray(meta))
    os.replace(tmp, path)
    return path


def load_graph(path: Path) -> StreetGraph:
    """Read a graph written by ``save_graph``."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        n = len(z["node_osmid"])
        edges = pd.DataFrame({
            "u": z["u"], "v": z["v"], "length_m": z["length_m"], "time_s": z["time_s"],
            "highway": pd.Categorical.from_codes(z["highway_codes"], categories=z["highway_categories"].tolist()),
            "way_id": z["way_id"]})
        return StreetGraph(mode=Mode(meta["mode"]), node_osmid=z["node_osmid"], node_xy=z["node_xy"],
                           csr=_csr(edges["u"].to_numpy(), edges["v"].to_numpy(), edges["time_s"].to_numpy(), n),
                           edges=edges, dropped=meta["dropped"], stats=meta["stats"],
                           source_sha256=meta["source_sha256"])


def build_graphs(extract_path: str | Path, cfg: Config, *, modes: tuple[Mode | str, ...] = MODES,
                 use_cache: bool = True) -> dict[Mode, StreetGraph]:
    """Walk and drive street graphs from an OSM extract, cached under ``cfg.cache / "graphs"``.

    Parameters
    ----------
    extract_path
        ``.osm.pbf`` or ``.osm`` XML.
    cfg
        Supplies ``travel.walk.speed_kmh``, ``travel.drive.highway_speeds_kmh`` and
        ``congestion_factor``, and the cache folder.
    modes
        Which graphs to build.
    use_cache
        Read/write ``.npz`` files keyed by the extract's sha256 and the speed settings.

    Returns
    -------
    dict[Mode, StreetGraph]
        Keyed by mode.
    """
    wanted = tuple(Mode(m) for m in modes)
    extract_path = Path(extract_path)
    sha = file_sha256(extract_path)
    cache_dir = Path(cfg.cache) / "graphs"
    out: dict[Mode, StreetGraph] = {}
    todo: list[tuple[Mode, dict[str, Any], Path]] = []
    for mode in wanted:
        params = _mode_params(cfg, mode)
        path = cache_dir / f"{mode}-{_cache_key(sha, mode, params)}.npz"
        if use_cache and path.is_file():
            try:
                out[mode] = load_graph(path)
                info(f"{mode} graph read from cache {path.name}")
                continue
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:  # rebuilt below
                info(f"ignoring unreadable graph cache {path}: {exc}")
        todo.append((mode, params, path))
    if todo:
        ways = read_highways(extract_path)
        for mode, params, path in todo:
            g = build_graph(ways, mode, source_sha256=sha, **params)
            if g.n_nodes == 0:
                info(f"{mode} graph is empty: no {mode} streets in {extract_path.name}")
            info(f"{mode} graph: {g.n_nodes:,} nodes, {g.n_edges:,} edges; dropped {g.dropped['nodes']:,} "
                 f"nodes / {g.dropped['km']:.1f} km outside the largest component")
            if use_cache:
                save_graph(g, path)
            out[mode] = g
    return {m: out[m] for m in wanted}

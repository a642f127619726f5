"""The OpenStreetMap region index (Geofabrik's ``index-v1.json``): which extract covers an area.

The index is a GeoJSON FeatureCollection; each feature's ``properties`` hold ``id``, ``parent``,
``name`` and ``urls.pbf``, and its geometry is the extract's clipping (Multi)Polygon in
EPSG:4326. The smallest extract whose polygon covers the buffered area is the one to download.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from ..errors import InputError

__all__ = ["Extract", "read_index", "choose_extract", "bods_regions", "COUNTY_REGIONS"]


@dataclass(frozen=True)
class Extract:
    """One downloadable region of the index.

    Attributes
    ----------
    id, name, parent
        As in the index (``parent`` is None at the top).
    pbf
        The ``.osm.pbf`` URL.
    geometry
        The clipping polygon (EPSG:4326).
    """

    id: str
    name: str
    parent: str | None
    pbf: str
    geometry: BaseGeometry

    @property
    def size(self) -> float:
        """The polygon's area in square degrees (enough to rank nested extracts)."""
        return float(self.geometry.area)


def read_index(path: Path) -> list[Extract]:
    """The extracts of a region index file that have a polygon and a ``.osm.pbf`` URL, sorted by id.

    Raises
    ------
    InputError
        If the file is not JSON, not a FeatureCollection, or a feature's geometry is unreadable.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(path, f"the region index is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(
            data.get("features"), list):
        raise InputError(path, "the region index is not a GeoJSON FeatureCollection")
    out = []
    for i, feat in enumerate(data["features"]):
        props = (feat or {}).get("properties") or {}
        pbf = (props.get("urls") or {}).get("pbf")
        if not feat.get("geometry") or not pbf or not props.get("id"):
            continue  # the planet has no polygon; some entries have no pbf
        try:
            geom = shapely.make_valid(shape(feat["geometry"]))
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise InputError(path, f"feature {i + 1} ({props.get('id')}): unreadable geometry ({exc})") from None
        out.append(Extract(str(props["id"]), str(props.get("name") or props["id"]),
                           props.get("parent"), str(pbf), geom))
    if not out:
        raise InputError(path, "the region index lists no extract with a polygon and a .osm.pbf URL")
    return sorted(out, key=lambda e: e.id)


def choose_extract(extracts: Sequence[Extract], area: BaseGeometry) -> Extract:
    """The smallest extract whose polygon covers ``area`` (EPSG:4326); ties go to the first id.

    Raises
    ------
    InputError
        If no extract covers the whole area.
    """
    covering = [e for e in extracts if e.geometry.covers(area)]
    if not covering:
        near = sorted((e for e in extracts if e.geometry.intersects(area)), key=lambda e: -e.geometry.intersection(
            area).area)
        hint = f" (it overlaps {', '.join(e.id for e in near[:3])})" if near else ""
        raise InputError("fetch.sources.osm_index", f"no extract in the index covers the whole buffered area{hint}: "
                         "set fetch.sources.osm_extract to the URL of a larger one")
    return min(covering, key=lambda e: (e.size, e.id))


#: The ONS region of each English county extract of Geofabrik's index, as a BODS region name.
#: Ceremonial counties nest in regions, except that Geofabrik's Lincolnshire also holds North and
#: North East Lincolnshire (Yorkshire and the Humber): set fetch.gtfs_regions there.
COUNTY_REGIONS: dict[str, str] = {
    **dict.fromkeys(("durham", "northumberland", "tyne-and-wear"), "north_east"),
    **dict.fromkeys(("cheshire", "cumbria", "greater-manchester", "lancashire", "merseyside"), "north_west"),
    **dict.fromkeys(("east-yorkshire-with-hull", "north-yorkshire", "south-yorkshire", "west-yorkshire"),
                    "yorkshire"),
    **dict.fromkeys(("derbyshire", "leicestershire", "lincolnshire", "northamptonshire", "nottinghamshire",
                     "rutland"), "east_midlands"),
    **dict.fromkeys(("herefordshire", "shropshire", "staffordshire", "warwickshire", "west-midlands",
                     "worcestershire"), "west_midlands"),
    **dict.fromkeys(("bedfordshire", "cambridgeshire", "essex", "hertfordshire", "norfolk", "suffolk"),
                    "east_anglia"),
    "greater-london": "london",
    **dict.fromkeys(("berkshire", "buckinghamshire", "east-sussex", "hampshire", "isle-of-wight", "kent",
                     "oxfordshire", "surrey", "west-sussex"), "south_east"),
    **dict.fromkeys(("bristol", "cornwall", "devon", "dorset", "gloucestershire", "somerset", "wiltshire"),
                    "south_west"),
}


def bods_regions(extracts: Sequence[Extract], area: BaseGeometry) -> list[str]:
    """The BODS regions of the English county extracts that ``area`` (EPSG:4326) overlaps, sorted.

    Counties are recognised by their id (the last part of it) in :data:`COUNTY_REGIONS` with the
    parent ``england``; an area in no English county (Wales, Scotland) gets none.
    """
    regions = {COUNTY_REGIONS[e.id.rsplit("/", 1)[-1]] for e in extracts
               if (e.parent or "").rsplit("/", 1)[-1] == "england" and e.id.rsplit("/", 1)[-1] in COUNTY_REGIONS
               and e.geometry.intersects(area) and e.geometry.intersection(area).area > 1e-9}
    return sorted(regions)

"""The ``fetch`` stage: the area's street network and bus timetable, downloaded, clipped and recorded.

1. The area (its districts in ``inputs.la_boundaries``) is buffered by ``fetch.buffer_km``.
2. OpenStreetMap: the smallest extract of the region index covering it (or
   ``fetch.sources.osm_extract``), checked against its published ``.md5``, clipped.
3. Timetable: the BODS regional GTFS of the region(s) the area lies in (or ``fetch.sources.gtfs``),
   filtered to the trips calling inside it, whole.
4. The overlay ``config/<area>.fetched.yaml`` points the config's ``network`` at the clipped
   files and records each download's URL, time, SHA-256, replication timestamp and validity.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shapely.geometry.base import BaseGeometry

from ..config import Config, FetchOrigin, overlay_path
from ..errors import InputError
from ..io import file_sha256
from ..loaders.boundaries import load_area
from .clip_gtfs import GtfsClip, clip_gtfs, feed_validity, looks_like_gtfs
from .clip_osm import OsmClip, clip_osm, looks_like_pbf
from .download import Downloaded, FetchError, download, file_name
from .index import Extract, bods_regions, choose_extract, read_index
from .overlay import read_overlay, write_overlay

__all__ = ["FetchResult", "FetchedFile", "fetch", "buffered_area"]

log = logging.getLogger("pna")

INDEX_NAME = "index-v1.json"


@dataclass(frozen=True)
class FetchedFile:
    """One network input ``pna fetch`` made.

    Attributes
    ----------
    key
        ``osm_extract`` or ``gtfs`` (its key under ``network``).
    path
        The clipped file.
    source
        Its data source entry as written to the overlay (path relative to the project root).
    origins
        The downloads it was made from.
    summary
        One line on what was kept.
    """

    key: str
    path: Path
    source: dict[str, Any]
    origins: tuple[FetchOrigin, ...]
    summary: str


@dataclass(frozen=True)
class FetchResult:
    """What ``pna fetch`` did: the files made, the overlay written, and what the analyst should know."""

    overlay: Path
    files: tuple[FetchedFile, ...]
    notes: tuple[str, ...]
    extract: str | None = None
    regions: tuple[str, ...] = ()


def buffered_area(cfg: Config) -> BaseGeometry:
    """The area's polygon grown by ``fetch.buffer_km``, in EPSG:4326."""
    area = load_area(cfg)
    if area.empty:
        raise InputError(cfg.data_path(cfg.inputs.la_boundaries),
                         f"no boundary for {', '.join(cfg.area.district_codes)}")
    geom = area.geometry.buffer(cfg.fetch.buffer_km * 1000.0) if cfg.fetch.buffer_km else area.geometry
    return geom.to_crs(4326).union_all()


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _origin(d: Downloaded, **extra: Any) -> FetchOrigin:
    return FetchOrigin(url=d.url, downloaded_at=d.downloaded_at, sha256=d.sha256, bytes=d.size, **extra)


def _given(path: Path) -> Downloaded:
    """A file the analyst downloaded by hand (``--from-dir``), recorded as such."""
    when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
    return Downloaded(path, f"from-dir:{path.name}", when.isoformat().replace("+00:00", "Z"), file_sha256(path),
                      path.stat().st_size, reused=True)


def _publisher(feeds: Sequence[Downloaded]) -> str:
    """Who a timetable came from when it was not a BODS regional download: the URLs' hosts."""
    hosts = sorted({urlsplit(f.url).hostname or "" for f in feeds} - {""})
    return ", ".join(hosts) if hosts else "supplied by the board"


class _Fetcher:
    def __init__(self, cfg: Config, from_dir: Path | None, refresh: bool) -> None:
        self.cfg, self.from_dir, self.refresh = cfg, from_dir, refresh
        self.spec = cfg.fetch
        self.downloads = cfg.project_path(self.spec.download_dir)
        self.notes: list[str] = []
        self._index: list[Extract] | None = None

    def get(self, url: str, *, name: str | None = None, md5: str | None = None, check: Any = None) -> Downloaded:
        return download(url=url, dest_dir=self.downloads, name=name, refresh=self.refresh,
                        timeout=self.spec.timeout_s, md5=md5, check=check)

    def index(self) -> list[Extract]:
        if self._index is None:
            if self.from_dir is not None:
                path = self.from_dir / INDEX_NAME
                if not path.is_file():
                    raise FetchError(f"{self.from_dir}: no {INDEX_NAME} to choose the extract or the BODS region "
                                     "from: put the region index there (from " f"{self.spec.sources.osm_index}), "
                                     "or set fetch.sources.osm_extract and fetch.gtfs_regions")
            else:
                path = self.get(self.spec.sources.osm_index, name=INDEX_NAME).path
            self._index = read_index(path)
        return self._index

    def md5(self, url: str) -> str | None:
        """The MD5 Geofabrik publishes beside an extract (``<url>.md5``), or None where there is none."""
        try:
            d = self.get(url + ".md5", name=file_name(url) + ".md5")
        except FetchError as exc:
            self.notes.append(f"no checksum published for {url} ({exc.why}); size checked only")
            return None
        text = d.path.read_text(encoding="utf-8", errors="replace").split()
        if not text or len(text[0]) != 32:
            self.notes.append(f"{d.url} is not an MD5 checksum file; size checked only")
            return None
        return text[0]

    def osm(self, area: BaseGeometry, dest: Path) -> tuple[FetchedFile, str]:
        src = self.spec.sources
        label = "the configured extract"
        if self.from_dir is not None:
            d, label = self._osm_from_dir(area)
        else:
            url = src.osm_extract
            if url is None:
                ext = choose_extract(self.index(), area)
                url, label = ext.pbf, f"{ext.name} ({ext.id})"
                log.info("OpenStreetMap: %s is the smallest extract covering the area", label)
            d = self.get(url, md5=self.md5(url), check=looks_like_pbf)
        clip: OsmClip = clip_osm(source=d.path, area=area, dest=dest)
        stamp = clip.replication_timestamp
        if stamp is None:
            when = "the date the file was last modified" if self.from_dir is not None else "the download date"
            self.notes.append(f"{d.path.name} records no replication timestamp in its header: its data date is "
                              f"taken as {when}, {d.downloaded_at[:10]}")
        origin = _origin(d, osm_replication_timestamp=stamp)
        source = {"path": _rel(dest, self.cfg.project_root),
                  "title": f"OpenStreetMap extract ({label}), clipped to {self.cfg.area.name} and "
                           f"{self.spec.buffer_km:g} km around",
                  "publisher": "OpenStreetMap contributors", "vintage": (stamp or d.downloaded_at)[:10],
                  "licence": "ODbL 1.0"}
        summary = (f"{clip.highways:,} highway ways, {clip.ways - clip.highways:,} pharmacy and address ways and "
                   f"{clip.nodes:,} nodes kept; {clip.ways_outside:,} ways outside the area dropped")
        return FetchedFile("osm_extract", dest, source, (origin,), summary), label

    def _osm_from_dir(self, area: BaseGeometry) -> tuple[Downloaded, str]:
        assert self.from_dir is not None
        found = sorted(self.from_dir.glob("*.osm.pbf"))
        if not found:
            raise FetchError(f"{self.from_dir}: no .osm.pbf file (download the extract covering the area, e.g. "
                             "from download.geofabrik.de, into this folder)")
        if len(found) > 1:
            if not (self.from_dir / INDEX_NAME).is_file():
                raise FetchError(f"{self.from_dir}: {len(found)} .osm.pbf files and no {INDEX_NAME} to choose "
                                 "between them: leave one, or add the region index")
            ext = choose_extract(self.index(), area)
            pick = [p for p in found if p.name == file_name(ext.pbf)]
            if not pick:
                raise FetchError(f"{self.from_dir}: the area needs {file_name(ext.pbf)} ({ext.name}), not here")
            found = pick
        why = looks_like_pbf(found[0])
        if why:
            raise InputError(found[0], why)
        return _given(found[0]), found[0].name

    def regions(self, area: BaseGeometry) -> list[str]:
        if self.spec.gtfs_regions:
            return list(self.spec.gtfs_regions)
        return bods_regions(self.index(), area)

    def gtfs(self, area: BaseGeometry, dest: Path) -> tuple[FetchedFile | None, list[str]]:
        src = self.spec.sources
        regions: list[str] = []
        if self.from_dir is not None:
            found = sorted(p for p in self.from_dir.glob("*.zip"))
            feeds = [_given(p) for p in found if looks_like_gtfs(p) is None]
            if not feeds:
                raise FetchError(f"{self.from_dir}: no GTFS zip (download the regional GTFS from "
                                 "data.bus-data.dft.gov.uk into this folder)")
        else:
            urls = list(src.gtfs)
            if not urls:
                regions = self.regions(area)
                if not regions:
                    why = ("the Bus Open Data Service covers England only, and this area is in Wales"
                           if self.cfg.area.country == "wales" else "the area lies in no English county of the index")
                    self.notes.append(f"No timetable fetched: {why}. Set fetch.sources.gtfs to the URL of a GTFS "
                                      "feed for the area (or pass --from-dir with the zip); public-transport times "
                                      "stay as the config gives them")
                    return None, regions
                urls = [src.gtfs_region.format(region=r) for r in regions]
            feeds = []
            for url in urls:
                name = file_name(url)
                feeds.append(self.get(url, name=name if name.endswith(".zip") else f"{name}_gtfs.zip",
                                      check=looks_like_gtfs))
        clip: GtfsClip = clip_gtfs(sources=[f.path for f in feeds], area=area, dest=dest)
        if clip.trips == 0:
            dest.unlink(missing_ok=True)
            self.notes.append(f"No trip of {', '.join(f.path.name for f in feeds)} ({clip.trips_in:,} trips) calls "
                              "at a stop inside the area: the timetable is not used (is it the right region?)")
            return None, regions
        origins = []
        for f in feeds:
            v0, v1 = feed_validity(f.path)
            origins.append(_origin(f, valid_from=v0, valid_to=v1))
        valid = (f"valid {clip.valid_from.isoformat()} to {clip.valid_to.isoformat()}"
                 if clip.valid_from and clip.valid_to else "no service dates")
        source = {"path": _rel(dest, self.cfg.project_root),
                  "title": f"Bus timetables (GTFS) serving {self.cfg.area.name} and {self.spec.buffer_km:g} km around",
                  "publisher": "Bus Open Data Service" if regions else _publisher(feeds),
                  "vintage": valid, "licence": "OGL v3.0"}
        self._check_date(clip)
        summary = (f"{clip.trips:,} of {clip.trips_in:,} trips kept (those calling at the {clip.stops_inside:,} stops "
                   f"inside), whole: {clip.stops:,} stops and {clip.stop_times:,} stop times; {valid}")
        return FetchedFile("gtfs", dest, source, tuple(origins), summary), regions

    def _check_date(self, clip: GtfsClip) -> None:
        day = self.cfg.travel.transit.date or self.cfg.as_at
        if clip.valid_from is None or clip.valid_to is None:
            self.notes.append("The fetched timetable has no service dates: public-transport times cannot be computed")
        elif not clip.valid_from <= day <= clip.valid_to:
            self.notes.append(f"The fetched timetable runs {clip.valid_from} to {clip.valid_to}, but public-transport "
                              f"times are computed for {day} (travel.transit.date, else as_at): set "
                              "travel.transit.date to a typical weekday inside that range")


def fetch(*, cfg: Config, config_path: Path, from_dir: Path | None = None, refresh: bool = False,
          only: Sequence[str] | None = None) -> FetchResult:
    """Download (or take from ``from_dir``), clip and record the area's street network and timetable.

    Parameters
    ----------
    cfg
        The area config, loaded without its overlay.
    config_path
        Its YAML file: the overlay is written beside it.
    from_dir
        A folder of files already downloaded (``*.osm.pbf``, GTFS ``*.zip``, optionally
        ``index-v1.json``), used instead of the network.
    refresh
        Download again files already in ``fetch.download_dir``.
    only
        ``osm_extract`` and/or ``gtfs``: fetch just these (default: as ``fetch.osm`` and ``fetch.gtfs``).

    Returns
    -------
    FetchResult

    Raises
    ------
    FetchError
        If a download fails or is unusable (naming the URL, why, and what to do).
    InputError
        If the boundary, the index or a downloaded file cannot be read.
    """
    want = set(only) if only else {k for k, on in (("osm_extract", cfg.fetch.osm), ("gtfs", cfg.fetch.gtfs)) if on}
    if from_dir is not None and not from_dir.is_dir():
        raise FetchError(f"{from_dir}: --from-dir is not a folder")
    area = buffered_area(cfg)
    f = _Fetcher(cfg, from_dir, refresh)
    slug = config_path.name.removesuffix(".yaml").removesuffix(".yml")
    out = cfg.project_path(cfg.fetch.output_dir) / slug
    files: list[FetchedFile] = []
    extract = None
    regions: list[str] = []
    if "osm_extract" in want:
        osm, extract = f.osm(area, out / f"{slug}.osm.pbf")
        files.append(osm)
    if "gtfs" in want:
        gtfs, regions = f.gtfs(area, out / f"{slug}_gtfs.zip")
        if gtfs is not None:
            files.append(gtfs)
    network = read_overlay(config_path)
    origins = dict(network.get("origins") or {})
    for ff in files:
        network[ff.key] = ff.source
        origins[ff.key] = [o.model_dump(mode="json", exclude_none=True) for o in ff.origins]
    network.pop("overlay", None)
    if origins:
        network["origins"] = origins
    path = overlay_path(config_path)
    if files or path.is_file():
        header = (f"Written by `pna fetch --config {config_path.name}`: the street network and bus timetable for "
                  f"{cfg.area.name}\n(and {cfg.fetch.buffer_km:g} km around), clipped from the downloads named under "
                  f"origins.\n`pna run --config {config_path.name}` reads this file after {config_path.name}: its "
                  f"network entries\nreplace that file's, which is left unchanged. Delete this file to go back; run "
                  "pna fetch again to refresh it.")
        write_overlay(config_path=config_path, network=network, header=header)
    return FetchResult(path, tuple(files), tuple(dict.fromkeys(f.notes)), extract, tuple(regions))

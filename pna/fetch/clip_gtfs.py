"""Filter regional GTFS feeds to the trips that serve the buffered area, keeping every trip whole.

A trip is kept if any of its stops lies inside the area; all its stop times are kept, and so
every stop it calls at (inside or not), so journeys that leave the area stay correct. Routes,
agencies, services (``calendar`` and ``calendar_dates``), shapes, frequencies and transfers are
kept where a kept trip or stop refers to them; any other file is copied unchanged. Several feeds
(an area on a regional border) are merged: a row whose key an earlier feed already gave (the
same trip in both regions' downloads) is taken once. The files are read as streams, so a
regional feed of millions of stop times needs little memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ..errors import InputError
from ..io import FIXED_ZIP_DATE

__all__ = ["GtfsClip", "clip_gtfs", "looks_like_gtfs", "feed_validity"]

log = logging.getLogger("pna")

#: Files in the order they are written; others follow in name order.
ORDER = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt", "calendar.txt",
         "calendar_dates.txt", "shapes.txt", "frequencies.txt", "transfers.txt", "feed_info.txt")
#: The columns that identify a row of each filtered file, for merging feeds.
KEYS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_id",), "stops.txt": ("stop_id",), "routes.txt": ("route_id",),
    "trips.txt": ("trip_id",), "calendar.txt": ("service_id",),
    "calendar_dates.txt": ("service_id", "date"), "shapes.txt": ("shape_id", "shape_pt_sequence"),
    "frequencies.txt": ("trip_id", "start_time"), "transfers.txt": ("from_stop_id", "to_stop_id"),
}


@dataclass(frozen=True)
class GtfsClip:
    """What :func:`clip_gtfs` wrote.

    Attributes
    ----------
    path
        The filtered GTFS zip.
    stops_inside
        Stops inside the area (in any feed).
    stops
        Stops kept: those inside that a kept trip calls at, the others kept trips call at,
        and their parent stations.
    trips, trips_in
        Trips kept, of the trips read.
    stop_times
        Stop times kept.
    valid_from, valid_to
        The first and last service date of the kept services (None if none).
    """

    path: Path
    stops_inside: int
    stops: int
    trips: int
    trips_in: int
    stop_times: int
    valid_from: dt.date | None
    valid_to: dt.date | None


def looks_like_gtfs(path: Path) -> str | None:
    """Why ``path`` is not a GTFS zip (a zip holding stops.txt, trips.txt and stop_times.txt), or None."""
    if not zipfile.is_zipfile(path):
        with path.open("rb") as f:
            head = f.read(40).decode("latin-1").strip()
        return f"not a zip file (it starts {head!r}; an error page or a login page?)"
    with zipfile.ZipFile(path) as z:
        names = {Path(n).name for n in z.namelist()}
    missing = [n for n in ("stops.txt", "trips.txt", "stop_times.txt") if n not in names]
    return f"a zip file but not a GTFS feed (no {', '.join(missing)})" if missing else None


class _Feed:
    """One GTFS zip, read a file at a time as rows of text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.members = {Path(n).name: n for n in self.zip.namelist() if not n.endswith("/")}

    def has(self, name: str) -> bool:
        return name in self.members

    def header(self, name: str) -> list[str]:
        with self._open(name) as f:
            row = next(csv.reader(f), [])
        return [c.strip() for c in row]

    def rows(self, name: str) -> Iterator[dict[str, str]]:
        if not self.has(name):
            return
        with self._open(name) as f:
            reader = csv.reader(f)
            head = [c.strip() for c in next(reader, [])]
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(head):
                    raise InputError(f"{self.path.name}:{name}", f"expected {len(head)} fields, found {len(row)}",
                                     row=line)
                yield dict(zip(head, row))

    def _open(self, name: str) -> io.TextIOWrapper:
        return io.TextIOWrapper(self.zip.open(self.members[name]), encoding="utf-8-sig", newline="")

    def close(self) -> None:
        self.zip.close()


def _float(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return float("nan")


def clip_gtfs(*, sources: Sequence[Path], area: BaseGeometry, dest: Path) -> GtfsClip:
    """Write the trips of ``sources`` that call inside ``area`` (EPSG:4326), whole, as one GTFS zip ``dest``.

    The zip is written beside ``dest`` and renamed when complete; the same feeds and area give
    the same bytes.

    Raises
    ------
    InputError
        If a feed is not a GTFS zip or a row has the wrong number of fields.
    """
    feeds = []
    for p in sources:
        why = looks_like_gtfs(p)
        if why:
            raise InputError(p, why)
        feeds.append(_Feed(p))
    try:
        return _clip(feeds, area, dest)
    finally:
        for f in feeds:
            f.close()


def _clip(feeds: list[_Feed], area: BaseGeometry, dest: Path) -> GtfsClip:
    shapely.prepare(area)
    inside: set[str] = set()
    parents: dict[str, str] = {}
    for f in feeds:
        ids, lon, lat = [], [], []
        for r in f.rows("stops.txt"):
            ids.append(r["stop_id"])
            lon.append(_float(r.get("stop_lon", "")))
            lat.append(_float(r.get("stop_lat", "")))
            if r.get("parent_station"):
                parents[r["stop_id"]] = r["parent_station"]
        if ids:
            x, y = np.asarray(lon), np.asarray(lat)
            ok = ~(np.isnan(x) | np.isnan(y))
            hit = np.zeros(len(ids), bool)
            hit[ok] = shapely.contains_xy(area, x[ok], y[ok])
            inside.update(i for i, h in zip(ids, hit) if h)
    # a trip is kept if it calls at a stop inside; each trip is taken from the first feed that has it
    trip_feed: dict[str, int] = {}
    every_trip: set[str] = set()
    for k, f in enumerate(feeds):
        for r in f.rows("stop_times.txt"):
            t = r["trip_id"]
            every_trip.add(t)
            if r["stop_id"] in inside:
                trip_feed.setdefault(t, k)   # a trip in two feeds is taken from the first
    trips_in = len(every_trip)
    stop_ids: set[str] = set()
    routes: set[str] = set()
    services: set[str] = set()
    shapes: set[str] = set()
    agencies: set[str] = set()
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmpdir:
        tmp = Path(tmpdir)

        def write(name: str, keep: Callable[[dict[str, str]], bool], *, own: Callable[[int, dict[str, str]], bool]
                  | None = None) -> None:
            present = [f for f in feeds if f.has(name)]
            if not present:
                return
            cols: list[str] = []
            for f in present:
                cols += [c for c in f.header(name) if c not in cols]
            key = KEYS.get(name)
            done: set[tuple[str, ...]] = set()
            n = 0
            with (tmp / name).open("w", encoding="utf-8", newline="") as out:
                w = csv.DictWriter(out, fieldnames=cols, restval="", lineterminator="\n")
                w.writeheader()
                for k, f in enumerate(feeds):
                    for r in f.rows(name):
                        if (own is not None and not own(k, r)) or not keep(r):
                            continue
                        if key is not None:
                            kv = tuple(r.get(c, "") for c in key)
                            if kv in done:
                                continue
                            done.add(kv)
                        w.writerow(r)
                        n += 1
            counts[name] = n

        def st_keep(r: dict[str, str]) -> bool:
            if r["trip_id"] in trip_feed:
                stop_ids.add(r["stop_id"])
                return True
            return False

        write("stop_times.txt", st_keep, own=lambda k, r: trip_feed.get(r["trip_id"]) == k)

        def trip_keep(r: dict[str, str]) -> bool:
            if r["trip_id"] in trip_feed:
                routes.add(r["route_id"])
                services.add(r["service_id"])
                if r.get("shape_id"):
                    shapes.add(r["shape_id"])
                return True
            return False

        write("trips.txt", trip_keep, own=lambda k, r: trip_feed.get(r["trip_id"]) == k)
        stops = set(stop_ids)
        for s in list(stops):
            while s in parents and parents[s] not in stops:
                s = parents[s]
                stops.add(s)
        write("stops.txt", lambda r: r["stop_id"] in stops)

        def route_keep(r: dict[str, str]) -> bool:
            if r["route_id"] in routes:
                agencies.add(r.get("agency_id", ""))
                return True
            return False

        write("routes.txt", route_keep)
        write("agency.txt", lambda r: not r.get("agency_id") or r["agency_id"] in agencies or agencies == {""})
        write("calendar.txt", lambda r: r["service_id"] in services)
        write("calendar_dates.txt", lambda r: r["service_id"] in services)
        write("shapes.txt", lambda r: r["shape_id"] in shapes)
        write("frequencies.txt", lambda r: r["trip_id"] in trip_feed)
        write("transfers.txt", lambda r: r.get("from_stop_id", "") in stops and r.get("to_stop_id", "") in stops)
        write("feed_info.txt", lambda r: True)
        others = sorted({n for f in feeds for n in f.members} - set(ORDER))
        for name in others:
            write(name, lambda r: True)
        valid_from, valid_to = feed_validity(tmp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        try:
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
                for name in [*(n for n in ORDER if (tmp / n).exists()), *others]:
                    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    with (tmp / name).open("rb") as src, z.open(info, "w") as dst:
                        for block in iter(lambda: src.read(1 << 20), b""):
                            dst.write(block)
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
    log.info("Timetable clip: %s of %s trips kept (those calling at the area's %s stops), %s stops, %s stop times",
             f"{len(trip_feed):,}", f"{trips_in:,}", f"{len(inside):,}", f"{len(stops):,}",
             f"{counts.get('stop_times.txt', 0):,}")
    if others:
        log.info("Timetable clip: copied unchanged: %s", ", ".join(others))
    return GtfsClip(dest, len(inside), len(stops), len(trip_feed), trips_in, counts.get("stop_times.txt", 0),
                    valid_from, valid_to)


def _date(v: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(v.strip(), "%Y%m%d").date()
    except ValueError:
        return None


def feed_validity(feed: Path) -> tuple[dt.date | None, dt.date | None]:
    """First and last service date of a GTFS zip or folder (``calendar.txt`` and added ``calendar_dates.txt`` days)."""
    dates: list[dt.date] = []
    z = zipfile.ZipFile(feed) if feed.is_file() else None
    try:
        names = {Path(n).name: n for n in z.namelist()} if z is not None else {}
        for name, cols in (("calendar.txt", ("start_date", "end_date")), ("calendar_dates.txt", ("date",))):
            f: IO[str]
            if z is not None:
                if name not in names:
                    continue
                f = io.TextIOWrapper(z.open(names[name]), encoding="utf-8-sig", newline="")
            elif (feed / name).exists():
                f = (feed / name).open(encoding="utf-8-sig", newline="")
            else:
                continue
            with f:
                for r in csv.DictReader(f):
                    r = {k.strip(): v for k, v in r.items() if k is not None}
                    if name == "calendar_dates.txt" and (r.get("exception_type") or "").strip() != "1":
                        continue
                    dates += [d for d in (_date(r.get(c) or "") for c in cols) if d is not None]
    finally:
        if z is not None:
            z.close()
    return (min(dates), max(dates)) if dates else (None, None)

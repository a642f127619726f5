"""Read and validate a GTFS feed (zip or folder) into plain DataFrames.

Validation follows the rule used across the pipeline: an unusable feed (a required file or
column missing) raises :class:`~pna.quality.InputError`; a bad row (broken reference, bad
time, non-monotone trip) is quarantined with its reason in the :class:`~pna.quality.QualityLog`
and every file's rows balance (rows in = kept + quarantined). With ``strict=True`` the first
bad row raises instead, naming file, row and reason.

Row numbers are 1-based lines of the text file (header = line 1, first data row = line 2).
Times are seconds since the service day's midnight ("noon minus 12h"), so ``25:10:00`` is
90,600 s: trips running past midnight stay on the service day that started them.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from ..crs import BNG, WGS84
from ..errors import InputError
from ..quality import QualityLog

STAGE = "transit"
DAY_COLUMNS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

REQUIRED_FILES = ("agency", "routes", "trips", "stop_times", "stops")
REQUIRED_COLUMNS = {
    "agency": ["agency_name"],
    "routes": ["route_id"],
    "trips": ["route_id", "service_id", "trip_id"],
    "stop_times": ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"],
    "stops": ["stop_id"],
    "calendar": ["service_id", *DAY_COLUMNS, "start_date", "end_date"],
    "calendar_dates": ["service_id", "date", "exception_type"],
}


@dataclass
class Feed:
    """A validated GTFS feed.

    ``stop_times`` has ``arrival_s``/``departure_s`` (int seconds since service-day midnight),
    ``stop_sequence`` (int), ``pickup_type``/``drop_off_type`` (int, 0 = regular) and
    ``source_row``, sorted by trip then sequence. ``stops`` has ``stop_lat``, ``stop_lon``
    (float) and ``easting``/``northing`` (EPSG:27700). ``calendar`` and ``calendar_dates``
    may be ``None`` (GTFS requires at least one).
    """

    source: str
    agencies: pd.DataFrame
    routes: pd.DataFrame
    trips: pd.DataFrame
    stop_times: pd.DataFrame
    stops: pd.DataFrame
    calendar: pd.DataFrame | None
    calendar_dates: pd.DataFrame | None
    feed_info: pd.DataFrame | None = None
    dropped: dict[str, int] = field(default_factory=dict)

    def validity(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last date any service runs, from calendar and calendar_dates."""
        dates: list[pd.Timestamp] = []
        if self.calendar is not None and len(self.calendar):
            dates += [self.calendar["start_date"].min(), self.calendar["end_date"].max()]
        if self.calendar_dates is not None and len(self.calendar_dates):
            added = self.calendar_dates[self.calendar_dates["exception_type"] == 1]
            if len(added):
                dates += [added["date"].min(), added["date"].max()]
        if not dates:
            raise InputError(self.source, "no service dates in calendar.txt or calendar_dates.txt")
        return min(dates), max(dates)

    def stats(self) -> dict[str, Any]:
        """Counts for reports: agencies, routes, trips, stop_times, stops used, validity."""
        start, end = self.validity()
        return {"agencies": int(len(self.agencies)), "routes": int(len(self.routes)),
                "trips": int(len(self.trips)), "stop_times": int(len(self.stop_times)),
                "stops": int(len(self.stops)),
                "stops_served": int(self.stop_times["stop_id"].nunique()),
                "valid_from": start.date().isoformat(), "valid_to": end.date().isoformat(),
                "dropped": dict(sorted(self.dropped.items()))}


class _Reader:
    """Reads member files of a zip or a folder as all-text DataFrames."""

    def __init__(self, path: Path):
        self.path = path
        if path.is_dir():
            self.names = {p.name for p in path.iterdir() if p.is_file()}
            self._zip = None
            self._prefix = ""
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                # A .zip that does not open is damaged; anything else was never a feed.
                reason = ("is not a valid zip file (corrupt or truncated)" if path.suffix.lower() == ".zip"
                          else "is not a GTFS feed (expected a .zip file or a folder)")
                raise InputError(str(path), reason) from None
            members = [n for n in self._zip.namelist() if n.endswith(".txt")]
            # Feeds are sometimes zipped with a top folder: accept one level.
            self._prefix = ""
            if members and all("/" in n for n in members):
                self._prefix = members[0].rsplit("/", 1)[0] + "/"
            self.names = {n[len(self._prefix):] for n in members if n.startswith(self._prefix)}
        else:
            raise InputError(str(path), "GTFS feed not found (expected a .zip file or a folder)")

    def label(self, name: str) -> str:
        """The member's full path, for error messages."""
        return f"{self.path}:{name}.txt" if self._zip else str(self.path / f"{name}.txt")

    def source_label(self, name: str) -> str:
        """The member as outputs name it: without the data directory, so outputs stay portable."""
        return f"{self.path.name}:{name}.txt" if self._zip else f"{self.path.name}/{name}.txt"

    def has(self, name: str) -> bool:
        return f"{name}.txt" in self.names

    def read(self, name: str) -> pd.DataFrame:
        label = self.label(name)
        try:
            if self._zip is not None:
                try:
                    raw = self._zip.read(self._prefix + f"{name}.txt")
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    # The central directory can survive damage to a member's data.
                    raise InputError(label, f"cannot be read from the zip file (corrupt or truncated): "
                                     f"{exc}") from None
                df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False,
                                 encoding="utf-8-sig", skipinitialspace=True)
            else:
                df = pd.read_csv(self.path / f"{name}.txt", dtype=str, keep_default_na=False,
                                 encoding="utf-8-sig", skipinitialspace=True)
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(label, f"cannot be read as CSV: {exc}") from None
        df.columns = [c.strip() for c in df.columns]
        missing = [c for c in REQUIRED_COLUMNS.get(name, []) if c not in df.columns]
        if missing:
            raise InputError(label, f"required column(s) missing: {', '.join(missing)}")
        df = df.apply(lambda s: s.str.strip())
        df["source_row"] = np.arange(2, len(df) + 2)
        return df


class _Rows:
    """Quarantine helper: logs each bad row or raises in strict mode."""

    def __init__(self, reader: _Reader, quality: QualityLog, strict: bool):
        self.reader, self.quality, self.strict = reader, quality, strict
        self.logged: dict[str, int] = {}

    def bad(self, name: str, df: pd.DataFrame, mask: np.ndarray, key: str, reason) -> None:
        """Quarantine (or, strict, raise on) the rows of member file ``name`` where ``mask``."""
        if not mask.any():
            return
        sub = df[mask]
        reasons = reason(sub) if callable(reason) else pd.Series(reason, index=sub.index)
        if self.strict:
            r = sub.iloc[0]
            raise InputError(self.reader.label(name), str(reasons.iloc[0]), row=int(r["source_row"]))
        label = self.reader.source_label(name)
        for (_, r), why in zip(sub.iterrows(), reasons):
            self.quality.add(STAGE, label, int(r["source_row"]), str(r[key]), str(why), field_=key)
        self.logged[name] = self.logged.get(name, 0) + len(sub)


def parse_gtfs_time(values: pd.Series) -> np.ndarray:
    """``H:MM:SS`` / ``HH:MM:SS`` (hours may pass 24) to seconds; -1 where blank or invalid."""
    parts = values.str.extract(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    ok = parts.notna().all(axis=1).to_numpy()
    out = np.full(len(values), -1, dtype=np.int64)
    if ok.any():
        p = parts[ok].astype(np.int64).to_numpy()
        out[ok] = p[:, 0] * 3600 + p[:, 1] * 60 + p[:, 2]
    return out


def _parse_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y%m%d", errors="coerce")


def _int_col(df: pd.DataFrame, col: str, default: int) -> np.ndarray:
    if col not in df:
        return np.full(len(df), default, dtype=np.int64)
    v = pd.to_numeric(df[col].replace("", str(default)), errors="coerce")
    return v.to_numpy(dtype=float)


def load_feed(path: str | Path, quality: QualityLog, *, strict: bool = False) -> Feed:
    """Read and validate a GTFS feed.

    Parameters
    ----------
    path
        A GTFS ``.zip`` or a folder of ``.txt`` files.
    quality
        Receives one record per quarantined row and the row accounting of each file.
    strict
        If true, the first bad row raises :class:`InputError` instead of being quarantined.

    Returns
    -------
    Feed

    Raises
    ------
    InputError
        A required file or column is missing, neither calendar file is present, or (strict) a
        row is bad: broken reference (trip→route, trip→service, stop_time→trip/stop), invalid
        or missing time, non-monotone stop times within a trip, duplicate stop_sequence.
    """
    path = Path(path)
    rd = _Reader(path)
    rows = _Rows(rd, quality, strict)
    for name in REQUIRED_FILES:
        if not rd.has(name):
            raise InputError(str(path), f"required GTFS file {name}.txt is missing")
    if not (rd.has("calendar") or rd.has("calendar_dates")):
        raise InputError(str(path), "neither calendar.txt nor calendar_dates.txt is present")

    agencies = rd.read("agency")
    routes = rd.read("routes")
    stops = rd.read("stops")
    calendar = rd.read("calendar") if rd.has("calendar") else None
    cdates = rd.read("calendar_dates") if rd.has("calendar_dates") else None
    feed_info = rd.read("feed_info") if rd.has("feed_info") else None
    trips = rd.read("trips")
    st = rd.read("stop_times")
    counts = {n: len(d) for n, d in [("agency", agencies), ("routes", routes), ("stops", stops),
                                     ("trips", trips), ("stop_times", st)]}
    if calendar is not None:
        counts["calendar"] = len(calendar)
    if cdates is not None:
        counts["calendar_dates"] = len(cdates)

    # routes: unique ids
    lab = "routes"
    bad = routes["route_id"].eq("").to_numpy() | routes["route_id"].duplicated().to_numpy()
    rows.bad(lab, routes, bad, "route_id", "blank or duplicate route_id")
    routes = routes[~bad]

    # stops: coordinates required where a stop can be served (location_type 0/blank).
    lab = "stops"
    loc = np.nan_to_num(_int_col(stops, "location_type", 0), nan=0.0)
    lat = pd.to_numeric(stops.get("stop_lat", pd.Series("", index=stops.index)), errors="coerce")
    lon = pd.to_numeric(stops.get("stop_lon", pd.Series("", index=stops.index)), errors="coerce")
    bad_id = stops["stop_id"].eq("").to_numpy() | stops["stop_id"].duplicated().to_numpy()
    bad_xy = ~bad_id & ((loc == 0) | (loc == 1)) & ~(lat.between(-90, 90) & lon.between(-180, 180)
                                                    & ~((lat == 0) & (lon == 0))).to_numpy()
    rows.bad(lab, stops, bad_id, "stop_id", "blank or duplicate stop_id")
    rows.bad(lab, stops, bad_xy, "stop_id", "missing or invalid stop_lat/stop_lon")
    keep = ~(bad_id | bad_xy)
    stops = stops[keep].copy()
    stops["stop_lat"], stops["stop_lon"] = lat[keep].to_numpy(), lon[keep].to_numpy()
    stops["location_type"] = loc[keep].astype(int)
    tr = Transformer.from_crs(WGS84, BNG, always_xy=True)
    e, n = tr.transform(stops["stop_lon"].to_numpy(), stops["stop_lat"].to_numpy())
    stops["easting"], stops["northing"] = np.asarray(e, float), np.asarray(n, float)

    # calendar
    services: set[str] = set()
    if calendar is not None:
        lab = "calendar"
        flags = calendar[DAY_COLUMNS]
        sd, ed = _parse_date(calendar["start_date"]), _parse_date(calendar["end_date"])
        bad_f = ~flags.isin(["0", "1"]).all(axis=1).to_numpy()
        bad_d = (sd.isna() | ed.isna() | (ed < sd)).to_numpy()
        bad_s = calendar["service_id"].eq("").to_numpy() | calendar["service_id"].duplicated().to_numpy()
        rows.bad(lab, calendar, bad_s, "service_id", "blank or duplicate service_id")
        rows.bad(lab, calendar, bad_f & ~bad_s, "service_id", "day flags must be 0 or 1")
        rows.bad(lab, calendar, bad_d & ~bad_f & ~bad_s, "service_id",
                 "start_date/end_date not YYYYMMDD or end before start")
        keep = ~(bad_f | bad_d | bad_s)
        calendar = calendar[keep].copy()
        calendar[DAY_COLUMNS] = calendar[DAY_COLUMNS].astype(int)
        calendar["start_date"], calendar["end_date"] = sd[keep], ed[keep]
        services |= set(calendar["service_id"])
    if cdates is not None:
        lab = "calendar_dates"
        d = _parse_date(cdates["date"])
        bad = (d.isna() | ~cdates["exception_type"].isin(["1", "2"]) | cdates["service_id"].eq("")).to_numpy()
        rows.bad(lab, cdates, bad, "service_id", "date not YYYYMMDD or exception_type not 1/2")
        cdates = cdates[~bad].copy()
        cdates["date"] = d[~bad]
        cdates["exception_type"] = cdates["exception_type"].astype(int)
        services |= set(cdates["service_id"])

    # trips: references to routes and services
    lab = "trips"
    bad_id = trips["trip_id"].eq("").to_numpy() | trips["trip_id"].duplicated().to_numpy()
    bad_route = ~bad_id & ~trips["route_id"].isin(routes["route_id"]).to_numpy()
    bad_serv = ~bad_id & ~bad_route & ~trips["service_id"].isin(services).to_numpy()
    rows.bad(lab, trips, bad_id, "trip_id", "blank or duplicate trip_id")
    rows.bad(lab, trips, bad_route, "trip_id",
             lambda s: "route_id " + s["route_id"] + " not in routes.txt")
    rows.bad(lab, trips, bad_serv, "trip_id",
             lambda s: "service_id " + s["service_id"] + " not in calendar.txt/calendar_dates.txt")
    trips = trips[~(bad_id | bad_route | bad_serv)].copy()

    # stop_times: references, times, then per-trip order
    lab = "stop_times"
    n_in_st = len(st)
    arr = parse_gtfs_time(st["arrival_time"])
    dep = parse_gtfs_time(st["departure_time"])
    # GTFS lets a time be given once: use the other when one is blank.
    arr = np.where((arr < 0) & st["arrival_time"].eq("").to_numpy(), dep, arr)
    dep = np.where((dep < 0) & st["departure_time"].eq("").to_numpy(), arr, dep)
    seq = pd.to_numeric(st["stop_sequence"], errors="coerce").to_numpy()
    bad_trip = ~st["trip_id"].isin(trips["trip_id"]).to_numpy()
    bad_stop = ~bad_trip & ~st["stop_id"].isin(stops["stop_id"]).to_numpy()
    bad_time = ~bad_trip & ~bad_stop & ((arr < 0) | (dep < 0) | (dep < arr))
    bad_seq = ~bad_trip & ~bad_stop & ~bad_time & ~(np.isfinite(seq) & (seq >= 0) & (seq == np.floor(seq)))
    rows.bad(lab, st, bad_trip, "trip_id",
             lambda s: "trip_id " + s["trip_id"] + " not in trips.txt (or its trip was quarantined)")
    rows.bad(lab, st, bad_stop, "stop_id", lambda s: "stop_id " + s["stop_id"] + " not in stops.txt")
    rows.bad(lab, st, bad_time, "trip_id",
             "arrival_time/departure_time missing, not H:MM:SS, or departure before arrival")
    rows.bad(lab, st, bad_seq, "trip_id", "stop_sequence is not a non-negative integer")
    keep = ~(bad_trip | bad_stop | bad_time | bad_seq)
    st = st[keep].copy()
    st["arrival_s"], st["departure_s"] = arr[keep], dep[keep]
    st["stop_sequence"] = seq[keep].astype(np.int64)
    st["pickup_type"] = np.nan_to_num(_int_col(st, "pickup_type", 0), nan=0).astype(int)
    st["drop_off_type"] = np.nan_to_num(_int_col(st, "drop_off_type", 0), nan=0).astype(int)
    st = st.sort_values(["trip_id", "stop_sequence", "source_row"], kind="stable")

    # A trip whose times go backwards or repeat a sequence number is unusable as a whole.
    same = st["trip_id"].to_numpy()[1:] == st["trip_id"].to_numpy()[:-1]
    back = same & (st["arrival_s"].to_numpy()[1:] < st["departure_s"].to_numpy()[:-1])
    dup = same & (st["stop_sequence"].to_numpy()[1:] == st["stop_sequence"].to_numpy()[:-1])
    bad_trips = set(st["trip_id"].to_numpy()[1:][back | dup])
    short = st.groupby("trip_id", sort=False)["stop_id"].transform("size").to_numpy() < 2
    bad_trips |= set(st["trip_id"].to_numpy()[short])
    if bad_trips:
        in_bad = st["trip_id"].isin(bad_trips).to_numpy()
        flag_back = np.zeros(len(st), dtype=bool)
        flag_back[1:] = back | dup

        def why(sub: pd.DataFrame) -> pd.Series:
            first = st[flag_back & in_bad].groupby("trip_id")["source_row"].first()
            reasons = []
            for t in sub["trip_id"]:
                if t in first.index:
                    reasons.append(f"trip {t} quarantined: stop times not monotone or stop_sequence "
                                   f"repeated at row {int(first[t])}")
                else:
                    reasons.append(f"trip {t} quarantined: fewer than two stop times")
            return pd.Series(reasons, index=sub.index)

        rows.bad(lab, st, in_bad, "trip_id", why)
        st = st[~in_bad]
        tlab = "trips"
        tb = trips["trip_id"].isin(bad_trips).to_numpy()
        rows.bad(tlab, trips, tb, "trip_id", "trip has non-monotone, repeated or too few stop times")
        trips = trips[~tb]
    st = st.reset_index(drop=True)

    final = {"agency": len(agencies), "routes": len(routes), "stops": len(stops), "trips": len(trips),
             "stop_times": len(st)}
    if calendar is not None:
        final["calendar"] = len(calendar)
    if cdates is not None:
        final["calendar_dates"] = len(cdates)
    dropped = {}
    for name, n_in in counts.items():
        # quarantined = rows actually logged, so account() really checks the balance
        logged = rows.logged.get(name, 0)
        quality.account(f"gtfs:{path.name}:{name}", rd.source_label(name), n_in, final[name], logged)
        dropped[name] = logged
    assert counts["stop_times"] == n_in_st
    return Feed(source=str(path), agencies=agencies.reset_index(drop=True),
                routes=routes.reset_index(drop=True), trips=trips.reset_index(drop=True),
                stop_times=st, stops=stops.reset_index(drop=True),
                calendar=None if calendar is None else calendar.reset_index(drop=True),
                calendar_dates=None if cdates is None else cdates.reset_index(drop=True),
                feed_info=feed_info, dropped=dropped)

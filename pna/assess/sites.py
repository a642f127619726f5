"""Applications to the pharmaceutical list: what is proposed, where, and when it opens.

An application is read from a small YAML/JSON mapping (or built from CLI flags) into an
:class:`Application`; :func:`locate` turns its site (postcode, easting/northing or lon/lat)
into a point in EPSG:27700, and :func:`nearby` lists the pharmacies around it by
straight-line distance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import yaml
from pyproj import Transformer

from ..errors import InputError
from ..loaders.hours import DAYS, HoursError, format_day, hours_of, parse_day
from ..loaders.postcodes import normalise_postcode

KINDS = ("new", "relocation", "consolidation", "closure")
#: Regulation distances (straight line): the 1.6 km "within 1.6 km of another pharmacy"
#: test and the 2 km radius within which other contractors are notified.
NEAR_M = 1600.0
NOTIFY_M = 2000.0
_TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


@dataclass(frozen=True)
class Application:
    """One application, as the assessor needs it.

    Attributes
    ----------
    name
        Applicant's name for the premises (free text; escaped wherever it is shown).
    kind
        ``new``, ``relocation`` (``ods_codes[0]`` moves to the site), ``consolidation``
        (``ods_codes`` merge at ``consolidate_at``: one of them, or ``"new"`` for the site) or
        ``closure`` (``ods_codes[0]`` closes; the site is its premises).
    site
        ``{"postcode": ...}``, ``{"easting": ..., "northing": ...}`` or ``{"lon": ..., "lat": ...}``;
        may be empty for a closure or a consolidation at an existing pharmacy.
    hours
        Day (``mon``..``sun``) -> the list's text format, e.g. ``"09:00-18:00"`` or ``"CLOSED"``.
    services
        Services offered (free text list).
    ref
        Reference used for the output folder; defaults to the name.
    """

    name: str
    kind: str = "new"
    site: Mapping[str, Any] = field(default_factory=dict)
    ods_codes: tuple[str, ...] = ()
    consolidate_at: str | None = None
    hours: Mapping[str, str] = field(default_factory=dict)
    services: tuple[str, ...] = ()
    ref: str | None = None
    source: str = "application"

    @property
    def slug(self) -> str:
        """File-name-safe identifier, from ``ref`` or else ``name``."""
        return slugify(self.ref or self.name)

    @property
    def closes(self) -> tuple[str, ...]:
        """ODS codes whose premises stop providing services at their current site."""
        if self.kind in ("relocation", "closure"):
            return self.ods_codes[:1]
        if self.kind == "consolidation":
            return tuple(c for c in self.ods_codes if c != self.consolidate_at)
        return ()

    @property
    def opens_site(self) -> bool:
        """True if the application adds premises at the proposed site."""
        return self.kind in ("new", "relocation") or (self.kind == "consolidation"
                                                       and self.consolidate_at == "new")

    def as_dict(self) -> dict[str, Any]:
        """The application as plain JSON-ready data."""
        return {"name": self.name, "ref": self.ref, "kind": self.kind, "site": dict(self.site),
                "ods_codes": list(self.ods_codes), "consolidate_at": self.consolidate_at,
                "hours": {d: self.hours.get(d, "") for d in DAYS if d in self.hours},
                "services": list(self.services)}


def slugify(text: str) -> str:
    """``"Example Pharmacy (LE1)"`` -> ``"example-pharmacy-le1"``; never empty."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s[:60].strip("-") or "application"


def _codes(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value) if v]
    return tuple(str(v).strip().upper() for v in value)


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def day_range(text: str) -> list[str] | None:
    """``"mon"``, ``"Monday"`` or ``"mon-fri"`` -> the days it names (``DAYS`` codes); None if not days."""
    def one(t: str) -> int | None:
        t = t.strip().lower()
        hits = [i for i, name in enumerate(_DAY_NAMES) if len(t) >= 3 and name.startswith(t)]
        return hits[0] if hits else None

    a, _, b = text.partition("-")
    i, j = one(a), one(b or a)
    if i is None or j is None or j < i:
        return None
    return list(DAYS[i:j + 1])


def application_from_mapping(raw: Mapping[str, Any], source: str = "application") -> Application:
    """Validate a mapping (from YAML/JSON or CLI flags) into an :class:`Application`.

    Raises
    ------
    InputError
        Naming ``source`` and the reason: unknown keys or kind, missing ODS codes or site,
        malformed opening hours.
    """
    allowed = {"name", "ref", "kind", "site", "ods_code", "ods_codes", "consolidate_at", "hours",
               "services", "postcode", "easting", "northing", "lon", "lat"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InputError(source, f"unknown application field(s): {', '.join(unknown)}; "
                                 f"expected some of {', '.join(sorted(allowed))}")
    kind = str(raw.get("kind", "new")).strip().lower()
    if kind not in KINDS:
        raise InputError(source, f"kind {kind!r} is not one of {', '.join(KINDS)}")
    site = dict(raw.get("site") or {})
    for k in ("postcode", "easting", "northing", "lon", "lat"):
        if raw.get(k) is not None:
            site[k] = raw[k]
    site = {k: v for k, v in site.items() if v is not None and v != ""}
    codes = _codes(raw.get("ods_codes")) or _codes(raw.get("ods_code"))
    at = raw.get("consolidate_at")
    at = None if at in (None, "") else str(at).strip()
    at = "new" if at is not None and at.lower() == "new" else (at.upper() if at else None)
    if kind in ("relocation", "closure") and len(codes) != 1:
        raise InputError(source, f"a {kind} names exactly one ODS code (ods_code), got {len(codes)}")
    if kind == "consolidation":
        if len(codes) != 2:
            raise InputError(source, f"a consolidation names two ODS codes (ods_codes), got {len(codes)}")
        if at is None or (at != "new" and at not in codes):
            raise InputError(source, "consolidate_at must be one of the two ODS codes (merge at its "
                                     f"premises) or 'new' (merge at the proposed site); got {at!r}")
    if kind == "new" and codes:
        raise InputError(source, "a new pharmacy application takes no ods_code")
    needs_site = kind in ("new", "relocation") or (kind == "consolidation" and at == "new")
    if needs_site and not site:
        raise InputError(source, f"a {kind} application needs a site: postcode, easting/northing or lon/lat")
    hours_raw = raw.get("hours") or {}
    if not isinstance(hours_raw, Mapping):
        raise InputError(source, "hours must map days (mon..sun) to opening times like 09:00-18:00")
    hours: dict[str, str] = {}
    for day, text in hours_raw.items():
        days = day_range(str(day))
        if days is None:
            raise InputError(source, f"hours: {day!r} is not a day or a day range like mon-fri")
        try:
            value = format_day(parse_day("CLOSED" if text is None else str(text)))
        except HoursError as exc:
            raise InputError(source, f"hours for {day}: {exc.reason}") from None
        hours.update({d: value for d in days})
    services = raw.get("services") or ()
    if isinstance(services, str):
        services = [s.strip() for s in services.split(",") if s.strip()]
    name = str(raw.get("name") or "").strip()
    if not name:
        name = {"closure": f"Closure of {', '.join(codes)}",
                "relocation": f"Relocation of {', '.join(codes)}",
                "consolidation": f"Consolidation of {' and '.join(codes)}"}.get(kind, "Proposed pharmacy")
    ref = raw.get("ref")
    return Application(name=name, kind=kind, site=site, ods_codes=codes, consolidate_at=at,
                       hours=hours, services=tuple(str(s) for s in services),
                       ref=None if ref in (None, "") else str(ref), source=source)


def read_application(path: str | Path) -> Application:
    """Read an application from a YAML or JSON file (see :func:`application_from_mapping`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "application file not found")
    text = path.read_text(encoding="utf-8-sig")
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(raw, Mapping):
        raise InputError(path, "expected a mapping of application fields at the top level")
    return application_from_mapping(raw, source=str(path))


def hours_table(hours: Mapping[str, str]) -> pd.DataFrame:
    """One row per day: the opening text and hours open (days not given are 'not stated')."""
    rows = []
    for d in DAYS:
        if d in hours:
            iv = parse_day(hours[d])
            rows.append({"day": d, "hours_text": hours[d], "hours_open": hours_of(iv)})
        else:
            rows.append({"day": d, "hours_text": "not stated", "hours_open": np.nan})
    return pd.DataFrame(rows)


def locate(site: Mapping[str, Any], postcodes: pd.DataFrame | None, source: str = "application"
           ) -> tuple[float, float, str]:
    """Easting, northing (EPSG:27700) and how they were found, for an application's site.

    Parameters
    ----------
    site
        ``postcode`` (looked up in ``postcodes``), ``easting``/``northing``, or ``lon``/``lat``.
    postcodes
        The postcode table (index: normalised postcode; ``easting, northing``), e.g.
        ``ctx.meta["postcodes"]``.

    Raises
    ------
    InputError
        If the postcode is malformed or not in the table, or coordinates are incomplete.
    """
    if "easting" in site or "northing" in site:
        try:
            e, n = float(site["easting"]), float(site["northing"])
        except (KeyError, TypeError, ValueError):
            raise InputError(source, "site needs both easting and northing as numbers") from None
        if not (np.isfinite(e) and np.isfinite(n)) or not (0 <= e <= 700_000 and 0 <= n <= 1_300_000):
            raise InputError(source, f"site easting/northing {e}, {n} is outside British National Grid")
        return e, n, "easting/northing given"
    if "lon" in site or "lat" in site:
        try:
            lon, lat = float(site["lon"]), float(site["lat"])
        except (KeyError, TypeError, ValueError):
            raise InputError(source, "site needs both lon and lat as numbers") from None
        if not (-9.0 <= lon <= 2.5 and 49.0 <= lat <= 61.5):
            raise InputError(source, f"site lon/lat {lon}, {lat} is not in Great Britain")
        e, n = _TO_BNG.transform(lon, lat)
        return float(e), float(n), "lon/lat given (converted to British National Grid)"
    if "postcode" in site:
        pc = normalise_postcode(site["postcode"])
        if pc is None:
            raise InputError(source, f"site postcode {site['postcode']!r} is not a valid postcode")
        if postcodes is None or pc not in postcodes.index:
            raise InputError(source, f"site postcode {pc} is not in the configured postcode files; "
                                     "give easting/northing or lon/lat instead")
        r = postcodes.loc[pc]
        e, n = float(r["easting"]), float(r["northing"])
        if not (np.isfinite(e) and np.isfinite(n)):
            raise InputError(source, f"site postcode {pc} has no coordinates in the postcode file")
        src = r["source"] if "source" in postcodes.columns else "postcode table"
        return e, n, f"postcode {pc} ({src})"
    raise InputError(source, "site needs a postcode, easting/northing or lon/lat")


def site_frame(xy: tuple[float, float], code: str = "PROPOSED", name: str = "Proposed site") -> gpd.GeoDataFrame:
    """A one-row site GeoDataFrame (EPSG:27700) that any ``TravelModel`` accepts."""
    return gpd.GeoDataFrame({"ods_code": [code], "trading_name": [name]},
                            geometry=gpd.points_from_xy([xy[0]], [xy[1]]), crs=27700)


def nearby(pharmacies: gpd.GeoDataFrame, xy: tuple[float, float], own_codes: tuple[str, ...] = (),
           n_nearest: int = 10, notify_m: float = NOTIFY_M, near_m: float = NEAR_M) -> pd.DataFrame:
    """Pharmacies around a site by straight-line distance.

    Returns every pharmacy within ``notify_m`` and at least the ``n_nearest`` nearest, sorted
    by distance then ODS code, with ``distance_m``, ``within_near`` (≤ ``near_m``),
    ``within_notify`` (≤ ``notify_m``) and ``is_applicant`` (one of ``own_codes``, e.g. the
    pharmacy that is relocating).
    """
    ph = pharmacies
    ok = ~(ph.geometry.isna() | ph.geometry.is_empty)
    ph = ph[ok]
    d = np.hypot(ph.geometry.x.to_numpy(float) - xy[0], ph.geometry.y.to_numpy(float) - xy[1])
    cols = [c for c in ("ods_code", "trading_name", "address", "postcode", "locality", "in_area",
                        "is_distance_selling", "weekly_hours") if c in ph.columns]
    out = pd.DataFrame(ph[cols]).reset_index(drop=True)
    out["easting"] = ph.geometry.x.to_numpy(float)
    out["northing"] = ph.geometry.y.to_numpy(float)
    out["distance_m"] = d
    out["is_applicant"] = out["ods_code"].isin(own_codes)
    out["within_near"] = out["distance_m"] <= near_m
    out["within_notify"] = out["distance_m"] <= notify_m
    out = out.sort_values(["distance_m", "ods_code"], kind="stable").reset_index(drop=True)
    keep = out["within_notify"] | (out.index < n_nearest)
    return out[keep].reset_index(drop=True)

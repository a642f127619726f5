"""The public consultation page: "find the pharmacies near your postcode".

One self-contained HTML file (inline CSS and JavaScript, data embedded as JSON, no
network requests) where a resident types a postcode and sees the nearest pharmacies,
whether each is open today, and how long it takes to get there by each mode.

Everything the page shows is computed here from the run's tables and travel models;
the browser only looks the postcode up and formats the day's opening hours.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from markupsafe import Markup
from scipy.spatial import cKDTree

from ..access.engine import TravelModel
from ..crs import BNG, to_bng
from ..io import write_text
from ..loaders.hours import DAYS, HoursError, is_blank, parse_day
from ..modes import MODES
from ..provenance import PROVENANCE_COLUMN
from .run import RunResults
from .templating import environment

HERE = Path(__file__).parent
TEMPLATE = "consultation.html"
STYLE = "consultation_style.css"
SCRIPT = HERE / "static" / "consultation.js"
K_NEAREST = 3

MODE_LABELS = {"walk": "Walking", "drive": "By car", "transit": "By bus or train"}

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$")


# --------------------------------------------------------------------------- escaping
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                   "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_script(obj: Any) -> str:
    r"""Serialise ``obj`` as JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (so no ``</script>``
    or ``<!--`` can end the element) and U+2028/U+2029 are escaped too. The output is
    still valid JSON and decodes to ``obj``. Keys are sorted for byte-identical output.
    """
    text = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_ESCAPES[m.group(0)], text)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


# --------------------------------------------------------------------------- text helpers
_KEEP_UPPER = {"UK", "NHS", "GP", "LLP", "PLC", "CIC", "BP", "II", "III", "IV"}


def readable_case(text: object) -> str:
    """Turn ALL-CAPS register text into Title Case, which is easier to read.

    Text that already has lower-case letters is returned unchanged; postcodes, tokens
    with digits and a few acronyms stay upper case.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    s = " ".join(str(text).split())
    if any(c.islower() for c in s):
        return s

    def word(m: re.Match[str]) -> str:
        w = m.group(0)
        if w in _KEEP_UPPER or any(c.isdigit() for c in w) or _POSTCODE.match(w):
            return w
        return w[0] + w[1:].lower()

    out = re.sub(r"[A-Z0-9]+(?:'[A-Z]+)?", word, s)
    # keep full postcodes (outward + inward) upper case
    return re.sub(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ([0-9][A-Za-z]{2})\b",
                  lambda m: f"{m.group(1)} {m.group(2).upper()}", out)


def _day_hours(row: pd.Series, day: str) -> list[list[int]] | str | None:
    """Intervals (minutes since midnight) for one day; None if unknown; raw text if unreadable."""
    if "hours_known" in row and row["hours_known"] is not None and not pd.isna(row["hours_known"]) \
            and not bool(row["hours_known"]):
        return None
    ivs = row.get(f"intervals_{day}")
    if isinstance(ivs, tuple):
        return [[int(a), int(b)] for a, b in ivs]
    text = row.get(f"hours_{day}")
    if is_blank(text):
        return None
    try:
        return [[int(a), int(b)] for a, b in parse_day(str(text))]
    except HoursError:
        return " ".join(str(text).split())


# --------------------------------------------------------------------------- postcodes
def area_postcodes(postcodes: pd.DataFrame, area_code: str,
                   area: gpd.GeoDataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a postcode table into the area's postcodes and the rest.

    A postcode is in the area if its ``la_code`` is the area's code; where ``la_code``
    is missing, if its point lies inside the area polygon.

    Parameters
    ----------
    postcodes
        ``pna.loaders.postcodes.postcode_table`` output (index or column ``postcode``;
        ``easting, northing, la_code``).
    area_code
        The board's local authority code (``cfg.area.code``).
    area
        The board's boundary (EPSG:27700), used only where ``la_code`` is missing.

    Returns
    -------
    (inside, outside)
        Two frames with columns ``postcode, easting, northing``, sorted by postcode.
    """
    df = postcodes.reset_index() if "postcode" not in postcodes.columns else postcodes.copy()
    df = df[["postcode", "easting", "northing"] + (["la_code"] if "la_code" in df else [])]
    la = df["la_code"] if "la_code" in df else pd.Series(pd.NA, index=df.index, dtype=object)
    la = la.astype("string").str.strip()
    inside = (la == area_code).fillna(False).to_numpy(bool)
    unknown = la.isna().to_numpy() | (la == "").fillna(False).to_numpy(bool)
    if unknown.any() and area is not None and len(area):
        shape = to_bng(area).union_all() if area.crs is not None else area.union_all()
        pts = gpd.points_from_xy(df["easting"].to_numpy(float)[unknown], df["northing"].to_numpy(float)[unknown])
        inside[np.flatnonzero(unknown)] = shape.contains(np.asarray(pts))
    cols = ["postcode", "easting", "northing"]
    inn = df.loc[inside, cols].sort_values("postcode", kind="stable").reset_index(drop=True)
    out = df.loc[~inside, cols].sort_values("postcode", kind="stable").reset_index(drop=True)
    return inn, out


def _group_by_outward(postcodes: pd.Series) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for pc in postcodes:
        out, _, inw = str(pc).partition(" ")
        groups.setdefault(out, []).append(inw)
    return groups


# --------------------------------------------------------------------------- travel times
def _points(xy: np.ndarray, ids: pd.Series) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"point_id": ids.to_numpy(), "population": np.zeros(len(xy))},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=BNG)


def postcode_minutes(model: TravelModel, pc_xy: np.ndarray, pc_ids: pd.Series, sites: gpd.GeoDataFrame,
                     site_idx: np.ndarray) -> tuple[np.ndarray, str]:
    """Minutes from each postcode to its chosen sites, by one travel model.

    Where the engine can be rebuilt for postcode points (straight-line, street network)
    the times are from the postcode itself; otherwise (e.g. a timetable model) each
    postcode takes the times of its nearest demand point.

    Parameters
    ----------
    model
        A ``TravelModel``.
    pc_xy
        Postcode coordinates, (n, 2), EPSG:27700.
    pc_ids
        Postcodes (used as point ids).
    sites
        The face-to-face pharmacies.
    site_idx
        (n, k) indices into ``sites`` per postcode.

    Returns
    -------
    (minutes, basis)
        ``minutes`` (n, k) float, inf where unreachable; ``basis`` is ``"postcode"`` or
        ``"demand_point"``.
    """
    rebuilt = model.for_points(_points(pc_xy, pc_ids))
    if rebuilt is not None:
        full = np.asarray(rebuilt.times_to(sites), dtype=float)  # (n_sites, n_postcodes)
        cols = np.arange(len(pc_xy))[:, None]
        return full[site_idx, cols], "postcode"
    demand = model.demand
    dxy = np.column_stack([demand.geometry.x.to_numpy(float), demand.geometry.y.to_numpy(float)])
    _, nearest = cKDTree(dxy).query(pc_xy, k=1)
    full = np.asarray(model.times_to(sites), dtype=float)  # (n_sites, n_demand)
    return full[site_idx, nearest[:, None]], "demand_point"


def _minutes_code(m: float) -> int:
    """Whole minutes rounded up (a 4.1-minute walk shows as 5); -1 for unreachable."""
    if not np.isfinite(m):
        return -1
    return int(math.ceil(round(float(m), 6)))


# --------------------------------------------------------------------------- plain-language method
def _demand_size_words(model: Any) -> str:
    src = model.demand["source"].iloc[0] if "source" in getattr(model, "demand", pd.DataFrame()) \
        and len(model.demand) else ""
    if src == "output_area":
        return "the middle of your neighbourhood (a census output area, about 300 people)"
    if src == "lsoa":
        return "the middle of your neighbourhood (a census area of about 1,500 people)"
    return "the nearest point we worked out travel times for"


def method_words(model: Any, cfg: Any, basis: str) -> str:
    """How a mode's minutes were made, in short plain sentences for the public."""
    mode = model.mode
    start = "your postcode" if basis == "postcode" else _demand_size_words(model)
    method = getattr(model, "method", "")
    if method == "straight_line":
        speed = float(getattr(model, "speed_kmh", getattr(cfg.travel, mode).speed_kmh))
        circuity = float(getattr(model, "circuity", getattr(cfg.travel, mode).circuity))
        extra = int(round((circuity - 1.0) * 100))
        what = {"walk": "a walking speed", "drive": "an average driving speed",
                "transit": "an average speed for the whole trip, including walking to the stop and waiting"}
        bus = " or bus times" if mode == "transit" else ""
        return (f"This is an estimate. We do not have a map of the streets{bus}"
                f" for this page. We measured a straight line from {start} to the pharmacy. "
                f"We added {extra}% for bends and corners. We used {what.get(mode, 'a speed')} of "
                f"{speed:g} km an hour (about {speed / 1.609344:.0f} miles an hour).")
    if method == "network":
        how = {"walk": "along real streets and paths", "drive": "along real roads, using typical speeds for each road"}
        return (f"We worked this out {how.get(mode, 'along real streets')} from an OpenStreetMap map, "
                f"starting at {start}. It does not include traffic jams or waiting.")
    if method == "timetable":
        t = cfg.travel.transit
        return (f"We worked this out from bus timetables, from {start}, for a weekday morning between "
                f"{t.window_start} and {t.window_end}. It includes walking to the stop and waiting. "
                f"On {t.percentile} mornings out of 100 the trip takes this long or less.")
    return f"Worked out from {start}."


# --------------------------------------------------------------------------- data
def _bool_col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        return np.zeros(len(df), dtype=bool)
    return df[name].astype("boolean").fillna(False).to_numpy(bool)


def _pharmacy_record(row: pd.Series) -> dict[str, Any]:
    name = row.get("trading_name")
    if is_blank(name):
        name = row.get("org_name")
    return {"name": readable_case(name), "address": readable_case(row.get("address")),
            "postcode": "" if is_blank(row.get("postcode")) else str(row.get("postcode")),
            "in_area": bool(row.get("in_area", True)) if not pd.isna(row.get("in_area", True)) else True,
            "hours": [_day_hours(row, d) for d in DAYS]}


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _fmt_date(d: dt.date) -> str:
    """``31 December 2023`` whatever the machine's locale."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def consultation_data(run: RunResults, postcodes: pd.DataFrame | None = None,
                      k: int = K_NEAREST) -> dict[str, Any]:
    """Everything the page embeds, as plain JSON-ready Python objects.

    Parameters
    ----------
    run
        The run's stage results (pharmacies, area, travel models, postcodes).
    postcodes
        The postcode table; default the geography stage's.
    k
        How many nearest face-to-face pharmacies to list per postcode.

    Returns
    -------
    dict
        ``pharmacies`` (name, address, postcode, in_area, hours per day Mon..Sun as
        ``[[start, end], ...]`` minutes, null if unknown), ``modes`` (key, label, estimate,
        how, note), ``postcodes`` (outward → inward → ``[site, metres, minutes per mode] × k``),
        ``outside`` (outward → inward codes known to be outside the area, for outward codes
        that also have postcodes inside), ``outside_districts``, ``distance_selling``,
        and page text (area name, list date, sources, notes).
    """
    cfg = run.cfg
    if postcodes is None:
        postcodes = run.geography.postcodes
    inside, outside = area_postcodes(postcodes, cfg.area.code, run.geography.area)

    ph = run.geography.pharmacies
    if ph is None or not len(ph):
        raise ValueError("consultation page: the run has no pharmacies (run.geography.pharmacies is empty)")
    ph = to_bng(ph)
    ph = ph.sort_values("ods_code", kind="stable").reset_index(drop=True)
    located = ~(ph.geometry.isna() | ph.geometry.is_empty).to_numpy()
    remote = _bool_col(ph, "is_distance_selling")
    dac = _bool_col(ph, "is_dac")
    face = ph[located & ~remote & ~dac].reset_index(drop=True)
    face = gpd.GeoDataFrame(face, geometry=face.geometry.name, crs=BNG)
    if len(face) == 0:
        raise ValueError("consultation page: no located face-to-face pharmacies to list")

    k = min(k, len(face))
    pc_xy = inside[["easting", "northing"]].to_numpy(float)
    site_xy = np.column_stack([face.geometry.x.to_numpy(float), face.geometry.y.to_numpy(float)])
    if len(pc_xy):
        dist, idx = cKDTree(site_xy).query(pc_xy, k=k)
        dist, idx = dist.reshape(len(pc_xy), k), idx.reshape(len(pc_xy), k)
    else:  # no postcode list for the area: the page says so and offers no search
        dist, idx = np.empty((0, k)), np.empty((0, k), dtype=np.int64)

    modes, minutes = [], []
    for mode in MODES:
        model = run.access.models.get(mode)
        if model is None or not len(pc_xy):
            continue
        mins, basis = postcode_minutes(model, pc_xy, inside["postcode"], face, idx)
        minutes.append(mins)
        result = run.access.results.get(mode)
        estimate = bool(result.is_estimate) if result is not None else bool(model.is_estimate)
        modes.append({"key": mode, "label": MODE_LABELS.get(mode, mode.title()),
                      "estimate": estimate, "basis": basis,
                      "how": method_words(model, cfg, basis), "note": str(model.method_note)})
    missing_modes = [MODE_LABELS.get(m, m) for m in MODES if m not in {x["key"] for x in modes}]

    # Only pharmacies someone is sent to are embedded; renumber them.
    used = np.unique(idx)
    renumber = np.full(len(face), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    pharmacies = [_pharmacy_record(face.iloc[i]) for i in used]

    table: dict[str, dict[str, list[int]]] = {}
    for n, pc in enumerate(inside["postcode"]):
        out_code, _, inw = pc.partition(" ")
        row: list[int] = []
        for j in range(k):
            row.append(int(renumber[idx[n, j]]))
            row.append(int(round(dist[n, j] / 10.0)) * 10)
            row.extend(_minutes_code(m[n, j]) for m in minutes)
        table.setdefault(out_code, {})[inw] = row

    out_groups = _group_by_outward(outside["postcode"])
    boundary = {o: " ".join(sorted(v)) for o, v in sorted(out_groups.items()) if o in table}
    outside_districts = sorted(o for o in out_groups if o not in table)

    ds_rows = ph[remote].sort_values("ods_code", kind="stable")
    ds_source = ""
    if "distance_selling_source" in ph and len(ph):
        vals = ph["distance_selling_source"].dropna().astype(str).unique()
        ds_source = "; ".join(sorted(vals))

    sources: list[str] = []
    if PROVENANCE_COLUMN in ph:
        for v in ph[PROVENANCE_COLUMN].dropna().astype(str).unique():
            sources.extend(p for p in v.split("; ") if p and p not in sources)
    for src in (cfg.inputs.codepoint, cfg.inputs.postcode_directory):
        if src is not None and src.cite() not in sources:
            sources.append(src.cite())

    return {
        "area": cfg.area.name,
        "as_at": _fmt_date(cfg.as_at),
        "k": k,
        "pharmacies": pharmacies,
        "modes": modes,
        "missing_modes": missing_modes,
        "postcodes": table,
        "outside": boundary,
        "outside_districts": outside_districts,
        "distance_selling": [{"name": readable_case(r.get("trading_name") or r.get("org_name")),
                              "address": readable_case(r.get("address")),
                              "postcode": "" if is_blank(r.get("postcode")) else str(r.get("postcode"))}
                             for _, r in ds_rows.iterrows()],
        "distance_selling_source": ds_source,
        "unlocated": int((~located & ~remote).sum()),
        "dac": int((located & dac).sum()),
        "sources": sorted(sources),
        "n_postcodes": int(len(inside)),
        "example": str(inside["postcode"].iloc[0]) if len(inside) else "",
    }


# --------------------------------------------------------------------------- page
def _report_css() -> str:
    """The main report's stylesheet, if present and self-contained (no url() or @import)."""
    path = HERE / "static" / "report.css"
    if not path.is_file():
        return ""
    css = path.read_text(encoding="utf-8")
    if re.search(r"url\s*\(|@import", css, re.IGNORECASE) or "</" in css:
        return ""
    return css


def render_consultation_html(data: dict[str, Any]) -> str:
    """Render the page from :func:`consultation_data` output (pure: same data, same bytes)."""
    env = environment()
    # the report's shared stylesheet first (one look for both), then this page's own rules
    style = _report_css() + env.loader.get_source(env, STYLE)[0]  # type: ignore[union-attr]
    script = SCRIPT.read_text(encoding="utf-8")
    for name, text in (("style", style), ("script", script)):
        if re.search(r"</(script|style)", text, re.IGNORECASE):
            raise ValueError(f"consultation {name} must not contain a closing </{name}> tag")
    csp = ("default-src 'none'; "
           f"script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
           "img-src 'none'; connect-src 'none'; font-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    return env.get_template(TEMPLATE).render(
        data=data, data_json=Markup(json_for_script(data)),
        style=Markup(style), script=Markup(script),
        csp=Markup(csp))


def build_consultation_page(run: RunResults, postcodes: pd.DataFrame | None = None) -> Path:
    """Write ``cfg.out / "consultation.html"``, the public "pharmacies near you" page.

    Parameters
    ----------
    run
        The run's stage results (see :func:`consultation_data`).
    postcodes
        Optional postcode table (default: the geography stage's).

    Returns
    -------
    Path
        The written file.
    """
    data = consultation_data(run, postcodes)
    html = render_consultation_html(data)
    return write_text(html, run.cfg.out / "consultation.html")

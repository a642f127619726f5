"""The public consultation page: the regulation 8 consultation on the draft, for residents.

One self-contained HTML file per language (inline CSS and JavaScript, data embedded as JSON,
no network requests): what a pharmaceutical needs assessment is; whether the consultation is
open, not yet open or closed (the browser decides from its own date, the page is written for
the run's date); how to respond; the questions; and, for a postcode, what the draft found for
that locality (from the statements stage's rule engine), the nearest pharmacies with their
telephone numbers, and the nearest one open now or at the times the gap rules test.

Every word comes from a translation catalogue (:mod:`pna.report.i18n`); every figure is computed
here from the run's tables and travel models; the browser only looks the postcode up and
checks opening hours against a moment.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from scipy.spatial import cKDTree

from ..access.engine import TravelModel
from ..access.open_now import open_at
from ..crs import BNG, to_bng
from ..io import write_text
from ..loaders.hours import DAYS, HoursError, is_blank, parse_day
from ..modes import MODES
from ..progress import info
from ..provenance import PROVENANCE_COLUMN
from .consultation_text import clock_words, consultation_block, locality_findings, time_words
from .i18n import Catalogue, board_catalogues, english, page_name
from .run import RunResults
from .templating import environment

HERE = Path(__file__).parent
TEMPLATE = "consultation.html"
STYLE = "consultation_style.css"
SCRIPT = HERE / "static" / "consultation.js"
K_NEAREST = 3
#: Pharmacies per postcode the browser searches for one open "now" (plus the nearest open at each tested time).
K_CANDIDATES = 6

__all__ = ["consultation_data", "render_consultation_html", "build_consultation_page", "area_postcodes",
           "postcode_minutes", "json_for_script", "readable_case", "method_words", "K_NEAREST", "K_CANDIDATES"]

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


def _outward_split(postcodes: pd.Series, inside: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Split the postcodes outside the area by outward code.

    Returns the inward codes per outward code the area also has, and the outward codes it does
    not have. Vectorised, since with the national directory "outside" is every other postcode in the UK.
    """
    if postcodes.empty:   # str.partition of an empty Series has no columns
        return {}, []
    parts = postcodes.astype(str).str.partition(" ")
    outward, inward = parts[0], parts[2]
    shared = outward.isin(set(inside)).to_numpy(bool)
    groups: dict[str, list[str]] = {}
    for o, i in zip(outward[shared].tolist(), inward[shared].tolist()):
        groups.setdefault(o, []).append(i)
    boundary = {o: " ".join(sorted(v)) for o, v in sorted(groups.items())}
    return boundary, sorted(set(outward[~shared].unique().tolist()))


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
def _start_words(model: Any, basis: str, cat: Catalogue) -> str:
    if basis == "postcode":
        return cat.t("method.start_postcode")
    demand = getattr(model, "demand", None)
    src = demand["source"].iloc[0] if demand is not None and "source" in demand and len(demand) else ""
    return cat.t({"output_area": "method.start_oa", "lsoa": "method.start_lsoa"}.get(src, "method.start_other"))


def method_words(model: Any, cfg: Any, basis: str, *, cat: Catalogue | None = None) -> str:
    """How a mode's minutes were made, in short plain sentences for the public."""
    cat = cat or english()
    mode = model.mode
    start = _start_words(model, basis, cat)
    method = getattr(model, "method", "")
    if method == "straight_line" and mode in ("walk", "drive", "transit"):
        speed = float(getattr(model, "speed_kmh", getattr(cfg.travel, mode).speed_kmh))
        circuity = float(getattr(model, "circuity", getattr(cfg.travel, mode).circuity))
        return cat.t(f"method.straight_{mode}", start=start, extra=int(round((circuity - 1.0) * 100)),
                     speed=f"{speed:g}", mph=f"{speed / 1.609344:.0f}")
    if method == "network" and mode in ("walk", "drive"):
        return cat.t(f"method.network_{mode}", start=start)
    if method == "timetable":
        t = cfg.travel.transit
        return cat.t("method.timetable", start=start, start_time=t.window_start, end_time=t.window_end,
                     percentile=t.percentile)
    return cat.t("method.other", start=start)


# --------------------------------------------------------------------------- data
def _bool_col(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        return np.zeros(len(df), dtype=bool)
    return df[name].astype("boolean").fillna(False).to_numpy(bool)


def _phones(run: RunResults) -> dict[str, str]:
    """ODS telephone numbers by ODS code (only where ODS has one)."""
    ods = getattr(run.inputs, "ods", None)
    if ods is None or "telephone" not in ods:
        return {}
    t = ods[["ods_code", "telephone"]].dropna()
    t = t[t["telephone"].astype(str).str.strip() != ""]
    return dict(zip(t["ods_code"].astype(str), t["telephone"].astype(str).str.strip()))


def _pharmacy_record(row: pd.Series, phones: Mapping[str, str]) -> dict[str, Any]:
    name = row.get("trading_name")
    if is_blank(name):
        name = row.get("org_name")
    phone = phones.get(str(row.get("ods_code")), "")
    return {"ods_code": str(row.get("ods_code")), "name": readable_case(name),
            "address": readable_case(row.get("address")),
            "postcode": "" if is_blank(row.get("postcode")) else str(row.get("postcode")),
            "in_area": bool(row.get("in_area", True)) if not pd.isna(row.get("in_area", True)) else True,
            "phone": phone, "tel": "".join(c for c in phone if c.isdigit() or c == "+"),
            "hours": [_day_hours(row, d) for d in DAYS]}


def _candidates(site_xy: np.ndarray, pc_xy: np.ndarray, open_masks: list[np.ndarray],
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per postcode, the ``k`` nearest sites then the nearest open at each moment (may repeat).

    Returns (n, k + len(open_masks)) site indices and straight-line metres.
    """
    n = len(pc_xy)
    tree = cKDTree(site_xy)
    dist, idx = tree.query(pc_xy, k=k)
    dist, idx = dist.reshape(n, k), idx.reshape(n, k)
    extra_d, extra_i = [], []
    for mask in open_masks:
        sub = np.flatnonzero(mask)
        if len(sub) == 0:   # nothing open then: repeat the nearest (the browser finds none open)
            extra_d.append(dist[:, 0])
            extra_i.append(idx[:, 0])
            continue
        d, i = cKDTree(site_xy[sub]).query(pc_xy, k=1)
        extra_d.append(np.asarray(d, dtype=float))
        extra_i.append(sub[np.asarray(i, dtype=np.int64)])
    if extra_i:
        dist = np.column_stack([dist, *extra_d])
        idx = np.column_stack([idx, *extra_i])
    return idx.astype(np.int64), dist


def _postcode_localities(run: RunResults, pc_xy: np.ndarray, names: list[str]) -> np.ndarray:
    """Index into ``names`` of each postcode's locality (from the LSOA its point falls in, else the nearest)."""
    lsoa = run.geography.lsoa
    if lsoa is None or not len(lsoa) or "locality" not in lsoa or not len(pc_xy):
        return np.full(len(pc_xy), -1, dtype=np.int64)
    polys = to_bng(lsoa[["locality", lsoa.geometry.name]].reset_index(drop=True))
    pts = gpd.GeoDataFrame({"n": np.arange(len(pc_xy))}, geometry=gpd.points_from_xy(pc_xy[:, 0], pc_xy[:, 1]),
                           crs=BNG)
    hit = gpd.sjoin_nearest(pts, polys, how="left").sort_values(["n", "index_right"], kind="stable")
    hit = hit.drop_duplicates("n", keep="first").set_index("n")["locality"]
    lookup = {name: i for i, name in enumerate(names)}
    return np.array([lookup.get(str(v), -1) for v in hit.reindex(np.arange(len(pc_xy)))], dtype=np.int64)


def _date(d: dt.date, cat: Catalogue) -> str:
    return cat.date(d)


def consultation_data(run: RunResults, postcodes: pd.DataFrame | None = None, k: int = K_NEAREST, *,
                      cat: Catalogue | None = None, languages: list[Catalogue] | None = None) -> dict[str, Any]:
    """Everything one language's page embeds, as plain JSON-ready Python objects.

    Parameters
    ----------
    run
        The run's stage results (pharmacies, area, travel models, postcodes, gap findings).
    postcodes
        The postcode table; default the geography stage's.
    k
        How many nearest face-to-face pharmacies to list per postcode.
    cat
        The page's language (default English).
    languages
        Every language the board publishes (for the language switch); default ``[cat]``.

    Returns
    -------
    dict
        ``pharmacies`` (name, address, postcode, in_area, phone, hours per day Mon..Sun as
        ``[[start, end], ...]`` minutes, null if unknown), ``modes`` (key, label, estimate,
        how, note), ``postcodes`` (outward → inward → ``[site, metres, minutes per mode] × n``
        then the locality index; the first ``k`` sites are the nearest, the rest are further
        candidates for "open now" and the nearest open at each of ``times``), ``localities``
        (the draft's findings for each), ``times``, ``consultation`` (dates, state, ways to
        respond, questions), ``i18n`` (the catalogue), ``outside``, ``outside_districts``,
        ``distance_selling``, and page text (area name, list date, sources, notes).
    """
    cfg = run.cfg
    cat = cat or english()
    languages = languages or [cat]
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
    n_near = min(max(k, K_CANDIDATES), len(face))
    times = list(cfg.gaps.times)
    pc_xy = inside[["easting", "northing"]].to_numpy(float)
    site_xy = np.column_stack([face.geometry.x.to_numpy(float), face.geometry.y.to_numpy(float)])
    masks = [open_at(face, t.weekday, minute=t.minute) for t in times]
    if len(pc_xy):
        idx, dist = _candidates(site_xy, pc_xy, masks, n_near)
    else:  # no postcode list for the area: the page says so and offers no search
        idx, dist = np.empty((0, n_near + len(times)), dtype=np.int64), np.empty((0, n_near + len(times)))

    modes, minutes = [], []
    for mode in MODES:
        model = run.access.models.get(mode)
        if model is None or not len(pc_xy):
            continue
        mins, basis = postcode_minutes(model, pc_xy, inside["postcode"], face, idx)
        minutes.append(mins)
        result = run.access.results.get(mode)
        estimate = bool(result.is_estimate) if result is not None else bool(model.is_estimate)
        modes.append({"key": mode, "label": cat.t(f"mode.{mode}"),
                      "estimate": estimate, "basis": basis,
                      "how": method_words(model, cfg, basis, cat=cat), "note": str(model.method_note)})
    missing_modes = [cat.t(f"mode.{m}") for m in MODES if m not in {x["key"] for x in modes}]

    names = [str(v) for v in run.geography.localities["locality"]] if run.geography.localities is not None else []
    pc_loc = _postcode_localities(run, pc_xy, names)

    # Only pharmacies someone is sent to are embedded; renumber them.
    used = np.unique(idx)
    renumber = np.full(len(face), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    phones = _phones(run)
    pharmacies = [_pharmacy_record(face.iloc[i], phones) for i in used]

    table: dict[str, dict[str, list[int]]] = {}
    for n, pc in enumerate(inside["postcode"]):
        out_code, _, inw = pc.partition(" ")
        order = list(range(k)) + sorted(range(k, idx.shape[1]), key=lambda j: (dist[n, j], idx[n, j]))
        seen: set[int] = set()
        row: list[int] = []
        for j in order:
            site = int(idx[n, j])
            if site in seen:
                continue
            seen.add(site)
            row.append(int(renumber[site]))
            row.append(int(round(dist[n, j] / 10.0)) * 10)
            row.extend(_minutes_code(m[n, j]) for m in minutes)
        row.append(int(pc_loc[n]))
        table.setdefault(out_code, {})[inw] = row

    boundary, outside_districts = _outward_split(outside["postcode"], table)

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
    phone_source = cfg.inputs.ods_history.cite() if phones else ""
    if phone_source and phone_source not in sources:
        sources.append(phone_source)

    findings = run.statements.findings if run.statements is not None else ()
    localities = [locality_findings(cfg=cfg, findings=findings, tables=run.tables, locality=name, cat=cat)
                  for name in names]
    unknown_hours = int((~_bool_col(face, "hours_known")).sum()) if "hours_known" in face else 0

    return {
        "area": cfg.area.name,
        "board": cfg.document.board_name or f"{cfg.area.name} Health and Wellbeing Board",
        "is_draft": cfg.document.status != "final",
        "as_at": _date(cfg.as_at, cat),
        "k": k,
        "per_site": 2 + len(modes),
        "pharmacies": pharmacies,
        "modes": modes,
        "missing_modes": missing_modes,
        "postcodes": table,
        "outside": boundary,
        "outside_districts": outside_districts,
        "localities": localities,
        "any_estimate": any(m["estimate"] for m in modes),
        "times": [{"day": t.weekday, "minute": t.minute, "time": clock_words(t.minute, cat),
                   "label": time_words(t.weekday, t.minute, cat)} for t in times],
        "walk_instead": int(cfg.consultation.walk_instead_minutes),
        "hours_unknown": unknown_hours,
        "consultation": consultation_block(cfg, cat=cat),
        "i18n": {"lang": cat.code, "dir": cat.dir, "name": cat.name, "messages": dict(cat.messages)},
        "languages": [{"lang": c.code, "name": c.name, "dir": c.dir, "href": page_name(c),
                       "current": c.code == cat.code} for c in languages],
        "drafts": [{"href": "report.html", "label": cat.t("draft.html")},
                   {"href": "report.docx", "label": cat.t("draft.docx")}],
        "distance_selling": [{"name": readable_case(r.get("trading_name") or r.get("org_name")),
                              "address": readable_case(r.get("address")),
                              "postcode": "" if is_blank(r.get("postcode")) else str(r.get("postcode"))}
                             for _, r in ds_rows.iterrows()],
        "distance_selling_source": ds_source,
        "unlocated": int((~located & ~remote).sum()),
        "dac": int((located & dac).sum()),
        "sources": sorted(sources),
        "phone_source": phone_source,
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
    i18n = data["i18n"]
    cat = Catalogue(code=i18n["lang"], name=i18n["name"], dir=i18n["dir"], messages=i18n["messages"])
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
        data=data, t=cat.t, tm=lambda key, **kw: Markup(escape(cat.messages[key])).format(**kw),
        c=data["consultation"], data_json=Markup(json_for_script(data)),
        style=Markup(style), script=Markup(script),
        csp=Markup(csp))


def build_consultation_page(run: RunResults, postcodes: pd.DataFrame | None = None) -> Path:
    """Write ``cfg.out / "consultation.html"`` and one page per language the board supplies.

    Parameters
    ----------
    run
        The run's stage results (see :func:`consultation_data`).
    postcodes
        Optional postcode table (default: the geography stage's).

    Returns
    -------
    Path
        The English page (the others are ``consultation.<code>.html`` beside it).
    """
    cats = board_catalogues(run.cfg)
    spec = run.cfg.consultation
    if run.cfg.document.status == "consultation" and spec.to_fill():
        info("consultation page: the board has not yet given " + "; ".join(spec.to_fill())
             + " (the page says they are to follow)")
    first: Path | None = None
    for cat in cats:
        data = consultation_data(run, postcodes, cat=cat, languages=cats)
        path = write_text(render_consultation_html(data), run.cfg.out / page_name(cat))
        first = first or path
    assert first is not None
    return first

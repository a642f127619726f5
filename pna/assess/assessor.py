"""Assess an application to the pharmaceutical list against the assessment's own evidence.

:func:`assess_application` answers what an NHS England reviewer asks of a new, relocated,
consolidated or closing pharmacy: who gains and who loses access in every mode and at every
threshold (by area, locality, IMD 2019 quintile and the 65+), which pharmacies are near the
site (1.6 km and 2 km, straight line), and whether the site lies where the assessment found a
gap. Travel times come from the run's own ``TravelModel``s, updated incrementally
(:mod:`pna.assess.whatif`); estimates are labelled as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import Point

from ..access.coverage import coverage_table
from ..access.engine import TravelModel
from ..access.stage import Access
from ..config import Config
from ..crs import to_bng
from ..errors import InputError
from ..geography.stage import Geography
from ..loaders.hours import DAYS
from ..loaders.postcodes import normalise_postcode
from ..modes import Method, Mode
from ..provenance import cite
from ..statements.gaps import GapFinding, evaluate, findings_table
from ..statements.stage import Statements
from .resilience import Resilience, gap_minutes
from .sites import NEAR_M, NOTIFY_M, Application, hours_table, locate, nearby, site_frame
from .whatif import ModeState

_TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


@dataclass
class AssessmentResult:
    """Everything one assessment found; :meth:`to_json` is what ``assessment.json`` holds.

    Tables
    ------
    modes
        ``mode, method, is_estimate, method_note, thresholds, gap_minutes``.
    coverage
        ``mode, method, is_estimate, group_type, group, threshold_min, population,
        within_before, within_after, change, share_before, share_after``.
    changes
        Demand points that cross a threshold: ``mode, threshold_min, change`` (``gain`` |
        ``loss``), ``point_id, lsoa11_code, locality, imd2019_quintile, population, pop_65plus,
        minutes_before, minutes_after``.
    changes_by_group
        The same summed by ``group_type`` (``locality`` | ``lsoa``) and ``group``:
        ``population_gaining, population_losing, pop_65plus_gaining, pop_65plus_losing``.
    nearby
        Pharmacies within 2 km and the 10 nearest: ``distance_m``, ``within_near``
        (1.6 km), ``within_notify`` (2 km), ``is_applicant`` and ``minutes_<mode>`` from the site.
    gaps
        Per mode at the gap threshold: ``population_beyond_before/after``,
        ``population_reached`` (beyond before, within after), ``population_pushed_out``,
        ``in_gap`` (the site brings gap residents within the threshold), ``locality_share_before``,
        ``locality_gap`` (the report's geographic finding for the site's locality is a gap).
    findings
        The report's gap findings for the site's locality and the area (:func:`site_findings`),
        the geographic rule re-tested after the change.
    """

    application: Application
    site: dict[str, Any]
    modes: pd.DataFrame
    coverage: pd.DataFrame
    changes: pd.DataFrame
    changes_by_group: pd.DataFrame
    nearby: pd.DataFrame
    gaps: pd.DataFrame
    hours: pd.DataFrame
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    provenance: str = ""
    point_minutes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def slug(self) -> str:
        """The application's folder name."""
        return self.application.slug

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the assessment by name (written as CSV)."""
        return {"modes": self.modes, "coverage": self.coverage, "changes": self.changes,
                "changes_by_group": self.changes_by_group, "nearby": self.nearby, "gaps": self.gaps,
                "hours": self.hours, "findings": self.findings}

    def to_json(self) -> dict[str, Any]:
        """What ``assessment.json`` holds: JSON-safe and deterministic."""
        return {"application": self.application.as_dict(), "site": _clean(self.site),
                "summary": _clean(self.summary), "notes": list(self.notes), "provenance": self.provenance,
                "tables": {k: _records(v) for k, v in self.tables().items()}}


def _clean(v: Any) -> Any:
    """JSON-safe, deterministic values: floats rounded to 3 dp, inf/NaN as None."""
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 3)
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return v if isinstance(v, str) else str(v)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [_clean(r) for r in df.drop(columns="geometry", errors="ignore").to_dict(orient="records")]


@dataclass(frozen=True)
class AssessorBase:
    """What every assessment of one run needs.

    The run's geography and access, the per-mode what-if structures (built once, by the
    resilience stage) and the report's gap findings.
    """

    cfg: Config
    geography: Geography
    access: Access
    states: Mapping[Mode, ModeState]
    findings: tuple[GapFinding, ...] = ()
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)


def prepare_assessor(*, cfg: Config, geography: Geography, access: Access, resilience: Resilience,
                     statements: Statements | None = None) -> AssessorBase:
    """The base for :func:`assess_application`.

    It reuses the resilience stage's what-if structures and the statements stage's gap
    findings, so an assessment quotes the report.
    """
    return AssessorBase(cfg=cfg, geography=geography, access=access, states=resilience.states,
                        findings=statements.findings if statements is not None else (),
                        tables=statements.evidence.tables if statements is not None else {})


def site_findings(base: AssessorBase, locality: str | None,
                  after: Mapping[Mode, np.ndarray] | None = None) -> pd.DataFrame:
    """The report's gap findings for the site's locality and the area.

    The geographic rule is re-tested on the travel times after the change.

    Parameters
    ----------
    base
        The run (its findings come from :mod:`pna.statements.gaps`, as the report's do).
    locality
        The site's locality (None outside every locality).
    after
        Minutes per demand point after the change, per mode (the model's demand order).

    Returns
    -------
    pandas.DataFrame
        ``pna.statements.gaps.FINDING_COLUMNS`` plus ``status_after, share_after,
        population_without_after`` (geographic rule only; blank for the rest).
    """
    cfg = base.cfg
    subjects = [s for s in (locality, cfg.area.name) if s]
    rows = [f for f in base.findings if f.subject in subjects and f.group == "all residents"
            and f.rule in ("geographic", "times", "rate", "hours", "choice", "distance")]
    table = findings_table(rows)
    for c in ("status_after", "share_after", "population_without_after"):
        table[c] = np.nan if c != "status_after" else ""
    points = base.access.points
    if after and points is not None and len(table):
        p = points.drop(columns=[c for c in points.columns if c.startswith("open_")]).copy()
        for mode, minutes in after.items():
            if f"minutes_{mode}" in p and len(minutes) == len(p):
                p[f"minutes_{mode}"] = minutes
        localities = list(base.geography.localities["locality"].astype(str))
        new = evaluate(cfg=cfg, points=p, estimated={m: r.is_estimate for m, r in base.access.results.items()},
                       tables={}, localities=localities)
        by = {(f.rule, f.subject, f.group): f for f in new if f.rule == "geographic"}
        for i, r in table.iterrows():
            hit = by.get((r["rule"], r["subject"], r["group"]))
            if r["rule"] == "geographic" and hit is not None:
                table.at[i, "status_after"] = hit.status if hit.status != "provisional" else \
                    f"{hit.outcome} (provisional)"
                table.at[i, "share_after"] = hit.share
                table.at[i, "population_without_after"] = hit.population_without
    return table


def _thresholds(ctx: AssessorBase, mode: str) -> list[int]:
    spec = ctx.cfg.travel.spec(mode)
    return list(spec.thresholds_min) if spec is not None else [5, 10, 15, 20]


def _pharmacy_xy(ctx: AssessorBase, code: str, source: str) -> tuple[float, float]:
    ph = ctx.geography.pharmacies[ctx.geography.pharmacies["ods_code"] == code]
    if ph.empty:
        raise InputError(source, f"ODS code {code} is not a pharmacy in or near {ctx.cfg.area.name} "
                                 f"on {ctx.cfg.as_at:%d %B %Y}")
    g = ph.geometry.iloc[0]
    if g is None or g.is_empty:
        raise InputError(source, f"ODS code {code} has no location, so it cannot be assessed")
    return float(g.x), float(g.y)


def _site(ctx: AssessorBase, app: Application) -> tuple[tuple[float, float], str]:
    for code in app.ods_codes:
        _pharmacy_xy(ctx, code, app.source)  # every named pharmacy must exist
    if app.opens_site:
        e, n, how = locate(app.site, ctx.geography.postcodes, app.source)
        return (e, n), how
    code = app.ods_codes[0] if app.kind == "closure" else str(app.consolidate_at)
    return _pharmacy_xy(ctx, code, app.source), f"premises of {code} (from the pharmaceutical list)"


def _site_label(app: Application, located_by: str) -> str:
    """How the refusal names the site: as the application gave it."""
    site = app.site
    if not app.opens_site:
        return located_by
    if "postcode" in site:
        return normalise_postcode(site["postcode"]) or str(site["postcode"])
    if "easting" in site:
        return f"easting {float(site['easting']):.0f}, northing {float(site['northing']):.0f}"
    return f"lon {float(site['lon']):g}, lat {float(site['lat']):g}"


def _require_known_site(ctx: AssessorBase, app: Application, xy: tuple[float, float], located_by: str) -> None:
    """Refuse a site beyond the outermost boundary band.

    The run holds only the area's pharmacies and those within the bands, so beyond them
    "no pharmacy within 2 km" and the nearest distances would be false.
    """
    area = ctx.geography.area
    if area is None or not len(area):
        return
    band_km = max(ctx.cfg.boundary_bands_km, default=0.0)
    d_m = float(to_bng(area).geometry.union_all().distance(Point(xy)))
    if d_m <= band_km * 1000.0:
        return
    km = d_m / 1000.0
    # Two decimals near the band, so "1.54 km outside" does not read as the band's "1.5 km".
    far = f"{km:.0f}" if km >= 10 else f"{km:.2f}".rstrip("0").rstrip(".")
    name = ctx.cfg.area.name
    raise InputError(app.source, f"the site ({_site_label(app, located_by)}) is {far} km outside {name}; "
                                 f"this assessment only knows pharmacies in {name} and within {band_km:g} km "
                                 "of it, so assess the site with the run for the area it lies in")


def _site_attrs(ctx: AssessorBase, xy: tuple[float, float]) -> dict[str, Any]:
    pt = gpd.GeoDataFrame(geometry=gpd.points_from_xy([xy[0]], [xy[1]]), crs=27700)
    lsoa = ctx.geography.lsoa[["lsoa11_code", "locality", "geometry"]] if ctx.geography.lsoa is not None else None
    out: dict[str, Any] = {"lsoa11_code": None, "locality": None, "in_area": False}
    if lsoa is not None:
        hit = gpd.sjoin(pt, lsoa.to_crs(27700), how="left", predicate="within")
        if len(hit) and pd.notna(hit["lsoa11_code"].iloc[0]):
            out["lsoa11_code"], out["locality"] = hit["lsoa11_code"].iloc[0], hit["locality"].iloc[0]
    if ctx.geography.area is not None and len(ctx.geography.area):
        out["in_area"] = bool(to_bng(ctx.geography.area).geometry.iloc[0].covers(pt.geometry.iloc[0]))
    lon, lat = _TO_WGS84.transform(xy[0], xy[1])
    out.update({"easting": round(xy[0], 1), "northing": round(xy[1], 1),
                "lon": round(float(lon), 6), "lat": round(float(lat), 6)})
    return out


def site_to_pharmacies_minutes(model: TravelModel, xy: tuple[float, float], targets: gpd.GeoDataFrame) -> np.ndarray:
    """Minutes from the site to each target pharmacy in one model (NaN where the model cannot say).

    Network: one forward search from the site's street node. Straight-line: distance × circuity
    ÷ speed. Timetable models route from residents' homes only, so NaN.
    """
    return np.asarray(model.minutes_from(xy, targets), dtype=float)


def _changes(demand: pd.DataFrame, mode: str, thresholds: list[int], before: np.ndarray,
             after: np.ndarray) -> pd.DataFrame:
    rows = []
    base = pd.DataFrame({
        "point_id": demand["point_id"].to_numpy(), "lsoa11_code": demand["lsoa11_code"].to_numpy(),
        "locality": demand["locality"].to_numpy() if "locality" in demand else None,
        "imd2019_quintile": demand["imd2019_quintile"].to_numpy() if "imd2019_quintile" in demand else np.nan,
        "population": demand["population"].to_numpy(float),
        "pop_65plus": demand["pop_65plus"].to_numpy(float) if "pop_65plus" in demand else np.nan,
        "minutes_before": before, "minutes_after": after})
    for t in thresholds:
        gain = ~(before <= t) & (after <= t)
        loss = (before <= t) & ~(after <= t)
        for label, mask in (("gain", gain), ("loss", loss)):
            if mask.any():
                part = base[mask].copy()
                part.insert(0, "change", label)
                part.insert(0, "threshold_min", t)
                part.insert(0, "mode", mode)
                rows.append(part)
    cols = ["mode", "threshold_min", "change", *base.columns]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


def _by_group(changes: pd.DataFrame) -> pd.DataFrame:
    cols = ["mode", "threshold_min", "group_type", "group", "population_gaining", "population_losing",
            "pop_65plus_gaining", "pop_65plus_losing"]
    if changes.empty:
        return pd.DataFrame(columns=cols)
    c = changes.copy()
    for lab in ("gain", "loss"):
        w = "gaining" if lab == "gain" else "losing"
        c[f"population_{w}"] = np.where(c["change"] == lab, c["population"], 0.0)
        c[f"pop_65plus_{w}"] = np.where(c["change"] == lab, c["pop_65plus"].fillna(0.0), 0.0)
    out = []
    for gt, key in (("locality", "locality"), ("lsoa", "lsoa11_code")):
        g = (c.assign(group=c[key].astype(str)).groupby(["mode", "threshold_min", "group"], sort=True)
             [["population_gaining", "population_losing", "pop_65plus_gaining", "pop_65plus_losing"]].sum()
             .reset_index())
        g.insert(2, "group_type", gt)
        out.append(g)
    return pd.concat(out, ignore_index=True)[cols]


def assess_application(application: Application, *, base: AssessorBase) -> AssessmentResult:
    """Assess one application against a run.

    Parameters
    ----------
    application
        What is proposed (:func:`pna.assess.sites.read_application`).
    base
        The run's geography, access and what-if structures (:func:`prepare_assessor`).

    Raises
    ------
    InputError
        If the site cannot be located, lies beyond the outermost boundary band
        (``cfg.boundary_bands_km``), or a named ODS code is not in the run.
    """
    ctx = base
    cfg, app = ctx.cfg, application
    xy, located_by = _site(ctx, app)
    _require_known_site(ctx, app, xy, located_by)
    site = {**_site_attrs(ctx, xy), "located_by": located_by}
    states = dict(ctx.states)
    gmin = gap_minutes(cfg)
    supply_codes = set(ctx.access.supply.sites["ods_code"])
    notes: list[str] = []
    if app.site and not app.opens_site:
        notes.append(f"The site given in the application is not used: a {app.kind} is assessed at "
                     f"{site['located_by']}.")
    for code in app.closes:
        if code not in supply_codes:
            notes.append(f"{code} is not counted as face-to-face supply in this assessment (distance-selling "
                         "or outside the boundary bands), so its closure changes no travel time.")
    sf = site_frame(xy, "PROPOSED", app.name)
    mode_rows, cov_rows, chg_rows, gap_rows = [], [], [], []
    point_minutes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    near = nearby(ctx.geography.pharmacies, xy, own_codes=app.ods_codes)
    near_gdf = ctx.geography.pharmacies.drop_duplicates("ods_code").set_index("ods_code").loc[near["ods_code"]]
    loc_find = next((f for f in ctx.findings if f.rule == "geographic" and f.subject == str(site["locality"])
                     and f.group == "all residents"), None)
    loc_status = "" if loc_find is None else (loc_find.status if loc_find.status != "provisional"
                                              else f"{loc_find.outcome} (provisional)")
    loc_gap = loc_find is not None and loc_find.outcome == "gap"
    for mode in sorted(states):
        st, model = states[mode], states[mode].model
        th = _thresholds(ctx, mode)
        g = gmin.get(mode, max(th))
        limit = float(max(max(th), g))
        added = model.window(sf, limit_min=limit) if app.opens_site else None
        before = st.minutes()
        after, _ = st.what_if(close=app.closes, add=added)
        point_minutes[mode] = (before, after)
        dem = model.demand
        mode_rows.append({"mode": mode, "method": model.method, "is_estimate": bool(model.is_estimate),
                          "method_note": model.method_note, "thresholds": ", ".join(str(t) for t in th),
                          "gap_minutes": g,
                          "search_limit_min": limit if (app.opens_site and model.method == Method.NETWORK) else np.nan})
        cb = coverage_table(dem, before, th, mode, model.method, model.is_estimate, "")
        ca = coverage_table(dem, after, th, mode, model.method, model.is_estimate, "")
        cov = cb.drop(columns=["population_within", "share_within", "provenance"]).copy()
        cov["within_before"] = cb["population_within"].to_numpy()
        cov["within_after"] = ca["population_within"].to_numpy()
        cov["change"] = cov["within_after"] - cov["within_before"]
        cov["share_before"] = cb["share_within"].to_numpy()
        cov["share_after"] = ca["share_within"].to_numpy()
        cov_rows.append(cov)
        chg_rows.append(_changes(dem, mode, th, before, after))
        # gap test at the statements' threshold
        pop = dem["population"].to_numpy(float)
        beyond_b, beyond_a = ~(before <= g), ~(after <= g)
        loc = site["locality"]
        cg = coverage_table(dem, before, [g], mode, model.method, model.is_estimate, "")
        lrow = cg[(cg["group_type"] == "locality") & (cg["group"] == str(loc))]
        lshare = float(lrow["share_within"].iloc[0]) if len(lrow) else np.nan
        gap_rows.append({
            "mode": mode, "gap_minutes": g, "is_estimate": bool(model.is_estimate),
            "population_beyond_before": float(pop[beyond_b].sum()),
            "population_beyond_after": float(pop[beyond_a].sum()),
            "population_reached": float(pop[beyond_b & ~beyond_a].sum()),
            "population_pushed_out": float(pop[~beyond_b & beyond_a].sum()),
            "in_gap": bool((beyond_b & ~beyond_a).any()),
            "site_locality": loc,
            "locality_share_before": lshare,
            "locality_status": loc_status,
            "locality_gap": loc_gap})
        if len(near):
            near[f"minutes_{mode}"] = site_to_pharmacies_minutes(model, xy, near_gdf)
        if model.is_estimate:
            notes.append(f"{mode.capitalize()} times are estimates: {model.method_note}")
    not_computed = [c.removeprefix("minutes_") for c in near.columns
                    if c.startswith("minutes_") and near[c].isna().all() and len(near)]
    if not_computed:
        notes.append(f"Minutes from the site to other pharmacies are not computed for {', '.join(not_computed)}: "
                     "the timetable model routes from residents' homes only.")
    modes = pd.DataFrame(mode_rows)
    coverage = pd.concat(cov_rows, ignore_index=True) if cov_rows else pd.DataFrame()
    changes = pd.concat(chg_rows, ignore_index=True) if chg_rows else pd.DataFrame()
    by_group = _by_group(changes)
    gaps = pd.DataFrame(gap_rows)
    others = near[~near["is_applicant"]]
    hours = hours_table(app.hours)
    if app.kind == "relocation" and app.ods_codes:
        cur = ctx.geography.pharmacies[ctx.geography.pharmacies["ods_code"] == app.ods_codes[0]].iloc[0]
        hours["current_hours_text"] = [cur.get(f"hours_{d}", None) for d in DAYS]
    area_rows = coverage[coverage["group_type"] == "area"] if len(coverage) else coverage
    summary: dict[str, Any] = {
        "kind": app.kind, "closes": list(app.closes), "opens_site": app.opens_site,
        "within_1_6km_of_another_pharmacy": bool(others["within_near"].any()),
        "pharmacies_within_1_6km": others.loc[others["within_near"], "ods_code"].tolist(),
        "pharmacies_within_2km": others.loc[others["within_notify"], "ods_code"].tolist(),
        "nearest_other_pharmacy": (others["ods_code"].iloc[0] if len(others) else None),
        "nearest_other_distance_m": (float(others["distance_m"].iloc[0]) if len(others) else None),
        "in_gap_any_mode": bool(gaps["in_gap"].any()) if len(gaps) else False,
        "by_mode": {r["mode"]: {str(int(t)): {"within_before": float(x["within_before"]),
                                                "within_after": float(x["within_after"]),
                                                "change": float(x["change"])}
                                for t, x in area_rows[area_rows["mode"] == r["mode"]]
                                .set_index("threshold_min").iterrows()}
                    for r in mode_rows},
        "weekly_hours_proposed": float(hours["hours_open"].sum(skipna=True)) if app.hours else None,
        "services": list(app.services),
    }
    if not app.hours and app.opens_site:
        notes.append("The application states no opening hours.")
    notes.append(f"Distances to other pharmacies are straight-line; the regulations' tests use "
                 f"{NEAR_M / 1000:g} km (another pharmacy nearby) and {NOTIFY_M / 1000:g} km (notification).")
    prov = cite(cfg.inputs.pharmaceutical_list, cfg.inputs.ods_history, cfg.inputs.codepoint,
                cfg.inputs.postcode_directory, cfg.inputs.population, cfg.network.osm_extract, cfg.network.gtfs)
    findings = site_findings(ctx, site.get("locality"), {Mode(m): a for m, (_, a) in point_minutes.items()})
    summary["locality_findings"] = {f"{r.rule} {r.time}".strip(): r.status for r in findings.itertuples()
                                    if r.subject == site.get("locality")}
    return AssessmentResult(application=app, site=site, modes=modes, coverage=coverage, changes=changes,
                            changes_by_group=by_group, nearby=near, gaps=gaps, hours=hours, summary=summary,
                            notes=notes, provenance=prov, point_minutes=point_minutes, findings=findings)

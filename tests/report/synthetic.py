"""A small synthetic run (``RunResults``) following the docs/ARCHITECTURE.md contracts (shared by report tests).

The stage results are made by hand (no input files), then joined the way the stages and
``pna.pipeline.build_results`` join them: the provision stage's optional tables (services,
consultation) and ``future_rates``; the statements from ``evidence_tables``; and the run's
tables ``{**evidence, **statements.tables, "exceptions", "row_accounting"}``.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from pna.access.reach import point_table
from pna.access.result import AccessResult
from pna.access.stage import Access
from pna.access.straightline import StraightLineModel
from pna.access.supply import Supply
from pna.assess.resilience import Resilience
from pna.config import load_config
from pna.geography.stage import Geography
from pna.loaders.stage import Inputs
from pna.modes import Method, Mode
from pna.provenance import with_provenance
from pna.provision.stage import Provision, derived_tables
from pna.quality import QualityLog
from pna.report.run import RunResults
from pna.statements.stage import build_statements, evidence_tables

ROOT = Path(__file__).resolve().parents[2]
X0, Y0 = 455000.0, 300000.0
AREA = "Synthetic Town"
EVIL = "<script>alert(1)</script>"
AMP = 'Smith & Sons "Chemist\'s"'
CATS = ("7 days late", "7 days", "weekdays + Saturday", "weekdays + Saturday morning only",
        "weekdays only", "other")
WALK_NOTE = "Walking times are straight-line estimates."


def _cfg(out: Path, **update):
    cfg = load_config(ROOT / "config" / "leicester.yaml", output_dir=out, check_inputs=False)
    area = cfg.area.model_copy(update={"name": AREA})
    return cfg.model_copy(update={"area": area, **update})


def synthetic_context(out: Path, *, with_walk: bool = True, with_projection: bool = True,
                      services: str | None = None, consultation: str | None = None) -> RunResults:
    """Two localities (North, South), four LSOAs, six pharmacies (one cross-border)."""
    cfg = _cfg(out)
    if services or consultation:
        cfg = cfg.model_copy(update={"optional": cfg.optional.model_copy(
            update={"services": services, "consultation": consultation})})
    quality = QualityLog()
    src = "Synthetic test data (2024)"
    area = gpd.GeoDataFrame({"code": ["E06999999"], "name": [AREA]},
                            geometry=[box(X0, Y0, X0 + 4000, Y0 + 4000)], crs=27700)
    locs = gpd.GeoDataFrame({"locality": ["North", "South"]},
                            geometry=[box(X0, Y0 + 2000, X0 + 4000, Y0 + 4000), box(X0, Y0, X0 + 4000, Y0 + 2000)],
                            crs=27700)
    lsoa_rows = []
    pops = [1500, 1800, 1600, 2100]
    for i, (x, y) in enumerate([(0, 2000), (2000, 2000), (0, 0), (2000, 0)]):
        p = pops[i]
        lsoa_rows.append({"lsoa11_code": f"E0100000{i}", "lsoa11_name": f"Synth 00{i}A",
                          "msoa11_code": f"E0200000{i // 2}", "msoa11_name": f"Synth 00{i // 2}",
                          "locality": "North" if y else "South", "pop_total": p, "pop_18plus": int(p * 0.8),
                          "pop_65plus": int(p * 0.15), "pop_0_17": p - int(p * 0.8),
                          "pop_18_64": int(p * 0.8) - int(p * 0.15),
                          "imd2019_rank": 1000 + 5000 * i, "imd2019_decile": 1 + 2 * i, "imd2019_quintile": 1 + i,
                          "geometry": box(X0 + x, Y0 + y, X0 + x + 2000, Y0 + y + 2000)})
    lsoa = gpd.GeoDataFrame(lsoa_rows, crs=27700)
    ph = pd.DataFrame({
        "ods_code": ["FA001", "FA002", "FA003", "FA004", "FA005", "FB001"],
        "trading_name": [EVIL, AMP, "North Pharmacy", "South Chemist", "Online Meds", "Over The Border"],
        "org_name": ["Evil Ltd", "Smith & Sons Ltd", "North Ltd", "South Ltd", "Online Ltd", "Border Ltd"],
        "address": ["1 High St", "2 <b>Low</b> St", "3 North Rd", "4 South Rd", "5 Web Way", "6 Edge Rd"],
        "postcode": ["LE1 1AA", "LE1 1AB", "LE1 1AC", "LE1 1AD", "LE1 1AE", "LE9 9ZZ"],
        "hwb": ["SYNTH"] * 5 + ["OTHER"],
        "in_area": [True] * 5 + [False],
        "band": ["inside"] * 5 + ["0-0.5 km"],
        "locality": ["North", "North", "North", "South", "South", None],
        "easting": [X0 + 500, X0 + 1500, X0 + 3000, X0 + 1000, X0 + 3500, X0 + 4300],
        "northing": [Y0 + 3000, Y0 + 2500, Y0 + 3500, Y0 + 1000, Y0 + 500, Y0 + 1000],
        "contract_type": ["Community"] * 5 + ["Community"],
        "is_100_hour": [True, False, False, False, False, False],
        "is_distance_selling": [False, False, False, False, True, False],
        "is_lps": [False] * 6, "is_dac": [False] * 6,
        "weekly_hours": [100.0, 50.0, 45.5, 60.0, 40.0, 52.0],
        "opening_category": ["7 days late", "weekdays + Saturday", "weekdays only", "7 days",
                             "weekdays only", "weekdays + Saturday"],
        "late_weekday": [True, False, False, True, False, False],
        "sat_pm": [True, True, False, True, False, True],
        "sunday": [True, False, False, True, False, False],
        "geocode_source": ["codepoint"] * 6,
    })
    ph["dist_to_area_m"] = [0, 0, 0, 0, 0, 300.0]
    geom = [Point(x, y) for x, y in zip(ph["easting"], ph["northing"])]
    pharm = gpd.GeoDataFrame(ph, geometry=geom, crs=27700)
    ll = pharm.to_crs(4326)
    pharm["lon"], pharm["lat"] = ll.geometry.x.round(6), ll.geometry.y.round(6)
    # the list as read (every board), and an ODS history with no rows: nothing here reads them
    listed = pd.DataFrame(pharm.drop(columns="geometry")).assign(hours_known=True)
    ods = pd.DataFrame(columns=["ods_code", "name", "national_grouping", "health_geography", "address", "postcode",
                                "open_date", "close_date", "status", "sub_type", "parent_org", "source_row"])
    inputs = Inputs(ods=ods, candidates=listed, national_list=listed, notes=())
    postcodes = pd.DataFrame({"easting": pharm["easting"].to_numpy(), "northing": pharm["northing"].to_numpy(),
                              "la_code": ["E06999999"] * 5 + ["E07999999"], "positional_quality": 10,
                              "source": "codepoint"}, index=pd.Index(pharm["postcode"], name="postcode"))
    geography = Geography(area=area, lsoa=lsoa, localities=locs.assign(population=[3300, 3700]),
                          postcodes=postcodes, pharmacies=pharm, reconciliation=None, notes=())

    # ------------------------------------------------------------------ provision tables
    tables: dict[str, pd.DataFrame] = {}
    inside = pharm[pharm["in_area"]]
    rows = []
    for level, name, sub_l, sub_p in (
            [("locality", n, lsoa[lsoa.locality == n], inside[inside.locality == n]) for n in ("North", "South")]
            + [("area", AREA, lsoa, inside)]):
        pop, n = float(sub_l.pop_total.sum()), len(sub_p)
        rows.append({"level": level, "locality": name, "population": pop, "pop_18plus": float(sub_l.pop_18plus.sum()),
                     "pharmacies": n, "hundred_hour": int(sub_p.is_100_hour.sum()),
                     "distance_selling": int(sub_p.is_distance_selling.sum()), "lps": int(sub_p.is_lps.sum()),
                     "rate_per_10k": n / pop * 1e4, "rate_per_10k_18plus": n / float(sub_l.pop_18plus.sum()) * 1e4,
                     "residents_per_pharmacy": pop / n})
    rows.append({"level": "england", "locality": "England", "population": 56_550_138.0, "pop_18plus": 44_000_000.0,
                 "pharmacies": 10_785, "hundred_hour": 1000, "distance_selling": 400, "lps": 14,
                 "rate_per_10k": 10_785 / 56_550_138 * 1e4, "rate_per_10k_18plus": 10_785 / 44_000_000 * 1e4,
                 "residents_per_pharmacy": 56_550_138 / 10_785})
    tables["provision"] = with_provenance(pd.DataFrame(rows), src)
    oh, oc, demo = [], [], []
    for r in rows[:3]:
        sub = inside if r["level"] == "area" else inside[inside.locality == r["locality"]]
        oh.append({"level": r["level"], "locality": r["locality"], "population": r["population"],
                   "pharmacies": len(sub), "hours_unknown": 0, "weekly_hours": float(sub.weekly_hours.sum()),
                   "hours_per_10k": float(sub.weekly_hours.sum()) / r["population"] * 1e4,
                   "late_weekday": int(sub.late_weekday.sum()), "sat_pm": int(sub.sat_pm.sum()),
                   "sunday": int(sub.sunday.sum())})
        for cat in CATS:
            k = int((sub.opening_category == cat).sum())
            oc.append({"level": r["level"], "locality": r["locality"], "category": cat, "pharmacies": k,
                       "share": k / len(sub)})
        sl = lsoa if r["level"] == "area" else lsoa[lsoa.locality == r["locality"]]
        d = {"level": r["level"], "locality": r["locality"], "population": float(sl.pop_total.sum()),
             "age_0_17": float(sl.pop_0_17.sum()), "age_18_64": float(sl.pop_18_64.sum()),
             "age_65plus": float(sl.pop_65plus.sum())}
        d["share_65plus"] = d["age_65plus"] / d["population"]
        for q in range(1, 6):
            d[f"imd_q{q}"] = float(sl.loc[sl.imd2019_quintile == q, "pop_total"].sum())
        demo.append(d)
    tables["opening_hours"] = with_provenance(pd.DataFrame(oh), src)
    tables["opening_categories"] = with_provenance(pd.DataFrame(oc), src)
    tables["demography"] = with_provenance(pd.DataFrame(demo), src)
    bb = pharm.groupby("band", sort=True).agg(pharmacies=("ods_code", "size"), hundred_hour=("is_100_hour", "sum"),
                                              distance_selling=("is_distance_selling", "sum"),
                                              weekly_hours=("weekly_hours", "sum")).reset_index()
    tables["boundary_bands"] = with_provenance(bb, src)
    tables["pharmacies"] = with_provenance(pd.DataFrame(pharm.drop(columns="geometry")), src)
    quality.add("pharmacies", "list.csv", 12, "FZ999", "postcode not found", "postcode")
    quality.account("list", "list.csv", 7, 6, 1)
    if with_projection:
        proj = []
        for year, f in ((2025, 1.0), (2030, 1.05), (2035, 1.4)):
            for r in rows[:3]:
                proj.append({"year": year, "locality": r["locality"], "population": round(r["population"] * f)})
        tables["projection_population"] = with_provenance(pd.DataFrame(proj), "Synthetic projection (2024)")
    # the board's optional inputs, as the provision stage reads them
    extra, svc = derived_tables(tables, cfg=cfg, pharmacies=pharm, quality=quality)
    tables.update(extra)
    provision = Provision(tables=MappingProxyType(tables), services=svc, notes=())

    # ------------------------------------------------------------------ access (walk only)
    sites = pharm[~pharm.is_distance_selling].sort_values("ods_code", kind="stable").reset_index(drop=True)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=27700)
    supply = Supply(sites=sites, note="", excluded_distance_selling=1, excluded_unlocated=0)
    results: dict[Mode, AccessResult] = {}
    models: dict[Mode, StraightLineModel] = {}
    points = None
    demand = gpd.GeoDataFrame({"point_id": [], "population": [], "pop_65plus": [], "lsoa11_code": [],
                               "locality": [], "imd2019_quintile": [], "source": []}, geometry=[], crs=27700)
    access_notes: tuple[str, ...] = ()
    if with_walk:
        # demand points on a 500 m grid; straight-line minutes to the nearest non-distance-selling pharmacy
        xs, ys = np.meshgrid(np.arange(250, 4000, 500), np.arange(250, 4000, 500))
        pts = np.c_[xs.ravel() + X0, ys.ravel() + Y0]
        d = np.hypot(pts[:, None, 0] - sites.easting.to_numpy()[None],
                     pts[:, None, 1] - sites.northing.to_numpy()[None])
        minutes = d.min(axis=1) * 1.3 / (4800 / 60)
        walk_demand = gpd.GeoDataFrame({"point_id": [f"p{i:03d}" for i in range(len(pts))],
                                        "population": 7000 / len(pts), "pop_65plus": 1050 / len(pts),
                                        "locality": np.where(pts[:, 1] >= Y0 + 2000, "North", "South"),
                                        "minutes": minutes,
                                        "nearest_ods": sites.ods_code.to_numpy()[d.argmin(axis=1)]},
                                       geometry=[Point(x, y) for x, y in pts], crs=27700)
        walk_demand["lsoa11_code"] = "E01000000"
        walk_demand["imd2019_quintile"] = np.where(pts[:, 0] < X0 + 2000, 1, 2)
        walk_demand["source"] = "lsoa"
        demand = walk_demand.drop(columns=["minutes", "nearest_ods"])
        cov = []
        for thr in (5, 10, 15, 20):
            for gt, col in (("area", None), ("locality", "locality"), ("imd2019_quintile", "imd2019_quintile")):
                groups = [(AREA, walk_demand)] if col is None else list(walk_demand.groupby(col, sort=True))
                for g, sub in groups:
                    pop = float(sub.population.sum())
                    w = float(sub.loc[sub.minutes <= thr, "population"].sum())
                    cov.append({"mode": "walk", "method": "straight_line", "is_estimate": True, "group_type": gt,
                                "group": str(g), "threshold_min": thr, "population": pop,
                                "population_within": w, "share_within": w / pop})
        cov = with_provenance(pd.DataFrame(cov), src)
        results[Mode.WALK] = AccessResult(Mode.WALK, Method.STRAIGHT_LINE, True,
                                          "Straight-line distance x 1.3 at 4.8 km/h (estimate).", walk_demand, cov)
        # the engine behind those minutes, and the per-resident table the access stage makes from them
        models[Mode.WALK] = StraightLineModel(demand, Mode.WALK, 4.8, 1.3)
        points = with_provenance(point_table(demand=walk_demand, results=results, models=models, sites=sites,
                                             walk_minutes=cfg.gaps.walk_minutes), src)
        access_notes = (WALK_NOTE,)
    access = Access(models=MappingProxyType(models), results=MappingProxyType(results), demand=demand,
                    supply=supply, open_access=None, notes=access_notes, points=points)

    # ------------------------------------------------------------------ resilience (none), statements
    layer = gpd.GeoDataFrame({"ods_code": [], "trading_name": [], "necessary_modes": []}, geometry=[], crs=27700)
    resilience = Resilience(tables=MappingProxyType({}), layer=layer, states=MappingProxyType({}))
    evidence = evidence_tables(geography=geography, access=access, provision=provision, resilience=resilience)
    statements = build_statements(cfg=cfg, geography=geography, access=access, evidence=evidence)
    run_tables = {**evidence, **statements.tables, "exceptions": quality.table(),
                  "row_accounting": quality.accounting_table()}
    notes = tuple(dict.fromkeys((*inputs.notes, *geography.notes, *access.notes, *provision.notes)))
    return RunResults(cfg=cfg, inputs=inputs, geography=geography, access=access, provision=provision,
                      resilience=resilience, statements=statements, tables=run_tables, notes=notes)

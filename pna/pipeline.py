"""The pipeline: config → loaders → geography → access → provision → statements → report.

``RunContext`` carries each stage's typed results to the next; ``run`` calls the stages in
order and writes everything under ``cfg.out``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .config import Config
from .quality import QualityLog

if TYPE_CHECKING:
    from .access.engine import TravelModel
    from .access.result import AccessResult


@dataclass
class RunContext:
    """Everything one run knows; see docs/ARCHITECTURE.md for the column contracts."""

    cfg: Config
    quality: QualityLog = field(default_factory=QualityLog)
    national_list: pd.DataFrame | None = None
    ods: pd.DataFrame | None = None
    pharmacies: gpd.GeoDataFrame | None = None
    lsoa: gpd.GeoDataFrame | None = None
    localities: gpd.GeoDataFrame | None = None
    area: gpd.GeoDataFrame | None = None
    models: dict[str, "TravelModel"] = field(default_factory=dict)
    access: dict[str, "AccessResult"] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Record a plain statement of a limit or estimate, once."""
        if text not in self.notes:
            self.notes.append(text)


def _load_pharmacies(ctx: RunContext) -> pd.DataFrame:
    """National list (or, where there is none, ODS rows open on the date), classified, with hours."""
    from .loaders import hours, pharmacies as ph

    cfg, q = ctx.cfg, ctx.quality
    ctx.ods = ph.load_ods_history(cfg.data_path(cfg.inputs.ods_history), q)
    ods_open = ph.pharmacies_open_on(ctx.ods, cfg.as_at)
    if cfg.inputs.pharmaceutical_list is not None:
        national = ph.load_pharmaceutical_list(cfg.data_path(cfg.inputs.pharmaceutical_list), q)
        national = hours.summarise_hours(national)
    else:
        national = ph.list_from_ods(ods_open, cfg.area.hwb_name)
        ctx.note(f"There is no pharmaceutical list for {cfg.area.name}: pharmacies are the "
                 f"{cfg.inputs.ods_history.title} rows open on {cfg.as_at:%d %B %Y}, and opening hours are unknown.")
    national = ph.classify(national, cfg)
    ctx.national_list = national if cfg.inputs.pharmaceutical_list is not None else None
    return national


def _geography(ctx: RunContext, national: pd.DataFrame) -> None:
    """Area, LSOAs and localities; pharmacies geocoded and assigned, cross-border ones banded."""
    from .geography import area as area_mod, assign, geocode
    from .loaders import postcodes as pc

    cfg, q = ctx.cfg, ctx.quality
    ctx.area, ctx.lsoa, ctx.localities = area_mod.build_area(cfg, q)
    table = pc.postcode_table(cfg, q)
    if getattr(cfg.inputs, "postcodes_from_osm", False) and cfg.network.osm_extract is not None:
        from .access.osm_geocode import postcodes_from_osm

        osm_pc = postcodes_from_osm(cfg.data_path(cfg.network.osm_extract), q).set_index("postcode")
        table = pd.concat([table, osm_pc[~osm_pc.index.isin(table.index)]]) if len(table) else osm_pc
        ctx.note("Pharmacy postcodes were located from OpenStreetMap pharmacies and address points "
                 "(no official postcode coordinates were supplied for this area).")
    ctx.meta["postcodes"] = table
    if cfg.inputs.pharmaceutical_list is not None:
        ctx.pharmacies, notes = assign.place_pharmacies(cfg, national, table, ctx.area, ctx.lsoa,
                                                        ctx.localities, q)
    else:
        # No list: membership is decided by location, among the open ODS pharmacies.
        if getattr(cfg.inputs, "postcodes_from_osm", False) and cfg.network.osm_extract is not None:
            from .access.osm_geocode import pharmacies_from_osm

            located = pharmacies_from_osm(cfg, national, q, postcodes=table.reset_index())
            located["postcode_la"] = None
            for n in located.attrs.get("notes", []):
                ctx.note(n)
        else:
            overrides = cfg.override_path("geocode")
            districts = set(table.index.str.split(" ").str[0])
            cand = national[national["postcode"].str.split(" ").str[0].isin(districts)]
            located = geocode.geocode(cand, table, overrides, cfg.area.code, q, cfg.area.hwb_name)
            ctx.note(f"{len(national) - len(cand)} open ODS pharmacies in postcode districts outside the "
                     "available postcode coordinates were not considered.")
        located = located.drop(columns="in_area", errors="ignore")
        loc_over = cfg.override_path("locality")
        ctx.pharmacies = assign.assign_pharmacies(located, ctx.lsoa, ctx.localities, ctx.area,
                                                  cfg.boundary_bands_km, cfg.locality_boundary_flag_m, loc_over, q)
        notes = list(ctx.pharmacies.attrs.get("notes", []))
    for n in notes:
        ctx.note(n)


def _reconcile(ctx: RunContext, national: pd.DataFrame) -> None:
    from .loaders import pharmacies as ph

    cfg = ctx.cfg
    if cfg.inputs.pharmaceutical_list is None:
        return
    table = ctx.meta["postcodes"]
    postcode_la = table["la_code"].dropna().to_dict() if "la_code" in table else {}
    own = national[national["hwb"] == cfg.area.hwb_name]
    rec = ph.reconcile(own, ctx.ods, cfg.as_at, postcode_la, cfg.area.code, national_list=national)
    from .provenance import with_provenance

    ctx.tables["reconciliation"] = with_provenance(rec, cfg.inputs.pharmaceutical_list, cfg.inputs.ods_history,
                                                   cfg.inputs.codepoint, cfg.inputs.postcode_directory)


def _access(ctx: RunContext) -> None:
    from .access.stage import run_access
    from .transit.stage import run_transit

    cfg, q = ctx.cfg, ctx.quality
    models, results = run_access(cfg, ctx.pharmacies, ctx.lsoa, ctx.localities, ctx.area, q)
    ctx.models.update(models)
    ctx.access.update(results)
    walk_graph = getattr(models.get("walk"), "graph", None)
    demand = results["walk"].demand
    t_model, t_result = run_transit(cfg, ctx.pharmacies, demand, q, walk_graph=walk_graph)
    ctx.models["transit"], ctx.access["transit"] = t_model, t_result
    _open_scenarios(ctx)
    for mode, res in ctx.access.items():
        ctx.tables[f"coverage_{mode}"] = res.coverage
        for name, table in res.extra_tables.items():
            ctx.tables[name] = table
        if res.is_estimate:
            ctx.note(f"{mode.capitalize()} travel times are estimates. {res.method_note}")


def _open_scenarios(ctx: RunContext) -> None:
    """Who can reach a pharmacy that is open when they arrive: weekday evening, Saturday, Sunday."""
    from .access.open_now import scenario_table
    from .access.supply import select_supply

    cfg = ctx.cfg
    sites = select_supply(ctx.pharmacies, cfg)
    if "hours_known" in sites and not sites["hours_known"].fillna(False).astype(bool).any():
        ctx.note("Access to an open pharmacy at set times was not assessed: opening hours are unknown.")
        return
    demand = ctx.access["walk"].demand
    thresholds = {m: list(getattr(cfg.travel, m).thresholds_min) for m in ctx.models}
    cite = "; ".join(dict.fromkeys(r.coverage["provenance"].iloc[0] for r in ctx.access.values()
                                   if len(r.coverage)))
    ctx.tables["open_access"] = scenario_table(ctx.models, sites, demand, thresholds, provenance=cite)


def _provision(ctx: RunContext) -> None:
    from .provision.projections import run_projections
    from .provision.tables import build_provision_tables

    ctx.tables.update(build_provision_tables(ctx.cfg, ctx.pharmacies, ctx.lsoa, ctx.localities, ctx.national_list))
    hours = ctx.tables["opening_hours"]
    by_loc = hours[hours["level"] == "locality"][["locality", "pharmacies", "weekly_hours"]]
    proj = run_projections(ctx.cfg, ctx.lsoa, by_loc, ctx.quality)
    if isinstance(proj, tuple):
        proj, notes = proj
        for n in notes:
            ctx.note(n)
    ctx.tables.update({k if k.startswith("projection") else f"projection_{k}": v for k, v in proj.items()})


def build_context(cfg: Config) -> RunContext:
    """Run every stage up to (not including) the report."""
    from . import progress

    ctx = RunContext(cfg)
    with progress.step("Loading the pharmaceutical list and ODS history"):
        national = _load_pharmacies(ctx)
    with progress.step("Geocoding pharmacies and building the area's geography"):
        _geography(ctx, national)
    with progress.step("Reconciling the list with ODS"):
        _reconcile(ctx, national)
    with progress.step("Travel times (walk, drive, public transport)"):
        _access(ctx)
    with progress.step("Single-closure resilience"):
        from .assess.resilience import run_resilience

        ctx.tables.update(run_resilience(ctx))
    with progress.step("Provision tables and projections"):
        _provision(ctx)
    ctx.tables["exceptions"] = ctx.quality.table()
    ctx.tables["row_accounting"] = ctx.quality.accounting_table()
    return ctx


def write_tables(ctx: RunContext) -> list:
    """Every table as CSV under tables/, plus the exceptions table at the top level."""
    from .io import write_csv

    out = ctx.cfg.out
    written = [write_csv(df, out / "tables" / f"{name}.csv") for name, df in sorted(ctx.tables.items())]
    written.append(write_csv(ctx.tables["exceptions"], out / "exceptions.csv"))
    return written


def run(cfg: Config) -> RunContext:
    """Run the whole assessment and write everything under ``cfg.out``."""
    from . import progress
    from .io import ensure_dir, write_json
    from .report import exports
    from .report.consultation import build_consultation_page
    from .report.render import render_report

    ensure_dir(cfg.out)
    ctx = build_context(cfg)
    with progress.step("Rendering the report, maps and consultation page"):
        from .assess.resilience import write_resilience

        write_resilience(ctx, {k: v for k, v in ctx.tables.items() if k.startswith("resilience_")},
                         cfg.out / "resilience")
        render_report(ctx)
        build_consultation_page(ctx)
    with progress.step("Writing tables"):
        # After rendering: the report adds the statements and self-check tables.
        write_tables(ctx)
    with progress.step("Exports (XLSX, GeoPackage, PDF)"):
        exports.export_all(ctx)
    write_json({"area": cfg.area.model_dump(), "as_at": cfg.as_at.isoformat(),
                "inputs": _input_manifest(cfg), "notes": ctx.notes,
                "row_accounting": ctx.tables["row_accounting"].to_dict(orient="records")},
               cfg.out / "run.json")
    return ctx


def _input_manifest(cfg: Config) -> list[dict]:
    """Each input's citation and SHA-256, so a run can be traced to exact files."""
    import hashlib

    from .config import DataSource

    rows = []
    sources = [(f"inputs.{k}", v) for k, v in cfg.inputs] + [(f"network.{k}", v) for k, v in cfg.network]
    sources += [("localities.file", cfg.localities.file), ("projections.controls", cfg.projections.controls),
                ("projections.housing", cfg.projections.housing)]
    for key, src in sources:
        if not isinstance(src, DataSource):
            continue
        path = cfg.data_path(src)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        rows.append({"key": key, "file": src.path, "citation": src.cite(), "licence": src.licence, "sha256": digest})
    return rows

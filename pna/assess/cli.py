"""``pna assess``: assess an application (file or flags) and write its page and JSON.

Examples
--------
``pna assess --config config/leicester.yaml --application app.yaml``
``pna assess --config config/leicester.yaml --kind new --postcode "LE1 1WB" --name "Example"
--hours mon-fri=09:00-18:00 --hours sat=09:00-13:00 --services "flu vaccination"``
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from .sites import day_range


def _hours(specs: list[str] | None) -> dict[str, str]:
    """``["mon-fri=09:00-18:00", "sat=CLOSED"]`` -> per-day text."""
    out: dict[str, str] = {}
    for spec in specs or []:
        days, sep, text = spec.partition("=")
        if not sep:
            raise InputError("--hours", f"{spec!r}: expected DAY=HH:MM-HH:MM or DAY-DAY=... (e.g. mon-fri=09:00-18:00)")
        named = day_range(days)
        if named is None:
            raise InputError("--hours", f"{spec!r}: {days!r} is not a day or a day range like mon-fri")
        out.update({d: text.strip() for d in named})
    return out


def application_from_args(args: argparse.Namespace):
    from .sites import application_from_mapping, read_application

    if args.application:
        return read_application(args.application)
    raw: dict[str, Any] = {"kind": args.kind, "name": args.name, "ref": args.ref,
                           "postcode": args.postcode, "easting": args.easting, "northing": args.northing,
                           "lon": args.lon, "lat": args.lat, "ods_codes": args.ods_code,
                           "consolidate_at": args.consolidate_at, "hours": _hours(args.hours),
                           "services": args.services}
    return application_from_mapping({k: v for k, v in raw.items() if v not in (None, [], {})},
                                    source="command line")


def _assess(args: argparse.Namespace) -> int:
    from .. import progress
    from ..config import load_config
    from ..pipeline import build_context
    from .assessor import assess_application
    from .page import write_assessment

    cfg = load_config(args.config, data_dir=args.data_dir, output_dir=args.output_dir)
    app = application_from_args(args)   # validate before the (slower) run
    ctx = build_context(cfg)
    with progress.step(f"Assessing {app.kind} application {app.name!r}"):
        result = assess_application(ctx, app)
    out_root = cfg.out / "assessments"
    paths = write_assessment(result, out_root, cfg.area.name, {m: ctx.models[m].demand for m in ctx.models})
    if args.resilience:
        from .resilience import run_resilience, write_resilience

        write_resilience(ctx, run_resilience(ctx), out_root / "resilience")
    progress.info(f"Assessment written: {paths['html']} and {paths['json']}")
    for g in result.gaps.itertuples():
        progress.info(f"{g.mode}: {g.population_reached:,.0f} residents brought within {g.gap_minutes} min, "
                      f"{g.population_pushed_out:,.0f} pushed beyond")
    return 0


def add_assess_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``assess`` subcommand to the ``pna`` parser."""
    p = sub.add_parser("assess", help="assess an application: new, relocation, consolidation or closure")
    p.add_argument("--config", required=True, help="area YAML, e.g. config/leicester.yaml")
    p.add_argument("--data-dir", help="data directory (default: $PNA_DATA_DIR or ../shared/pna-data)")
    p.add_argument("--output-dir", help="output directory (default: the config's output_dir)")
    p.add_argument("--application", help="YAML or JSON application file (else use the flags below)")
    p.add_argument("--kind", choices=["new", "relocation", "consolidation", "closure"], default="new")
    p.add_argument("--name", help="premises name")
    p.add_argument("--ref", help="reference (names the output folder)")
    p.add_argument("--postcode", help="site postcode")
    p.add_argument("--easting", type=float)
    p.add_argument("--northing", type=float)
    p.add_argument("--lon", type=float)
    p.add_argument("--lat", type=float)
    p.add_argument("--ods-code", action="append", help="ODS code(s) relocating, closing or consolidating")
    p.add_argument("--consolidate-at", help="consolidation: one of the ODS codes, or 'new' for the site")
    p.add_argument("--hours", action="append", help="opening hours, e.g. mon-fri=09:00-18:00 (repeat)")
    p.add_argument("--services", help="comma-separated services offered")
    p.add_argument("--resilience", action="store_true", help="also write the single-closure resilience tables and maps")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.set_defaults(func=_assess)
    return p

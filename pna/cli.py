"""Command line: argument parsing, logging and error handling for the ``pna`` subcommands.

The commands themselves live in :mod:`pna.pipeline` (the only orchestrator); its ``main``
hands them to :func:`run_cli`, so nothing here imports the pipeline.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import progress
from .assess.sites import Application, application_from_mapping, day_range, read_application
from .errors import InputError, PnaError
from .runlock import Interrupted, raise_on_signal

__all__ = ["build_parser", "run_cli", "application_from_args"]

Command = Callable[[argparse.Namespace], int]
log = logging.getLogger("pna")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="area YAML, e.g. config/leicester.yaml")
    p.add_argument("--output-dir", help="output directory (default: the config's output_dir)")
    _shared(p)


def build_parser() -> argparse.ArgumentParser:
    """The ``pna`` argument parser with its subcommands (run, assess, init, england, fetch)."""
    p = argparse.ArgumentParser(prog="pna", description="Pharmaceutical Needs Assessment pipeline")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the whole assessment for one area")
    _common(r)
    r.add_argument("--no-cache", action="store_true",
                   help="rebuild the report, maps and exports even if nothing they are built from changed")
    a = sub.add_parser("assess", help="assess an application: new, relocation, consolidation or closure")
    _common(a)
    a.add_argument("--application", help="YAML or JSON application file (else use the flags below)")
    a.add_argument("--kind", choices=["new", "relocation", "consolidation", "closure"], default="new")
    a.add_argument("--name", help="premises name")
    a.add_argument("--ref", help="reference (names the output folder)")
    a.add_argument("--postcode", help="site postcode")
    a.add_argument("--easting", type=float)
    a.add_argument("--northing", type=float)
    a.add_argument("--lon", type=float)
    a.add_argument("--lat", type=float)
    a.add_argument("--ods-code", action="append", help="ODS code(s) relocating, closing or consolidating")
    a.add_argument("--consolidate-at", help="consolidation: one of the ODS codes, or 'new' for the site")
    a.add_argument("--hours", action="append", help="opening hours, e.g. mon-fri=09:00-18:00 (repeat)")
    a.add_argument("--services", help="comma-separated services offered")
    a.add_argument("--resilience", action="store_true",
                   help="also write the single-closure resilience tables and maps")
    i = sub.add_parser("init", help="write config/<area>.yaml for any English Health and Wellbeing Board")
    i.add_argument("--area", required=True, help="board name or area code, e.g. 'Leicestershire' or E10000018")
    i.add_argument("--national", default="config/england.yaml", help="the national inputs (default: %(default)s)")
    i.add_argument("--output", help="the config to write (default: config/<area>.yaml beside --national)")
    i.add_argument("--localities", help="a CSV of msoa11_code,locality to use (path relative to the data folder)")
    i.add_argument("--localities-rule", choices=["districts", "msoa_groups", "msoa"],
                   help="how to make localities without a file (default: districts for a county, else msoa_groups)")
    i.add_argument("--force", action="store_true", help="replace an existing config")
    _shared(i)
    e = sub.add_parser("england", help="the baseline for every Health and Wellbeing Board in England")
    e.add_argument("--config", default="config/england.yaml", help="the national inputs (default: %(default)s)")
    e.add_argument("--output-dir", help="output directory (default: the config's output_dir)")
    e.add_argument("--workers", type=int, help="processes for the per-board pages (default: the CPUs)")
    e.add_argument("--scheduler", help="a Dask distributed scheduler address (tcp://host:8786) to run the "
                   "per-board work on, instead of local processes")
    _shared(e)
    _fetch_parser(sub)
    return p


def _fetch_parser(sub: Any) -> None:
    f = sub.add_parser("fetch", help="download and clip the street network and bus timetable for one area")
    f.add_argument("--config", required=True, help="area YAML, e.g. config/leicester.yaml")
    f.add_argument("--from-dir", help="a folder of files already downloaded (*.osm.pbf, GTFS *.zip, "
                   "optionally index-v1.json), used instead of the internet")
    f.add_argument("--refresh", action="store_true", help="download again files already in the download cache")
    f.add_argument("--only", choices=["osm", "gtfs"], action="append",
                   help="fetch only the street network or only the timetable (default: both, as the config says)")
    _shared(f)


def _shared(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data directory (default: $PNA_DATA_DIR or ../shared/pna-data)")
    p.add_argument("--quiet", action="store_true", help="only warnings and errors")
    p.add_argument("--verbose", action="store_true", help="debug messages, and a traceback on error")


def _hours(specs: Sequence[str] | None) -> dict[str, str]:
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


def application_from_args(args: argparse.Namespace) -> Application:
    """The application described by ``--application`` or by the flags."""
    if args.application:
        return read_application(args.application)
    raw: dict[str, Any] = {"kind": args.kind, "name": args.name, "ref": args.ref,
                           "postcode": args.postcode, "easting": args.easting, "northing": args.northing,
                           "lon": args.lon, "lat": args.lat, "ods_codes": args.ods_code,
                           "consolidate_at": args.consolidate_at, "hours": _hours(args.hours),
                           "services": args.services}
    return application_from_mapping({k: v for k, v in raw.items() if v not in (None, [], {})},
                                    source="command line")


def _stopped(code: int, before: set[threading.Thread]) -> int:
    """``code``; or, if the interrupted command left threads of its own running, end the process now with it."""
    if any(t.is_alive() for t in threading.enumerate() if t not in before):
        # a thread stopped mid-call (Playwright printing the PDF) can crash interpreter shutdown
        # with SIGSEGV instead of this exit code; every clean-up has run, so skip shutdown
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def run_cli(argv: Sequence[str] | None, *, commands: Mapping[str, Command]) -> int:
    """Parse ``argv``, configure logging and run the chosen command.

    Any :class:`~pna.errors.PnaError` becomes one line on stderr and exit code 2 (with the
    traceback under ``--verbose``). Ctrl-C exits 130 and SIGTERM 143, with one line (saying
    what became of the outputs when a run was stopped): SIGTERM raises
    :class:`~pna.runlock.Interrupted` while the command runs, so clean-up runs as for Ctrl-C.
    If an interrupted command leaves threads running (the PDF printer), the process ends at
    once with the exit code, as Python's own shutdown could crash on them.
    """
    args = build_parser().parse_args(argv)
    progress.configure(quiet=args.quiet, verbose=args.verbose)
    previous = signal.signal(signal.SIGTERM, raise_on_signal)
    threads = set(threading.enumerate())
    try:
        return commands[args.command](args)
    except PnaError as exc:
        if args.verbose:
            log.exception("error")
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"pna: {exc.message}", file=sys.stderr)
        return _stopped(exc.code, threads)
    except KeyboardInterrupt:
        print("pna: interrupted", file=sys.stderr)
        return _stopped(130, threads)
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

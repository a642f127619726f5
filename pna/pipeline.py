"""The pipeline: the only place where stages are wired, and the ``pna`` entry point.

Each stage is one function with keyword-only inputs that returns one frozen result. A
:class:`Node` names the results a stage reads and the one it makes; :func:`order_nodes`
sorts the nodes so every input exists before it is read, and rejects a cycle or an input
nothing makes. Nothing imports this module.

Order: inputs → geography → access → provision → resilience → statements → (assessor)
→ render → export. Resilience comes before the statements because the statements quote
which pharmacies residents depend on; the renderers and exporters read only stage results.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .access.stage import run_access
from .assess.assessor import AssessorBase, assess_application, prepare_assessor
from .assess.resilience import run_resilience
from .cache import FolderStore, Unhashable, code_version, fingerprint
from .cli import application_from_args, run_cli
from .config import Config, DataSource, NationalConfig, load_config, load_national_config
from .errors import InputError, PipelineError
from .fetch.stage import fetch
from .geography.stage import build_geography
from .io import ensure_dir, write_json
from .loaders.stage import load_inputs
from .national.area_config import board_register, slug, write_area_config
from .national.baseline import Baseline, build_baseline
from .national.outputs import write_baseline
from .progress import info, step
from .provenance import portable_source
from .provision.stage import build_provision
from .quality import QualityLog
from .report.assessment_page import write_assessment
from .report.consultation import build_consultation_page
from .report.exports import write_exports, write_tables
from .report.i18n import board_catalogues, catalogue_digests
from .report.render import render_report
from .report.resilience import write_resilience
from .report.run import RunResults
from .runlock import OutputError, atomic_output, output_lock, scratch_output
from .statements.stage import build_statements, evidence_tables

__all__ = ["Node", "NODES", "order_nodes", "build_results", "run", "assess", "main"]


@dataclass(frozen=True)
class Node:
    """One stage: ``func`` is called with keyword arguments named by ``inputs`` and makes ``output``."""

    name: str
    func: Callable[..., Any]
    inputs: tuple[str, ...]
    output: str
    message: str


def _node(name: str, func: Callable[..., Any], output: str, message: str) -> Node:
    params = inspect.signature(func).parameters
    if any(p.kind is not inspect.Parameter.KEYWORD_ONLY for p in params.values()):
        raise PipelineError(f"stage {name}: every parameter of {func.__name__} must be keyword-only")
    required = tuple(n for n, p in params.items() if p.default is inspect.Parameter.empty)
    return Node(name, func, required, output, message)


#: The stages in the order they run (``order_nodes`` checks it).
NODES: tuple[Node, ...] = (
    _node("inputs", load_inputs, "inputs", "Loading the pharmaceutical list and ODS history"),
    _node("geography", build_geography, "geography", "Geocoding pharmacies and building the area's geography"),
    _node("access", run_access, "access", "Travel times (walk, drive, public transport)"),
    _node("provision", build_provision, "provision", "Provision tables and projections"),
    _node("resilience", run_resilience, "resilience", "Single-closure resilience"),
    _node("evidence", evidence_tables, "evidence", "Collecting the computed tables"),
    _node("statements", build_statements, "statements", "Applying the Schedule 1 statement rules"),
)
#: Results that exist before any stage runs.
GIVEN = ("cfg", "quality")


def order_nodes(nodes: Sequence[Node], given: Sequence[str] = GIVEN) -> list[Node]:
    """Nodes in an order where each runs after the nodes that make its inputs.

    Raises
    ------
    PipelineError
        If two nodes make the same result, an input is made by no node, or the nodes form a cycle.
    """
    makers: dict[str, Node] = {}
    for n in nodes:
        if n.output in makers or n.output in given:
            raise PipelineError(f"result {n.output!r} is made twice")
        makers[n.output] = n
    for n in nodes:
        for i in n.inputs:
            if i not in makers and i not in given:
                raise PipelineError(f"stage {n.name} reads {i!r}, which no stage makes")
    done: set[str] = set(given)
    ordered: list[Node] = []
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if all(i in done for i in n.inputs)]
        if not ready:
            raise PipelineError("the stages form a cycle: " + ", ".join(n.name for n in pending))
        for n in ready:
            ordered.append(n)
            done.add(n.output)
            pending.remove(n)
    return ordered


def build_results(cfg: Config, *, quality: QualityLog | None = None) -> RunResults:
    """Run every stage up to (not including) rendering and return their results."""
    quality = quality if quality is not None else QualityLog()
    results: dict[str, Any] = {"cfg": cfg, "quality": quality}
    for node in order_nodes(NODES):
        with step(node.message):
            results[node.output] = node.func(**{k: results[k] for k in node.inputs})
    notes = tuple(dict.fromkeys(n for key in ("inputs", "geography", "access", "provision")
                                for n in results[key].notes))
    tables = {**results["evidence"], **results["statements"].tables,
              "exceptions": quality.table(), "row_accounting": quality.accounting_table()}
    return RunResults(cfg=cfg, inputs=results["inputs"], geography=results["geography"], access=results["access"],
                      provision=results["provision"], resilience=results["resilience"],
                      statements=results["statements"], tables=tables, notes=notes)


def run(cfg: Config) -> RunResults:
    """Run the whole assessment and write everything under ``cfg.out``, whole or not at all.

    The run writes into ``<out>.tmp-<pid>`` beside ``cfg.out``, which replaces ``cfg.out`` only
    once every file is written; so ``cfg.out`` holds the previous complete run or the new one
    (nothing for an instant between two renames), and no file of an earlier run survives, not
    even assessments that :func:`assess` added. ``<out>.lock`` keeps a second process out of
    the folder meanwhile. On an error or interruption the temporary folder and the lock are
    removed and ``cfg.out`` is untouched.

    Parameters
    ----------
    cfg
        The area config; its output folder must be empty, missing or hold an earlier run.

    Returns
    -------
    RunResults
        The stage results, with ``cfg`` and file paths pointing into ``cfg.out``.

    Raises
    ------
    OutputError
        If the folder cannot be created or replaced, holds other files, or another process holds its lock.
    Interrupted
        On Ctrl-C or SIGTERM (the latter once the CLI's handler is installed), with a one-line message.
    """
    with output_lock(cfg.out), atomic_output(cfg.out, keep=(cfg.project_root, cfg.data_dir, cfg.cache)) as tmp:
        results = _write_run(cfg.model_copy(update={"output_dir": tmp}))
    return _moved(results, cfg, tmp)


def _moved(results: RunResults, cfg: Config, tmp: Path) -> RunResults:
    """``results`` of a run written to ``tmp``, as if written to ``cfg.out`` (where ``tmp`` now is)."""
    def rebase(p: Path | None) -> Path | None:
        return cfg.out / p.relative_to(tmp) if p is not None and p.is_relative_to(tmp) else p

    moved = {m: replace(r, raster_path=rebase(r.raster_path)) for m, r in results.access.results.items()}
    return replace(results, cfg=cfg, access=replace(results.access, results=MappingProxyType(moved)))


def _write_run(cfg: Config) -> RunResults:
    """Run every stage and write every output straight into ``cfg.out`` (:func:`run` makes it atomic).

    The report, maps and exports depend only on the stage results and the code: when an earlier
    run kept them in the cache under the same fingerprint, they are copied back instead of rebuilt.
    """
    ensure_dir(cfg.out)
    results = build_results(cfg)
    store = FolderStore(cfg.cache if cfg.reuse_outputs else None, "outputs")
    key = _outputs_key(results) if cfg.reuse_outputs else None
    kept = store.restore(key, cfg.out) if key is not None else None
    if kept is not None:
        info("Report, maps, tables and exports: nothing they are built from has changed since an earlier run, "
             "so they were copied from the cache (pna run --no-cache rebuilds them)")
        written: tuple[str, ...] = tuple(kept["notes"])
    else:
        before = _file_states(cfg.out)
        written = _write_outputs(cfg, results)
        if key is not None:
            now = _file_states(cfg.out)
            store.store(key, cfg.out, [f for f, st in now.items() if before.get(f) != st], {"notes": list(written)})
    notes = tuple(dict.fromkeys((*results.notes, *written)))
    write_json({"area": cfg.area.model_dump(), "as_at": cfg.as_at.isoformat(),
                "inputs": input_manifest(cfg), "notes": list(notes),
                "row_accounting": results.tables["row_accounting"].to_dict(orient="records")},
               cfg.out / "run.json")
    return replace(results, notes=notes)


def _outputs_key(results: RunResults) -> str | None:
    """The fingerprint of everything the outputs are built from (None: not fingerprintable, so not cached)."""
    try:
        # the board's translation catalogues are read by the consultation page, not by a stage
        return fingerprint((code_version(), results, catalogue_digests(results.cfg)), skip=frozenset({"output_dir"}),
                           relative_to=results.cfg.out)
    except Unhashable as exc:
        info(f"outputs are rebuilt without the cache ({exc})")
        return None


def _file_states(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under ``folder``, by relative path."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def _write_outputs(cfg: Config, results: RunResults) -> tuple[str, ...]:
    """Write the tables, report, maps, consultation page and exports; the notes they add."""
    with step("Writing tables"):
        write_tables(results.tables, cfg.out)
    with step("Rendering the report, maps and consultation page"):
        write_resilience(cfg=cfg, tables=results.resilience.tables, pharmacies=results.geography.pharmacies,
                         area=results.geography.area, localities=results.geography.localities,
                         out_dir=cfg.out / "resilience")
        report = render_report(results)
        build_consultation_page(results)
        write_tables(report.tables, cfg.out)
    with step("Exports (XLSX, GeoPackage, PDF)"):
        exports = write_exports(results, tables={**results.tables, **report.tables},
                                report_html=report.paths["report"])
    return tuple(dict.fromkeys((*report.notes, *exports.notes)))


def assessor_for(results: RunResults) -> AssessorBase:
    """The application assessor's base for a built run."""
    return prepare_assessor(cfg=results.cfg, geography=results.geography, access=results.access,
                            resilience=results.resilience, statements=results.statements)


def input_manifest(cfg: Config) -> list[dict[str, Any]]:
    """Each input's citation and SHA-256, so a run can be traced to exact files."""
    rows = []
    sources = [(f"inputs.{k}", v) for k, v in cfg.inputs] + [(f"network.{k}", v) for k, v in cfg.network]
    sources += [("localities.file", cfg.localities.file), ("projections.controls", cfg.projections.controls),
                ("projections.housing", cfg.projections.housing)]
    for key, src in sources:
        if not isinstance(src, DataSource):
            continue
        path = cfg.data_path(src)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        row = {"key": key, "file": portable_source(src.path), "citation": src.cite(), "licence": src.licence,
               "sha256": digest}
        rows.append(row | _fetched(cfg, key))
    return rows


def _fetched(cfg: Config, key: str) -> dict[str, Any]:
    """For a network input ``pna fetch`` made: the overlay it came from and the downloads behind it."""
    name = key.removeprefix("network.")
    if not key.startswith("network.") or cfg.network.overlay is None or name not in cfg.network.origins:
        return {}
    return {"overlay": cfg.network.overlay,
            "origins": [o.model_dump(mode="json") for o in cfg.network.origins[name]]}  # type: ignore[index]


# --------------------------------------------------------------------------- commands
def _cmd_run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, data_dir=args.data_dir, output_dir=args.output_dir)
    board_catalogues(cfg)   # a missing or broken translation stops the run now, not after the slow stages
    if args.no_cache:
        cfg = cfg.model_copy(update={"reuse_outputs": False})
    results = run(cfg)
    info(f"Done: outputs in {cfg.out}")
    for note in results.notes:
        info(f"note: {note}")
    return 0


def assess(cfg: Config, application: Any, *, resilience: bool = False) -> dict[str, Any]:
    """Build the run for ``cfg`` and assess one application; write its page and JSON.

    Only ``cfg.out/assessments/`` is written (the files the stages make on the way go to a
    scratch folder, removed afterwards), so a complete run in ``cfg.out`` stays as it was. The
    output lock is held meanwhile, so a ``pna run`` into the same folder cannot interleave; the
    next run replaces the folder whole, assessments included, as they describe the earlier run.

    Parameters
    ----------
    cfg
        The area config.
    application
        The application (:class:`pna.assess.sites.Application`).
    resilience
        Also write the single-closure resilience tables and maps under ``assessments/resilience``.

    Returns
    -------
    dict
        ``result`` (the assessment) and ``paths`` (the files written, by name).

    Raises
    ------
    OutputError
        If the output folder cannot be written or another process holds its lock.
    """
    out_root = cfg.out / "assessments"
    with output_lock(cfg.out), scratch_output(cfg.out) as scratch:
        try:
            ensure_dir(out_root)   # fail now, not after the slow build
        except OSError as exc:
            raise OutputError(f"{out_root}: cannot create the output folder ({exc.strerror or exc})") from None
        results = build_results(cfg.model_copy(update={"output_dir": scratch}))
        base = assessor_for(results)
        with step(f"Assessing {application.kind} application {application.name!r}"):
            result = assess_application(application, base=base)
        paths = write_assessment(result, out_root, cfg.area.name, {m: results.access.models[m].demand
                                                                  for m in results.access.models})
        if resilience:
            write_resilience(cfg=cfg, tables=results.resilience.tables, pharmacies=results.geography.pharmacies,
                             area=results.geography.area, localities=results.geography.localities,
                             out_dir=out_root / "resilience")
    return {"result": result, "paths": paths}


def _cmd_assess(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, data_dir=args.data_dir, output_dir=args.output_dir)
    app = application_from_args(args)   # validate before the (slower) run
    out = assess(cfg, app, resilience=args.resilience)
    info(f"Assessment written: {out['paths']['html']} and {out['paths']['json']}")
    for g in out["result"].gaps.itertuples():
        info(f"{g.mode}: {g.population_reached:,.0f} residents brought within {g.gap_minutes} min, "
             f"{g.population_pushed_out:,.0f} pushed beyond")
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    national = load_national_config(args.national, data_dir=args.data_dir)
    register = board_register(national)
    board = register.find(args.area)
    path = Path(args.output) if args.output else Path(args.national).resolve().parent / f"{slug(board)}.yaml"
    loc = None
    if args.localities:
        loc = DataSource(path=args.localities, title=f"{board.name} localities", publisher="the board",
                         vintage="as given")
        if not national.data_path(loc).is_file():
            raise InputError(national.data_path(loc), "locality file not found")
    write_area_config(national=national, board=board, path=path, force=args.force, localities_file=loc,
                      rule=args.localities_rule)
    info(f"Wrote {path} for {board.name} ({board.code}, {board.kind}; {board.hwb_name} on the list, "
         f"matched by {board.matched_by}). Run it with: pna run --config {path}")
    return 0


def england(cfg: NationalConfig, *, workers: int | None = None, scheduler: str | None = None) -> Baseline:
    """The national baseline for every board, written atomically into ``cfg.out``."""
    with output_lock(cfg.out), atomic_output(cfg.out, keep=[cfg.project_root, cfg.data_dir]) as tmp:
        quality = QualityLog()
        with step("Mapping the list's boards to areas"):
            register = board_register(cfg)
        if register.unmatched:
            info("boards that map to no area: " + "; ".join(
                f"{n} (closest: {', '.join(c) or 'none'})" for n, c in register.unmatched.items()))
        with step(f"Computing the baseline for {len(register.boards)} boards"):
            baseline = build_baseline(cfg=cfg, register=register, quality=quality)
        with step("Writing the national tables and pages"):
            write_baseline(baseline, cfg=cfg, register=register, out=tmp, workers=workers, scheduler=scheduler,
                           quality=quality)
    return baseline


def _cmd_england(args: argparse.Namespace) -> int:
    cfg = load_national_config(args.config, data_dir=args.data_dir, output_dir=args.output_dir)
    baseline = england(cfg, workers=args.workers, scheduler=args.scheduler)
    info(f"Done: outputs in {cfg.out}")
    for note in baseline.notes:
        info(f"note: {note}")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    path = Path(args.config)
    cfg = load_config(path, data_dir=args.data_dir, check_inputs=False, overlay=False)
    only = [{"osm": "osm_extract", "gtfs": "gtfs"}[o] for o in args.only or []]
    with step(f"Fetching the street network and timetable for {cfg.area.name}"):
        result = fetch(cfg=cfg, config_path=path, from_dir=Path(args.from_dir) if args.from_dir else None,
                       refresh=args.refresh, only=only or None)
    for f in result.files:
        info(f"{f.key}: {f.path} ({f.summary})")
    for note in result.notes:
        info(f"note: {note}")
    if result.files:
        info(f"Wrote {result.overlay}, an overlay: pna run --config {path} now uses these files; {path.name} itself "
             f"is unchanged (delete {result.overlay.name} to go back)")
    return 0


COMMANDS: Mapping[str, Callable[[argparse.Namespace], int]] = {"run": _cmd_run, "assess": _cmd_assess,
                                                               "init": _cmd_init, "england": _cmd_england,
                                                               "fetch": _cmd_fetch}


def main(argv: Sequence[str] | None = None) -> int:
    """The ``pna`` command."""
    return run_cli(argv, commands=COMMANDS)


if __name__ == "__main__":
    sys.exit(main())

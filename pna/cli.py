"""Command line: ``pna run --config config/leicester.yaml`` (and ``pna assess``)."""

from __future__ import annotations

import argparse
import sys

from . import progress
from .config import ConfigError, load_config
from .errors import InputError


def _run(args: argparse.Namespace) -> int:
    from .pipeline import run

    cfg = load_config(args.config, data_dir=args.data_dir, output_dir=args.output_dir)
    ctx = run(cfg)
    progress.info(f"Done: outputs in {cfg.out}")
    for note in ctx.notes:
        progress.info(f"note: {note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pna", description="Pharmaceutical Needs Assessment pipeline")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the whole assessment for one area")
    r.add_argument("--config", required=True, help="area YAML, e.g. config/leicester.yaml")
    r.add_argument("--data-dir", help="data directory (default: $PNA_DATA_DIR or ../shared/pna-data)")
    r.add_argument("--output-dir", help="output directory (default: the config's output_dir)")
    r.add_argument("--quiet", action="store_true", help="no progress messages")
    r.set_defaults(func=_run)
    try:
        from .assess.cli import add_assess_parser
    except ImportError:
        pass
    else:
        add_assess_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress.set_quiet(getattr(args, "quiet", False))
    try:
        return args.func(args)
    except (ConfigError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

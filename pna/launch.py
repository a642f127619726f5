"""The ``pna`` console command: loads the pipeline, so a Ctrl-C while it loads ends with one line.

Loading the pipeline imports the scientific stack (a few seconds); the console-script wrapper
would show a KeyboardInterrupt there as a traceback. The pipeline is loaded by name, so this
module does not import it and the pipeline stays the only orchestrator.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pna`` (see :func:`pna.pipeline.main`); 130 if interrupted while loading."""
    try:
        pipeline = importlib.import_module("pna.pipeline")
    except KeyboardInterrupt:
        print("pna: interrupted while starting; nothing was written", file=sys.stderr)
        return 130
    return int(pipeline.main(argv))

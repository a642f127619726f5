"""The ``pna`` console command: loads the pipeline, so a Ctrl-C while it loads ends with one line.

Loading the pipeline imports the scientific stack (a few seconds); the console-script wrapper
would show a KeyboardInterrupt there as a traceback. The pipeline is loaded by name, so this
module does not import it and the pipeline stays the only orchestrator.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pna`` (see :func:`pna.pipeline.main`); 130 if interrupted while loading."""
    interrupted = False

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    # A Ctrl-C that lands in one of the import system's weakref callbacks is reported as
    # "Exception ignored" and swallowed, and the import goes on: the flag still records it.
    previous = signal.signal(signal.SIGINT, on_sigint)
    hook = sys.unraisablehook

    def quiet(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            hook(unraisable)

    sys.unraisablehook = quiet
    try:
        pipeline = importlib.import_module("pna.pipeline")
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook
    if interrupted:
        print("pna: interrupted while starting; nothing was written", file=sys.stderr)
        return 130
    return int(pipeline.main(argv))

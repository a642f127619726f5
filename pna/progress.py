"""Progress messages for long steps, through the standard ``logging`` module.

Messages go to the ``pna`` logger; the CLI attaches a stderr handler (``--quiet`` and
``--verbose`` set its level), so outputs stay deterministic and library users decide.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["logger", "info", "step", "configure"]

logger = logging.getLogger("pna")


def info(msg: str) -> None:
    """Log one progress message at INFO level."""
    logger.info(msg)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Log when a step starts and how long it took."""
    logger.info("%s ...", name)
    t0 = time.perf_counter()
    yield
    logger.info("%s done in %.1fs", name, time.perf_counter() - t0)


def configure(*, quiet: bool = False, verbose: bool = False) -> None:
    """Send ``pna`` log records to stderr as ``[pna] message`` (the CLI calls this once)."""
    handler = next((h for h in logger.handlers if getattr(h, "_pna", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._pna = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("[pna] %(message)s"))
        logger.addHandler(handler)
    if isinstance(handler, logging.StreamHandler):
        handler.stream = sys.stderr   # today's stderr, not an earlier call's (which may be closed)
    logger.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False

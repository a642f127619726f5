"""Progress messages for long steps (stderr only, so outputs stay deterministic)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def info(msg: str) -> None:
    if not _quiet:
        print(f"[pna] {msg}", file=sys.stderr, flush=True)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Print when a step starts and how long it took."""
    info(f"{name} ...")
    t0 = time.perf_counter()
    yield
    info(f"{name} done in {time.perf_counter() - t0:.1f}s")

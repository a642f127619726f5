"""Timing shared by the benchmark scripts (they run as scripts, so this folder is on sys.path)."""

from __future__ import annotations

import gc
import time

import numpy as np


def best_of(fn, repeats: int) -> tuple[float, object]:
    """Best wall time of ``repeats`` calls (garbage collected before each), and the last result."""
    best, out = np.inf, None
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out

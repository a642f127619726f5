"""Summary statistics shared by the travel models (low level: imports no other ``pna`` module)."""

from __future__ import annotations

import numpy as np

__all__ = ["rank_stat"]


def rank_stat(values: np.ndarray, q: float, *, axis: int = -1) -> np.ndarray:
    """Nearest-rank percentile along an axis: always an observed value, so ``inf``-safe.

    Parameters
    ----------
    values
        Array of values (``inf`` allowed: an unreachable share gives ``inf``, never NaN).
    q
        Percentile in (0, 100]; 50 is the nearest-rank median.
    axis
        The axis reduced.

    Returns
    -------
    numpy.ndarray
        ``values`` with ``axis`` removed; for an axis of length 1, the values themselves.
    """
    values = np.asarray(values)
    n = values.shape[axis]
    if n == 1:  # one departure (a clock-free model): the value itself, without a sort
        return np.take(values, 0, axis=axis)
    v = np.sort(values, axis=axis)
    k = max(int(np.ceil(q / 100.0 * n)) - 1, 0)
    return np.take(v, k, axis=axis)

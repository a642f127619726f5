from __future__ import annotations

import numpy as np

from pna.access.stats import rank_stat


def test_rank_stat_nearest_rank_with_inf():
    v = np.array([[3.0, 1.0, np.inf, 2.0]])
    assert rank_stat(v, 50)[0] == 2.0 and rank_stat(v, 80)[0] == np.inf and rank_stat(v, 1)[0] == 1.0


def test_rank_stat_axis_and_single_value():
    v = np.array([[[4.0], [np.inf]], [[1.0], [2.0]]])       # (2, 2, 1)
    assert rank_stat(v, 50).tolist() == [[4.0, np.inf], [1.0, 2.0]]
    assert rank_stat(v, 50, axis=0).tolist() == [[1.0], [2.0]]
    assert rank_stat(np.array([5.0, 1.0, 3.0]), 100) == 5.0

"""Tests for pna.loaders.deprivation on the real IMD files and synthetic bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pna.errors import InputError
from pna.loaders.deprivation import load_imd2019, load_imd2025

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "pna-data" / "deprivation"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared pna-data not available")


@needs_data
def test_imd2019_real():
    imd = load_imd2019(DATA / "iod2019_lsoa11_ranks_deciles.csv")
    assert len(imd) == 32844 and imd.index.name == "lsoa11_code" and imd.index.is_unique
    assert imd["imd2019_rank"].min() == 1 and imd["imd2019_rank"].max() == 32844
    assert (imd["imd2019_quintile"] == np.ceil(imd["imd2019_decile"] / 2)).all()
    assert sorted(imd["imd2019_quintile"].unique()) == [1, 2, 3, 4, 5]
    # Rank 1 is the most deprived, so it is in decile 1 and quintile 1.
    top = imd.sort_values("imd2019_rank").iloc[0]
    assert top["imd2019_decile"] == 1 and top["imd2019_quintile"] == 1
    assert not imd.index.str.startswith("W").any()


@needs_data
def test_imd2025_real():
    imd = load_imd2025(DATA / "iod2025_lsoa21.csv")
    assert len(imd) == 33755 and imd.index.name == "lsoa21_code"
    assert {"imd2025_rank", "imd2025_decile", "imd2025_quintile", "imd2025_score"} <= set(imd.columns)
    assert (imd["imd2025_quintile"] == np.ceil(imd["imd2025_decile"] / 2)).all()


def test_bad_decile_names_row(tmp_path):
    p = tmp_path / "imd.csv"
    p.write_text("lsoa11_code,IMD_decile,IMD_rank\nE01000001,1,1\nE01000002,11,2\n")
    with pytest.raises(InputError) as err:
        load_imd2019(p)
    assert err.value.row == 3
    p.write_text("lsoa11_code,IMD_decile\nE01000001,1\n")
    with pytest.raises(InputError, match="IMD_rank"):
        load_imd2019(p)

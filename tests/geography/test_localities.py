"""Localities by rule (pna.geography.localities) on the real Leicester and Leicestershire areas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pna.config import AreaSpec, Localities
from pna.geography.area import build_area
from pna.geography.localities import default_groups, grouped_localities
from pna.quality import QualityLog

LEICS = ["E07000129", "E07000130", "E07000131", "E07000132", "E07000133", "E07000134", "E07000135"]


def test_grouping_is_deterministic_and_makes_the_groups_asked_for():
    rng = np.random.default_rng(3)
    c = pd.DataFrame({"x": rng.uniform(0, 1e4, 40), "y": rng.uniform(0, 1e4, 40), "population": 7000.0,
                      "name": [f"Place {i:02d}" for i in range(40)]}, index=[f"E02{i:06d}" for i in range(40)])
    a = grouped_localities(c, groups=6)
    b = grouped_localities(c.sample(frac=1.0, random_state=1), groups=6)
    assert a.equals(b) and a["locality"].nunique() == 6
    assert default_groups(37) == 6 and default_groups(5) == 3 and default_groups(200) == 8 and default_groups(2) == 2


def test_a_unitary_grouped_by_place(leicester_cfg):
    cfg = leicester_cfg.model_copy(update={"localities": Localities(rule="msoa_groups")})
    _, lsoa, loc = build_area(cfg, QualityLog())
    assert len(loc) == 6 and loc["locality"].is_unique
    assert loc["n_msoa"].sum() == lsoa["msoa11_code"].nunique() == 37
    assert loc["pop_total"].sum() == pytest.approx(354_036)


def test_a_county_by_its_districts(leicester_cfg):
    area = AreaSpec(code="E10000018", name="Leicestershire", hwb_name="LEICESTERSHIRE", districts=LEICS)
    cfg = leicester_cfg.model_copy(update={"area": area, "localities": Localities(rule="districts")})
    a, lsoa, loc = build_area(cfg, QualityLog())
    assert list(loc["locality"]) == ["Blaby", "Charnwood", "Harborough", "Hinckley and Bosworth", "Melton",
                                     "North West Leicestershire", "Oadby and Wigston"]
    assert a["area_code"].iloc[0] == "E10000018" and len(a) == 1
    assert loc["pop_total"].sum() == pytest.approx(a["pop_total"].iloc[0]) and 700_000 < a["pop_total"].iloc[0] < 730_000


def test_the_file_rule_needs_a_file():
    with pytest.raises(ValueError, match="no localities.file"):
        Localities(rule="file")

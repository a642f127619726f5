"""The pharmaceutical list as at an earlier date, rebuilt from ODS open and close dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pna.config import load_config
from pna.geography.stage import build_geography
from pna.loaders.stage import load_inputs
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(data_dir):
    cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=data_dir)
    q = QualityLog()
    return cfg, load_inputs(cfg=cfg, quality=q), q


def _geo(inputs, as_at):
    cfg, inp, q = inputs
    cfg = cfg.model_copy(update={"as_at": as_at})
    return build_geography(cfg=cfg, inputs=inp, quality=q)


def test_as_at_2022_rebuilds_the_85_pharmacies_open_that_day(inputs):
    g = _geo(inputs, dt.date(2022, 3, 31))
    own = g.pharmacies[g.pharmacies["in_area"]]
    assert len(own) == 85
    known = own[own["hours_known"].astype(bool)]
    unknown = own[~own["hours_known"].astype(bool)]
    assert len(known) == 81 and len(unknown) == 4
    assert unknown["hours_source"].str.startswith("unknown").all()
    assert (unknown["opening_category"] == "hours unknown").all() and unknown["weekly_hours"].isna().all()
    # changes of ownership at the same premises are found, with their successors
    ch = g.list_changes.set_index("postcode")
    for pc in ("LE3 5EZ", "LE2 8TG", "LE2 6HS", "LE2 9RW"):
        assert ch.loc[pc, "change"] == "change of ownership" and ch.loc[pc, "successor"]
    # an old code whose premises changed hands takes its hours from the successor's row, and says so
    succ = own[own["hours_source"].str.contains("took over the same premises")]
    assert len(succ) == 4
    assert "as at" not in " ".join(g.notes) and any("31 March 2022" in n for n in g.notes)


def test_as_at_list_date_gives_the_list(inputs):
    g = _geo(inputs, dt.date(2023, 12, 31))
    assert int(g.pharmacies["in_area"].sum()) == 81 and g.list_changes is None

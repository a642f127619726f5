"""Postcodes and pharmacies located from the real Newport OSM extract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pna.geography.osm_geocode import locate_pharmacies, postcodes_from_osm
from pna.quality import QualityLog
from tests.access.test_engine import newport_cfg, osm_sites


@pytest.fixture(scope="module")
def postcodes():
    cfg = newport_cfg()
    q = QualityLog()
    return postcodes_from_osm(cfg.data_path(cfg.network.osm_extract), q), q


def test_postcode_table(postcodes):
    pc, q = postcodes
    assert list(pc.columns) == ["postcode", "easting", "northing", "la_code", "positional_quality",
                                "n_points", "source"]
    assert len(pc) > 1000 and pc["postcode"].is_unique and pc["postcode"].is_monotonic_increasing
    assert pc["postcode"].str.match(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$").all()
    assert (pc["source"] == "osm_address").all() and pc["la_code"].isna().all()
    # Newport sits round E 331000, N 188000
    assert pc["easting"].between(310000, 345000).all() and pc["northing"].between(175000, 200000).all()
    assert q.accounting_table()["balanced"].all()
    # Boots on Commercial Street is tagged NP20 1UE: the postcode point is within 150 m of it
    boots = osm_sites().set_index("ods_code").geometry["osm:node/1241319513"]
    row = pc.set_index("postcode").loc["NP20 1UE"]
    assert np.hypot(row["easting"] - boots.x, row["northing"] - boots.y) < 150


def test_locate_pharmacies(postcodes):
    pc, _ = postcodes
    cfg = newport_cfg()
    ph = pd.DataFrame({"ods_code": ["FWT11", "FWQ38", "FZZ99", "FZZ98"],
                       "trading_name": ["BOOTS", "WELL", "NOWHERE PHARMACY", "SOMEWHERE CHEMIST"],
                       "postcode": ["NP20 1UE", "NP19 8NL", "ZZ1 1ZZ", pc["postcode"].iloc[500]],
                       "source_row": [2, 3, 4, 5]})
    q = QualityLog()
    out = locate_pharmacies(ph, cfg.data_path(cfg.network.osm_extract), pc, q)
    got = out.set_index("ods_code")
    assert got.at["FWT11", "geocode_source"] == "osm_pharmacy" and got.at["FWT11", "osm_ref"] == "node/1241319513"
    assert got.at["FWQ38", "osm_ref"] == "node/9174796986"
    assert got.at["FZZ98", "geocode_source"] == "osm_address"
    assert pd.isna(got.at["FZZ99", "easting"]) and got.at["FZZ99", "geocode_source"] is None
    ex = q.table()
    assert ex["record"].tolist() == ["FZZ99"] and ex["row"].tolist() == [4]

"""Circuity measured on the real Newport network."""

from __future__ import annotations

import json

from pna.access.calibrate import calibrate_circuity
from tests.access.test_demand import ROOT
from tests.access.test_engine import newport_graphs


def test_ratios_are_sane_and_reproducible():
    g = newport_graphs()["walk"]
    a = calibrate_circuity(g, n_pairs=300, seed=7, n_origins=30)
    b = calibrate_circuity(g, n_pairs=300, seed=7, n_origins=30)
    assert a == b
    assert a["n_pairs"] >= 250
    # a route between two nodes joined by straight edges is never shorter than the straight line
    assert 1.0 <= a["p25"] <= a["median"] <= a["p75"] < 2.5
    assert all(v["median"] >= 1.0 for v in a["by_band"].values())


def test_drive_is_more_circuitous_than_walk():
    g = newport_graphs()
    w = calibrate_circuity(g["walk"], n_pairs=400, seed=1, n_origins=40)
    d = calibrate_circuity(g["drive"], n_pairs=400, seed=1, n_origins=40)
    assert d["median"] > w["median"]  # one-way streets, no footpaths


def test_calibration_file_documents_method():
    doc = json.loads((ROOT / "benchmarks" / "results" / "calibration.json").read_text())
    assert set(doc["modes"]) == {"walk", "drive"}
    assert "dijkstra" in doc["how"] and doc["extract_file"].endswith(".osm.pbf")
    assert 1.0 < doc["modes"]["walk"]["median"] < 2.0

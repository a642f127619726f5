"""Outputs do not depend on where the data directory or the output folder is (issue 17, item 4),
and row accounting agrees with the exceptions on what was quarantined (item 5)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pna.provenance import portable_source
from pna.quality import QualityLog
from pna.transit.gtfs import load_feed

ROOT = Path(__file__).resolve().parents[1]


def test_portable_source_drops_the_directory_only_from_absolute_paths(tmp_path):
    assert portable_source(tmp_path / "networks" / "feed.zip") == "feed.zip"
    assert portable_source(f"{tmp_path}/networks/feed.zip:stops.txt") == "feed.zip:stops.txt"
    assert portable_source("ods.csv") == "ods.csv"
    assert portable_source("walk street network") == "walk street network"
    assert portable_source("networks/feed.zip") == "networks/feed.zip"   # already relative: kept


def test_quality_log_records_file_names_not_absolute_paths(tmp_path):
    q = QualityLog()
    q.add("s", str(tmp_path / "a" / "x.csv"), 3, "R1", "bad")
    q.add("s", tmp_path / "b" / "y.csv", None, "R2", "odd", action="flagged")
    q.account("k", str(tmp_path / "a" / "x.csv"), 5, 4, 1)
    assert q.table()["source_file"].tolist() == ["x.csv", "y.csv"]
    assert q.accounting_table()["source_file"].tolist() == ["x.csv"]


def test_quality_log_rejects_an_unknown_action():
    with pytest.raises(ValueError, match="unknown exception action 'dropped'"):
        QualityLog().add("s", "x.csv", 1, "R1", "bad", action="dropped")


def test_gtfs_records_are_the_same_whichever_path_reaches_the_data(tmp_path, data_dir):
    link = tmp_path / "elsewhere"
    os.symlink(data_dir, link)
    tables = []
    for root in (data_dir, link):
        q = QualityLog()
        load_feed(root / "networks" / "newport-20230613_gtfs.zip", q)
        tables.append(q.accounting_table().to_csv(index=False))
    assert tables[0] == tables[1] and "newport-20230613_gtfs.zip:stops.txt" in tables[0]
    assert str(data_dir) not in tables[0]


def _blobs(path: Path) -> list[bytes]:
    """A file's bytes; for the zipped formats, each member's."""
    if path.suffix in (".xlsx", ".ods", ".docx"):
        with zipfile.ZipFile(path) as z:
            return [z.read(n) for n in z.namelist()]
    return [path.read_bytes()]


# Two full Newport runs (to compare bytes) take over 90 s, so one run is checked for absolute
# paths instead; that the bytes match is left to the quality-log tests above.
@pytest.mark.e2e
def test_newport_outputs_name_no_absolute_location(newport_run, data_dir):
    _, out = newport_run
    files = [p for p in sorted(out.rglob("*")) if p.is_file()]
    names = {p.relative_to(out).as_posix() for p in files}
    assert {"run.json", "exceptions.csv", "report.html", "tables.xlsx", "tables/row_accounting.csv"} <= names
    needles = {str(p).encode() for p in (data_dir, data_dir.resolve(), out, ROOT)}
    leaks = [p.relative_to(out).as_posix() for p in files if p.suffix != ".pdf"
             and any(n in blob for blob in _blobs(p) for n in needles)]
    assert leaks == []


@pytest.mark.e2e
def test_newport_row_accounting_quarantines_what_the_exceptions_quarantine(newport_run):
    _, out = newport_run
    acc = pd.read_csv(out / "tables" / "row_accounting.csv")
    exc = pd.read_csv(out / "exceptions.csv")
    # A flagged row is kept: no file has more quarantined exception rows than quarantined rows
    # (fewer where a loader lists only the first of many).
    counted = acc.groupby("source_file")["quarantined"].sum()
    logged = exc[exc["action"] == "quarantined"].groupby("source_file").size()
    logged = logged[logged.index.isin(counted.index)]
    assert (logged <= counted.reindex(logged.index)).all(), logged
    # The pharmacies OSM cannot place are dropped: quarantined in both tables (they were 13
    # "quarantined" rows in the accounting but "flagged" exceptions).
    unlocated = exc[(exc["stage"] == "access.osm_geocode") & exc["reason"].str.contains("cannot be located")]
    assert len(unlocated) and (unlocated["action"] == "quarantined").all()
    ph = acc.set_index("check").loc["pharmacies located from OpenStreetMap"]
    assert int(ph["quarantined"]) == len(unlocated)
    run_json = json.loads((out / "run.json").read_text())
    assert all(not os.path.isabs(r["source_file"]) for r in run_json["row_accounting"])

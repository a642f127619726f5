"""Content fingerprints and the folder store behind the reuse of unchanged outputs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from pna.cache import FolderStore, Unhashable, code_version, fingerprint


@dataclasses.dataclass(frozen=True)
class Part:
    name: str
    frame: pd.DataFrame
    tags: frozenset[str]
    where: Path


def _sample(cell: float = 1.5) -> dict:
    frame = pd.DataFrame({"code": ["A1", None, "C3"], "value": [cell, np.nan, 3.0], "n": [1, 2, 3]})
    shapes = gpd.GeoDataFrame({"code": ["A1", "B2"]}, geometry=[shapely.Point(0, 0), shapely.Point(1, 1)],
                              crs="EPSG:27700")
    return {"part": Part("p", frame, frozenset({"walk", "drive", "transit"}), Path("/out/x.tif")),
            "shapes": shapes, "tree": cKDTree(np.array([[0.0, 0.0], [1.0, 2.0]])),
            "when": dt.date(2024, 4, 1), "array": np.arange(4)}


SCRIPT = """
import sys, datetime as dt
sys.path.insert(0, {tests!r})
from test_cache import _sample
from pna.cache import fingerprint
print(fingerprint(_sample()))
"""


def test_the_same_content_gives_the_same_key_in_processes_with_different_hash_seeds():
    tests = str(Path(__file__).parent)
    keys = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], env=env, check=True,
                             capture_output=True, text=True).stdout.strip()
        keys.add(out)
    assert keys == {fingerprint(_sample())}


def test_any_changed_cell_changes_the_key():
    assert fingerprint(_sample(1.5)) != fingerprint(_sample(1.25))
    a, b = _sample(), _sample()
    b["shapes"].loc[1, "geometry"] = shapely.Point(1, 2)
    assert fingerprint(a) != fingerprint(b)


def test_later_columns_count_even_when_temporaries_are_freed():
    # Each column is read through a short-lived object; a freed object's id may be reused by the
    # next, which must not make the walk mistake new content for something it has seen.
    base = pd.DataFrame({f"c{i}": np.arange(50, dtype=float) + i for i in range(40)})
    changed = base.copy()
    changed.iloc[7, 39] = -1.0
    assert fingerprint([base, base]) != fingerprint([base, changed])


def test_paths_inside_the_output_folder_count_by_their_place_in_it():
    a = {"raster": Path("/tmp/out.tmp-1/rasters/walk.tif")}
    b = {"raster": Path("/tmp/out.tmp-2/rasters/walk.tif")}
    assert fingerprint(a) != fingerprint(b)
    assert (fingerprint(a, relative_to=Path("/tmp/out.tmp-1"))
            == fingerprint(b, relative_to=Path("/tmp/out.tmp-2")))


def test_skipped_fields_do_not_count():
    a, b = _sample(), _sample()
    b["part"] = dataclasses.replace(b["part"], name="q")
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint(a, skip=frozenset({"name"})) == fingerprint(b, skip=frozenset({"name"}))


def test_an_object_without_content_is_refused():
    with pytest.raises(Unhashable):
        fingerprint({"lock": object()})


def test_code_version_is_a_digest():
    assert len(code_version()) == 64


def test_store_keeps_and_restores_files_and_payload(tmp_path):
    src = tmp_path / "src"
    (src / "maps").mkdir(parents=True)
    (src / "report.html").write_text("<p>report</p>")
    (src / "maps" / "walk.html").write_bytes(b"\x00map")
    store = FolderStore(tmp_path / "cache", "outputs")
    assert store.restore("k1", tmp_path / "dest") is None
    store.store("k1", src, ["report.html", "maps/walk.html"], {"notes": ["a note"]})
    dest = tmp_path / "dest"
    assert store.restore("k1", dest) == {"notes": ["a note"]}
    assert (dest / "report.html").read_text() == "<p>report</p>"
    assert (dest / "maps" / "walk.html").read_bytes() == b"\x00map"
    # a copy, not a link: editing the output leaves the kept file alone
    (dest / "report.html").write_text("edited")
    assert store.restore("k1", tmp_path / "again") is not None
    assert (tmp_path / "again" / "report.html").read_text() == "<p>report</p>"


def test_a_damaged_entry_is_discarded_not_restored(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "report.pdf").write_bytes(b"%PDF complete")
    store = FolderStore(tmp_path / "cache", "outputs")
    store.store("k", src, ["report.pdf"], {})
    kept = tmp_path / "cache" / "outputs" / "k"
    (kept / "files" / "report.pdf").write_bytes(b"%PDF cut sh")
    assert store.restore("k", tmp_path / "dest") is None
    assert not kept.exists()
    assert not (tmp_path / "dest" / "report.pdf").exists()
    manifest = tmp_path / "cache" / "outputs" / "m"
    store.store("m", src, ["report.pdf"], {})
    (manifest / "manifest.json").write_text(json.dumps({"files": "not a mapping"}))
    assert store.restore("m", tmp_path / "dest") is None


def test_store_keeps_only_the_newest_entries(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    store = FolderStore(tmp_path / "cache", "outputs", keep=2)
    for i, key in enumerate(("a", "b", "c")):
        store.store(key, src, ["f"], {})
        os.utime(tmp_path / "cache" / "outputs" / key, ns=(i * 10**9, i * 10**9))
    store.store("d", src, ["f"], {})
    assert sorted(p.name for p in (tmp_path / "cache" / "outputs").iterdir()) == ["c", "d"]


def test_a_disabled_store_keeps_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    store = FolderStore(None, "outputs")
    store.store("k", src, ["f"], {})
    assert store.restore("k", tmp_path / "dest") is None
    assert list(tmp_path.iterdir()) == [src]

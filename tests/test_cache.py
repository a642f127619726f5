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

from pna.cache import FolderStore, Unhashable, cached_frames, code_version, fingerprint
from pna.quality import QualityLog


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


# --------------------------------------------------------------------------- parsed inputs
def _parse_counter(path: Path, calls: list[int]):
    """A 'parser' of ``path`` that records one exception and counts its calls."""
    def build(q: QualityLog) -> tuple[pd.DataFrame, gpd.GeoDataFrame, int]:
        calls.append(1)
        text = path.read_text()
        frame = pd.DataFrame({"code": ["A1", None, text], "hours": [((540, 780),), (), ((1, 2), (3, 4))],
                              "value": [1.5, np.nan, 3.0]})
        frame["label"] = pd.Series(["x", None, "z"], dtype=object)
        frame.attrs["total_mismatches"] = 2
        shapes = gpd.GeoDataFrame({"code": ["A1"]}, geometry=[shapely.Point(1, 2)], crs="EPSG:27700")
        q.add("test", path, 3, "A1", "odd row", action="flagged")
        q.account("test:rows", path, 3, 3, 0)
        return frame, shapes.set_index("code"), 7
    return build


def test_parsed_inputs_are_read_back_exactly_with_their_exceptions(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("C3")
    calls: list[int] = []
    logs = [QualityLog(), QualityLog()]
    first = cached_frames(tmp_path / "cache", "sample", files=[src], quality=logs[0],
                          build=_parse_counter(src, calls))
    again = cached_frames(tmp_path / "cache", "sample", files=[src], quality=logs[1],
                          build=_parse_counter(src, calls))
    assert len(calls) == 1                      # the second was read from Parquet
    assert fingerprint(again) == fingerprint(first)
    assert again[0]["hours"].iloc[2] == ((1, 2), (3, 4)) and again[0]["label"].dtype == object
    assert again[1].crs == "EPSG:27700" and again[0].attrs == {"total_mismatches": 2}
    assert logs[1].records == logs[0].records and logs[1].accounts == logs[0].accounts
    assert list((tmp_path / "cache" / "inputs" / "sample").glob("*/files/*.parquet"))


def test_a_changed_file_or_parameter_is_parsed_again(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("C3")
    calls: list[int] = []
    for params in ("a", "a", "b"):
        cached_frames(tmp_path, "sample", files=[src], params=params, quality=None, build=_parse_counter(src, calls))
    assert len(calls) == 2
    src.write_text("D4")
    got = cached_frames(tmp_path, "sample", files=[src], params="b", quality=None, build=_parse_counter(src, calls))
    assert len(calls) == 3 and got[0]["code"].iloc[2] == "D4"


def test_without_a_cache_folder_every_call_parses(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("C3")
    calls: list[int] = []
    for _ in range(2):
        cached_frames(None, "sample", files=[src], quality=None, build=_parse_counter(src, calls))
    assert len(calls) == 2 and not list(tmp_path.rglob("*.parquet"))


def test_a_frame_parquet_cannot_hold_exactly_is_never_kept(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("x")
    calls: list[int] = []

    def build(q: QualityLog) -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"mixed": [1, "two", 3.0]})   # Parquet has no column of mixed types

    for _ in range(2):
        got = cached_frames(tmp_path, "mixed", files=[src], quality=None, build=build)
    assert len(calls) == 2 and got["mixed"].tolist() == [1, "two", 3.0]


def test_a_failed_parse_keeps_nothing_and_a_damaged_entry_is_rebuilt(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("C3")

    def fail(q: QualityLog) -> pd.DataFrame:
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        cached_frames(tmp_path, "sample", files=[src], quality=None, build=fail)
    assert not list(tmp_path.rglob("*.parquet"))
    calls: list[int] = []
    cached_frames(tmp_path, "sample", files=[src], quality=None, build=_parse_counter(src, calls))
    for f in tmp_path.rglob("*.parquet"):
        f.write_bytes(b"damaged")
    got = cached_frames(tmp_path, "sample", files=[src], quality=None, build=_parse_counter(src, calls))
    assert len(calls) == 2 and got[2] == 7

"""``pna fetch`` end to end against the loopback server, then a run on the fetched files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pna.access.stage import run_access
from pna.config import load_config, overlay_path
from pna.geography.stage import build_geography
from pna.loaders.stage import load_inputs
from pna.pipeline import input_manifest, main
from pna.quality import QualityLog

from .conftest import serve_newport

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, server, **sources) -> Path:
    """config/newport.yaml in a project folder of its own, its fetch sources on the loopback server."""
    raw = yaml.safe_load((ROOT / "config" / "newport.yaml").read_text())
    raw["output_dir"] = str(tmp_path / "out")
    raw["fetch"] = {"sources": {"osm_index": server.url("/index-v1.json"),
                                "gtfs": [server.url("/timetable/download/gtfs-file/wales/")], **sources}}
    path = tmp_path / "config" / "newport.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw))
    return path


def test_fetch_chooses_clips_writes_the_overlay_and_a_run_uses_both_engines(server, data_dir, newport_boundary,
                                                                               tmp_path, capsys):
    serve_newport(server, data_dir, newport_boundary)
    path = _config(tmp_path, server)
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir)]) == 0
    err = capsys.readouterr().err
    assert "newport.fetched.yaml, an overlay" in err and "no checksum published" in err
    got = [p for p, _ in server.requests]
    assert "/newport-latest.osm.pbf" in got and not {"/wales-latest.osm.pbf", "/gb-latest.osm.pbf"} & set(got)
    over = overlay_path(path)
    assert over.is_file() and yaml.safe_load(path.read_text())["network"]["osm_extract"]["path"].startswith(
        "networks/")   # the analyst's config is untouched
    text = over.read_text()
    assert text.startswith("# Written by `pna fetch") and ".cache/fetch/newport/newport.osm.pbf" in text

    cfg = load_config(path, data_dir=data_dir)
    assert cfg.network.overlay == "newport.fetched.yaml"
    assert cfg.data_path(cfg.network.osm_extract) == tmp_path / ".cache" / "fetch" / "newport" / "newport.osm.pbf"
    assert cfg.network.gtfs.vintage == "valid 2023-06-05 to 2024-03-01"
    rows = {r["key"]: r for r in input_manifest(cfg)}
    osm, gtfs = rows["network.osm_extract"], rows["network.gtfs"]
    assert osm["file"] == "newport.osm.pbf" and osm["overlay"] == "newport.fetched.yaml"
    (o,) = osm["origins"]
    assert o["url"] == server.url("/newport-latest.osm.pbf") and o["osm_replication_timestamp"] is None
    assert o["sha256"] == __import__("hashlib").sha256(server.files["/newport-latest.osm.pbf"]).hexdigest()
    (g,) = gtfs["origins"]
    assert (g["valid_from"], g["valid_to"]) == ("2023-06-05", "2024-03-01") and g["downloaded_at"].endswith("Z")

    # a following run reads the fetched files: the street network and timetable engines, not estimates
    cfg = cfg.model_copy(update={"travel": cfg.travel.model_copy(update={"isochrone_modes": []})})
    q = QualityLog()
    geo = build_geography(cfg=cfg, inputs=load_inputs(cfg=cfg, quality=q), quality=q)
    access = run_access(cfg=cfg, geography=geo, quality=q, rasters=False)
    for mode, method in (("walk", "network"), ("drive", "network"), ("transit", "timetable")):
        cov = access.tables[f"coverage_{mode}"]
        assert set(cov["method"]) == {method} and not cov["is_estimate"].any(), mode


def test_a_404_is_one_clear_line_and_exit_code_2(server, data_dir, tmp_path, capsys):
    path = _config(tmp_path, server)   # the server holds no index
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir), "--only", "osm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[-1].startswith("error: ") and "HTTP 404" in err[-1]
    assert server.url("/index-v1.json") in err[-1] and "Traceback" not in "".join(err)
    assert not overlay_path(path).exists()


def test_an_extract_that_fails_its_published_md5_is_refused(server, data_dir, newport_boundary, tmp_path, capsys):
    serve_newport(server, data_dir, newport_boundary)
    server.files["/newport-latest.osm.pbf.md5"] = b"0123456789abcdef0123456789abcdef  newport-latest.osm.pbf\n"
    path = _config(tmp_path, server)
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir), "--only", "osm"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "not the published 0123456789abcdef0123456789abcdef" in err and "newport-latest.osm.pbf" in err
    assert not (tmp_path / ".cache" / "downloads" / "newport-latest.osm.pbf").exists()


def test_a_body_that_is_not_a_zip_is_one_clear_line_and_exit_code_2(server, data_dir, tmp_path, capsys):
    server.files["/timetable/download/gtfs-file/wales/"] = b"<html><body>Please log in</body></html>"
    path = _config(tmp_path, server)
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir), "--only", "gtfs"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "not a zip file" in err and "/gtfs-file/wales/" in err
    assert not list((tmp_path / ".cache" / "downloads").glob("*.zip"))
    assert not overlay_path(path).exists()


def test_a_welsh_area_without_a_gtfs_source_is_told_why(server, data_dir, newport_boundary, tmp_path, capsys):
    serve_newport(server, data_dir, newport_boundary)
    path = _config(tmp_path, server, gtfs=[])
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir), "--only", "gtfs"]) == 0
    err = capsys.readouterr().err
    assert "No timetable fetched" in err and "covers England only" in err and "fetch.sources.gtfs" in err
    assert not overlay_path(path).exists()


def test_a_missing_overlay_file_is_a_clear_config_error(server, data_dir, tmp_path):
    path = _config(tmp_path, server)
    overlay_path(path).write_text("network:\n  gtfs:\n    path: .cache/fetch/newport/gone.zip\n    title: t\n"
                                  "    publisher: p\n    vintage: v\n")
    with pytest.raises(Exception, match="run pna fetch --config"):
        load_config(path, data_dir=data_dir)
    assert load_config(path, data_dir=data_dir, overlay=False).network.overlay is None


def test_from_dir_takes_files_downloaded_by_hand(server, data_dir, tmp_path, capsys):
    given = tmp_path / "given"
    given.mkdir()
    for name in ("small-osm.pbf", "newport-20230613_gtfs.zip"):   # the small extract keeps it fast
        target = given / name.replace("small-osm.pbf", "small.osm.pbf")
        target.symlink_to(data_dir / "networks" / name)   # read in place, not copied
    path = _config(tmp_path, server)
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir), "--from-dir", str(given)]) == 0
    assert server.requests == []   # nothing asked of the network
    cfg = load_config(path, data_dir=data_dir)
    assert [o.url for o in cfg.network.origins["osm_extract"]] == ["from-dir:small.osm.pbf"]
    assert [o.url for o in cfg.network.origins["gtfs"]] == ["from-dir:newport-20230613_gtfs.zip"]
    assert cfg.data_path(cfg.network.gtfs).is_file()


def test_an_english_area_gets_its_bods_region_feed(server, data_dir, tmp_path, capsys):
    """Leicester lies in Geofabrik's Leicestershire, so the East Midlands regional download is asked for."""
    import json

    from shapely.geometry import box, mapping

    server.files["/index-v1.json"] = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(box(-1.6, 52.3, -0.6, 53.0)),
         "properties": {"id": "leicestershire", "parent": "england", "name": "Leicestershire",
                        "urls": {"pbf": server.url("/leicestershire-latest.osm.pbf")}}}]}).encode()
    server.files["/gtfs/east_midlands/"] = (data_dir / "networks" / "newport-20230613_gtfs.zip").read_bytes()
    raw = yaml.safe_load((ROOT / "config" / "leicester.yaml").read_text())
    raw["fetch"] = {"sources": {"osm_index": server.url("/index-v1.json"),
                                "gtfs_region": server.url("/gtfs/{region}/")}}
    path = tmp_path / "config" / "leicester.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(raw))
    assert main(["fetch", "--config", str(path), "--data-dir", str(data_dir), "--only", "gtfs"]) == 0
    assert ("/gtfs/east_midlands/", None) in server.requests
    err = capsys.readouterr().err
    # the Newport feed stands in for the region: none of its trips serve Leicester, and it is said
    assert "(176 trips) calls at a stop inside the area: the timetable is not used" in err
    assert not overlay_path(path).exists()

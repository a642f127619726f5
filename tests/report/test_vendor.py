"""Vendoring Leaflet for offline maps: the npm tarball check, the asset trimming and the copy."""

from __future__ import annotations

import tarfile
from pathlib import Path

import folium
import pytest

from pna.report import vendor


def test_use_leaflet_only_drops_every_other_folium_asset():
    for vendored, base in ((True, "lib"), (False, vendor.LEAFLET_CDN)):
        m = vendor.use_leaflet_only(folium.Map(tiles=None), vendored)
        html = m.get_root().render()
        for other in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "glyphicons"):
            assert other not in html.lower(), other
        assert f'<script src="{base}/leaflet.js"></script>' in html
        assert f'<link rel="stylesheet" href="{base}/leaflet.css"/>' in html
    # other maps keep folium's defaults: the change is per instance
    assert len(folium.Map().default_js) > 1


def test_leaflet_dir_needs_every_file(tmp_path):
    d = tmp_path / f"leaflet-{vendor.LEAFLET_VERSION}"
    for name in vendor.LEAFLET_FILES[:-1]:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(b"x")
    assert vendor.leaflet_dir(tmp_path) is None
    (d / vendor.LEAFLET_FILES[-1]).write_bytes(b"x")
    assert vendor.leaflet_dir(tmp_path) == d


def test_missing_npm_is_a_clear_error_and_main_carries_on(tmp_path, monkeypatch, capsys):
    with pytest.raises(RuntimeError, match="no-such-npm not found"):
        vendor.vendor_leaflet(tmp_path, npm="no-such-npm")
    monkeypatch.setenv("PNA_VENDOR_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert vendor.main() == 0
    assert "need an internet connection" in capsys.readouterr().err
    assert vendor.leaflet_dir(tmp_path) is None


def _fake_npm(tmp_path: Path, tgz: Path) -> str:
    """An executable standing in for npm that 'packs' ``tgz`` (to test the integrity check offline)."""
    exe = tmp_path / "bin" / "npm"
    exe.parent.mkdir(parents=True)
    exe.write_text(f'#!/bin/sh\ncp "{tgz}" "$4/leaflet-{vendor.LEAFLET_VERSION}.tgz"\n')
    exe.chmod(0o755)
    return str(exe)


def test_a_tarball_with_other_bytes_is_refused(tmp_path):
    src = tmp_path / "src" / "package" / "dist"
    for name in vendor.LEAFLET_FILES:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("alert('not leaflet')")
    tgz = tmp_path / "evil.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        tf.add(src.parent, arcname="package")
    root = tmp_path / "vendor"
    with pytest.raises(RuntimeError, match="integrity"):
        vendor.vendor_leaflet(root, npm=_fake_npm(tmp_path, tgz))
    assert vendor.leaflet_dir(root) is None


def test_vendored_copy_is_leaflet_and_copies_byte_for_byte(tmp_path):
    src = vendor.leaflet_dir()
    if src is None:
        pytest.skip("no vendored Leaflet (python -m pna.report.vendor)")
    assert f"Leaflet {vendor.LEAFLET_VERSION}" in (src / "leaflet.js").read_text(encoding="utf-8")[:300]
    first = vendor.copy_leaflet(tmp_path, src)
    stamp = [p.stat().st_mtime_ns for p in first]
    again = vendor.copy_leaflet(tmp_path, src)
    assert first == again == [tmp_path / "lib" / n for n in vendor.LEAFLET_FILES]
    assert [p.stat().st_mtime_ns for p in again] == stamp   # unchanged files are not rewritten
    for n in vendor.LEAFLET_FILES:
        assert (tmp_path / "lib" / n).read_bytes() == (src / n).read_bytes()


def test_nothing_to_copy_without_a_vendored_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("PNA_VENDOR_DIR", str(tmp_path / "empty"))
    assert vendor.copy_leaflet(tmp_path / "out") == []
    assert not (tmp_path / "out").exists()

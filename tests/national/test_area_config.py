"""``pna init`` writes a config any board can run (pna.national.area_config), on the real national inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pna.config import load_config, load_national_config
from pna.geography.stage import build_geography
from pna.loaders.stage import load_inputs
from pna.national.area_config import board_register, slug, write_area_config
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def national(data_dir, national_cache):
    cfg = load_national_config(ROOT / "config" / "england.yaml", data_dir=data_dir)
    return cfg.model_copy(update={"cache_dir": national_cache})


@pytest.fixture(scope="module")
def register(national):
    return board_register(national)


def _init(national, register, area: str, tmp_path: Path, **kw) -> Path:
    board = register.find(area)
    path = tmp_path / "config" / f"{slug(board)}.yaml"
    return write_area_config(national=national, board=board, path=path, **kw)


@pytest.mark.parametrize("area, kind, rule, n_localities", [
    ("Leicestershire", "county", "districts", 7),
])
def test_init_then_the_area_is_placed_with_its_localities(national, register, tmp_path, data_dir, national_cache,
                                                          area, kind, rule, n_localities):
    path = _init(national, register, area, tmp_path)
    text = path.read_text()
    assert "# Localities: " in text and "osm_extract: null" in text and "straight-line" in text
    cfg = load_config(path, data_dir=data_dir, output_dir=tmp_path / "out")
    cfg = cfg.model_copy(update={"cache_dir": national_cache})
    assert cfg.localities.chosen_rule == rule and register.find(area).kind == kind
    q = QualityLog()
    geo = build_geography(cfg=cfg, inputs=load_inputs(cfg=cfg, quality=q), quality=q)
    assert len(geo.localities) == n_localities
    own = geo.pharmacies[geo.pharmacies["in_area"].astype(bool)]
    listed = (geo.pharmacies["hwb"] == cfg.area.hwb_name).sum() if "hwb" in geo.pharmacies else len(own)
    assert len(own) >= 0.98 * listed > 0   # nearly all the board's pharmacies placed inside it


def test_init_and_run_the_city_of_london_end_to_end(national, register, tmp_path, data_dir, national_cache):
    path = _init(national, register, "CITY OF LONDON", tmp_path)
    with path.open("a") as f:   # the decoded postcode directory the other tests use
        f.write(f"cache_dir: {national_cache}\n")
    exe = Path(sys.executable).with_name("pna")
    out = tmp_path / "out"
    proc = subprocess.run([str(exe), "run", "--config", str(path), "--data-dir", str(data_dir), "--output-dir",
                           str(out), "--quiet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    html = (out / "report.html").read_text()
    assert "City of London" in html and (out / "report.pdf").is_file() and (out / "tables.xlsx").is_file()
    assert "estimate" in html.lower()   # straight-line times are said to be estimates


def test_init_refuses_to_overwrite_and_rejects_a_one_district_county_rule(national, register, tmp_path):
    path = _init(national, register, "Leicester", tmp_path)
    with pytest.raises(Exception, match="already exists"):
        _init(national, register, "Leicester", tmp_path)
    with pytest.raises(Exception, match="one district"):
        _init(national, register, "Leicester", tmp_path, force=True, rule="districts")
    assert path.is_file()

"""``pna init`` writes a config any board can run (pna.national.area_config), on the real national inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pna.config import load_config, load_national_config
from pna.national.area_config import board_register, slug, write_area_config
from pna.pipeline import main

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


def test_a_county_config_names_its_districts_and_localities(national, register, tmp_path, data_dir):
    path = _init(national, register, "Leicestershire", tmp_path)
    text = path.read_text()
    assert "# Localities: each district council area" in text and "osm_extract: null" in text
    cfg = load_config(path, data_dir=data_dir)
    assert cfg.localities.chosen_rule == "districts" and len(cfg.area.districts) == 7
    assert cfg.area.code == "E10000018" and cfg.inputs.codepoint is None   # national postcodes by default


def test_init_and_run_the_city_of_london_end_to_end(national, register, tmp_path, data_dir, national_cache):
    path = _init(national, register, "CITY OF LONDON", tmp_path)
    with path.open("a") as f:   # the decoded postcode directory the other tests use
        f.write(f"cache_dir: {national_cache}\n")
    out = tmp_path / "out"
    assert main(["run", "--config", str(path), "--data-dir", str(data_dir), "--output-dir", str(out), "--quiet"]) == 0
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

from pathlib import Path

import pytest
import yaml

from pna.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load((ROOT / "config" / "leicester.yaml").read_text())
    mutate(raw)
    cfg_dir = tmp_path / "config"
    cfg_dir.mkdir(exist_ok=True)
    p = cfg_dir / "area.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_leicester_config_loads(leicester_cfg):
    assert leicester_cfg.area.code == "E06000016"
    assert leicester_cfg.area.hwb_name == "LEICESTER CITY"
    assert leicester_cfg.boundary_bands_km == [0.5, 1.0, 1.5]
    assert leicester_cfg.travel.walk.speed_kmh == 4.8
    assert leicester_cfg.data_path(leicester_cfg.inputs.ods_history).is_file()


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_key_rejected(tmp_path, data_dir):
    p = _write(tmp_path, lambda r: r.update(colour="blue"))
    with pytest.raises(ConfigError, match="colour"):
        load_config(p, data_dir=data_dir)


def test_missing_key_rejected(tmp_path, data_dir):
    p = _write(tmp_path, lambda r: r["area"].pop("hwb_name"))
    with pytest.raises(ConfigError, match="area.hwb_name"):
        load_config(p, data_dir=data_dir)


def test_bad_area_code_and_bands(tmp_path, data_dir):
    def mutate(r):
        r["area"]["code"] = "X123"
        r["boundary_bands_km"] = [1.0, 0.5]
    p = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as err:
        load_config(p, data_dir=data_dir)
    assert "area.code" in str(err.value) and "boundary_bands_km" in str(err.value)


def test_thresholds_must_increase(tmp_path, data_dir):
    p = _write(tmp_path, lambda r: r["travel"]["walk"].update(thresholds_min=[20, 10]))
    with pytest.raises(ConfigError, match="thresholds_min"):
        load_config(p, data_dir=data_dir)


def test_missing_input_file_named(tmp_path, data_dir):
    p = _write(tmp_path, lambda r: r["inputs"]["ods_history"].update(path="pharmacies/missing.csv"))
    with pytest.raises(ConfigError, match="missing.csv"):
        load_config(p, data_dir=data_dir)


def test_data_dir_env_and_flag(tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("PNA_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(ConfigError, match="elsewhere"):
        load_config(ROOT / "config" / "leicester.yaml")
    cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=data_dir)  # the flag wins
    assert cfg.data_dir == data_dir


def test_not_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("area: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_override_paths(leicester_cfg):
    assert leicester_cfg.override_path("geocode") == leicester_cfg.project_root / "config/overrides/leicester_geocode.csv"
    cfg = leicester_cfg.model_copy(update={"overrides": leicester_cfg.overrides.model_copy(update={"locality": None})})
    assert cfg.override_path("locality") is None


def test_leicester_consultation_details_are_left_for_the_board(leicester_cfg):
    spec = leicester_cfg.consultation
    assert spec.opens is None and spec.email is None and spec.languages == []
    assert "email address" in spec.to_fill() and "opening and closing dates" in spec.to_fill()
    assert [q.id for q in spec.questions] == ["purpose", "provision", "needs", "gaps", "conclusions"]


@pytest.mark.parametrize("block, why", [
    ({"opens": "2025-06-02", "closes": "2025-07-30"}, "59 days; regulation 8 requires at least 60"),
    ({"opens": "2025-06-02"}, "give both opens and closes"),
    ({"languages": ["Urdu"]}, "not BCP 47 codes"),
    ({"email": "not an address"}, "consultation.email"),
    ({"online_form": "http://example.org/form"}, "consultation.online_form"),
    ({"age_bands": [{"label": "Under 18", "low": 0, "high": 17}]}, "high must be 4, 9, 14"),
])
def test_consultation_block_is_checked(tmp_path, data_dir, block, why):
    p = _write(tmp_path, lambda r: r["consultation"].update(block))
    with pytest.raises(ConfigError, match=why):
        load_config(p, data_dir=data_dir)


def test_sixty_day_window_accepted(tmp_path, data_dir):
    p = _write(tmp_path, lambda r: r["consultation"].update(opens="2025-06-02", closes="2025-07-31"))
    cfg = load_config(p, data_dir=data_dir)
    assert (cfg.consultation.closes - cfg.consultation.opens).days + 1 == 60

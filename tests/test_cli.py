from pathlib import Path

from pna.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_missing_config_is_a_clear_error(capsys, tmp_path):
    assert main(["run", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "configuration file not found" in capsys.readouterr().err


def test_missing_data_dir_names_every_missing_input(capsys, tmp_path):
    assert main(["run", "--config", str(ROOT / "config" / "leicester.yaml"), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "inputs.pharmaceutical_list" in err and str(tmp_path) in err


def test_commands_exist():
    p = build_parser()
    assert p.parse_args(["run", "--config", "x.yaml"]).command == "run"
    assert p.parse_args(["assess", "--config", "x.yaml", "--kind", "closure", "--ods-code", "FAB12"]).command == "assess"

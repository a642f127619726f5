import signal
from pathlib import Path

from pna.cli import build_parser, run_cli
from pna.errors import InputError
from pna.pipeline import main
from pna.runlock import Interrupted

ROOT = Path(__file__).resolve().parents[1]


def test_missing_config_is_a_clear_error(capsys, tmp_path):
    assert main(["run", "--config", str(tmp_path / "none.yaml")]) == 2
    err = capsys.readouterr().err
    assert "configuration file not found" in err and "Traceback" not in err


def test_missing_data_dir_names_every_missing_input(capsys, tmp_path):
    assert main(["run", "--config", str(ROOT / "config" / "leicester.yaml"), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "inputs.pharmaceutical_list" in err and str(tmp_path) in err


def test_commands_exist():
    p = build_parser()
    assert p.parse_args(["run", "--config", "x.yaml"]).command == "run"
    assert p.parse_args(["assess", "--config", "x.yaml", "--kind", "closure", "--ods-code", "FAB12"]).command == "assess"


def _failing(args):
    raise InputError("list.csv", "expected 25 fields, found 19", row=309)


def test_pna_error_is_one_line_and_exit_2(capsys):
    assert run_cli(["run", "--config", "x.yaml"], commands={"run": _failing}) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: list.csv, row 309: expected 25 fields, found 19"


def test_verbose_shows_the_traceback(capsys):
    assert run_cli(["run", "--config", "x.yaml", "--verbose"], commands={"run": _failing}) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().endswith("error: list.csv, row 309: expected 25 fields, found 19")


def test_ctrl_c_exits_130_without_a_traceback(capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    assert run_cli(["run", "--config", "x.yaml"], commands={"run": interrupted}) == 130
    assert capsys.readouterr().err.strip() == "pna: interrupted"


def test_sigterm_exits_143_with_the_message_of_the_interruption(capsys):
    def terminated(args):
        signal.raise_signal(signal.SIGTERM)   # run_cli's handler turns it into Interrupted
        raise AssertionError("not reached")

    before = signal.getsignal(signal.SIGTERM)
    assert run_cli(["run", "--config", "x.yaml"], commands={"run": terminated}) == 143
    assert capsys.readouterr().err.strip() == "pna: terminated"
    assert signal.getsignal(signal.SIGTERM) is before   # the handler is the command's only


def test_interrupted_carries_its_exit_code_and_line(capsys):
    def stopped(args):
        raise Interrupted(143, "terminated; the previous outputs in /x are unchanged")

    assert run_cli(["run", "--config", "x.yaml"], commands={"run": stopped}) == 143
    assert capsys.readouterr().err.strip() == "pna: terminated; the previous outputs in /x are unchanged"


def test_missing_translation_catalogue_stops_the_run_at_once(capsys, tmp_path, data_dir):
    import yaml

    raw = yaml.safe_load((ROOT / "config" / "leicester.yaml").read_text(encoding="utf-8"))
    raw["consultation"].update(languages=["ur"], catalogues=str(tmp_path / "i18n"))
    raw["project_root"] = str(ROOT)
    path = tmp_path / "area.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["run", "--config", str(path), "--data-dir", str(data_dir), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(tmp_path / "i18n" / "ur.json") in err[0] and "supplied no catalogue" in err[0]
    assert not (tmp_path / "out").exists()

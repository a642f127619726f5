"""``pna assess`` end to end for a Leicester postcode: the real pipeline context, then the assessment."""

from __future__ import annotations

import json

from pna.pipeline import main


def test_cli_writes_html_and_json(leicester_results, tmp_path):
    cfg_path = leicester_results.cfg.project_root / "config" / "leicester.yaml"
    code = leicester_results.geography.pharmacies.loc[leicester_results.geography.pharmacies["in_area"], "ods_code"].iloc[0]
    rc = main(["assess", "--config", str(cfg_path), "--data-dir", str(leicester_results.cfg.data_dir),
               "--output-dir", str(tmp_path), "--kind", "relocation", "--ods-code", code,
               "--postcode", "LE1 5WW", "--name", "Relocated pharmacy", "--ref", "cli-test",
               "--hours", "mon-fri=09:00-18:30", "--hours", "sat=09:00-13:00", "--services", "flu,NMS",
               "--resilience", "--quiet"])
    assert rc == 0
    folder = tmp_path / "assessments" / "cli-test"
    html = (folder / "assessment.html").read_text(encoding="utf-8")
    data = json.loads((folder / "assessment.json").read_text(encoding="utf-8"))
    assert "Relocated pharmacy" in html and code in html
    assert data["application"]["kind"] == "relocation" and data["summary"]["closes"] == [code]
    assert data["application"]["hours"]["fri"] == "09:00-18:30" and "sun" not in data["application"]["hours"]
    assert data["site"]["locality"] == "Central"
    walk = [r for r in data["tables"]["coverage"] if r["mode"] == "walk" and r["group_type"] == "area"]
    assert len(walk) == len(leicester_results.cfg.travel.walk.thresholds_min)
    res = tmp_path / "assessments" / "resilience"
    assert (res / "resilience_walk.csv").is_file() and (res / "resilience_walk_map.html").is_file()


def test_cli_reports_bad_input(leicester_results, tmp_path, capsys):
    rc = main(["assess", "--config", str(leicester_results.cfg.project_root / "config" / "leicester.yaml"),
               "--output-dir", str(tmp_path), "--postcode", "LE1 5WW", "--hours", "mon=25:00-26:00", "--quiet"])
    assert rc == 2 and "hours for mon" in capsys.readouterr().err

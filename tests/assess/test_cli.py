"""``pna assess`` end to end for a Leicester postcode.

The run context is the session's real Leicester context (built from the same stages as
``pna.pipeline.build_context``), handed to the CLI in place of a second full build to keep the
suite fast; everything after it (parsing, assessing, writing) is the real command.
"""

from __future__ import annotations

import json

import pna.pipeline
from pna.cli import main


def test_cli_writes_html_and_json(leicester_ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(pna.pipeline, "build_context", lambda cfg: leicester_ctx)
    code = leicester_ctx.pharmacies.loc[leicester_ctx.pharmacies["in_area"], "ods_code"].iloc[0]
    rc = main(["assess", "--config", str(leicester_ctx.cfg.project_root / "config" / "leicester.yaml"),
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
    assert (tmp_path / "assessments" / "resilience" / "resilience_walk.csv").is_file()


def test_cli_reports_bad_input(leicester_ctx, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pna.pipeline, "build_context", lambda cfg: leicester_ctx)
    rc = main(["assess", "--config", str(leicester_ctx.cfg.project_root / "config" / "leicester.yaml"),
               "--output-dir", str(tmp_path), "--postcode", "LE1 5WW", "--hours", "mon=25:00-26:00", "--quiet"])
    assert rc == 2 and "hours for mon" in capsys.readouterr().err

"""The synthetic survey export (tests/fixtures/consultation) and the consultation block written for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pna.config import ConsultationSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "consultation"
EXPORT = FIXTURES / "responses.csv"


@pytest.fixture(scope="session")
def survey_spec() -> ConsultationSpec:
    return ConsultationSpec.model_validate(yaml.safe_load((FIXTURES / "consultation.yaml").read_text("utf-8")))

"""Shared fixtures: the real data beside the repository, and the Leicester config."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "pna-data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def leicester_cfg(data_dir):
    from pna.config import load_config

    return load_config(ROOT / "config" / "leicester.yaml", data_dir=data_dir)

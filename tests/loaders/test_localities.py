"""Tests for pna.loaders.localities: the real Leicester file, its validation, and the fallback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pna.config import DataSource, Localities, load_config
from pna.errors import InputError
from pna.loaders.localities import load_localities

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "pna-data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared pna-data not available")


@pytest.fixture(scope="module")
def cfg():
    return load_config(ROOT / "config" / "leicester.yaml")


@pytest.fixture(scope="module")
def leicester_msoas():
    lk = pd.read_csv(DATA / "lookups" / "lookup_lsoa11_msoa11.csv", dtype=str)
    la = pd.read_csv(DATA / "lookups" / "lookup_lsoa11_ltla21.csv", dtype=str)
    codes = la.loc[la["ltla21_code"] == "E06000016", "lsoa11_code"]
    return sorted(lk.loc[lk["lsoa11_code"].isin(codes), "msoa11_code"].unique())


def _with_file(cfg, path: Path):
    src = DataSource(path=str(path), title="t", publisher="p", vintage="v")
    return cfg.model_copy(update={"localities": Localities(file=src)})


@needs_data
def test_leicester_localities(cfg, leicester_msoas):
    assert len(leicester_msoas) == 37
    loc = load_localities(cfg, leicester_msoas)
    assert list(loc.index) == leicester_msoas
    assert loc["locality"].value_counts().sort_index().to_dict() == {
        "Central": 7, "East": 5, "North": 7, "North West": 5, "South": 6, "West": 7}


@needs_data
@pytest.mark.parametrize("edit, match, row", [
    (lambda df: df.iloc[1:], "have no locality", None),
    (lambda df: pd.concat([df, df.iloc[[0]]]), "listed twice", 39),
    (lambda df: pd.concat([df, pd.DataFrame([{"msoa11_code": "E02000001", "msoa11_name": "x",
                                              "locality": "Central"}])]), "not in area", 39),
    (lambda df: df.assign(locality=df["locality"].where(df.index != 4, "")), "blank locality", 6),
])
def test_localities_file_errors(cfg, leicester_msoas, tmp_path, edit, match, row):
    good = pd.read_csv(cfg.data_path(cfg.localities.file), dtype=str).reset_index(drop=True)
    bad = tmp_path / "loc.csv"
    edit(good).to_csv(bad, index=False)
    with pytest.raises(InputError, match=match) as err:
        load_localities(_with_file(cfg, bad), leicester_msoas)
    assert err.value.row == row and err.value.file == str(bad)


@needs_data
def test_no_file_uses_msoa_names_or_codes(cfg, leicester_msoas):
    bare = cfg.model_copy(update={"localities": Localities()})
    loc = load_localities(bare, leicester_msoas)
    assert len(loc) == 37 and loc["locality"].is_unique
    assert loc.loc["E02002844", "locality"] == "St Matthews & Highfields North"
    # Welsh MSOAs have no House of Commons Library name: the code is used.
    wales = load_localities(bare, ["W02000347", "W02000348"])
    assert list(wales["locality"]) == ["W02000347", "W02000348"]

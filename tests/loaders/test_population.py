"""Tests for pna.loaders.population on the real SAPE file and on small synthetic files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pna.errors import InputError
from pna.loaders.population import AGE_COLUMNS, BAND_COLUMNS, age_groups, load_sape
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "pna-data"
SAPE = DATA / "population" / "ons_sape_mid2020_lsoa11_single_year_of_age.csv"
needs_data = pytest.mark.skipif(not SAPE.is_file(), reason="shared pna-data not available")


def _leicester_codes() -> list[str]:
    lk = pd.read_csv(DATA / "lookups" / "lookup_lsoa11_ltla21.csv", dtype=str)
    return lk.loc[lk["ltla21_code"] == "E06000016", "lsoa11_code"].tolist()


@needs_data
def test_leicester_total_and_groups():
    q = QualityLog()
    sape = load_sape(SAPE, _leicester_codes(), q)
    assert len(sape) == 192 and sape.index.name == "lsoa11_code"
    assert list(sape.columns) == AGE_COLUMNS + ["total_population"]
    assert sape["total_population"].sum() == 354036
    assert sape.attrs["total_mismatches"] == 0 and q.table().empty
    g = age_groups(sape)
    assert g["pop_total"].sum() == 354036
    assert (g[BAND_COLUMNS].sum(axis=1) == g["pop_total"]).all()
    assert (g["pop_0_17"] + g["pop_18_64"] + g["pop_65plus"] == g["pop_total"]).all()
    assert (g["pop_18plus"] == g["pop_18_64"] + g["pop_65plus"]).all()
    code = sape.index[0]
    assert g.loc[code, "age_85plus"] == sape.loc[code, [str(a) for a in range(85, 90)] + ["90+"]].sum()


def _synthetic(tmp_path: Path, rows: list[tuple[str, float, list[float]]]) -> Path:
    header = ["lsoa11_name", "lsoa11_code", "total_population", *AGE_COLUMNS]
    lines = [",".join(header)]
    for code, total, ages in rows:
        lines.append(",".join([f"X {code}", code, str(total), *map(str, ages)]))
    p = tmp_path / "sape.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_mismatch_flagged_and_missing_code_error(tmp_path):
    ages = [1.0] * 91
    p = _synthetic(tmp_path, [("E01000001", 91.0, ages), ("E01000002", 95.0, ages)])
    q = QualityLog()
    sape = load_sape(p, quality=q)
    assert sape.attrs["total_mismatches"] == 1
    ex = q.table()
    assert list(ex["record"]) == ["E01000002"] and ex.loc[0, "row"] == 3 and ex.loc[0, "action"] == "flagged"
    assert "-4" in ex.loc[0, "reason"]
    with pytest.raises(InputError, match="E01999999"):
        load_sape(p, ["E01000001", "E01999999"])


def test_negative_or_text_counts_rejected(tmp_path):
    ages = [1.0] * 91
    bad = ages.copy()
    bad[3] = -2.0
    p = _synthetic(tmp_path, [("E01000001", 91.0, ages), ("E01000002", 87.0, bad)])
    with pytest.raises(InputError) as err:
        load_sape(p)
    assert err.value.row == 3
    p.write_text(p.read_text().replace(",-2.0,", ",x,"))
    with pytest.raises(InputError):
        load_sape(p)

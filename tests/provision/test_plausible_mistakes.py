"""Negative or missing populations in the comparator and projection inputs are errors naming file, row,
LSOA and column (issue 17), on small edited copies of the real files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pna.errors import InputError
from pna.provision.projections import census2011_by_lsoa, census2021_to_lsoa11
from pna.provision.tables import national_population


def _copy(src: Path, out: Path, keep, edit) -> Path:
    """Header plus the lines ``keep`` accepts; ``edit(header, fields)`` changes the first kept line."""
    lines = src.read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:] if keep(ln)]
    edit(header, rows[0])
    out.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return out


@pytest.fixture(scope="module")
def sape(leicester_cfg) -> Path:
    return leicester_cfg.data_path(leicester_cfg.inputs.national_population)


def _first_rows(n: int):
    seen = {"n": 0}

    def keep(_: str) -> bool:
        seen["n"] += 1
        return seen["n"] <= n

    return keep


@pytest.mark.parametrize("value, why", [("-5.0", "-5 is negative"), ("", "is blank")])
def test_national_comparator_rejects_bad_counts(sape, tmp_path, value, why):
    def spoil(header: list[str], row: list[str]) -> None:
        row[header.index("total_population")] = value

    path = _copy(sape, tmp_path / "national.csv", _first_rows(300), spoil)
    with pytest.raises(InputError) as err:
        national_population(path)
    assert err.value.file == str(path) and err.value.row == 2
    assert "LSOA E01011949" in err.value.reason and "column 'total_population'" in err.value.reason
    assert why in err.value.reason


def test_national_comparator_reads_only_its_country(sape, tmp_path):
    def welsh_negative(header: list[str], row: list[str]) -> None:
        row[header.index("lsoa11_code")] = "W01099999"
        row[header.index("total_population")] = "-1.0"

    path = _copy(sape, tmp_path / "national.csv", _first_rows(300), welsh_negative)
    total, adult = national_population(path)                  # England only: the Welsh row is not read
    kept = pd.read_csv(path).iloc[1:]
    assert total == kept["total_population"].sum() and 0 < adult < total
    with pytest.raises(InputError, match="no LSOA codes starting E01"):
        national_population(_copy(sape, tmp_path / "w.csv", lambda ln: ln.startswith("Cardiff"), lambda h, r: None))


def test_census2021_negative_residents(leicester_cfg, tmp_path):
    cfg = leicester_cfg
    src = cfg.data_path(cfg.inputs.census2021_lsoa)

    def spoil(header: list[str], row: list[str]) -> None:
        row[header.index("usual_residents")] = "-10.0"

    path = _copy(src, tmp_path / "census.csv", lambda ln: ",Leicester " in ln, spoil)
    lk = pd.read_csv(cfg.data_path(cfg.inputs.lsoa_la_lookup), dtype=str)
    codes = lk.loc[lk["ltla21_code"] == cfg.area.code, "lsoa11_code"].to_numpy()
    weights = pd.DataFrame({"under65": 1.0, "over65": 1.0}, index=codes)
    with pytest.raises(InputError) as err:
        census2021_to_lsoa11(path, cfg.data_path(cfg.inputs.lsoa11_lsoa21_lookup), codes, weights)
    first = path.read_text().splitlines()[1].split(",")[0]
    assert err.value.row == 2 and f"LSOA {first}" in err.value.reason
    assert "column 'usual_residents'" in err.value.reason and "-10 is negative" in err.value.reason


def test_census2011_negative_population(leicester_cfg, tmp_path):
    cfg = leicester_cfg
    src = cfg.data_path(cfg.inputs.output_area_population)

    def spoil(header: list[str], row: list[str]) -> None:
        row[header.index("Total_Population")] = "-1"

    path = _copy(src, tmp_path / "oa.csv", lambda ln: True, spoil)
    first_lsoa = path.read_text().splitlines()[1].split(",")[1]
    with pytest.raises(InputError) as err:
        census2011_by_lsoa(path, [first_lsoa])
    assert err.value.row == 2 and f"LSOA {first_lsoa}" in err.value.reason
    assert "column 'Total_Population'" in err.value.reason and "-1 is negative" in err.value.reason

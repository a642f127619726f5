"""Plausible mistakes in real inputs are caught (issue 17): each test edits a small copy of a real file."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pna.config import DataSource, Localities
from pna.errors import InputError
from pna.loaders.hours import summarise_hours
from pna.loaders.localities import load_localities
from pna.loaders.pharmacies import LIST_COLUMNS, load_pharmaceutical_list
from pna.loaders.population import load_sape
from pna.loaders.stage import load_inputs
from pna.quality import QualityLog

HWB = "LEICESTER CITY"


def _source(path: Path) -> DataSource:
    return DataSource(path=str(path), title="edited copy", publisher="test", vintage="test")


def _with_list(cfg, path: Path):
    return cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"pharmaceutical_list": _source(path)})})


def list_copy(cfg, out: Path, edit: Callable[[dict[str, str]], None] | None = None,
              boards: tuple[str, ...] | None = (HWB,)) -> Path:
    """The real list's header and the rows of ``boards`` (all if None), each passed through ``edit``."""
    text = cfg.data_path(cfg.inputs.pharmaceutical_list).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in body:
        rec = dict(zip(header, r))
        if boards is not None and rec["HEALTH_AND_WELLBEING_BOARD"].strip() not in boards:
            continue
        if edit is not None:
            edit(rec)
        w.writerow([rec[h] for h in header])
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


# --------------------------------------------------------------------------- 1: HWB name absent from the list
def test_hwb_name_not_in_list_names_file_and_closest_boards(leicester_cfg):
    cfg = leicester_cfg.model_copy(update={"area": leicester_cfg.area.model_copy(update={"hwb_name": "LEICESTER CTY"})})
    with pytest.raises(InputError) as err:
        load_inputs(cfg=cfg, quality=QualityLog())
    msg = str(err.value)
    assert err.value.file == str(cfg.data_path(cfg.inputs.pharmaceutical_list))
    assert "'LEICESTER CTY'" in msg and "closest" in msg and "'LEICESTER CITY'" in msg


def test_hwb_name_in_other_case_is_pointed_out(leicester_cfg, tmp_path):
    cfg = _with_list(leicester_cfg, list_copy(leicester_cfg, tmp_path / "list.csv"))
    cfg = cfg.model_copy(update={"area": cfg.area.model_copy(update={"hwb_name": "Leicester City"})})
    with pytest.raises(InputError, match="closest.*'LEICESTER CITY'"):
        load_inputs(cfg=cfg, quality=QualityLog())
    # The real name passes.
    assert (load_inputs(cfg=_with_list(leicester_cfg, tmp_path / "list.csv"), quality=QualityLog())
            .candidates["hwb"] == HWB).sum() == 81


# --------------------------------------------------------------------------- 2: header-only list
def test_header_only_list_is_a_clear_error(leicester_cfg, tmp_path):
    path = list_copy(leicester_cfg, tmp_path / "header_only.csv", boards=())
    assert len(path.read_text().splitlines()) == 1
    with pytest.raises(InputError, match="no data rows") as err:
        load_pharmaceutical_list(path, QualityLog())
    assert err.value.file == str(path) and err.value.row == 1
    with pytest.raises(InputError, match="no data rows"):
        load_inputs(cfg=_with_list(leicester_cfg, path), quality=QualityLog())


def test_summarise_hours_of_no_rows():
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in LIST_COLUMNS})
    out = summarise_hours(empty)
    assert len(out) == 0 and out["late_weekday"].dtype == bool and out["hours_mismatch"].dtype == bool


# --------------------------------------------------------------------------- 3: a locality typo
def _localities_copy(cfg, out: Path, edit: Callable[[pd.DataFrame], pd.DataFrame]):
    df = pd.read_csv(cfg.data_path(cfg.localities.file), dtype=str, keep_default_na=False)
    edit(df).to_csv(out, index=False)
    return cfg.model_copy(update={"localities": Localities(file=_source(out))}), list(df["msoa11_code"])


def test_locality_typo_making_a_one_msoa_locality_is_flagged(leicester_cfg, tmp_path):
    def typo(df: pd.DataFrame) -> pd.DataFrame:
        first = df.index[df["locality"] == "Central"][0]
        df.loc[first, "locality"] = "Centrall"
        return df

    cfg, codes = _localities_copy(leicester_cfg, tmp_path / "loc.csv", typo)
    q = QualityLog()
    loc = load_localities(cfg, codes, q)
    assert (loc["locality"] == "Centrall").sum() == 1           # still loaded: a flag, not an error
    ex = q.table()
    assert len(ex) == 1
    r = ex.iloc[0]
    assert (r["action"], r["record"], r["field"], r["row"]) == ("flagged", "Centrall", "locality", 2)
    assert "1 MSOA" in r["reason"] and "'Central'" in r["reason"] and r["source_file"] == "loc.csv"


def test_real_localities_raise_no_flag(leicester_cfg):
    q = QualityLog()
    codes = pd.read_csv(leicester_cfg.data_path(leicester_cfg.localities.file), dtype=str)["msoa11_code"]
    load_localities(leicester_cfg, codes, q)
    assert q.table().empty


# --------------------------------------------------------------------------- 5 and 7: population
def _sape_copy(cfg, out: Path, edit: Callable[[list[str], list[str]], None]) -> tuple[Path, list[str]]:
    """Header and Leicester's rows of the real mid-2020 SAPE file; ``edit(header, fields)`` on the first row."""
    lines = cfg.data_path(cfg.inputs.population).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:] if ln.startswith("Leicester ")]
    edit(header, rows[0])
    out.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return out, [r[1] for r in rows]


@pytest.mark.parametrize("value, why", [("-3.0", "-3 is negative"), ("", "is blank"), ("n/a", "'n/a' is not a number")])
def test_bad_population_count_names_row_lsoa_and_column(leicester_cfg, tmp_path, value, why):
    def spoil(header: list[str], row: list[str]) -> None:
        row[header.index("70")] = value

    path, codes = _sape_copy(leicester_cfg, tmp_path / "sape.csv", spoil)
    assert len(codes) == 192
    with pytest.raises(InputError) as err:
        load_sape(path, codes)
    assert err.value.row == 2 and err.value.file == str(path)
    assert f"LSOA {codes[0]}" in err.value.reason and "column '70'" in err.value.reason and why in err.value.reason


def test_missing_population_column_names_the_file_header(leicester_cfg, tmp_path):
    def rename(header: list[str], row: list[str]) -> None:
        header[header.index("total_population")] = "population_total"

    path, codes = _sape_copy(leicester_cfg, tmp_path / "sape.csv", rename)
    with pytest.raises(InputError) as err:
        load_sape(path, codes)
    assert "total column (one of total_population" in err.value.reason
    assert "population_total" in err.value.reason          # what the file has instead


# --------------------------------------------------------------------------- 6: daily totals disagreeing with the hours
def test_total_disagreeing_with_hours_is_flagged_with_both_values(leicester_cfg, tmp_path):
    def all_day(rec: dict[str, str]) -> None:
        if rec["PHARMACY_ODS_CODE_(F-CODE)"] == "FAF98":
            assert rec["MON_TOTAL"] == "9.5"
            rec["PHARMACY_OPENING_HOURS_MONDAY"] = "00:00-24:00"

    path = list_copy(leicester_cfg, tmp_path / "list.csv", all_day)
    q = QualityLog()
    df = load_pharmaceutical_list(path, q)
    assert len(df) == 81                                         # kept: the parsed hours are used
    ex = q.table()
    ex = ex[ex["record"] == "FAF98"].set_index("field")
    assert list(ex.index) == ["MON_TOTAL", "WEEKLY_TOTAL"] and (ex["action"] == "flagged").all()
    assert ex.loc["MON_TOTAL", "reason"].startswith("MON_TOTAL is 9.5 h in the file but "
                                                    "PHARMACY_OPENING_HOURS_MONDAY '00:00-24:00' gives 24 h")
    assert "week's opening hours give" in ex.loc["WEEKLY_TOTAL", "reason"]
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith("FAF98,"))
    assert (ex["row"] == line).all()


def test_real_leicester_totals_agree(leicester_cfg, tmp_path):
    q = QualityLog()
    load_pharmaceutical_list(list_copy(leicester_cfg, tmp_path / "list.csv"), q)
    assert not q.table()["reason"].str.contains("in the file but").any()


# --------------------------------------------------------------------------- 7: missing list columns
def test_missing_list_column_names_the_files_own_headers(leicester_cfg, tmp_path):
    path = list_copy(leicester_cfg, tmp_path / "list.csv")
    lines = path.read_text().splitlines()
    lines[0] = lines[0].replace("POST_CODE", "POSTCODES").replace("PHARMACY_OPENING_HOURS_MONDAY,", "MONDAY,")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        load_pharmaceutical_list(path, QualityLog())
    reason = err.value.reason
    assert reason.startswith("missing required columns: POST_CODE (closest in the file: 'POSTCODES'), "
                             "PHARMACY_OPENING_HOURS_MONDAY")
    assert "hours_mon" not in reason and "postcode," not in reason and err.value.row == 1

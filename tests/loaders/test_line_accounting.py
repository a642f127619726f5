"""Line-exact row accounting (issue 17, items 1 and 6): every physical line of a CSV input is a row.

A stray quote must not swallow the lines after it unseen, and a file cut short must say so.
Each test edits a copy of a real file under ``tmp_path`` (or writes a few lines of its own).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pna.config import DataSource
from pna.errors import InputError
from pna.io import BLANK_LINE, ENDS_MID_ROW, FILE_FIELD, read_csv_text
from pna.loaders.deprivation import load_imd2019
from pna.loaders.localities import load_localities
from pna.loaders.pharmacies import LIST_MIN_LINES, load_ods_history, load_pharmaceutical_list
from pna.loaders.population import load_sape
from pna.loaders.postcodes import load_codepoint, load_postcode_directory
from pna.loaders.stage import load_inputs
from pna.quality import QualityLog

LIST = "pharmacies/nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv"
ODS = "pharmacies/ods_edispensary_2025-05.csv"
LIST_KEY = "pharmaceutical list: {}"


def physical_data_lines(raw: bytes, header: bool = True) -> int:
    """Data lines counted from the bytes alone: newlines, a last line without one, less the header."""
    return raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0) - (1 if header else 0)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines))
    return path


@pytest.fixture(scope="module")
def real_list(data_dir) -> Path:
    return data_dir / LIST


# --------------------------------------------------------------------------- the stray quote
def test_stray_quote_names_the_line_and_the_lines_it_swallows(real_list, tmp_path):
    lines = _lines(real_list)
    assert lines[308].startswith(b"FAF98,LEICESTER CITY,BOOTS,")
    lines[308] = lines[308].replace(b"FAF98,LEICESTER CITY,BOOTS,", b'FAF98,LEICESTER CITY,"BOOTS,', 1)
    path = _write(tmp_path / "list.csv", lines)
    with pytest.raises(InputError) as err:
        load_pharmaceutical_list(path, QualityLog())
    e = err.value
    assert e.file == str(path) and e.row == 309
    assert "a quote opened on line 309 (field 3, PHARMACY_TRADING_NAME, character 22) is not closed" in e.reason
    assert "it swallows lines 310\u2013313" in e.reason
    assert str(path) in str(e)


def test_unmatched_quote_swallows_to_the_end_of_the_file(real_list, tmp_path):
    lines = _lines(real_list)[:1] + [ln for ln in _lines(real_list)[1:40] if b'"' not in ln] + [b""]
    lines[5] = lines[5].replace(b",", b',"', 1)
    path = _write(tmp_path / "list.csv", lines)
    with pytest.raises(InputError, match=r"line 6 .* it swallows lines 7\u2013\d+ \(to the end of the file\)") as err:
        load_pharmaceutical_list(path, QualityLog())
    assert err.value.row == 6


@pytest.mark.parametrize("raw", [b'"l', b'lsoa11_code,"IMD_rank\n'])
def test_quote_left_open_in_a_header_with_no_rows_is_an_error(tmp_path, raw):
    # found by the fuzz test: a one-line file whose header opens a quote reached pandas' tokenizer
    path = tmp_path / "imd.csv"
    path.write_bytes(raw)
    with pytest.raises(InputError, match=r"quote opened in the header \(line 1\) is not closed") as err:
        load_imd2019(path)
    assert err.value.row == 1


def test_quote_left_open_on_the_last_line_is_an_error(real_list, tmp_path):
    lines = _lines(real_list)[:1] + [ln for ln in _lines(real_list)[1:40] if b'"' not in ln][:3] + [b""]
    lines[3] = lines[3].replace(b",", b',"', 1)
    path = _write(tmp_path / "list.csv", lines)
    with pytest.raises(InputError, match="quote opened on line 4 .* the last of the file") as err:
        load_pharmaceutical_list(path, QualityLog())
    assert err.value.row == 4


def test_quote_inside_a_field_is_literal_and_the_rows_balance(real_list, tmp_path):
    lines = _lines(real_list)
    lines[308] = lines[308].replace(b"BOOTS,", b'BOO"TS,', 1)   # not at a field's start: csv keeps it
    path = _write(tmp_path / "list.csv", lines)
    q = QualityLog()
    df = load_pharmaceutical_list(path, q)
    assert df.set_index("ods_code").at["FAF98", "trading_name"] == 'BOO"TS'
    acc = q.accounts[LIST_KEY.format("list.csv")]
    assert acc.rows_in == len(df) == 10785 == physical_data_lines(path.read_bytes())


# --------------------------------------------------------------------------- the truncated file
def test_truncated_list_quarantines_the_cut_row_and_flags_the_file(real_list, tmp_path):
    raw = real_list.read_bytes()
    lines = raw.split(b"\n")
    cut = sum(len(ln) + 1 for ln in lines[:4999]) + 40          # 40 bytes into line 5000
    path = tmp_path / "list.csv"
    path.write_bytes(raw[:cut])
    assert physical_data_lines(path.read_bytes()) == 4999
    q = QualityLog()
    df = load_pharmaceutical_list(path, q)
    acc = q.accounts[LIST_KEY.format("list.csv")]
    assert (acc.rows_in, acc.accepted, acc.quarantined) == (4999, 4998, 1) and len(df) == 4998
    ex = q.table()
    quar = ex[ex["action"] == "quarantined"]
    assert quar["row"].tolist() == [5000] and quar["record"].tolist() == ["line 5000"]
    assert quar["reason"].iat[0].startswith(ENDS_MID_ROW) and "of 25 fields" in quar["reason"].iat[0]
    whole = ex[ex["field"] == FILE_FIELD]
    assert (whole["action"] == "flagged").all() and (whole["row"] == "").all()
    reasons = " | ".join(whole["reason"])
    assert "the file ends mid-row (truncated?): its last line, 5000, is cut short" in reasons
    assert "4,999 data lines, much shorter than a national file: truncated?" in reasons


def test_cut_at_a_line_end_is_short_but_not_mid_row(real_list, tmp_path):
    lines = _lines(real_list)
    path = _write(tmp_path / "list.csv", lines[:3001] + [b""])
    q = QualityLog()
    load_pharmaceutical_list(path, q)
    acc = q.accounts[LIST_KEY.format("list.csv")]
    assert acc.rows_in == 3000 == acc.accepted
    whole = q.table()
    whole = whole[whole["field"] == FILE_FIELD]
    assert len(whole) == 1 and "much shorter than a national file" in whole["reason"].iat[0]
    assert 3000 < LIST_MIN_LINES


def test_a_whole_list_raises_no_file_flag(real_list):
    q = QualityLog()
    load_pharmaceutical_list(real_list, q)
    assert not (q.table()["field"] == FILE_FIELD).any()


def test_truncated_list_reaches_the_notes(leicester_cfg, real_list, tmp_path):
    raw = real_list.read_bytes()
    path = tmp_path / "list.csv"
    path.write_bytes(raw[:raw.index(b"\nFAG17,") + 30])      # Leicester's line 309 survives whole
    src = DataSource(path=str(path), title="cut copy", publisher="test", vintage="test")
    cfg = leicester_cfg.model_copy(update={"inputs": leicester_cfg.inputs.model_copy(
        update={"pharmaceutical_list": src})})
    got = load_inputs(cfg=cfg, quality=QualityLog())
    notes = " ".join(got.notes)
    assert "list.csv: the file ends mid-row (truncated?)" in notes
    assert "much shorter than a national file: truncated?" in notes


def test_truncated_ods_extract(data_dir, tmp_path):
    raw = (data_dir / ODS).read_bytes()
    path = tmp_path / "ods.csv"
    path.write_bytes(raw[:raw.index(b"\n", 300_000) + 25])
    q = QualityLog()
    ods = load_ods_history(path, q)
    acc = q.accounts["ODS history: ods.csv"]
    assert acc.rows_in == physical_data_lines(path.read_bytes(), header=False) == acc.accepted + 1 == len(ods) + 1
    ex = q.table()
    assert ex.loc[ex["action"] == "quarantined", "reason"].str.startswith(ENDS_MID_ROW).tolist() == [True]
    assert ex.loc[ex["field"] == FILE_FIELD, "reason"].str.contains("much shorter than a national file").any()


def test_cut_inside_a_multibyte_character_is_mid_row(real_list, tmp_path):
    lines = _lines(real_list)[:30]
    lines[29] = lines[29].replace(b",", ",CAF\u00c9 ".encode(), 1)
    raw = b"\n".join(lines)
    path = tmp_path / "list.csv"
    path.write_bytes(raw[:raw.index("\u00c9".encode()) + 1])    # half of the two bytes of É
    q = QualityLog()
    load_pharmaceutical_list(path, q)
    ex = q.table()
    assert ex.loc[ex["row"] == 30, "reason"].str.startswith(ENDS_MID_ROW).all()


# --------------------------------------------------------------------------- blank lines and line endings
def test_blank_lines_and_crlf_are_counted_line_for_line(real_list, tmp_path):
    lines = _lines(real_list)[:21]
    lines[5:5] = [b"", b"  ", b",,,,"]
    raw = b"\r\n".join(lines) + b"\r\n\r\n"
    path = tmp_path / "list.csv"
    path.write_bytes(raw)
    q = QualityLog()
    df = load_pharmaceutical_list(path, q)
    acc = q.accounts[LIST_KEY.format("list.csv")]
    assert acc.rows_in == physical_data_lines(raw) == 24 and acc.accepted == len(df) == 20
    quar = q.table()
    quar = quar[quar["action"] == "quarantined"]
    assert quar["row"].tolist() == [6, 7, 8, 25] and (quar["reason"] == BLANK_LINE).all()
    assert df["source_row"].tolist() == [*range(2, 6), *range(9, 25)]   # text-editor lines


def test_header_missing_a_column_is_an_error_not_a_file_of_quarantines(real_list, tmp_path):
    lines = _lines(real_list)[:50]
    lines[0] = lines[0].replace(b"ADDRESS_FIELD3,", b"", 1)
    path = _write(tmp_path / "list.csv", lines)
    with pytest.raises(InputError, match="no data row has the header's 24 fields .*25.*missing from the header"):
        load_pharmaceutical_list(path, QualityLog())


# --------------------------------------------------------------------------- the other CSV loaders
def test_population_stray_quote_and_truncation(data_dir, tmp_path):
    lines = _lines(data_dir / "population/ons_sape_mid2020_lsoa11_single_year_of_age.csv")[:60] + [b""]
    quoted = lines.copy()
    quoted[9] = b'"' + quoted[9]
    path = _write(tmp_path / "sape.csv", quoted)
    with pytest.raises(InputError, match=r"line 10 \(field 1, lsoa11_name, character 1\).*swallows lines 11\u201360 "
                       r"\(to the end of the file\)"):
        load_sape(path)
    raw = b"\n".join(lines)
    path.write_bytes(raw[:-200])
    with pytest.raises(InputError, match=r"file ends mid-row \(truncated\?\): \d+ of 94 fields") as err:
        load_sape(path)
    assert err.value.row == 60
    path.write_bytes(b"\n".join(lines[:5] + [b""] + lines[5:]))     # a blank line: skipped, lines still exact
    sape = load_sape(path, quality=QualityLog())
    assert len(sape) == 59


def test_deprivation_wrong_width_names_the_line(data_dir, tmp_path):
    lines = _lines(data_dir / "deprivation/iod2019_lsoa11_ranks_deciles.csv")[:30] + [b""]
    lines[12] += b",extra"
    path = _write(tmp_path / "imd.csv", lines)
    with pytest.raises(InputError, match="expected .* fields, found") as err:
        load_imd2019(path)
    assert err.value.row == 13


def test_localities_truncated(leicester_cfg, tmp_path):
    src = leicester_cfg.data_path(leicester_cfg.localities.file)
    raw = src.read_bytes()
    path = tmp_path / "loc.csv"
    path.write_bytes(raw[:raw.rindex(b",")])
    codes = pd.read_csv(src, dtype=str)["msoa11_code"]
    cfg = leicester_cfg.model_copy(update={"localities": leicester_cfg.localities.model_copy(
        update={"file": DataSource(path=str(path), title="t", publisher="p", vintage="v")})})
    with pytest.raises(InputError, match="ends mid-row") as err:
        load_localities(cfg, codes)
    assert err.value.row == physical_data_lines(raw) + 1


def test_codepoint_and_directory_count_every_line(data_dir, tmp_path):
    cp_lines = _lines(data_dir / "postcodes/codepoint_open_2025_4_LE.csv")[:100]
    cp = _write(tmp_path / "le.csv", cp_lines[:40] + [b""] + cp_lines[40:])    # a blank line; cut mid-row
    cp.write_bytes(cp.read_bytes()[:-30])
    q = QualityLog()
    df = load_codepoint(cp, data_dir / "postcodes/Code-Point_Open_Column_Headers.csv", q)
    acc = q.accounts["postcodes:codepoint"]
    assert acc.rows_in == physical_data_lines(cp.read_bytes(), header=False) == 101 and acc.balanced
    ex = q.table().set_index("row")
    assert ex.at[41, "reason"] == BLANK_LINE and ex.at[101, "reason"].startswith(ENDS_MID_ROW)
    assert len(df) == acc.accepted
    nspd = (data_dir / "postcodes/nspd_2025_within_30km_of_leicester.csv").read_bytes().split(b"\r\n")[:50]
    nspd[20] = nspd[20].replace(b",", b',"', 1)
    d = _write(tmp_path / "nspd.csv", [*nspd, b""])
    with pytest.raises(InputError, match=r"quote opened on line 21 .* \(to the end of the file\)"):
        load_postcode_directory(d, QualityLog())


# --------------------------------------------------------------------------- the reader itself
def test_reader_counts_match_the_bytes_for_every_real_loader_input(data_dir):
    """No shared input has a line break inside a quoted field, so one record per line holds for all."""
    for rel, header in [(LIST, True), (ODS, False), ("postcodes/codepoint_open_2025_4_LE.csv", False),
                        ("postcodes/nspd_2025_within_30km_of_leicester.csv", True),
                        ("deprivation/iod2019_lsoa11_ranks_deciles.csv", True),
                        ("deprivation/iod2025_lsoa21.csv", True), ("lookups/msoa11_names_hcl.csv", True),
                        ("localities/leicester_localities_msoa11.csv", True),
                        ("population/ons_sape_mid2019_lsoa11_single_year_of_age.csv", True)]:
        path = data_dir / rel
        text = read_csv_text(path, header=header)
        assert text.rows_in == len(text.records) == physical_data_lines(path.read_bytes(), header), rel
        assert not text.ends_mid_row and all(text.problem(i) is None for i in range(len(text.records))), rel


def test_quote_swallowing_past_the_csv_field_limit_still_names_its_end(data_dir, tmp_path):
    lines = _lines(data_dir / "population/ons_sape_mid2020_lsoa11_single_year_of_age.csv")
    lines[9] = b'"' + lines[9]
    lines[20000] = b'x,"' + lines[20000]          # the quote closes here, ~8 MB on
    path = _write(tmp_path / "sape.csv", lines)
    with pytest.raises(InputError, match="swallows lines 11\u201320001 into one record") as err:
        read_csv_text(path)
    assert err.value.row == 10


def test_reader_edge_cases(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\r\n1,2\r3,4\r\n")
    with pytest.raises(InputError, match="carriage return inside the line") as err:
        read_csv_text(p)
    assert err.value.row == 2
    p.write_bytes(b'\xef\xbb\xbfa,b\n1,"x\xc9"\n')            # Windows-1252 É after a BOM
    with pytest.raises(InputError, match=r"not valid UTF-8 at byte 11 \(near '1,\"x\u00c9\"'") as err:
        read_csv_text(p)
    assert err.value.row == 2
    p.write_bytes(b"\n\n a , b\n1,2\n\n")                       # blank lines above the header
    t = read_csv_text(p)
    assert (t.header, t.header_line, t.records, t.rows_in) == ([" a ", " b"], 3, [["1", "2"], []], 2)
    p.write_bytes(b"a,a,b\n1,2,3")                              # no final newline, complete: not cut
    t = read_csv_text(p)
    assert not t.ends_mid_row and t.columns == ["a", "a.1", "b"] and t.frame()[0].iloc[0].tolist() == ["1", "2", "3"]
    p.write_bytes(b"a,b\n1,2\n3,\"x")                           # ends inside an open quote: cut
    assert read_csv_text(p).ends_mid_row
    p.write_bytes(b"")
    assert read_csv_text(p).header is None

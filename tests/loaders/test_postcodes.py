"""Tests for pna.loaders.postcodes: normalisation, the two loaders, and the merged table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pna.config import load_config
from pna.errors import InputError
from pna.loaders.postcodes import (
    load_codepoint,
    load_postcode_directory,
    normalise_postcode,
    normalise_postcodes,
    postcode_table,
)
from pna.quality import QualityLog

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "pna-data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared pna-data not available")


@pytest.mark.parametrize("raw, expected", [
    ("LE1 1AA", "LE1 1AA"), ("le11aa", "LE1 1AA"), ("  le1   1aa ", "LE1 1AA"), ("LE1\t1AA", "LE1 1AA"),
    ("le181ad", "LE18 1AD"), ("SW1A1AA", "SW1A 1AA"), ("ec1a 1bb", "EC1A 1BB"), ("M11AE", "M1 1AE"),
    ("B338TH", "B33 8TH"), ("W1A 0AX", "W1A 0AX"), ("LE1\u00a01AA", "LE1 1AA"),
    ("LE1", None), ("LE1 1A", None), ("1LE 1AA", None), ("LEI 1AA", None), ("LE1 1AAA", None),
    ("", None), ("   ", None), (None, None), (float("nan"), None), (pd.NA, None), (12345, None),
])
def test_normalise_postcode(raw, expected):
    assert normalise_postcode(raw) == expected


@given(st.lists(st.one_of(st.none(), st.text(max_size=10),
                          st.from_regex(r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}", fullmatch=True)),
                max_size=20))
def test_vectorised_matches_scalar(values):
    out = normalise_postcodes(pd.Series(values, dtype=object))
    assert list(out) == [normalise_postcode(v) for v in values]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_codepoint_quarantines_bad_rows(tmp_path):
    headers = _write(tmp_path / "h.csv", "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\nPostcode,...\n")
    cp = _write(tmp_path / "le.csv", "\n".join([
        '"LE1 1AA",10,459318,304176,"E92000001","","","","E06000016",""',   # line 1 ok
        '"NOT A PC",10,459318,304176,"E92000001","","","","E06000016",""',  # 2 bad postcode
        '"LE1 1AB",90,0,0,"E92000001","","","","E06000016",""',             # 3 zero coords
        '"LE1 1AD",10,abc,304176,"E92000001","","","","E06000016",""',      # 4 not numeric
        '"LE11AA",10,1,1,"E92000001","","","","E06000016",""',              # 5 repeat of line 1
        '"LE1 1AE",90,459000,304000,"E92000001","","","","E06000016",""',   # 6 PQ 90
        '"le1 1af",50,459001,304001,"E92000001","","","","E06000016",""',   # 7 ok, normalised
    ]) + "\n")
    q = QualityLog()
    df = load_codepoint(cp, headers, q)
    assert list(df["postcode"]) == ["LE1 1AA", "LE1 1AF"]
    assert df.loc[0, "easting"] == 459318.0 and df.loc[0, "la_code"] == "E06000016"
    assert set(df["source"]) == {"codepoint"}
    ex = q.table()
    assert list(ex["row"]) == [2, 3, 4, 5, 6]
    assert ex["reason"].str.contains("repeated").sum() == 1
    assert ex["reason"].str.contains("positional quality 90").sum() == 1
    acc = q.accounts["postcodes:codepoint"]
    assert (acc.rows_in, acc.accepted, acc.quarantined) == (7, 2, 5)


def test_codepoint_wrong_column_count(tmp_path):
    headers = _write(tmp_path / "h.csv", "PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC\n")
    cp = _write(tmp_path / "le.csv", '"LE1 1AA",10,459318,304176\n')
    with pytest.raises(InputError, match="expected 10 columns"):
        load_codepoint(cp, headers, QualityLog())


def test_postcode_directory_columns_and_rows(tmp_path):
    f = _write(tmp_path / "nspd.csv", "pcd,laua,oseast1m,osnrth1m\nLE1 1AA,E06000016,459318.0,304176.0\n"
               "LE1 9ZZ,E06000016,,\nCV1 1AA,E08000026,433374,279470\n")
    q = QualityLog()
    df = load_postcode_directory(f, q)
    assert list(df["postcode"]) == ["LE1 1AA", "CV1 1AA"]
    assert q.table().loc[0, "row"] == 3  # header is line 1
    assert q.accounts["postcodes:postcode_directory"].quarantined == 1
    with pytest.raises(InputError, match="no easting column"):
        load_postcode_directory(_write(tmp_path / "bad.csv", "pcd,laua\nLE1 1AA,E06000016\n"), QualityLog())


@needs_data
def test_postcode_table_real_prefers_codepoint():
    cfg = load_config(ROOT / "config" / "leicester.yaml")
    q = QualityLog()
    table = postcode_table(cfg, q)
    assert table.index.is_unique and table.index.is_monotonic_increasing
    assert q.accounts["postcodes:codepoint"].rows_in == 23249
    assert q.accounts["postcodes:postcode_directory"].rows_in == 65466
    row = table.loc["LE1 1AA"]
    assert (row["easting"], row["northing"], row["la_code"], row["source"]) == (459318, 304176, "E06000016",
                                                                                "codepoint")
    # A postcode Code-Point no longer holds comes from the ONS directory.
    assert table.loc["LE4 0RY", "source"] == "postcode_directory"
    assert table.loc["CV1 1AA", "source"] == "postcode_directory"
    # Without Code-Point the directory alone serves.
    only_dir = cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"codepoint": None})})
    t2 = postcode_table(only_dir, QualityLog())
    assert set(t2["source"]) == {"postcode_directory"} and "LE1 1AA" in t2.index


# --------------------------------------------------------------------------- the GB download, zip or folder
def _download(data_dir, root):
    """A Code-Point Open download laid out as OS ships it, holding the real LE area file."""
    import shutil

    (root / "Data" / "CSV").mkdir(parents=True)
    (root / "Doc").mkdir()
    shutil.copy(data_dir / "postcodes" / "codepoint_open_2025_4_LE.csv", root / "Data" / "CSV" / "le.csv")
    shutil.copy(data_dir / "postcodes" / "Code-Point_Open_Column_Headers.csv", root / "Doc")
    (root / "Data" / "CSV" / "zz.csv").write_text('"ZZ1 1ZZ",10,0,0,"E92000001","","","","E06000016",""\n')
    return root


def test_the_gb_download_reads_as_a_zip_or_a_folder(data_dir, tmp_path):
    import zipfile

    from pna.loaders.postcodes import load_codepoint

    folder = _download(data_dir, tmp_path / "codepo_gb")
    zpath = tmp_path / "codepo_gb.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(tmp_path))
    single = load_codepoint(data_dir / "postcodes" / "codepoint_open_2025_4_LE.csv",
                            data_dir / "postcodes" / "Code-Point_Open_Column_Headers.csv", QualityLog())
    for src in (folder, zpath):
        q = QualityLog()
        df = load_codepoint(src, None, q)   # the headers file inside the download is found
        assert df.equals(single)             # zz.csv's one row has no grid reference: quarantined
        assert q.accounts["postcodes:codepoint:le.csv"].balanced
        zz = q.accounts["postcodes:codepoint:zz.csv"]
        assert (zz.rows_in, zz.accepted, zz.quarantined) == (1, 0, 1)


def test_a_download_without_area_files_or_a_corrupt_zip_is_a_clear_error(tmp_path):
    from pna.loaders.postcodes import load_codepoint

    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a Code-Point Open download"):
        load_codepoint(tmp_path / "empty", None, QualityLog())
    import zipfile

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("Data/CSV/le.csv", "x" * 5000)
    raw = bytearray(bad.read_bytes())
    raw[60:200] = b"\0" * 140   # damage the member's data
    bad.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="corrupt"):
        load_codepoint(bad, None, QualityLog())

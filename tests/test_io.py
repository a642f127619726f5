import zipfile

import pandas as pd

from pna.io import normalise_zip, stable_ids, write_csv


def test_stable_ids_are_sequential_and_consistent():
    a, b = "a" * 32, "0123456789abcdef" * 2
    html = f"map_{a} x {b} map_{a}"
    out = stable_ids(html)
    assert out == f"map_{0:032x} x {1:032x} map_{0:032x}"


def test_write_csv_deterministic(tmp_path):
    df = pd.DataFrame({"x": [1 / 3, 2.0], "y": ["a", "b"]})
    p1, p2 = write_csv(df, tmp_path / "a.csv"), write_csv(df, tmp_path / "b.csv")
    assert p1.read_bytes() == p2.read_bytes()
    assert p1.read_text().splitlines()[1] == "0.3333333333,a"


def test_normalise_zip_fixes_dates(tmp_path):
    p = tmp_path / "z.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", "hello")
    normalise_zip(p)
    with zipfile.ZipFile(p) as z:
        assert z.infolist()[0].date_time == (2020, 1, 1, 0, 0, 0)
        assert z.read("a.txt") == b"hello"

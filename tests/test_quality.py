import pytest

from pna.errors import InputError
from pna.quality import QualityLog


def test_accounting_balances_and_raises():
    q = QualityLog()
    q.account("a", "f.csv", 10, 8, 2)
    with pytest.raises(AssertionError, match="rows in"):
        q.account("b", "f.csv", 10, 8, 1)
    t = q.accounting_table()
    assert list(t["rows_in"]) == [10] and bool(t["balanced"].all())


def test_table_is_sorted_and_complete():
    q = QualityLog()
    q.add("s", "b.csv", 12, "X", "bad")
    q.add("s", "a.csv", None, "Y", "worse", field_="postcode", action="flagged")
    q.add("s", "a.csv", 3, "Z", "odd")
    t = q.table()
    assert list(t["source_file"]) == ["a.csv", "a.csv", "b.csv"]
    assert list(t["record"]) == ["Y", "Z", "X"]


def test_input_error_message():
    e = InputError("x.csv", "missing column", row=4)
    assert str(e) == "x.csv, row 4: missing column"

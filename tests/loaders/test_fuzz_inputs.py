"""Corrupted real inputs (issue 17): the loaders either stop with a clean InputError naming the file,
or account for every physical line. No other exception, and no line vanishing unseen.

Each example corrupts a small real slice (the header and 200 lines of the pharmaceutical list, or
200 lines of the ODS extract): truncation at any byte, a quote anywhere, a header column deleted,
rows shuffled, re-encoding as Windows-1252 / Latin-1 with a non-ASCII name, blank lines, CRLF.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pna.errors import InputError
from pna.loaders.deprivation import load_imd2019
from pna.loaders.pharmacies import load_ods_history, load_pharmaceutical_list
from pna.loaders.population import load_sape
from pna.loaders.postcodes import load_codepoint
from pna.quality import QualityLog

LIST = "pharmacies/nhsbsa_consolidated_pharmaceutical_list_2023-24_Q3.csv"
ODS = "pharmacies/ods_edispensary_2025-05.csv"
CODEPOINT = "postcodes/codepoint_open_2025_4_LE.csv"
STRICT = {"population": ("population/ons_sape_mid2020_lsoa11_single_year_of_age.csv", load_sape),
          "deprivation": ("deprivation/iod2019_lsoa11_ranks_deciles.csv", load_imd2019)}
FUZZ = settings(max_examples=25, deadline=None)
BIG = 10**7   # positions are taken modulo the file's size


# --------------------------------------------------------------------------- corruptions (bytes -> bytes)
def truncate(raw: bytes, at: int) -> bytes:
    return raw[:at % (len(raw) + 1)]


def insert_quote(raw: bytes, at: int) -> bytes:
    at %= len(raw) + 1
    return raw[:at] + b'"' + raw[at:]


def drop_header_column(raw: bytes, k: int) -> bytes:
    head, sep, rest = raw.partition(b"\n")
    fields = head.split(b",")
    del fields[k % len(fields)]
    return b",".join(fields) + sep + rest


def shuffle_rows(raw: bytes, seed: int, header: bool = True) -> bytes:
    lines = raw.split(b"\n")
    final = lines.pop() if lines[-1] == b"" else None          # keep a final newline where it was
    head, body = (lines[:1], lines[1:]) if header else ([], lines)
    random.Random(seed).shuffle(body)
    return b"\n".join(head + body + ([final] if final is not None else []))


def reencode(raw: bytes, codec: str, at: int) -> bytes:
    lines = raw.decode("utf-8-sig", errors="replace").split("\n")
    # a non-empty line, so the accented byte is never the file's last (that reads as a file cut
    # inside a character, flagged rather than refused)
    full = [k for k, ln in enumerate(lines) if ln]
    i = full[at % len(full)]
    lines[i] = lines[i].replace(",", ",CAF\u00c9 ", 1) if "," in lines[i] else "CAF\u00c9" + lines[i]
    return "\n".join(lines).encode(codec, errors="replace")


def add_blank_lines(raw: bytes, where: list[tuple[int, bytes]]) -> bytes:
    lines = raw.split(b"\n")
    for at, blank in where:
        lines.insert(at % (len(lines) + 1), blank)
    return b"\n".join(lines)


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


BLANKS = st.sampled_from([b"", b"  ", b",,,", b"\r"])
OPS = st.one_of(
    st.tuples(st.just(truncate), st.integers(0, BIG)),
    st.tuples(st.just(insert_quote), st.integers(0, BIG)),
    st.tuples(st.just(drop_header_column), st.integers(0, 100)),
    st.tuples(st.just(shuffle_rows), st.integers(0, 2**32)),
    st.tuples(st.just(reencode), st.sampled_from(["cp1252", "latin-1"]), st.integers(0, BIG)),
    st.tuples(st.just(add_blank_lines), st.lists(st.tuples(st.integers(0, BIG), BLANKS), min_size=1, max_size=5)),
    st.tuples(st.just(crlf)),
)


# --------------------------------------------------------------------------- the check
def independent_data_lines(raw: bytes, header: bool) -> tuple[int, int]:
    """(first data line, data lines), from the bytes alone: newlines, plus a last line without one,
    less the header and any blank lines above it."""
    total = raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0)
    above = 0
    if header:
        for line in raw.split(b"\n"):
            above += 1
            if line.replace(b"\xef\xbb\xbf", b"").strip(b" \t\r,"):
                break
    return above + 1, total - above


def check(load, path: Path, raw: bytes, header: bool) -> None:
    """Write ``raw`` to ``path`` and load it: a clean InputError, or every line accounted for."""
    path.write_bytes(raw)
    q = QualityLog()
    try:
        df = load(path, q)
    except InputError as exc:
        assert exc.file == str(path) and str(path) in str(exc)
        return
    (acc,) = q.accounts.values()
    first, n = independent_data_lines(raw, header)
    assert acc.balanced and acc.rows_in == n
    assert acc.accepted == len(df)
    ex = q.table()
    quarantined = ex.loc[ex["action"] == "quarantined", "row"].astype(int).tolist()
    assert len(quarantined) == len(set(quarantined)) == acc.quarantined
    assert all(first <= r < first + n for r in quarantined)
    if "source_row" in df:  # line for line: each data line is accepted or quarantined, exactly once
        assert sorted([*df["source_row"].tolist(), *quarantined]) == list(range(first, first + n))


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def list_slice(data_dir) -> bytes:
    lines = (data_dir / LIST).read_bytes().split(b"\n")
    return b"\n".join([lines[0], *lines[300:500]]) + b"\n"      # with line 309 and quoted hours


@pytest.fixture(scope="module")
def ods_slice(data_dir) -> bytes:
    return b"\n".join((data_dir / ODS).read_bytes().split(b"\n")[:200]) + b"\n"


@pytest.fixture(scope="module")
def codepoint_slice(data_dir) -> bytes:
    return b"\n".join((data_dir / CODEPOINT).read_bytes().split(b"\n")[:200]) + b"\n"


@pytest.fixture(scope="module")
def strict_slices(data_dir) -> dict[str, bytes]:
    return {name: b"\n".join((data_dir / rel).read_bytes().split(b"\n")[:100]) + b"\n"
            for name, (rel, _) in STRICT.items()}


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --------------------------------------------------------------------------- one corruption at a time
@FUZZ
@given(at=st.integers(0, BIG))
def test_list_truncated_at_any_byte(list_slice, work, at):
    check(load_pharmaceutical_list, work / "list.csv", truncate(list_slice, at), header=True)


@FUZZ
@given(at=st.integers(0, BIG))
def test_list_with_a_quote_anywhere(list_slice, work, at):
    check(load_pharmaceutical_list, work / "list.csv", insert_quote(list_slice, at), header=True)


@FUZZ
@given(k=st.integers(0, 24))
def test_list_with_a_header_column_deleted(list_slice, work, k):
    path = work / "list.csv"
    path.write_bytes(drop_header_column(list_slice, k))
    # A required column is missing, or else every row is one field wider than the header.
    with pytest.raises(InputError, match="missing required columns|no data row has the header's 24 fields") as err:
        load_pharmaceutical_list(path, QualityLog())
    assert err.value.file == str(path)


@FUZZ
@given(seed=st.integers(0, 2**32))
def test_list_rows_shuffled(list_slice, work, seed):
    raw = shuffle_rows(list_slice, seed)
    check(load_pharmaceutical_list, work / "list.csv", raw, header=True)
    q = QualityLog()
    load_pharmaceutical_list(work / "list.csv", q)
    assert q.accounts["pharmaceutical list: list.csv"].accepted == 200   # the order changes nothing


@FUZZ
@given(codec=st.sampled_from(["cp1252", "latin-1"]), at=st.integers(0, BIG))
def test_list_reencoded_with_a_non_ascii_name(list_slice, work, codec, at):
    path = work / "list.csv"
    path.write_bytes(reencode(list_slice, codec, at))
    with pytest.raises(InputError, match="not valid UTF-8") as err:
        load_pharmaceutical_list(path, QualityLog())
    assert err.value.file == str(path)


@FUZZ
@given(where=st.lists(st.tuples(st.integers(0, BIG), BLANKS), min_size=1, max_size=8))
def test_list_with_blank_lines(list_slice, work, where):
    check(load_pharmaceutical_list, work / "list.csv", add_blank_lines(list_slice, where), header=True)


@FUZZ
@given(op=OPS)
def test_list_with_crlf_and_one_more_corruption(list_slice, work, op):
    f, *args = op
    check(load_pharmaceutical_list, work / "list.csv", f(crlf(list_slice), *args), header=True)


# --------------------------------------------------------------------------- several at once
@FUZZ
@given(ops=st.lists(OPS, min_size=1, max_size=4))
def test_list_any_mix_of_corruptions(list_slice, work, ops):
    raw = list_slice
    for f, *args in ops:
        raw = f(raw, *args)
    check(load_pharmaceutical_list, work / "list.csv", raw, header=True)


@FUZZ
@given(ops=st.lists(OPS, min_size=1, max_size=4))
def test_ods_any_mix_of_corruptions(ods_slice, work, ops):
    raw = ods_slice
    for f, *args in ops:
        raw = f(raw, *args, header=False) if f is shuffle_rows else f(raw, *args)
    check(load_ods_history, work / "ods.csv", raw, header=False)


@FUZZ
@given(ops=st.lists(OPS, min_size=1, max_size=4))
def test_codepoint_any_mix_of_corruptions(codepoint_slice, data_dir, work, ops):
    raw = codepoint_slice
    for f, *args in ops:
        raw = f(raw, *args, header=False) if f is shuffle_rows else f(raw, *args)
    check(lambda path, q: load_codepoint(path, None, q), work / "le.csv", raw, header=False)


@pytest.mark.parametrize("name", sorted(STRICT))
@FUZZ
@given(ops=st.lists(OPS, min_size=1, max_size=3))
def test_loaders_that_stop_at_a_bad_row(strict_slices, work, name, ops):
    """Population and deprivation stop at any bad line: an InputError, or one row per non-blank line."""
    raw = strict_slices[name]
    for f, *args in ops:
        raw = f(raw, *args)
    path = work / f"{name}.csv"
    path.write_bytes(raw)
    try:
        out = STRICT[name][1](path)
    except InputError as exc:
        assert exc.file == str(path) and str(path) in str(exc)
        return
    first, n = independent_data_lines(raw, header=True)
    non_blank = [ln for ln in raw.split(b"\n")[first - 1:first - 1 + n] if ln.strip(b" \t\r,")]
    assert len(out) == len(non_blank)

"""Plausible mistakes caught in the geography stage (issue 17), on edited copies of the real Leicester list."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from pna.config import DataSource, Overrides
from pna.errors import InputError
from pna.geography.area import build_area
from pna.geography.assign import place_pharmacies
from pna.geography.stage import build_geography
from pna.loaders.pharmacies import national_list
from pna.loaders.postcodes import postcode_table
from pna.loaders.stage import load_inputs
from pna.quality import QualityLog

HWB = "LEICESTER CITY"
CODE = "PHARMACY_ODS_CODE_(F-CODE)"


def _with_list(cfg, path: Path, geocode_overrides: Path | None = None):
    src = DataSource(path=str(path), title="edited copy", publisher="test", vintage="test")
    cfg = cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"pharmaceutical_list": src})})
    if geocode_overrides is not None:
        cfg = cfg.model_copy(update={"overrides": Overrides(geocode=str(geocode_overrides))})
    return cfg


def list_copy(cfg, out: Path, edit: Callable[[dict[str, str]], None] | None = None) -> Path:
    """The real list's header and Leicester's 81 rows, each passed through ``edit``."""
    text = cfg.data_path(cfg.inputs.pharmaceutical_list).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(rows[0])
    for r in rows[1:]:
        rec = dict(zip(rows[0], r))
        if rec["HEALTH_AND_WELLBEING_BOARD"].strip() == HWB:
            if edit is not None:
                edit(rec)
            w.writerow([rec[h] for h in rows[0]])
    out.write_text(buf.getvalue(), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def leicester_geo(leicester_cfg):
    q = QualityLog()
    return postcode_table(leicester_cfg, q), *build_area(leicester_cfg, q)


def _place(cfg, leicester_geo):
    postcodes, area, lsoa, localities = leicester_geo
    q = QualityLog()
    placed = place_pharmacies(cfg=cfg, national_list=national_list(cfg, q), postcodes=postcodes, area=area,
                              lsoa=lsoa, localities=localities, quality=q)
    return placed.pharmacies, q


def _to_coventry(rec: dict[str, str]) -> None:
    if rec[CODE] == "FAF98":
        rec["POST_CODE"] = "CV1 1AA"


# --------------------------------------------------------------------------- 4: a postcode far outside the board
def test_real_leicester_pharmacies_are_all_kept(leicester_cfg, leicester_geo, tmp_path):
    ph, q = _place(_with_list(leicester_cfg, list_copy(leicester_cfg, tmp_path / "list.csv")), leicester_geo)
    assert ph["in_area"].sum() == 81
    assert not (q.table()["action"] == "quarantined").any()


def test_pharmacy_geocoded_far_outside_its_board_is_quarantined(leicester_cfg, leicester_geo, tmp_path):
    path = list_copy(leicester_cfg, tmp_path / "list.csv", _to_coventry)
    ph, q = _place(_with_list(leicester_cfg, path), leicester_geo)
    assert ph["in_area"].sum() == 80 and "FAF98" not in set(ph["ods_code"])
    ex = q.table()
    ex = ex[ex["record"] == "FAF98"]
    assert list(ex["action"]) == ["quarantined"] and ex["field"].item() == "postcode"
    reason = ex["reason"].item()
    assert "CV1 1AA" in reason and "30.4 km outside the area boundary" in reason
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln.startswith("FAF98,"))
    assert ex["row"].item() == line and ex["source_file"].item() == "list.csv"
    acc = q.accounts[f"geocode:{HWB}"]
    assert (acc.rows_in, acc.accepted, acc.quarantined) == (81, 80, 1)


def test_override_keeps_a_pharmacy_far_outside(leicester_cfg, leicester_geo, tmp_path):
    path = list_copy(leicester_cfg, tmp_path / "list.csv", _to_coventry)
    ov = tmp_path / "geocode.csv"
    ov.write_text("ods_code,easting,northing,postcode,reason\nFAF98,433374,279470,,checked: it is in Coventry\n")
    ph, q = _place(_with_list(leicester_cfg, path, ov), leicester_geo)
    assert ph["in_area"].sum() == 81
    row = ph.set_index("ods_code").loc["FAF98"]
    assert row["geocode_source"] == "override" and row["dist_to_area_m"] > 30_000
    ex = q.table()
    assert set(ex.loc[ex["record"] == "FAF98", "action"]) == {"overridden", "flagged"}


# --------------------------------------------------------------------------- 1: an area left with no pharmacies
def test_area_with_no_pharmacy_placed_is_an_error(leicester_cfg, tmp_path):
    def unknown_postcode(rec: dict[str, str]) -> None:
        rec["POST_CODE"] = "LE1 9ZZ"

    cfg = _with_list(leicester_cfg, list_copy(leicester_cfg, tmp_path / "list.csv", unknown_postcode))
    q = QualityLog()
    inputs = load_inputs(cfg=cfg, quality=q)
    with pytest.raises(InputError) as err:
        build_geography(cfg=cfg, inputs=inputs, quality=q)
    assert err.value.file == str(tmp_path / "list.csv")
    assert "none of the 81 pharmacies listed for LEICESTER CITY could be placed" in err.value.reason
    assert "LE1 9ZZ not found in the postcode files" in err.value.reason and "78 more" in err.value.reason


# --------------------------------------------------------------------------- lookups, line by line
def _lookup_copy(cfg, key: str, tmp_path: Path, edit: Callable[[list[str]], None]):
    """``cfg`` with the lookup ``inputs.<key>`` replaced by an edited copy of the real file."""
    src = getattr(cfg.inputs, key)
    lines = cfg.data_path(src).read_text(encoding="utf-8-sig").splitlines()
    edit(lines)
    path = tmp_path / Path(src.path).name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    edited = src.model_copy(update={"path": str(path)})
    return cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={key: edited})})


def _leicester_line(cfg, key: str) -> int:
    lines = cfg.data_path(getattr(cfg.inputs, key)).read_text(encoding="utf-8-sig").splitlines()
    return next(i for i, ln in enumerate(lines, 1) if "E06000016" in ln or "Leicester" in ln)


def test_a_stray_quote_in_the_msoa_lookup_names_its_line(leicester_cfg, tmp_path):
    cfg = leicester_cfg
    at = _leicester_line(cfg, "lsoa_msoa_lookup")

    def edit(lines: list[str]) -> None:
        lines[at - 1] = '"' + lines[at - 1]

    bad = _lookup_copy(cfg, "lsoa_msoa_lookup", tmp_path, edit)
    with pytest.raises(InputError, match=f"quote opened on line {at}") as err:
        build_area(bad, QualityLog())
    assert err.value.row == at


def test_a_cut_short_la_lookup_is_an_error_not_fewer_lsoas(leicester_cfg, tmp_path):
    cfg = leicester_cfg
    at = _leicester_line(cfg, "lsoa_la_lookup")

    def edit(lines: list[str]) -> None:
        del lines[at:]
        lines[at - 1] = lines[at - 1].rsplit(",", 1)[0]

    bad = _lookup_copy(cfg, "lsoa_la_lookup", tmp_path, edit)
    cut = cfg.data_path(bad.inputs.lsoa_la_lookup)
    cut.write_text(cut.read_text().rstrip("\n"))   # the download stopped mid-row
    with pytest.raises(InputError) as err:
        build_area(bad, QualityLog())
    assert err.value.row == at and "mid-row" in str(err.value)

"""Static PNG maps for print and Word (pna.report.static_maps), on the real Leicester results."""

from __future__ import annotations

import dataclasses
import socket
import struct
from pathlib import Path

import numpy as np
import pytest

from pna.access.reach import scenario_slug
from pna.report.map_style import rate_classes
from pna.report.static_maps import (
    OSM_CREDIT,
    StaticMap,
    pixel_width,
    plain,
    premises_static,
    rates_static,
    write_static_maps,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVIL_LOCALITY = "$x^2$ <script>alert(1)</script>"
BAD_MATH = r"$\frac{1}{$ & {East}"       # fails to parse as mathtext: renders only as plain text
EVIL_AREA = r"Leicester $\alpha$ <b>"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture()
def offline(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def written(leicester_results, tmp_path_factory):
    """All static maps written twice, offline, into two folders."""
    with pytest.MonkeyPatch.context() as mp:
        def refuse(*args, **kwargs):
            raise AssertionError(f"network access attempted: {args!r}")

        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        a, b = tmp_path_factory.mktemp("static_a"), tmp_path_factory.mktemp("static_b")
        return (a, write_static_maps(leicester_results, a)), (b, write_static_maps(leicester_results, b))


def expected_slugs(run) -> list[str]:
    slugs = ["premises"] + [f"access_{m}" for m in ("walk", "drive", "transit")]
    slugs += [f"open_{scenario_slug(t.label)}" for t in run.cfg.gaps.times
              if f"open_{scenario_slug(t.label)}_walk" in run.access.points]
    return slugs + ["rates"]


def test_every_expected_map_is_a_png_of_print_width(leicester_results, written):
    (out, maps), _ = written
    slugs = [m.slug for m in maps]
    assert slugs == expected_slugs(leicester_results)
    assert {"open_weekday_2000", "open_saturday_1400", "open_sunday_1100"} <= set(slugs)
    for m in maps:
        assert isinstance(m, StaticMap)
        assert m.path == f"{m.slug}.png" and not Path(m.path).is_absolute()
        data = (out / m.path).read_bytes()
        width, height = png_size(data)
        assert width == pixel_width(m.width_mm) == 1339, m.slug   # 170 mm at 200 dpi
        assert 0.8 * width < height < 1.6 * width, m.slug           # fits an A4 page with its caption
        assert m.title and m.alt.strip() and m.caption.strip() and m.source.strip(), m.slug
        assert m.alt != m.title and m.alt.startswith("Map of "), m.slug
    with pytest.raises(dataclasses.FrozenInstanceError):
        maps[0].alt = "changed"  # type: ignore[misc]


def test_two_writes_give_identical_bytes(written):
    (a, ma), (b, mb) = written
    assert ma == mb
    for m in ma:
        assert (a / m.path).read_bytes() == (b / m.path).read_bytes(), m.slug
    assert sorted(p.name for p in a.iterdir()) == sorted(m.path for m in ma)


def test_premises_alt_text_counts_the_pharmacies(leicester_results, written):
    (_, maps), _ = written
    premises = next(m for m in maps if m.slug == "premises")
    ph = leicester_results.geography.pharmacies
    inside = int(ph["in_area"].astype(bool).sum())
    outside = len(ph) - inside
    assert (inside, outside) == (81, 34)
    assert premises.alt.startswith(f"Map of Leicester's {inside} pharmacies and {outside} within 1.5 km of its "
                                   f"boundary, by locality")
    for name in leicester_results.geography.localities["locality"]:
        assert name in premises.alt
    assert "(Statement 7)" in premises.title


def test_titles_sources_and_estimates(leicester_results, written):
    (_, maps), _ = written
    by = {m.slug: m for m in maps}
    for mode, res in leicester_results.access.results.items():
        assert ("(estimate)" in by[f"access_{mode}"].title) == res.is_estimate
        assert by[f"access_{mode}"].alt.count("%") == len(leicester_results.cfg.travel.spec(mode).thresholds_min)
    for m in maps:
        # Leicester shows no OpenStreetMap data (no OSM extract, Code-Point locations): no OSM credit
        assert OSM_CREDIT not in m.source and "OpenStreetMap" not in m.source, m.slug
        assert "ONS" in m.source and "© Crown copyright" in m.source, m.slug
    assert "England's rate is 1.9" in by["rates"].alt


def test_rate_classes_break_at_englands_rate():
    rates = np.array([1.0, 1.88, 1.89, 2.5, 3.0, np.nan])
    c = rate_classes(rates=rates, comparator=1.89, reference=None)
    assert c.index(rates)[:5].tolist() == [0, 1, 2, 3, 4]
    assert c.labels[2].startswith("1.89 (England's rate)") and len(c.labels) == len(c.colours) == 5
    assert len(set(c.colours)) == 5


def test_plain_text():
    assert plain(" a\nb\t\x00c ") == "a b c"
    assert plain(None) == "" and plain(float("nan")) == ""
    assert plain("$x^2$") == "$x^2$"   # left as typed: mathtext is switched off where it is drawn


def test_names_with_markup_or_mathtext_do_not_break_rendering(leicester_results, tmp_path, offline):
    run = leicester_results
    rename = {"North": EVIL_LOCALITY, "East": BAD_MATH}   # North has the highest rate, so rates.alt names it
    geo = dataclasses.replace(
        run.geography,
        localities=run.geography.localities.assign(locality=run.geography.localities["locality"].replace(rename)),
        lsoa=run.geography.lsoa.assign(locality=run.geography.lsoa["locality"].replace(rename)),
        pharmacies=run.geography.pharmacies.assign(
            locality=run.geography.pharmacies["locality"].replace(rename),
            trading_name=EVIL_LOCALITY))
    tables = dict(run.tables)
    tables["provision"] = tables["provision"].assign(locality=tables["provision"]["locality"].replace(rename))
    cfg = run.cfg.model_copy(update={"area": run.cfg.area.model_copy(update={"name": EVIL_AREA})})
    evil = dataclasses.replace(run, cfg=cfg, geography=geo, tables=tables)
    premises = premises_static(evil, tmp_path)
    rates = rates_static(evil, tmp_path)
    assert premises is not None and rates is not None
    for m in (premises, rates):
        assert png_size((tmp_path / m.path).read_bytes())[0] == pixel_width()
        assert EVIL_AREA in m.title
    assert EVIL_LOCALITY in premises.alt and BAD_MATH in premises.alt
    assert f"3.7 in {EVIL_LOCALITY}" in rates.alt

"""The public consultation page: data, escaping and determinism (no browser needed)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from pna.loaders.postcodes import normalise_postcode
from pna.report.consultation import (
    area_postcodes,
    build_consultation_page,
    consultation_data,
    json_for_script,
    postcode_minutes,
    readable_case,
    render_consultation_html,
)
from tests.report.conftest import EVIL, context_with_output, flag, nearest_face_to_face


class _Scripts(HTMLParser):
    """Collects every <script> element (attributes and text) and any on* attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict, str]] = []
        self.handlers: list[tuple[str, str]] = []
        self._in: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.handlers += [(tag, k) for k, _ in attrs if k.lower().startswith("on")]
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append((self._in, ""))

    def handle_data(self, data):
        if self._in is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in = None


def parse_scripts(html: str) -> _Scripts:
    p = _Scripts()
    p.feed(html)
    return p


def embedded(html: str) -> dict:
    scripts = parse_scripts(html).scripts
    (text,) = [t for a, t in scripts if a.get("id") == "pna-data"]
    return json.loads(text)


@pytest.fixture(scope="module")
def data(leicester_run) -> dict:
    return consultation_data(leicester_run.ctx, leicester_run.postcodes)


# --------------------------------------------------------------------------- helpers
def test_json_for_script_escapes_and_round_trips():
    obj = {"name": "</script><script>alert(1)</script>", "amp": "A & B <!-- x -->",
           "sep": "line\u2028para\u2029end", "quote": 'say "hi"'}
    text = json_for_script(obj)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == obj


@pytest.mark.parametrize("raw, expected", [
    ("le11aa", "LE1 1AA"), (" LE1  1AA ", "LE1 1AA"), ("le18 2aa", "LE18 2AA"), ("sw1a1aa", "SW1A 1AA"),
    ("LE1", None), ("hello", None), ("", None), ("LE1 1AAA", None), (None, None)])
def test_normalise_postcode(raw, expected):
    assert normalise_postcode(raw) == expected


def test_readable_case():
    assert readable_case("INTERPHARM (LEICS) CHEMISTS") == "Interpharm (Leics) Chemists"
    assert readable_case("DAY-NIGHT PHARMACY") == "Day-Night Pharmacy"
    assert readable_case("10A HIGH ST, LEICESTER LE1 1AA") == "10A High St, Leicester LE1 1AA"
    assert readable_case("BOOTS UK") == "Boots UK"
    assert readable_case(EVIL) == EVIL  # mixed/lower case text is left alone
    assert readable_case(float("nan")) == ""


# --------------------------------------------------------------------------- data on real Leicester
def test_postcodes_in_area_only(data, leicester_run):
    run = leicester_run.ctx
    pcs = leicester_run.postcodes
    in_la = set(pcs.index[pcs["la_code"] == run.cfg.area.code])
    on_page = {f"{o} {i}" for o, inner in data["postcodes"].items() for i in inner}
    assert on_page == in_la
    assert data["n_postcodes"] == len(in_la) > 5000
    assert "LE1 1AA" in on_page
    # LE2 straddles the boundary: some of its postcodes are listed as outside
    assert "LE2" in data["outside"] and "LE2" in data["postcodes"]
    for o, inward in data["outside"].items():
        assert not set(inward.split()) & set(data["postcodes"].get(o, {}))
    assert "LE18" in data["outside_districts"] and "LE18" not in data["postcodes"]


def test_nearest_pharmacies_and_minutes_match_direct_computation(data, leicester_run):
    run = leicester_run.ctx
    pcs = leicester_run.postcodes
    per = 2 + len(data["modes"])
    assert [m["key"] for m in data["modes"]] == ["walk", "drive", "transit"]
    assert all(m["estimate"] and m["basis"] == "postcode" for m in data["modes"])
    assert "straight line" in data["modes"][0]["how"] and "4.8 km an hour" in data["modes"][0]["how"]
    ph = run.geography.pharmacies
    face = ph[~flag(ph, "is_distance_selling") & ~flag(ph, "is_dac")]
    by_name = {}
    for pc in ("LE1 1AA", "LE4 1DG", "LE5 0AA") if "LE5 0AA" in pcs.index else ("LE1 1AA", "LE4 1DG"):
        o, i = pc.split()
        row = data["postcodes"][o][i]
        x, y = pcs.loc[pc, ["easting", "northing"]]
        d = np.hypot(face.geometry.x - x, face.geometry.y - y).sort_values()
        expect = d.iloc[:3].to_numpy()
        got = np.array([row[j * per + 1] for j in range(3)], dtype=float)
        assert np.allclose(got, np.round(expect / 10) * 10, atol=10.01)
        for j in range(3):
            walk = row[j * per + 2]
            exact = expect[j] * run.cfg.travel.walk.circuity / (run.cfg.travel.walk.speed_kmh * 1000 / 60)
            assert walk == math.ceil(round(exact, 6)), (pc, j)
            drive, transit = row[j * per + 3], row[j * per + 4]
            assert drive <= walk and transit <= walk
        by_name[pc] = [data["pharmacies"][row[j * per]]["name"] for j in range(3)]
    # the pharmacy at LE4 1DG (Boots, Fletcher Mall) is nearest its own postcode
    assert by_name["LE4 1DG"][0] == "Boots"


def test_hours_embedded_as_minutes(data):
    for p in data["pharmacies"]:
        assert len(p["hours"]) == 7
        for day in p["hours"]:
            assert day is None or isinstance(day, str) or all(0 <= a < b <= 1440 for a, b in day)
    boots = [p for p in data["pharmacies"] if p["postcode"] == "LE4 1DG"][0]
    assert boots["hours"][0] == [[510, 1080]]  # 08:30-18:00 on Monday, from the NHS list


def test_distance_selling_excluded_from_lists_but_mentioned(leicester_run):
    run = leicester_run.ctx
    pcs = leicester_run.postcodes
    ph = run.geography.pharmacies.copy()
    x, y = pcs.loc["LE1 1AA", ["easting", "northing"]]
    nearest = nearest_face_to_face(run, x, y)
    ph.loc[nearest, "is_distance_selling"] = True
    name = readable_case(ph.loc[nearest, "trading_name"])
    d = consultation_data(context_with_output(run, run.cfg.out, pharmacies=ph), pcs)
    assert name in [p["name"] for p in d["distance_selling"]]
    per = 2 + len(d["modes"])
    row = d["postcodes"]["LE1"]["1AA"]
    listed = [d["pharmacies"][row[j * per]]["postcode"] for j in range(3)]
    assert ph.loc[nearest, "postcode"] not in listed or \
        sum(ph["postcode"] == ph.loc[nearest, "postcode"]) > 1


def test_area_postcodes_fall_back_to_polygon_when_la_missing():
    table = pd.DataFrame({"postcode": ["AB1 1AA", "AB1 1AB", "AB1 1AD", "AB1 1AE"],
                          "easting": [5.0, 50.0, 5.0, 50.0], "northing": [5.0, 5.0, 5.0, 5.0],
                          "la_code": ["E06000001", None, "E06000002", "E06000001"]}).set_index("postcode")
    area = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs=27700)
    inside, outside = area_postcodes(table, "E06000001", area)
    # la_code wins where present (AB1 1AE is outside the square but in the LA); polygon otherwise
    assert list(inside["postcode"]) == ["AB1 1AA", "AB1 1AE"]
    assert list(outside["postcode"]) == ["AB1 1AB", "AB1 1AD"]


class _TimetableLike:
    """A travel model that cannot be rebuilt for other points (like a timetable engine)."""

    mode, method, is_estimate, method_note = "transit", "timetable", False, "test"

    def __init__(self, demand):
        self.demand = demand

    def for_points(self, points):
        return None   # a timetable engine cannot be rebuilt for other points

    def times_to(self, sites):
        dx = sites.geometry.x.to_numpy()[:, None] - self.demand.geometry.x.to_numpy()[None, :]
        dy = sites.geometry.y.to_numpy()[:, None] - self.demand.geometry.y.to_numpy()[None, :]
        return (np.abs(dx) + np.abs(dy)) / 100.0


def test_postcode_minutes_uses_nearest_demand_point_for_other_engines():
    demand = gpd.GeoDataFrame({"point_id": ["a", "b"]},
                              geometry=gpd.points_from_xy([0.0, 1000.0], [0.0, 0.0]), crs=27700)
    sites = gpd.GeoDataFrame({"ods_code": ["F1", "F2"]},
                             geometry=gpd.points_from_xy([0.0, 2000.0], [500.0, 0.0]), crs=27700)
    pc_xy = np.array([[100.0, 0.0], [900.0, 0.0]])
    mins, basis = postcode_minutes(_TimetableLike(demand), pc_xy, pd.Series(["X1 1AA", "X1 1AB"]),
                                   sites, np.array([[0, 1], [1, 0]]))
    assert basis == "demand_point"
    # postcode 1 takes demand point a's times, postcode 2 takes b's
    assert mins.tolist() == [[5.0, 20.0], [10.0, 15.0]]


# --------------------------------------------------------------------------- the page
def test_page_is_self_contained_and_deterministic(leicester_run, tmp_path):
    run = context_with_output(leicester_run.ctx, tmp_path)
    path = build_consultation_page(run, leicester_run.postcodes)
    assert path == tmp_path / "consultation.html"
    html = path.read_text(encoding="utf-8")
    data = embedded(html)
    assert html == render_consultation_html(data)
    assert build_consultation_page(run, leicester_run.postcodes).read_bytes() == html.encode("utf-8")
    # no external resources of any kind
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "url(" not in html and "@import" not in html
    assert 'href="report.html"' in html
    # CSP hashes match the inline script and style
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp
    (code,) = [t for a, t in parse_scripts(html).scripts if "type" not in a]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() in csp
    # the script never writes data as HTML
    assert "innerHTML" not in code and "insertAdjacentHTML" not in code and "document.write" not in code
    assert 'lang="en-GB"' in html and 'name="viewport"' in html
    assert '<label for="postcode">' in html and 'aria-live="assertive"' in html


def test_script_in_pharmacy_name_is_escaped(evil_site_dir):
    folder, postcode = evil_site_dir
    html = (folder / "consultation.html").read_text(encoding="utf-8")
    assert EVIL not in html
    assert "alert(1)" not in html.replace("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e", "")
    parsed = parse_scripts(html)
    assert len(parsed.scripts) == 2 and parsed.handlers == []
    data = embedded(html)
    assert EVIL in [p["name"] for p in data["pharmacies"]]
    o, i = postcode.split()
    assert data["pharmacies"][data["postcodes"][o][i][0]]["name"] == EVIL


def test_html_text_is_escaped(data):
    d = dict(data, area='Town <b>&"')
    html = render_consultation_html(d)
    assert "Town <b>" not in html and "Town &lt;b&gt;&amp;" in html
    # the board's own text (here the contact, shown inside a catalogue sentence) is escaped too
    c = dict(data["consultation"], contact={"text": "<i>Public Health</i>", "lang": None})
    html = render_consultation_html(dict(data, consultation=c))
    assert "<i>Public" not in html and "run by &lt;i&gt;Public Health&lt;/i&gt;." in html


def test_area_without_postcodes_says_so(leicester_run, tmp_path):
    run = context_with_output(leicester_run.ctx, tmp_path)
    empty = leicester_run.postcodes.iloc[0:0]
    html = build_consultation_page(run, empty).read_text(encoding="utf-8")
    assert 'id="search"' not in html
    assert "we do not have a list of postcodes for Leicester" in html
    assert embedded(html)["postcodes"] == {}


def test_postcodes_taken_from_the_run_when_present(leicester_run, tmp_path):
    run = context_with_output(leicester_run.ctx, tmp_path,
                              postcodes=leicester_run.postcodes.loc[["LE1 1AA", "LE1 1AB", "LE18 2AA"]])
    d = consultation_data(run)
    assert d["postcodes"] == {"LE1": {"1AA": d["postcodes"]["LE1"]["1AA"], "1AB": d["postcodes"]["LE1"]["1AB"]}}
    assert d["outside_districts"] == ["LE18"] and d["n_postcodes"] == 2


def test_postcode_minutes_rebuilds_network_model_for_postcode_points(leicester_ctx):
    """On a real street graph (the Newport clip), times are from the postcode point itself."""
    from pna.access.engine import NetworkModel
    from pna.access.graph import build_graph
    from pna.loaders.osm import read_highways

    extract = leicester_ctx.cfg.data_dir / "networks" / "small-osm.pbf"
    g = build_graph(read_highways(extract), "walk", walk_speed_kmh=4.8)
    xy = g.node_xy
    centre = xy.mean(axis=0)
    order = np.argsort(np.hypot(*(xy - centre).T))
    pick = xy[order[[0, 40, 80, 120]]]
    demand = gpd.GeoDataFrame({"point_id": ["d0"], "population": [1.0]},
                              geometry=gpd.points_from_xy([pick[0, 0]], [pick[0, 1]]), crs=27700)
    sites = gpd.GeoDataFrame({"ods_code": ["F1", "F2"]},
                             geometry=gpd.points_from_xy(pick[2:, 0], pick[2:, 1]), crs=27700)
    model = NetworkModel(g, demand, leicester_ctx.cfg, "walk")
    pcs = pick[:2] + 5.0
    mins, basis = postcode_minutes(model, pcs, pd.Series(["X1 1AA", "X1 1AB"]), sites, np.array([[0, 1], [1, 0]]))
    assert basis == "postcode"
    direct = NetworkModel(g, gpd.GeoDataFrame({"point_id": ["a", "b"]}, geometry=gpd.points_from_xy(
        pcs[:, 0], pcs[:, 1]), crs=27700), leicester_ctx.cfg, "walk").times_to(sites)
    assert np.allclose(mins, [[direct[0, 0], direct[1, 0]], [direct[1, 1], direct[0, 1]]])
    assert np.isfinite(mins).all() and (mins > 0).all()


def test_candidates_hold_the_nearest_open_at_each_tested_time(data, leicester_run):
    from pna.access.open_now import open_at

    run = leicester_run.ctx
    pcs = leicester_run.postcodes
    ph = run.geography.pharmacies
    face = ph[~flag(ph, "is_distance_selling") & ~flag(ph, "is_dac") & ph.geometry.notna()]
    per = data["per_site"]
    for pc in ("LE2 0QS", "LE4 1DG"):
        o, i = pc.split()
        row = data["postcodes"][o][i]
        assert (len(row) - 1) % per == 0 and len(row) >= data["k"] * per + 1
        listed = [data["pharmacies"][row[j * per]]["name"] for j in range((len(row) - 1) // per)]
        x, y = pcs.loc[pc, ["easting", "northing"]]
        d = np.hypot(face.geometry.x - x, face.geometry.y - y)
        for t in run.cfg.gaps.times:
            is_open = open_at(face, t.weekday, minute=t.minute)
            if is_open.any():
                nearest = face.loc[d[is_open].idxmin()]
                assert readable_case(nearest["trading_name"] or nearest["org_name"]) in listed, (pc, t.label)
        # the last element is the postcode's locality
        assert data["localities"][row[-1]]["name"] in set(run.geography.localities["locality"])


def test_telephone_numbers_are_from_ods(data, leicester_run):
    ods = leicester_run.ctx.inputs.ods.set_index("ods_code")["telephone"].astype(str).str.strip()
    for p in data["pharmacies"]:
        assert p["phone"] == ods.get(p["ods_code"], ""), p["ods_code"]
        assert p["tel"] == "".join(c for c in p["phone"] if c.isdigit() or c == "+")
    # ODS has a number for most pharmacies, not all: those without say so on the page
    with_phone = sum(bool(p["phone"]) for p in data["pharmacies"])
    assert 0.8 * len(data["pharmacies"]) < with_phone < len(data["pharmacies"])
    assert data["phone_source"] == leicester_run.ctx.cfg.inputs.ods_history.cite()

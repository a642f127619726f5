"""Maps for the public (issue 15, item 5), on the real Leicester run.

Without a browser: the base has no tiles by default, the pharmacies are on every access map,
the palettes are colour-blind safe, the classes break at the rules' thresholds (taken from the
config and the gap findings, not from constants), every layer is in the key in plain words, and
the resilience pages say what a "necessary" pharmacy is. In headless Chromium: one tab stop per
map, a skip link that gets past each map in a few presses, named features, axe-core clean map
frames and resilience pages, and no sideways scrolling at 390 px and 1366 px.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from pna.modes import MODES
from pna.report.map_style import OKABE_ITO, PURPLES, YLGNBU, rate_threshold, sequential
from pna.report.maps import access_map, rates_map, write_maps
from pna.report.resilience import write_resilience
from tests.report.conftest import context_with_output

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
NEUTRAL = {"#ffffff", "#000000", "#999999", "#d8dde0", "#212b32", "#5f6b73", "#425563", "#330072"}
RED_GREEN = {"#d73027", "#1a9850", "#91cf60", "#a50f15", "#de2d26", "#d5281b", "#007f3b", "#67001f"}


def _safe_colours() -> set[str]:
    out = {c.lower() for c in OKABE_ITO} | {c.lower() for c in PURPLES} | NEUTRAL
    for n in range(1, 9):
        out |= {c.lower() for c in sequential(n)}
    for ramp in YLGNBU.values():
        out |= {c.lower() for c in ramp}
    return out


@pytest.fixture(scope="module")
def leicester_maps(leicester_results, tmp_path_factory):
    run = context_with_output(leicester_results, tmp_path_factory.mktemp("public_maps"))
    maps, _ = write_maps(run)
    return run, {m.slug: m for m in maps}


@pytest.fixture(scope="module")
def resilience_dir(leicester_results, tmp_path_factory) -> Path:
    run = leicester_results
    out = tmp_path_factory.mktemp("resilience")
    write_resilience(cfg=run.cfg, tables=run.resilience.tables, pharmacies=run.geography.pharmacies,
                     area=run.geography.area, localities=run.geography.localities, out_dir=out)
    return out


# --------------------------------------------------------------------------- without a browser
def test_base_is_tile_free_with_the_area_and_named_localities(leicester_maps):
    run, maps = leicester_maps
    for slug, m in maps.items():
        html = m.path.read_text(encoding="utf-8")
        # the street tiles are a layer one may switch on, never drawn by default
        tiles = re.findall(r"(tile_layer_\w+)\.addTo\(map_\w+\)", html)
        assert tiles == [], f"{slug}: tiles drawn by default"
        assert "Street map background (needs internet)" in html, slug
        for name in run.geography.localities["locality"]:
            assert f"\\u003cdiv\\u003e{name}\\u003c/div\\u003e" in html, (slug, name)   # a DivIcon label
        assert any(item[0] == "Leicester boundary" for item in m.legend), slug
        assert any(item[0].startswith("locality boundary and name") for item in m.legend), slug


def test_pharmacies_are_on_every_access_map(leicester_maps):
    run, maps = leicester_maps
    sites = run.access.supply.sites
    for mode in MODES:
        m = maps[f"access_{mode}"]
        html = m.path.read_text(encoding="utf-8")
        assert html.count('"_name": "Pharmacy: ') == len(sites), mode
        assert (f"pharmacy (face-to-face) ({len(sites)})", "#ffffff", "dot") in m.legend, mode


def test_palettes_are_colour_blind_safe(leicester_maps):
    _, maps = leicester_maps
    safe = _safe_colours()
    for slug, m in maps.items():
        colours = {item[1].lower() for item in m.legend}
        assert colours <= safe, (slug, colours - safe)
        assert not colours & RED_GREEN, slug
    # ordered classes get lighter to darker: the access classes are viridis, near light
    walk = [item[1] for item in maps["access_walk"].legend if "minutes" in item[0] and "walk of" not in item[0]]
    assert walk == sequential(len(walk))


def test_access_classes_break_at_the_gap_threshold_from_the_config(leicester_results, tmp_path):
    run = leicester_results
    assert 12 not in run.cfg.travel.walk.thresholds_min
    cfg = run.cfg.model_copy(update={"output_dir": tmp_path,
                                     "gaps": run.cfg.gaps.model_copy(update={"walk_minutes": 12})})
    m = access_map(dataclasses.replace(run, cfg=cfg), "walk", tmp_path)
    labels = [item[0] for item in m.legend]
    assert "10 to 12 minutes" in labels and "12 to 15 minutes (beyond the 12-minute standard)" in labels
    # the table beside the map uses the same bands and still counts every resident
    assert list(m.table["time band"]) == [lbl for lbl in labels if "minutes" in lbl and "walk of" not in lbl]
    total = run.access.results["walk"].demand["population"].sum()
    assert m.table["residents"].sum() == pytest.approx(total, abs=len(m.table))   # each band rounded


def test_rate_classes_break_at_the_rate_rules_threshold(leicester_results, tmp_path):
    run = leicester_results
    comparator = rate_threshold(run.tables)
    gf = run.tables["gap_findings"]
    assert comparator == pytest.approx(float(gf.loc[gf["rule"] == "rate", "threshold"].iloc[0]))
    m = rates_map(context_with_output(run, tmp_path / "a"), tmp_path / "a")
    assert any(item[0].startswith(f"{comparator:.2f} (England's rate) to under") for item in m.legend)
    # the break follows the rule's threshold, not a constant: move it and the classes move
    tables = dict(run.tables)
    tables["gap_findings"] = gf.assign(threshold=np.where(gf["rule"] == "rate", 2.05, gf["threshold"]))
    cfg = run.cfg.model_copy(update={"gaps": run.cfg.gaps.model_copy(update={"min_rate_per_10k": 3.1})})
    moved = rates_map(context_with_output(dataclasses.replace(run, tables=tables, cfg=cfg), tmp_path / "b"),
                      tmp_path / "b")
    labels = [item[0] for item in moved.legend]
    assert any(lbl.startswith("2.05 (England's rate) to under") for lbl in labels), labels
    assert any(lbl.startswith("3.10 (the board's reference)") for lbl in labels), labels
    assert "The board's reference rate, 3.1, is also a break" in moved.description


def test_resilience_pages_use_plain_words_and_stand_alone(resilience_dir, leicester_results):
    run = leicester_results
    for mode in run.resilience.tables:
        html = (resilience_dir / f"{mode}_map.html").read_text(encoding="utf-8")
        assert "user-scalable=no" not in html and html.count("<main") == 1 and html.count("<h1") == 1
        assert "Not necessary" not in html and "Necessary:" not in html
        assert 'href="#pna-after"' in html and 'id="pna-after"' in html
    walk = (resilience_dir / "resilience_walk_map.html").read_text(encoding="utf-8")
    assert "pharmacies whose closure would leave people more than 20 minutes&#x27; walk from another" in walk
    assert "\\u003cdiv\\u003eCentral\\u003c/div\\u003e" in walk and "Leicester boundary" in walk
    text = (resilience_dir / "resilience_walk_map_text.csv").read_text(encoding="utf-8")
    n = len(text.strip().splitlines()) - 1
    assert walk.count("<tr><td") == max(n, 1)


def test_resilience_pages_are_deterministic(resilience_dir, leicester_results, tmp_path):
    run = leicester_results
    write_resilience(cfg=run.cfg, tables=run.resilience.tables, pharmacies=run.geography.pharmacies,
                     area=run.geography.area, localities=run.geography.localities, out_dir=tmp_path)
    for p in sorted(resilience_dir.glob("*_map.html")):
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), p.name


# --------------------------------------------------------------------------- in the browser
TAB_STOP = """() => {
  let d = document, e = d.activeElement, frames = [];
  while (e && e.tagName === "IFRAME") {
    frames.push(e.getAttribute("src") || "srcdoc");
    try { d = e.contentDocument; e = d.activeElement; } catch (x) { break; }
  }
  return {frame: frames.join(">"), tag: e ? e.tagName : "", id: e ? e.id : "",
          cls: e ? String(e.getAttribute("class") || "") : "",
          fig: e && e.closest ? (e.closest("figure.map") || {}).id || "" : ""};
}"""


def tab_walk(page, limit: int = 400) -> list[dict]:
    """Every tab stop from the top of the page until focus wraps round (or ``limit``)."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        s = page.evaluate(TAB_STOP)
        if stops and s["cls"] == "skip-link":
            break
        stops.append(s)
    return stops


@pytest.mark.browser
def test_report_maps_are_one_tab_stop_each_and_quick_to_pass(page, serve, leicester_report):
    _, report, _ = leicester_report
    out = report.paths["report"].parent
    page.goto(serve(out) + "/report.html")
    # the frames load lazily: bring each into view once, so every map is drawn before the walk
    for frame in page.locator("iframe.map-frame").all():
        frame.scroll_into_view_if_needed()
    page.wait_for_function("[...document.querySelectorAll('iframe.map-frame')].every(f => f.contentDocument"
                           " && f.contentDocument.querySelector('.leaflet-container[role=region]'))")
    page.evaluate("window.scrollTo(0, 0)")
    stops = tab_walk(page)
    maps = sorted(p.name for p in (out / "maps").glob("*.html"))
    in_frames = [s["frame"] for s in stops if s["frame"]]
    # each map is exactly one stop: its container (before: 977 on the walk map alone)
    assert sorted(in_frames) == sorted(f"maps/{m}" for m in maps), in_frames
    for m in maps:
        i = next(k for k, s in enumerate(stops) if s["frame"] == f"maps/{m}")
        skip = max(k for k in range(i) if "skip-map" in stops[k]["cls"])
        past = next(k for k in range(i + 1, len(stops)) if not stops[k]["frame"])
        assert past - skip <= 10, (m, past - skip)
        assert stops[i]["tag"] == "DIV" and "leaflet-container" in stops[i]["cls"]
    # the skip link jumps over the map to its key, the way to the table of the same information
    page.locator("#map-access_walk a.skip-map").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "map-access_walk-key"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('iframe') === null")


def _frame_facts(frame) -> dict:
    return frame.evaluate("""() => {
      const all = [...document.querySelectorAll('*')];
      const tabbable = all.filter(e => e.tabIndex >= 0 && !e.disabled && e.getClientRects().length
                                  && getComputedStyle(e).visibility !== 'hidden');
      const feats = [...document.querySelectorAll('.leaflet-interactive')];
      const box = document.querySelector('.leaflet-container');
      return {tabbable: tabbable.map(e => e.className && e.className.baseVal !== undefined ? 'svg' : e.className),
              features: feats.length,
              unnamed: feats.filter(e => !e.getAttribute('aria-label') && e.getAttribute('aria-hidden') !== 'true').length,
              focusable: feats.filter(e => e.getAttribute('tabindex') !== '-1').length,
              pharmacies: feats.filter(e => (e.getAttribute('aria-label') || '').startsWith('Pharmacy: ')).length,
              role: box.getAttribute('role'), label: box.getAttribute('aria-label') || '',
              wide: document.documentElement.scrollWidth > window.innerWidth + 1};
    }""")


@pytest.mark.browser
def test_real_map_frames_have_named_features_and_no_axe_violations(page, serve, leicester_report):
    from tests.report.test_browser import axe_violations, describe, require_vendored

    run, report, _ = leicester_report
    out = report.paths["report"].parent
    require_vendored(out / "maps")
    base = serve(out)
    bad = {}
    for path in sorted((out / "maps").glob("*.html")):
        page.goto(f"{base}/maps/{path.name}")
        page.wait_for_function("document.querySelectorAll('.leaflet-interactive').length > 0")
        facts = _frame_facts(page)
        assert len(facts["tabbable"]) == 1 and "leaflet-container" in facts["tabbable"][0], (path.name, facts)
        assert facts["role"] == "region" and len(facts["label"]) > 20, path.name
        assert facts["features"] > 0 and facts["unnamed"] == 0 and facts["focusable"] == 0, (path.name, facts)
        if path.name.startswith("access_"):
            assert facts["pharmacies"] == len(run.access.supply.sites), path.name
        # switching a layer off and on again keeps its features out of the tab order and named
        page.evaluate("""() => { const m = Object.values(window).find(v => v instanceof L.Map);
                                 m.eachLayer(l => { if (l instanceof L.GeoJSON && l.options.pane === 'pna-points') {
                                   m.removeLayer(l); m.addLayer(l); } }); }""")
        again = _frame_facts(page)
        assert again["focusable"] == 0 and again["unnamed"] == 0, path.name
        violations = axe_violations(page)
        if violations:
            bad[path.name] = describe(violations)
    assert page.js_errors == [], page.js_errors
    assert not bad, "\n".join(f"[{k}]\n{v}" for k, v in bad.items())


@pytest.mark.browser
def test_resilience_pages_in_the_browser(page, serve, resilience_dir, tmp_path):
    from tests.report.test_browser import axe_violations, describe, require_vendored

    require_vendored(resilience_dir)
    base = serve(resilience_dir)
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.goto(f"{base}/resilience_walk_map.html")
        page.wait_for_function("document.querySelectorAll('.leaflet-interactive').length > 0")
        assert page.locator("main").count() == 1 and page.locator("h1").count() == 1
        assert "user-scalable" not in page.locator('meta[name="viewport"]').get_attribute("content")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), size
        page.screenshot(path=str(tmp_path / f"resilience-{size['width']}.png"), full_page=True)
        violations = axe_violations(page)
        assert not violations, describe(violations)
    # skip link, the map (one stop), the table: three stops
    stops = []
    for _ in range(3):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.className"))
    assert stops[0] == "pna-skip" and "leaflet-container" in stops[1] and stops[2] == "pna-table-wrap", stops
    page.locator("a.pna-skip").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "pna-after"
    assert page.js_errors == [], page.js_errors


@pytest.mark.browser
def test_report_has_no_sideways_scroll_at_390_and_1366(page, serve, leicester_report, tmp_path):
    _, report, _ = leicester_report
    out = report.paths["report"].parent
    page.goto(serve(out) + "/report.html")
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), size
        fig = page.locator("#map-access_walk")
        fig.scroll_into_view_if_needed()
        page.wait_for_function("(() => { const f = document.querySelector('#map-access_walk iframe');"
                               " return f.contentDocument && f.contentDocument.querySelector('.leaflet-interactive'); })()")
        box = fig.locator("iframe").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 1, (size, box)
        frame = next(f for f in page.frames if f.url.endswith("/maps/access_walk.html"))
        assert not _frame_facts(frame)["wide"], size
        fig.screenshot(path=str(tmp_path / f"report-map-{size['width']}.png"))

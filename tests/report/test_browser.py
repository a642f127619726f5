"""The published pages in a real browser: Debian's headless Chromium through Playwright.

The consultation page is built from real Leicester data; the tests search real postcodes,
check the page on a phone-sized screen and run axe-core (WCAG 2.0/2.1/2.2 A and AA rules).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.report.conftest import EVIL, in_ci

pytestmark = pytest.mark.browser

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONE = {"width": 375, "height": 812}
# A Monday mid-morning, so "open now" can be checked against the embedded hours.
MONDAY_10AM = "2024-01-08T10:00:00"


def page_data(site: Path) -> dict:
    html = (site / "consultation.html").read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="pna-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def axe_violations(page, *, rules: list[str] | None = None, iframes: bool = True,
                   exclude: list[str] | None = None) -> list[dict]:
    """axe-core violations of the WCAG tags (or only ``rules``), inside frames unless told not to,
    outside the elements matching the ``exclude`` selectors."""
    from axe_playwright_python.sync_playwright import Axe

    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": WCAG_TAGS}
    context = {"exclude": [[sel] for sel in exclude]} if exclude else None
    results = Axe().run(page, context=context,
                        options={"runOnly": run_only, "resultTypes": ["violations"], "iframes": iframes})
    return results.response["violations"]


#: The axe rules whose outcome can change with the viewport (the DOM is the same at every width).
LAYOUT_RULES = ["color-contrast", "target-size", "scrollable-region-focusable", "meta-viewport"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)


def search(page, text: str) -> None:
    page.fill("#postcode", text)
    page.click("#search-button")


@pytest.fixture()
def consultation(page, serve, site_dir):
    page.clock.set_fixed_time(MONDAY_10AM)
    page.goto(serve(site_dir) + "/consultation.html")
    return page


def test_real_postcode_lists_nearest_pharmacies(consultation, site_dir):
    data = page_data(site_dir)
    search(consultation, "le11aa")
    consultation.wait_for_selector("#results:not([hidden])")
    assert consultation.input_value("#postcode") == "LE1 1AA"
    assert consultation.inner_text("#results-heading") == "Pharmacies closest to LE1 1AA"
    # focus moves to the results (the findings for the postcode's locality first) so screen-reader users hear them
    assert consultation.evaluate("document.activeElement.id") == "area-heading"

    row = data["postcodes"]["LE1"]["1AA"]
    per = 2 + len(data["modes"])
    cards = consultation.locator("#results-list > li")
    assert cards.count() == data["k"] == 3
    miles = []
    for i in range(cards.count()):
        card = cards.nth(i)
        site = data["pharmacies"][row[i * per]]
        assert card.locator(".name").inner_text() == site["name"]
        assert site["name"] and site["address"]
        dist = card.locator(".distance").inner_text()
        m = re.match(r"([\d.]+) miles \(([\d.]+) km\) away", dist)
        assert m, dist
        miles.append(float(m.group(1)))
        # LE1 1AA is in the city centre: every listed pharmacy is within 2 km
        assert 0 < float(m.group(2)) <= 2.0
        walk = card.locator(".minutes-walk").inner_text()
        mins = int(re.search(r"About (\d+) minute", walk).group(1))
        assert mins == row[i * per + 2] and 1 <= mins <= 40
        assert "estimate" in walk  # straight-line model: labelled as an estimate
        # Monday 10:00 on the page clock: open-now status follows the embedded Monday hours
        monday = site["hours"][0]
        status = card.locator(".status").inner_text()
        if isinstance(monday, list) and any(a <= 600 < b for a, b in monday):
            assert "Open now" in status
        elif monday == []:
            assert "Closed today (Monday)" in status
    assert miles == sorted(miles)
    assert consultation.locator("#how-walk").count() == 1
    assert consultation.external_requests == [] and consultation.js_errors == []


def test_invalid_and_outside_postcodes_say_so(consultation, site_dir, leicester_run):
    from pna.report.consultation import area_postcodes

    search(consultation, "hello")
    err = consultation.locator("#postcode-error")
    err.filter(has_text="does not look like a postcode").wait_for()
    assert consultation.get_attribute("#postcode", "aria-invalid") == "true"
    assert consultation.evaluate("document.activeElement.id") == "postcode"
    assert consultation.locator("#results").is_hidden()
    assert err.get_attribute("aria-live") == "assertive"

    search(consultation, "")
    err.filter(has_text="Enter your postcode").wait_for()

    run = leicester_run.ctx
    _, outside = area_postcodes(leicester_run.postcodes, run.cfg.area.code, run.geography.area)
    le_outside = outside[outside["postcode"].str.match(r"^LE\d")]
    # one in an outward code shared with the area (e.g. LE2 in Oadby) and one wholly outside
    data = page_data(site_dir)
    shared = le_outside[le_outside["postcode"].str.split(" ").str[0].isin(data["postcodes"].keys())]
    for pc in (shared["postcode"].iloc[0], le_outside["postcode"].iloc[-1]):
        search(consultation, pc.lower().replace(" ", ""))
        err.filter(has_text=f"{pc} is not in {run.cfg.area.name}").wait_for()
        assert consultation.locator("#results").is_hidden()

    search(consultation, "SW1A 1AA")
    err.filter(has_text=f"We could not find SW1A 1AA in {run.cfg.area.name}").wait_for()

    search(consultation, "LE1 1AA")
    consultation.wait_for_selector("#results:not([hidden])")
    assert err.inner_text() == ""
    assert consultation.get_attribute("#postcode", "aria-invalid") is None


def test_phone_viewport_has_no_horizontal_scroll(consultation):
    consultation.set_viewport_size(PHONE)
    search(consultation, "LE1 1AA")
    consultation.wait_for_selector("#results:not([hidden])")
    consultation.locator("#results-list details").first.locator("summary").click()
    widths = consultation.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    # tap targets: the search button and input are at least 44 px tall
    for sel in ("#search-button", "#postcode"):
        box = consultation.locator(sel).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, (sel, box)


def test_consultation_page_has_no_axe_violations(consultation):
    found = {}
    found["start"] = axe_violations(consultation)
    search(consultation, "not a postcode")
    consultation.locator("#postcode-error").filter(has_text="postcode").wait_for()
    found["error"] = axe_violations(consultation)
    search(consultation, "LE1 1AA")
    consultation.wait_for_selector("#results:not([hidden])")
    for d in consultation.locator("details").all():
        d.evaluate("el => el.open = true")
    found["results"] = axe_violations(consultation)
    consultation.set_viewport_size(PHONE)
    found["phone"] = axe_violations(consultation)
    bad = {k: describe(v) for k, v in found.items() if v}
    if bad:
        print("\n".join(f"[{k}]\n{v}" for k, v in bad.items()))
    assert not bad, "\n".join(f"[{k}]\n{v}" for k, v in bad.items())


def test_report_page_loads_and_has_no_axe_violations(page, serve, report_dir):
    page.goto(serve(report_dir) + "/report.html")
    assert page.locator("h1").count() == 1
    assert page.locator("main").count() == 1
    # the consultation report's tables are on the page (and so in the axe run)
    assert page.locator("#consultation-comments ~ div table, #consultation-comments ~ * table").count() >= 1
    assert "Too far to walk for older patients" in page.inner_text("main")
    violations = axe_violations(page)
    if violations:
        print(describe(violations))
    assert not violations, describe(violations)


def _not_blank(png: bytes) -> bool:
    import io as _io

    from PIL import Image, ImageStat
    im = Image.open(_io.BytesIO(png)).convert("L")
    return ImageStat.Stat(im).stddev[0] > 10


def test_report_by_keyboard_and_at_phone_and_desktop_widths(page, serve, report_dir, tmp_path):
    url = serve(report_dir) + "/report.html"
    for size in (PHONE, {"width": 1280, "height": 900}):
        page.set_viewport_size(size)
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), size
        shot = page.screenshot(path=str(tmp_path / f"report-{size['width']}.png"))
        assert _not_blank(shot)
        # the first Tab reaches the skip link, which moves focus to the main content
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#maincontent"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('main') !== null")
    # scripts on: the interactive map is shown and the print map hidden
    fig = page.locator("#map-premises")
    assert fig.locator("iframe").is_visible() and not fig.locator("img.static-map").is_visible()


def test_report_shows_print_maps_when_scripts_are_off(browser, serve, report_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    page.goto(serve(report_dir) + "/report.html")
    fig = page.locator("#map-premises")
    img = fig.locator("img.static-map")
    assert img.is_visible() and not fig.locator("iframe").is_visible()
    assert img.get_attribute("alt") and page.evaluate("document.querySelector('#map-premises img').naturalWidth") > 500
    context.close()


TILE_HOSTS = ("https://tile.openstreetmap.org/",)


def failed_requests(page) -> list[str]:
    """Requests the offline guard refused, less the map tiles (which are expected to need the network)."""
    return [u for u in page.external_requests if not u.startswith(TILE_HOSTS)]


def drawn_layers(frame) -> int:
    """Leaflet's vector layers drawn with a visible size, after checking the map itself has one."""
    box = frame.locator(".leaflet-container").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200, box
    return frame.evaluate("[...document.querySelectorAll('.leaflet-interactive')]"
                          ".filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })"
                          ".length")


def require_vendored(folder: Path) -> None:
    if not (folder / "lib" / "leaflet.js").is_file():
        msg = "no vendored Leaflet: run `python -m pna.report.vendor` (make install does) with npm available"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)


def test_report_page_needs_no_network(page, serve, report_dir):
    maps = sorted((report_dir / "maps").glob("*.html"))
    assert len(maps) >= 5
    require_vendored(report_dir / "maps")
    base = serve(report_dir)
    page.goto(base + "/report.html")
    # map iframes are lazy: bring each into view so every frame really loads
    frames = page.locator("iframe.map-frame").all()
    assert len(frames) == len(maps)
    for frame in frames:
        frame.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    assert failed_requests(page) == [], failed_requests(page)
    assert page.js_errors == [], page.js_errors
    # each framed map drew its data layers in Leaflet
    drawn = [f for f in page.frames if f.url.endswith(".html") and "/maps/" in f.url]
    assert sorted(f.url.rsplit("/", 1)[1] for f in drawn) == [p.name for p in maps]
    for f in drawn:
        assert f.locator(".leaflet-container").count() == 1, f.url
        assert drawn_layers(f) > 0, f.url


def test_map_pages_need_no_network_and_have_no_axe_violations(page, serve, report_dir):
    require_vendored(report_dir / "maps")
    base = serve(report_dir)
    bad = {}
    for path in sorted((report_dir / "maps").glob("*.html")):
        html = path.read_text(encoding="utf-8")
        # only Leaflet, from lib/ beside the map: no jQuery, Bootstrap or icon fonts, nothing from a CDN
        assert re.findall(r'<script src="([^"]+)"', html) == ["lib/leaflet.js"], path.name
        assert re.findall(r'<link rel="stylesheet" href="([^"]+)"', html) == ["lib/leaflet.css"], path.name
        page.goto(f"{base}/maps/{path.name}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof L !== 'undefined' && L.version") == "1.9.3"
        assert drawn_layers(page) > 0, path.name
        assert page.locator(".pna-legend li").count() > 0, path.name
        # the layer control's icon comes from lib/images
        icon = page.locator(".leaflet-control-layers-toggle")
        assert icon.count() == 1
        assert "lib/images/layers.png" in icon.evaluate("e => getComputedStyle(e).backgroundImage")
        violations = axe_violations(page)
        if violations:
            bad[path.name] = describe(violations)
    assert failed_requests(page) == [], failed_requests(page)
    assert page.js_errors == [], page.js_errors
    assert not bad, "\n".join(f"[{k}]\n{v}" for k, v in bad.items())


def test_pharmacy_name_with_script_is_shown_as_text(browser, serve, evil_site_dir):
    folder, postcode = evil_site_dir
    # CSP off for this check: the escaping itself must stop the injection, not the policy.
    context = browser.new_context(bypass_csp=True)
    pg = context.new_page()
    dialogs = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(serve(folder) + "/consultation.html")
    search(pg, postcode)
    pg.wait_for_selector("#results:not([hidden])")
    names = pg.locator("#results-list .name").all_inner_texts()
    assert EVIL in names
    assert pg.evaluate("document.querySelectorAll('#results-list script').length") == 0
    assert pg.evaluate("document.scripts.length") == 2
    pg.wait_for_timeout(100)
    assert dialogs == []
    context.close()


def test_real_leicester_report_has_no_axe_violations(page, serve, leicester_report):
    """The report of the real Leicester run (what `make pna` writes: ``render_report`` of the
    pipeline's results), not only the synthetic one."""
    _, report, _ = leicester_report
    out = report.paths["report"].parent
    page.goto(serve(out) + "/report.html")
    assert page.locator("h1").count() == 1
    # every frame of the report is one of maps/*.html, each checked by axe on its own in
    # test_maps_public.py; the frames' titles are checked here, on the page
    assert page.locator("iframe").count() == len(list((out / "maps").glob("*.html")))
    assert all(src.startswith("maps/") for src in page.locator("iframe").evaluate_all(
        "fs => fs.map(f => f.getAttribute('src'))"))
    # Rows past the 20th of a table repeat the markup and styles of the rows above them, and
    # colour contrast, checked per text element, is most of axe's time on this page.
    repeats = ["tbody tr:nth-child(n+21)"]
    assert page.locator(repeats[0]).count() > 0
    violations = axe_violations(page, iframes=False, exclude=repeats)
    assert not violations, describe(violations)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # at phone width only the layout-dependent rules can change; the map frames are checked
    # at both widths in test_maps_public.py
    violations = axe_violations(page, rules=LAYOUT_RULES, iframes=False, exclude=repeats)
    assert not violations, describe(violations)


def test_assessment_page_has_no_axe_violations(page, serve, leicester_results, tmp_path):
    """The one-page application assessment NHS England reviewers read."""
    from pna.assess.assessor import assess_application, prepare_assessor
    from pna.assess.sites import application_from_mapping
    from pna.report.assessment_page import write_assessment

    run = leicester_results
    app = application_from_mapping({"kind": "new", "name": "Proposed <b>pharmacy</b>", "site": {"postcode": "LE3 1UZ"},
                                    "hours": {"mon-fri": "09:00-18:30", "sat": "09:00-13:00"}})
    base = prepare_assessor(cfg=run.cfg, geography=run.geography, access=run.access, resilience=run.resilience)
    paths = write_assessment(assess_application(app, base=base), tmp_path, run.cfg.area.name,
                             {m: r.demand for m, r in run.access.results.items()})
    html = Path(paths["html"]) if "html" in paths else next(Path(p) for p in paths.values() if str(p).endswith(".html"))
    page.goto(serve(html.parent) + "/" + html.name)
    assert page.locator("h1").count() == 1
    # the name is text, never markup
    assert page.locator("b", has_text="pharmacy").count() == 0
    assert "<b>pharmacy</b>" in page.locator("body").inner_text()
    # the map in the page's srcdoc draws its layers with the Leaflet copied beside the page
    require_vendored(html.parent)
    page.wait_for_load_state("networkidle")
    frame = next(f for f in page.frames if f != page.main_frame)
    assert drawn_layers(frame) > 0
    # the site marker is plain HTML, named as text
    assert frame.locator(".pna-site").get_attribute("title") == "Site: Proposed <b>pharmacy</b>"
    assert failed_requests(page) == [], failed_requests(page)
    assert page.js_errors == [], page.js_errors
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_england_pages_sort_by_keyboard_and_have_no_axe_violations(page, serve, england_run):
    _, out, _ = england_run
    base = serve(out)
    page.goto(f"{base}/index.html")
    assert axe_violations(page) == [], describe(axe_violations(page))
    button = page.locator("#board-table thead button", has_text="Pharmacies")
    button.focus()
    page.keyboard.press("Enter")
    header = page.locator("#board-table thead th").nth(2)
    assert header.get_attribute("aria-sort") == "ascending"
    counts = [int(v) for v in page.locator("#board-table tbody tr td:nth-of-type(2)").evaluate_all(
        "cells => cells.map(c => c.getAttribute('data-v'))")]
    assert counts == sorted(counts) and counts[0] == 1   # the Isles of Scilly's one pharmacy first
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.goto(f"{base}/boards/E06000016.html")
    assert page.locator("h1").inner_text() == "Leicester"
    assert axe_violations(page) == [], describe(axe_violations(page))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

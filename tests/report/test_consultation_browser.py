"""The consultation page in headless Chromium: the consultation window, the nearest open pharmacy,
a right-to-left catalogue, axe-core and phone and desktop widths (real Leicester data)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from tests.report.conftest import context_with_output
from tests.report.rtl import RTL_CODE, write_rtl_catalogue
from tests.report.test_browser import axe_violations, describe

pytestmark = pytest.mark.browser

OPENS, CLOSES = dt.date(2025, 6, 2), dt.date(2025, 7, 31)
WIDTHS = (390, 1366)
# Wednesday 11 June 2025, 7pm: a weekday evening inside the window
WEDNESDAY_7PM = "2025-06-11T19:00:00"
RTL_PAGE = f"consultation.{RTL_CODE}.html"


@pytest.fixture(scope="module")
def consult_site(leicester_run, tmp_path_factory) -> Path:
    """The real Leicester pages with a 60-day window, one way to respond and the RTL test catalogue."""
    from pna.report.consultation import build_consultation_page

    out = tmp_path_factory.mktemp("consult-site")
    cats = write_rtl_catalogue(out / "catalogues").parent
    run = context_with_output(leicester_run.ctx, out)
    spec = run.cfg.consultation.model_copy(update={"opens": OPENS, "closes": CLOSES, "email": "pna@example.org",
                                                   "languages": [RTL_CODE], "catalogues": str(cats)})
    run = dataclasses.replace(run, cfg=run.cfg.model_copy(update={"consultation": spec}))
    build_consultation_page(run, leicester_run.postcodes)
    return out


def page_data(site: Path, name: str = "consultation.html") -> dict:
    html = (site / name).read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="pna-data">(.*?)</script>', html, re.S).group(1))


def open_at(hours, day: int, minute: int) -> bool:
    h = hours[day]
    return isinstance(h, list) and any(a <= minute < b for a, b in h)


def search(page, text: str) -> None:
    page.fill("#postcode", text)
    page.click("#search-button")
    page.wait_for_selector("#results:not([hidden])")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


EXPECT = {"before": "The consultation has not started yet. It opens on 2 June 2025 and closes on 31 July 2025.",
          "during": "The consultation is open now. Tell us what you think by 31 July 2025.",
          "after": "The consultation closed on 31 July 2025. Thank you to everyone who took part. What happens next"}


def test_window_before_during_and_after(page, serve, consult_site):
    url = serve(consult_site) + "/consultation.html"
    for when, state in (("2025-05-20T12:00:00", "before"), ("2025-06-02T08:00:00", "during"),
                        ("2025-07-31T23:00:00", "during"), ("2025-08-01T09:00:00", "after")):
        page.clock.set_fixed_time(when)
        page.goto(url)
        banner = page.locator("#consult-state")
        assert banner.get_attribute("data-state") == state, when
        assert banner.locator("p:visible").all_inner_texts() == [EXPECT[state]], when
        respond = page.locator("section[aria-labelledby=respond-heading]")
        email = respond.locator("a[href='mailto:pna@example.org']")
        deadline = respond.locator(".deadline:visible").all_inner_texts()
        if state == "after":
            assert not email.is_visible() and deadline == ["The consultation closed on 31 July 2025. We can no "
                                                           "longer take replies."]
        else:
            assert email.is_visible() and deadline[0].endswith("Please reply by 31 July 2025.")
        # the ways not yet given are said to follow, never invented
        assert "has not published these yet: a link to the online form, a postal address" in respond.inner_text()
    assert page.js_errors == []


def test_page_written_for_the_run_date_without_scripts(browser, serve, consult_site):
    """With scripts off the page shows the state on the run's date (as_at, 31 December 2023: before)."""
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(serve(consult_site) + "/consultation.html")
    assert pg.locator("#consult-state p:visible").all_inner_texts()[0].startswith("The consultation has not started")
    context.close()


def test_weekday_evening_shows_the_nearest_open_pharmacy(page, serve, consult_site):
    data = page_data(consult_site)
    row = data["postcodes"]["LE2"]["0QS"]
    per = data["per_site"]
    sites = [data["pharmacies"][row[i * per]] for i in range((len(row) - 1) // per)]
    wed, seven = 2, 19 * 60
    # the case: at 7pm on a Wednesday the three nearest to LE2 0QS are all closed
    assert not any(open_at(p["hours"], wed, seven) for p in sites[:3])
    expect = next(p for p in sites if open_at(p["hours"], wed, seven))

    page.clock.set_fixed_time(WEDNESDAY_7PM)
    page.goto(serve(consult_site) + "/consultation.html")
    search(page, "le2 0qs")
    found = page.locator("#open-result")
    assert found.locator(".name").inner_text() == expect["name"]
    assert "Open now" in found.locator(".status").inner_text()
    assert "nearest pharmacy open now" in found.inner_text()
    if expect["phone"]:
        assert found.locator("a[href^='tel:']").inner_text() == expect["phone"]
    assert "Opening hours as listed by the NHS on 31 December 2023" in found.inner_text()
    # the three closest are listed too, each said to be closed, with a telephone line
    cards = page.locator("#results-list > li")
    assert cards.count() == 3
    for i in range(3):
        assert "Closed" in cards.nth(i).locator(".status").inner_text()
        assert cards.nth(i).locator(".phone").count() == 1
    # a chosen time: Sunday 11am
    page.check("#when-2")
    sunday = next((p for p in sites if open_at(p["hours"], 6, 11 * 60)), None)
    if sunday is None:
        assert "None of the pharmacies near you is open on Sunday at 11am" in found.inner_text()
    else:
        assert found.locator(".name").inner_text() == sunday["name"]
        assert "open on Sunday at 11am" in found.inner_text()
    assert page.js_errors == []


def test_unknown_hours_are_never_called_closed(page, serve, leicester_run, tmp_path):
    from pna.report.consultation import build_consultation_page

    ph = leicester_run.ctx.geography.pharmacies.copy()
    ph["hours_known"] = False
    build_consultation_page(context_with_output(leicester_run.ctx, tmp_path, pharmacies=ph), leicester_run.postcodes)
    page.clock.set_fixed_time(WEDNESDAY_7PM)
    page.goto(serve(tmp_path) + "/consultation.html")
    search(page, "LE1 1AA")
    assert "We do not know the opening hours of some pharmacies near you" in page.inner_text("#open-result")
    statuses = page.locator("#results-list .status").all_inner_texts()
    assert statuses and all("We do not know its opening hours" in s for s in statuses)


def test_bus_never_quicker_than_a_short_walk(page, serve, consult_site):
    data = page_data(consult_site)
    page.goto(serve(consult_site) + "/consultation.html")
    search(page, "LE2 0QS")
    row = data["postcodes"]["LE2"]["0QS"]
    walk = row[2]
    assert walk <= data["walk_instead"]   # the closest is a short walk
    text = page.locator("#results-list > li").first.locator(".minutes-transit").inner_text()
    assert text.startswith("Walking is quicker") and f"about {max(walk, 1)} minute" in text
    for t in page.locator(".minutes-transit, .minutes-drive, .minutes-walk").all_inner_texts():
        assert "Less than 1 minute" not in t


def test_locality_findings_come_from_the_rule_engine(page, serve, consult_site, leicester_run):
    data = page_data(consult_site)
    loc = data["localities"][data["postcodes"]["LE1"]["1AA"][-1]]
    page.goto(serve(consult_site) + "/consultation.html")
    search(page, "LE1 1AA")
    assert page.inner_text("#area-heading") == f"Your area: {loc['name']}"
    gf = leicester_run.ctx.tables["gap_findings"]
    geo = gf[(gf["rule"] == "geographic") & (gf["subject"] == loc["name"]) & (gf["group"] == "all residents")]
    status = geo["status"].iloc[0]
    text = page.inner_text("#area-access")
    assert {"provisional": "This is not final", "gap": "this is a gap", "no gap": "found no gap"}[status] in text
    times = gf[(gf["rule"] == "times") & (gf["subject"] == loc["name"]) & (gf["group"] == "all residents")]
    assert page.locator("#area-open li").count() == len(times) == 3


def test_rtl_catalogue_renders_right_to_left(page, serve, consult_site):
    base = serve(consult_site)
    page.goto(base + "/consultation.html")
    switch = page.locator("nav.lang-switch a[hreflang='ar-XB']")
    assert switch.get_attribute("href") == RTL_PAGE
    switch.click()
    page.wait_for_url(f"**/{RTL_PAGE}")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == [RTL_CODE, "rtl"]
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    h1 = page.locator("h1")
    assert h1.inner_text().startswith("\u200f[")   # from the catalogue, not the English defaults
    # mirrored layout: the heading starts at the right edge of the page's column
    main = page.locator("main").bounding_box()
    box = page.evaluate("(() => { const r = document.createRange(); r.selectNodeContents(document.querySelector('h1'));"
                        " const b = r.getBoundingClientRect(); return [b.left, b.right]; })()")
    assert abs((main["x"] + main["width"]) - box[1]) < 40 and box[0] > main["x"] + 1
    # the board's untranslated text stays English and says so
    assert page.locator("ol.questions li").first.inner_text().startswith("\u200f[purpose question")
    assert page.locator("ol.questions li span[lang='en-GB']").count() == 4
    search(page, "LE1 1AA")
    assert page.inner_text("#results-heading").startswith("\u200f[")
    assert no_sideways_scroll(page) and page.js_errors == []


@pytest.mark.parametrize("name", ["consultation.html", RTL_PAGE])
def test_axe_and_widths(page, serve, consult_site, name, tmp_path):
    from PIL import Image

    page.clock.set_fixed_time(WEDNESDAY_7PM)
    page.goto(f"{serve(consult_site)}/{name}")
    found = {"start": axe_violations(page)}
    search(page, "LE2 0QS")
    for d in page.locator("details").all():
        d.evaluate("el => el.open = true")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if width == WIDTHS[0] or name == "consultation.html":   # the mirrored page once, at phone width
            found[f"results-{width}"] = axe_violations(page)
        assert no_sideways_scroll(page), (name, width)
        shot = tmp_path / f"{name}-{width}.png"
        page.screenshot(path=str(shot))
        assert Image.open(shot).size[0] == width
    bad = {k: describe(v) for k, v in found.items() if v}
    assert not bad, "\n".join(f"[{k}]\n{v}" for k, v in bad.items())

"""The assessment page: escaped, accessible, deterministic."""

from __future__ import annotations

import json
import re

import pytest

from pna.assess.assessor import assess_application, prepare_assessor
from pna.assess.sites import application_from_mapping
from pna.report.assessment_page import write_assessment

EVIL = 'Evil <script>alert("x")</script> & Co'


@pytest.fixture(scope="module")
def base(leicester_results):
    """The assessor's base for the real Leicester run."""
    r = leicester_results
    return prepare_assessor(cfg=r.cfg, geography=r.geography, access=r.access, resilience=r.resilience)


def _write(run, base, tmp_path, name):
    app = application_from_mapping({"name": EVIL, "ref": name, "kind": "new", "postcode": "LE1 1WB",
                                    "services": ["<b>flu</b>"], "hours": {"mon": "09:00-18:00"}})
    r = assess_application(app, base=base)
    models = run.access.models
    return write_assessment(r, tmp_path, run.cfg.area.name, {m: models[m].demand for m in models})


def test_escapes_and_accessible(leicester_ctx, base, tmp_path):
    paths = _write(leicester_ctx, base, tmp_path, "evil")
    html = paths["html"].read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<b>flu" not in html
    assert "Evil &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert '<html lang="en">' in html and html.count("<caption>") >= 5 and "<h1>" in html
    assert "OpenStreetMap" in html and "Text alternative" in html and "Key" in html
    assert "Estimates." in html and "straight-line" in html
    # the map sits in srcdoc, escaped once more: no raw script tag from the name inside it either
    srcdoc = re.search(r'srcdoc="([^"]*)"', html).group(1)
    assert "<script>alert" not in srcdoc and "&lt;script&gt;alert" not in srcdoc
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["application"]["name"] == EVIL
    assert {"coverage", "changes", "nearby", "gaps"} <= set(data["tables"])


def test_deterministic(leicester_ctx, base, tmp_path):
    a = _write(leicester_ctx, base, tmp_path / "a", "same")
    b = _write(leicester_ctx, base, tmp_path / "b", "same")
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes(), k


def test_map_is_one_stop_with_a_skip_link_and_a_colour_blind_safe_key(leicester_ctx, base, tmp_path):
    import html as html_lib

    from pna.report.map_style import OKABE_ITO

    page = _write(leicester_ctx, base, tmp_path, "key")["html"].read_text(encoding="utf-8")
    assert page.index('class="skip-map" href="#map-key"') < page.index("<iframe") < page.index('id="map-key"')
    doc = html_lib.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    # the framed map page: landmark, heading, pinch-zoom, the keyboard script, tiles only on request
    assert "<main" in doc and "<h1 " in doc and "user-scalable" not in doc
    assert 'setAttribute("tabindex", "-1")' in doc and 'box.setAttribute("role", "region")' in doc
    assert "Street map background (needs internet)" in doc
    assert not re.findall(r"(tile_layer_\w+)\.addTo\(map_\w+\)", doc)
    swatches = re.findall(r'<li><span aria-hidden="true" style="background:(#[0-9A-Fa-f]{6})"></span>', page)
    assert swatches and {c for c in swatches if c not in ("#330072", "#425563")} <= set(OKABE_ITO)

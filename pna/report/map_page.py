"""A folium map as a complete, accessible HTML page: one tab stop, named features, a key, landmarks.

Leaflet makes every layer with a tooltip focusable, so a map of a thousand demand points was a
thousand tab stops, in data order and without names. :func:`map_document` renders a map so that:

* the map container is the only tab stop (``role="region"`` with a name saying what it shows and
  that the table beside it in the report holds the same information); arrow keys pan it and
  ``+``/``-`` zoom it, Leaflet's own keyboard handling;
* every feature, zoom button, layer switch and link inside the map is taken out of the tab order
  (``tabindex="-1"``), and every feature drawn from data gets ``role="img"`` and an
  ``aria-label`` (its ``_name`` property, or its tooltip's text), also when a layer is switched
  back on;
* the page has ``lang``, a ``title``, a ``main`` landmark, an ``h1`` and a viewport that lets people
  pinch-zoom (folium's default sets ``user-scalable=no``);
* the key lists every layer, in plain words.

All text placed in a map is escaped here (:func:`esc`), because folium inserts tooltip and popup
text into HTML and JavaScript template literals unescaped.
"""

from __future__ import annotations

import html
import json
import re

import folium
import numpy as np

from ..io import stable_ids
from . import vendor

__all__ = ["esc", "legend_html", "map_document", "KeyItem", "OSM_ATTRIBUTION", "add_osm_tiles"]

OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors')
#: (label, colour, shape): shape is "dot", "box" (a filled area), "line", "dash" or "ring".
KeyItem = tuple[str, str, str]


def esc(text: object) -> str:
    """Escape text for HTML *and* for a JavaScript template literal (folium tooltips/popups)."""
    s = html.escape("" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text), quote=True)
    return s.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def add_osm_tiles(m: folium.Map) -> None:
    """OpenStreetMap tiles as a layer people may switch on; off by default, so the map works offline."""
    folium.TileLayer("OpenStreetMap", attr=OSM_ATTRIBUTION, name="Street map background (needs internet)",
                     overlay=True, show=False, control=True).add_to(m)


_SWATCH = {"dot": "border-radius:50%", "ring": "border-radius:50%;background:transparent !important;border-width:2px",
           "box": "", "line": "height:0 !important;border-width:2px 0 0 0;margin-bottom:4px",
           "dash": "height:0 !important;border-width:2px 0 0 0;border-top-style:dashed;margin-bottom:4px"}


def legend_html(title: str, items: list[tuple[str, str]] | list[KeyItem], inline: bool = False) -> str:
    """A visible key for a folium map (escaped text); each item is (label, colour[, shape]).

    ``inline`` gives a key that sits in the page flow (under a map) rather than on the map.
    """
    rows = []
    for it in items:
        label, colour = it[0], it[1]
        shape = it[2] if len(it) > 2 else "box"  # type: ignore[misc]
        style = _SWATCH.get(shape, "")
        border = colour if shape in ("line", "dash", "ring") else "#212b32"
        rows.append(f'<li><span aria-hidden="true" style="display:inline-block;width:14px;height:14px;'
                    f'margin-right:6px;vertical-align:middle;border:1px solid {border};background:{colour};'
                    f'{style}"></span>{esc(label)}</li>')
    # bottom:24px clears the attribution Leaflet puts in the bottom-right corner
    where = ("margin:1rem 0;" if inline else
             "position:absolute;z-index:1000;bottom:24px;right:10px;max-width:min(46%,22rem);")
    return (f'<div class="pna-legend{" pna-inline" if inline else ""}" role="region" aria-label="Key to the map" '
            f'style="{where}background:#fff;color:#212b32;padding:6px 8px;border:1px solid #425563;'
            f'font:13px/1.35 Arial,sans-serif"><strong>{esc(title)}</strong>'
            f'<ul style="list-style:none;margin:4px 0 0;padding:0">{"".join(rows)}</ul></div>')


_LABEL_CSS = """<style>
.folium-map.leaflet-container { background: #ffffff; font: 13px/1.3 Arial, sans-serif; }
.pna-label div { color: #212b32; font-weight: bold; white-space: nowrap; transform: translate(-50%, -50%);
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
.pna-place div { color: #3d474e; font-style: italic; font-weight: normal; font-size: 12px; }
.leaflet-container .leaflet-marker-icon.pna-place { display: none; }
.leaflet-container.pna-near .leaflet-marker-icon.pna-place { display: block; }
.pna-page { padding: 0 1rem 2rem; font: 16px/1.5 Arial, sans-serif; color: #212b32; }
.pna-page h1 { font-size: 1.5rem; margin: .75rem 0; }
.pna-page .folium-map { height: 70vh !important; border: 1px solid #425563; }
.pna-page table { border-collapse: collapse; margin: 1rem 0; font-size: .95rem; }
.pna-page caption { text-align: left; font-weight: bold; padding: .25rem 0; }
.pna-page th, .pna-page td { border: 1px solid #aeb7bd; padding: .2rem .45rem; text-align: left; vertical-align: top; }
.pna-page td.n { text-align: right; font-variant-numeric: tabular-nums; }
.pna-table-wrap { overflow-x: auto; max-width: 100%; }
.pna-skip { position: absolute; left: -9999px; }
.pna-skip:focus { position: static; display: inline-block; margin: .25rem 0; background: #ffeb3b; color: #212b32; }
@media (max-width: 480px) { .pna-legend:not(.pna-inline) { font-size: 11px !important; max-width: 60% !important; } }
.pna-embedded .pna-legend:not(.pna-inline) { display: none; }
.leaflet-container:focus { outline: 3px solid #ffeb3b; box-shadow: inset 0 0 0 3px #212b32; }
</style>"""

# Runs after folium's own script, so every layer and control exists; layers added later (a layer
# switched back on) are handled on "layeradd". Names are decoded from the escaped text by DOMParser,
# which never runs scripts.
_KEYBOARD_JS = """
(function (map, label, nearZoom) {
  var box = map.getContainer(), parser = new DOMParser();
  // in the report's frame the key is printed beside the map, where it hides none of it
  if (window.self !== window.top) { document.documentElement.classList.add("pna-embedded"); }
  box.setAttribute("role", "region");
  box.setAttribute("aria-label", label);
  function text(s) { return parser.parseFromString(String(s), "text/html").documentElement.textContent.trim(); }
  function nameOf(layer) {
    if (layer.feature && layer.feature.properties && layer.feature.properties._name) {
      return text(layer.feature.properties._name);
    }
    var tip = layer.getTooltip && layer.getTooltip();
    if (tip) {
      var c = tip.getContent();
      return text(typeof c === "function" ? c(layer) : c);
    }
    return "";
  }
  function quiet(layer) {
    if (layer instanceof L.DivOverlay) { return; }
    var el = layer.getElement && layer.getElement();
    if (!el || !el.setAttribute) { return; }
    el.setAttribute("tabindex", "-1");
    var name = nameOf(layer);
    if (name) { el.setAttribute("role", "img"); el.setAttribute("aria-label", name); }
    else { el.setAttribute("aria-hidden", "true"); }
  }
  function controls() {
    box.querySelectorAll(".leaflet-control a, .leaflet-control input, .leaflet-control button")
      .forEach(function (el) { el.setAttribute("tabindex", "-1"); });
  }
  map.eachLayer(quiet);
  map.on("layeradd", function (e) { quiet(e.layer); });
  controls();
  new MutationObserver(controls).observe(box.querySelector(".leaflet-control-container"),
                                         {childList: true, subtree: true});
  function near() { box.classList.toggle("pna-near", map.getZoom() >= nearZoom); }
  map.on("zoomend", near);
  near();
})(%s, %s, %d);
"""

_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.S)
_HIDDEN = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap"


def map_document(m: folium.Map, *, title: str, legend_title: str, legend: list[tuple[str, str]] | list[KeyItem],
                 description: str = "", vendored: bool | None = None, near_zoom: int = 14,
                 after: str = "") -> str:
    """Render ``m`` as a complete accessible page (see the module notes); deterministic text.

    Parameters
    ----------
    m
        The map, with its layers added.
    title
        The page title and level-one heading (plain text; escaped here).
    legend_title, legend
        The key: its heading and items ``(label, colour[, shape])``.
    description
        What the map shows, read out with its name when it takes focus.
    vendored
        Load Leaflet from ``lib/`` beside the page (default: when a vendored copy exists, see
        :mod:`pna.report.vendor`), else from the CDN.
    near_zoom
        Zoom level from which the small place names show.
    after
        HTML (already escaped) shown under the map, such as its equivalent table; with it the
        page has a visible heading, the map takes 70% of the screen height and a skip link
        before the map leads to ``#pna-after``.

    Returns
    -------
    str
        The HTML page.
    """
    vendor.use_leaflet_only(m, vendor.leaflet_dir() is not None if vendored is None else vendored)
    root = m.get_root()  # a Figure, though branca types get_root() as Element
    root.header.add_child(folium.Element(_LABEL_CSS))  # type: ignore[attr-defined]
    if not after:  # a full-page map carries its key on it; a page with a table shows it under the map
        root.html.add_child(folium.Element(legend_html(legend_title, legend)))  # type: ignore[attr-defined]
    folium.LayerControl(collapsed=True).add_to(m)
    name = f"{title}. {description}".strip() if description else title
    name += (" Use the arrow keys to move the map and the plus and minus keys to zoom; "
             "the table with the map lists the same information.")
    text = root.render()
    # after folium's own script (which the figure writes last), so the map and its layers exist
    js = _KEYBOARD_JS % (m.get_name(), json.dumps(name).replace("<", "\\u003c"), near_zoom)
    end = text.rfind("</script>")
    text = text[:end] + js + text[end:]
    text = text.replace("<html>", '<html lang="en">', 1)
    text = text.replace("<head>", f"<head>\n    <title>{esc(title)}</title>", 1)
    # One main landmark and a level-one heading, so the map page stands on its own;
    # main takes the full height, or the map (height 100% of its parent) collapses to nothing.
    if after:
        text = text.replace("<body>", f'<body>\n<main class="pna-page">\n<h1>{esc(title)}</h1>\n'
                            '<a class="pna-skip" href="#pna-after">Skip the map: go to the table</a>', 1)
        key = legend_html(legend_title, legend, inline=True)
        text = text.replace("</body>", f'<div id="pna-after" tabindex="-1">\n{key}\n{after}\n</div>\n</main>\n</body>',
                            1)
    else:
        text = text.replace("<body>", f'<body>\n<main style="height:100%">\n<h1 style="{_HIDDEN}">{esc(title)}</h1>',
                            1)
        text = text.replace("</body>", "</main>\n</body>", 1)
    # Let people zoom the page (WCAG 1.4.4); folium disables it by default.
    text = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1.0" />', text, count=1)
    if "user-scalable" in text or "<main" not in text:
        raise ValueError("the map page lost its viewport or landmark fix (folium's template changed?)")
    return "\n".join(line.rstrip() for line in stable_ids(text).splitlines()) + "\n"

"""Accessible inline SVG charts (bar and line), without matplotlib.

Each chart is an ``<svg role="img">`` with ``<title>`` and ``<desc>`` referenced by
``aria-labelledby``; the report always prints the data table beside it, so the chart is never
the only way to read the numbers. Output is deterministic: fixed sizes, coordinates rounded to
one decimal, ids derived from the caller's ``chart_id``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

# NHS identity colours with enough contrast against white for graphical objects (WCAG 1.4.11).
PALETTE = ("#005eb8", "#330072", "#007f3b", "#d5281b", "#7c2855", "#425563", "#ed8b00", "#00a499")
WIDTH, HEIGHT = 640, 320
MARGIN = {"left": 70, "right": 20, "top": 20, "bottom": 60}


def _n(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(vmax: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``vmax``."""
    if not vmax or vmax <= 0 or math.isnan(vmax):
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    k = math.ceil(vmax / step - 1e-9)
    return [i * step for i in range(k + 1)]


def _fmt_tick(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:,.2g}"


def _frame(chart_id: str, title: str, desc: str, body: list[str], legend: list[tuple[str, str]]) -> str:
    tid, did = f"{chart_id}-title", f"{chart_id}-desc"
    leg_h = 22 * math.ceil(len(legend) / 3) if len(legend) > 1 else 0
    h = HEIGHT + leg_h
    parts = [f'<svg class="chart" id="{escape(chart_id)}" role="img" aria-labelledby="{tid} {did}" '
             f'viewBox="0 0 {WIDTH} {h}" width="100%" preserveAspectRatio="xMinYMin meet" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{tid}">{escape(title)}</title>', f'<desc id="{did}">{escape(desc)}</desc>',
             '<rect width="100%" height="100%" fill="#ffffff"/>']
    parts += body
    if len(legend) > 1:
        for i, (label, colour) in enumerate(legend):
            x = MARGIN["left"] + (i % 3) * 190
            y = HEIGHT + 22 * (i // 3)
            parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
                         f'<text x="{x + 18}" y="{y}" font-size="13">{escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _axes(vmax: float, unit: str) -> tuple[list[str], float]:
    ticks = nice_ticks(vmax)
    top = ticks[-1] or 1.0
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    out = []
    for t in ticks:
        y = MARGIN["top"] + plot_h * (1 - t / top)
        out.append(f'<line x1="{MARGIN["left"]}" x2="{WIDTH - MARGIN["right"]}" y1="{_n(y)}" y2="{_n(y)}" '
                   f'stroke="#d8dde0" stroke-width="1"/>'
                   f'<text x="{MARGIN["left"] - 6}" y="{_n(y + 4)}" font-size="12" text-anchor="end">'
                   f'{escape(_fmt_tick(t))}</text>')
    if unit:
        out.append(f'<text x="14" y="{MARGIN["top"] + plot_h / 2:.0f}" font-size="12" text-anchor="middle" '
                   f'transform="rotate(-90 14 {MARGIN["top"] + plot_h / 2:.0f})">{escape(unit)}</text>')
    out.append(f'<line x1="{MARGIN["left"]}" x2="{WIDTH - MARGIN["right"]}" y1="{HEIGHT - MARGIN["bottom"]}" '
               f'y2="{HEIGHT - MARGIN["bottom"]}" stroke="#425563" stroke-width="1"/>')
    return out, top


def bar_chart(chart_id: str, title: str, desc: str, categories: Sequence[str],
              series: dict[str, Sequence[float]], unit: str = "") -> str:
    """Grouped vertical bar chart as SVG markup.

    Parameters
    ----------
    chart_id
        A document-unique id (used for the title/desc ids).
    title, desc
        Accessible name and description.
    categories
        x-axis labels.
    series
        Name -> one value per category (NaN drawn as no bar).
    unit
        y-axis label.
    """
    vals = [float(v) for s in series.values() for v in s if v is not None and not math.isnan(float(v))]
    grid, top = _axes(max(vals, default=0.0), unit)
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    n_cat, n_ser = max(len(categories), 1), max(len(series), 1)
    slot = plot_w / n_cat
    bar_w = slot * 0.8 / n_ser
    body = list(grid)
    legend = []
    for j, (name, values) in enumerate(series.items()):
        colour = PALETTE[j % len(PALETTE)]
        legend.append((name, colour))
        for i, v in enumerate(values):
            if v is None or math.isnan(float(v)):
                continue
            h = plot_h * float(v) / top
            x = MARGIN["left"] + i * slot + slot * 0.1 + j * bar_w
            y = MARGIN["top"] + plot_h - h
            body.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar_w)}" height="{_n(h)}" fill="{colour}">'
                        f'<title>{escape(str(categories[i]))}, {escape(name)}: {float(v):,.2f}</title></rect>')
    for i, c in enumerate(categories):
        x = MARGIN["left"] + (i + 0.5) * slot
        body.append(f'<text x="{_n(x)}" y="{HEIGHT - MARGIN["bottom"] + 16}" font-size="12" '
                    f'text-anchor="middle">{escape(str(c))}</text>')
    return _frame(chart_id, title, desc, body, legend)


def line_chart(chart_id: str, title: str, desc: str, x: Sequence[float | int],
               series: dict[str, Sequence[float]], unit: str = "") -> str:
    """Line chart (one line per series, points marked) as SVG markup."""
    vals = [float(v) for s in series.values() for v in s if v is not None and not math.isnan(float(v))]
    grid, top = _axes(max(vals, default=0.0), unit)
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    xs = [float(v) for v in x]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (x1 - x0) or 1.0

    def px(v: float) -> float:
        return MARGIN["left"] + plot_w * (v - x0) / span if x1 > x0 else MARGIN["left"] + plot_w / 2

    body = list(grid)
    legend = []
    for j, (name, values) in enumerate(series.items()):
        colour = PALETTE[j % len(PALETTE)]
        legend.append((name, colour))
        pts = [(px(xv), MARGIN["top"] + plot_h * (1 - float(v) / top), xv, float(v))
               for xv, v in zip(xs, values) if v is not None and not math.isnan(float(v))]
        if len(pts) > 1:
            d = " ".join(f"{_n(a)},{_n(b)}" for a, b, _, _ in pts)
            body.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for a, b, xv, v in pts:
            body.append(f'<circle cx="{_n(a)}" cy="{_n(b)}" r="4" fill="{colour}">'
                        f'<title>{escape(name)}, {xv:g}: {v:,.2f}</title></circle>')
    for xv in xs:
        body.append(f'<text x="{_n(px(xv))}" y="{HEIGHT - MARGIN["bottom"] + 16}" font-size="12" '
                    f'text-anchor="middle">{xv:g}</text>')
    return _frame(chart_id, title, desc, body, legend)

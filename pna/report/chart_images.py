"""PNG copies of the report's charts for the Word document.

The HTML and PDF show the accessible inline SVG charts of :mod:`pna.report.charts`; Word cannot
show inline SVG, so each chart is also drawn with matplotlib from the same numbers and embedded
in the ``.docx`` (the HTML carries it as a hidden ``<img>`` fallback the converter picks up).
Same data, same bytes: fixed size and dpi, DejaVu Sans, no metadata that varies.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot-free Figure use on some back-ends

from matplotlib import style as mpl_style  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .charts import PALETTE  # noqa: E402

__all__ = ["ChartImage", "write_chart_image"]

WIDTH_IN, HEIGHT_IN, DPI = 6.3, 3.2, 200
_RC = {"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"], "text.usetex": False,
       "text.parse_math": False, "font.size": 8, "svg.hashsalt": "pna"}


@dataclass(frozen=True)
class ChartImage:
    """What one chart shows: ``kind`` "bar" (grouped bars over categories) or "line" (lines over x)."""

    name: str
    kind: str
    title: str
    x: Sequence[str | float]
    series: dict[str, Sequence[float]] = field(default_factory=dict)
    unit: str = ""

    @property
    def file(self) -> str:
        """The PNG's file name."""
        return f"{self.name}.png"


def _finite(v: object) -> float:
    f = float(v)  # type: ignore[arg-type]
    return f if math.isfinite(f) else float("nan")


def write_chart_image(chart: ChartImage, out_dir: Path) -> Path:
    """Draw ``chart`` as a PNG in ``out_dir`` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with mpl_style.context(["default", _RC]):
        fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        names = list(chart.series)
        if chart.kind == "bar":
            n = max(len(names), 1)
            width = 0.8 / n
            for k, name in enumerate(names):
                xs = [i - 0.4 + width * (k + 0.5) for i in range(len(chart.x))]
                ax.bar(xs, [_finite(v) for v in chart.series[name]], width=width, label=name,
                       color=PALETTE[k % len(PALETTE)])
            ax.set_xticks(range(len(chart.x)), [str(c) for c in chart.x], rotation=0)
        else:
            for k, name in enumerate(names):
                ax.plot([float(x) for x in chart.x], [_finite(v) for v in chart.series[name]], marker="o",
                        markersize=3, label=name, color=PALETTE[k % len(PALETTE)])
            ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0f}")
        ax.set_ylabel(chart.unit)
        vals = [v for s in chart.series.values() for v in map(_finite, s) if math.isfinite(v)]
        ax.set_ylim(bottom=min(0.0, min(vals, default=0.0)))
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#d8dde0", linewidth=0.6)
        ax.set_axisbelow(True)
        if len(names) > 1:
            ax.legend(frameon=False, fontsize=7, ncols=min(len(names), 4), loc="upper center",
                      bbox_to_anchor=(0.5, -0.12))
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    path = out_dir / chart.file
    path.write_bytes(buf.getvalue())
    return path

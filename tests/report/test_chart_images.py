"""PNG copies of the charts (for Word): drawn from the same numbers, deterministic."""

from __future__ import annotations

from PIL import Image

from pna.report.chart_images import ChartImage, write_chart_image


def test_bar_and_line_charts_are_deterministic_pngs(tmp_path):
    bar = ChartImage("chart-x", "bar", "Rates", ["A", "B $x$"], {"Rate": [1.2, float("nan")]}, "per 10,000")
    line = ChartImage("chart-y", "line", "Change", [2021, 2030], {"A": [-2.0, 3.5], "B": [1.0, 2.0]}, "%")
    for c in (bar, line):
        a = write_chart_image(c, tmp_path / "a").read_bytes()
        b = write_chart_image(c, tmp_path / "b").read_bytes()
        assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"
        im = Image.open(tmp_path / "a" / c.file)
        assert im.size == (1260, 640)
        assert len(im.convert("L").getcolors(maxcolors=256 * 256) or []) > 10   # something is drawn
